"""`preau seed`: the advertised shape, determinism, idempotence, the demo accounts and policy sanity."""

import io
import json
from collections import Counter, defaultdict

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from preau.access import policy
from preau.accounts.models import ActivationCode, User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    SchoolYear,
    Service,
    StaffFunction,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)
from preau.directory.seeding import DEMO_PASSWORD
from preau.directory.seeding.engine import Usernames, establishment_key, fold, uai_for

pytestmark = pytest.mark.django_db

CLASS_SUBJECTS = {"FRANC", "MATHS", "HIGEO", "ANGL1", "SVT", "PHYCH", "TECHN", "EPS", "ARPLA", "EDMUS"}
MEFS = {"6e": "10010012110", "5e": "10110001110", "4e": "10210001110", "3e": "10310019110"}


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed", *args, stdout=out)
    return out.getvalue()


def college(seed_number=1, unit=0) -> Establishment:
    return Establishment.objects.get(external_id=establishment_key(seed_number, unit, 0))


def ecole(seed_number=1) -> Establishment:
    return Establishment.objects.get(external_id=establishment_key(seed_number, 0, 1))


def people(establishment, role):
    return User.objects.filter(memberships__establishment=establishment, memberships__role=role)


def guardian_children() -> dict[int, set[int]]:
    children = defaultdict(set)
    for guardian_id, pupil_id in GuardianLink.objects.values_list("guardian_id", "pupil_id"):
        children[guardian_id].add(pupil_id)
    return children


def test_seed_default_creates_the_advertised_collège_and_école():
    output = seed("--seed", "1")
    assert "Créé en" in output
    clg, ecl = college(), ecole()
    assert clg.name == "Collège Jean Moulin" and clg.kind == Establishment.Kind.COLLEGE
    assert clg.uai.startswith("069") and clg.uai == uai_for(clg.uai[:7]) and clg.city == "Lyon"
    assert ecl.name == "École élémentaire Jean Jaurès" and ecl.kind == Establishment.Kind.ECOLE
    year = SchoolYear.objects.get(establishment=clg, is_current=True)
    assert year.label == "2026-2027" and year.periods.count() == 3

    # 24 classes, 6e A-F to 3e A-F with their MEF, about 25 pupils each, 600 in all.
    classes = list(SchoolClass.objects.filter(establishment=clg).select_related("mef"))
    assert sorted(c.code for c in classes) == sorted(f"{n}{x}" for n in "6543" for x in "ABCDEF")
    assert all(c.mef.code == MEFS[c.level] for c in classes)
    sizes = Counter(ClassEnrolment.objects.filter(school_class__establishment=clg)
                    .values_list("school_class_id", flat=True))
    assert len(sizes) == 24 and all(20 <= n <= 30 for n in sizes.values())
    assert people(clg, Role.PUPIL).count() == 600
    assert 130 <= people(ecl, Role.PUPIL).count() <= 170
    assert 900 <= people(clg, Role.GUARDIAN).count() <= 1100

    # Subjects with their usual codes; one teacher per subject per class, one main teacher per class.
    assert set(Subject.objects.filter(establishment=clg).values_list("code", flat=True)) == \
        CLASS_SUBJECTS | {"ESP2", "ALL2", "LCALA"}
    per_class = defaultdict(Counter)
    mains = Counter()
    for class_id, code, main in TeachingAssignment.objects.filter(
            establishment=clg, school_class__isnull=False).values_list("school_class_id", "subject__code",
                                                                       "is_main_teacher"):
        per_class[class_id][code] += 1
        mains[class_id] += main
    assert all(set(c) == CLASS_SUBJECTS and set(c.values()) == {1} for c in per_class.values())
    assert len(per_class) == 24 and set(mains.values()) == {1}
    teachers = people(clg, Role.TEACHER)
    assert 40 <= teachers.count() <= 50
    loads = Counter(TeachingAssignment.objects.filter(establishment=clg, school_class__isnull=False,
                                                      subject__code__in=["FRANC", "MATHS", "HIGEO", "ANGL1", "EPS"])
                    .values_list("teacher_id", flat=True))
    assert all(4 <= n <= 6 for n in loads.values())

    # Groups: LV2 spanning classes from 5e, a latin option, two half-classes per class; all taught.
    groups = TeachingGroup.objects.filter(establishment=clg)
    lv2 = groups.filter(kind=TeachingGroup.Kind.LANGUAGE)
    assert {g.code.split("-")[0] for g in lv2} == {"ESP2", "ALL2"}
    assert all(g.classes.count() >= 2 and g.classes.first().level != "6e" for g in lv2)
    assert groups.filter(kind=TeachingGroup.Kind.OPTION, code__startswith="LCALA").exists()
    assert groups.filter(kind=TeachingGroup.Kind.HALF_CLASS).count() == 48
    assert not groups.exclude(pk__in=TeachingAssignment.objects.values("group_id")).exists()
    assert not groups.exclude(pk__in=GroupMembership.objects.values("group_id")).exists()
    fifth_graders = people(clg, Role.PUPIL).filter(class_enrolments__school_class__level="5e")
    assert not fifth_graders.exclude(group_memberships__group__kind=TeachingGroup.Kind.LANGUAGE).exists()

    # Staff, ENT admins and the global admin.
    functions = Counter(f for m in Membership.objects.filter(establishment=clg, role=Role.STAFF) for f in m.functions)
    assert functions[StaffFunction.HEAD] == 1 and functions[StaffFunction.DEPUTY] == 1
    assert functions[StaffFunction.CPE] == 2 and functions[StaffFunction.VIE_SCOLAIRE] >= 2
    assert functions[StaffFunction.SECRETARY] >= 1 and functions[StaffFunction.LIBRARIAN] == 1
    assert functions[StaffFunction.NURSE] == 1
    assert people(clg, Role.ENT_ADMIN).count() == 1 and people(ecl, Role.ENT_ADMIN).count() == 1
    assert User.objects.filter(is_global_admin=True).count() == 1

    # Families: siblings in two classes, separated parents, a family in both establishments, restricted links.
    children = guardian_children()
    enrolled = dict(ClassEnrolment.objects.values_list("pupil_id", "school_class_id"))
    assert any(len({enrolled[p] for p in kids}) >= 2 for kids in children.values())
    both = set(people(clg, Role.GUARDIAN).values_list("pk", flat=True)) & set(
        people(ecl, Role.GUARDIAN).values_list("pk", flat=True))
    assert len(both) >= 3
    pupils_by_guardians = Counter(GuardianLink.objects.values_list("pupil_id", flat=True))
    assert Counter(pupils_by_guardians.values())[2] > 0.6 * len(pupils_by_guardians)
    assert Counter(pupils_by_guardians.values())[1] > 0.05 * len(pupils_by_guardians)
    links = GuardianLink.objects.all()
    assert links.filter(relation=GuardianLink.Relation.CARER, legal_authority=False).exists()
    court = links.filter(relation__in=["mother", "father"], legal_authority=False, receives_correspondence=False)
    assert court.exists() and all(Service.GRADES in k.denied_services for k in court)
    separated = [p for p, n in pupils_by_guardians.items() if n == 2]
    assert any(len({k.guardian.last_name for k in links.filter(pupil_id=p)}) == 2 for p in separated[:200])

    # A few accounts are left to activate, without a usable password.
    pending = User.objects.filter(activated_at__isnull=True)
    assert 3 <= pending.count() <= 10 and not any(u.has_usable_password() for u in pending)


def test_seed_print_accounts_shows_one_account_per_role_in_french():
    output = seed("--pupils", "120", "--print-accounts")
    assert f"mot de passe commun : {DEMO_PASSWORD}" in output
    for label in ("Élève", "Responsable de deux enfants", "Parent aux droits limités", "Assistant familial",
                  "Enseignant, professeur principal", "Chef d'établissement", "CPE", "Secrétariat",
                  "Administrateur ENT", "Administrateur global", "Compte à activer"):
        assert label in output
    assert "code : " in output


def test_seed_accounts_json_lists_working_logins(tmp_path):
    path = tmp_path / "accounts.json"
    seed("--pupils", "120", "--accounts", str(path))
    entries = json.loads(path.read_text(encoding="utf-8"))
    roles = {e["role"] for e in entries}
    assert {"pupil", "guardian_two_children", "guardian_restricted", "carer", "guardian_two_establishments",
            "teacher", "head", "deputy", "cpe", "vie_scolaire", "secretary", "librarian", "nurse", "ent_admin",
            "global_admin", "ecole_director", "ecole_teacher", "teacher_parent", "to_activate"} <= roles
    for entry in entries:
        assert set(entry) >= {"role", "username", "password", "name", "establishment"}
        user = User.objects.get(username=entry["username"])
        if entry["role"] == "to_activate":
            assert entry["password"] is None and entry["activation_code"]
            assert not user.is_activated
            assert ActivationCode.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).count() == 1
        else:
            assert entry["password"] == DEMO_PASSWORD
            assert authenticate(username=entry["username"], password=DEMO_PASSWORD) == user

    by_role = {e["role"]: User.objects.get(username=e["username"]) for e in entries}
    parent, pupil = by_role["guardian_two_children"], by_role["pupil"]
    assert GuardianLink.objects.filter(guardian=parent).count() >= 2
    assert GuardianLink.objects.filter(guardian=parent, pupil=pupil, denied_services=[]).exists()
    assert TeachingAssignment.objects.filter(teacher=by_role["teacher"], is_main_teacher=True).exists()
    assert by_role["global_admin"].is_global_admin


def test_seed_same_seed_gives_same_people_and_relations_other_seed_differs():
    def snapshot():
        def rows(queryset):
            return sorted(queryset, key=repr)

        return (
            sorted(User.objects.values_list("username", "external_id", "birth_date")),
            rows(GuardianLink.objects.values_list("guardian__username", "pupil__username", "relation",
                                                    "denied_services")),
            rows(TeachingAssignment.objects.values_list("teacher__username", "subject__code",
                                                          "school_class__code", "group__code", "is_main_teacher")),
            sorted(ClassEnrolment.objects.values_list("pupil__username", "school_class__code")),
            sorted(Establishment.objects.values_list("uai", "name")),
        )

    seed("--seed", "7", "--pupils", "120")
    first = snapshot()
    output = seed("--seed", "7", "--pupils", "120", "--flush")
    assert "supprimées" in output
    assert snapshot() == first
    seed("--seed", "8", "--pupils", "120", "--flush")
    other = snapshot()
    assert not Establishment.objects.filter(external_id__startswith="SEED-7-").exists()
    assert {u for u, _, _ in other[0]} != {u for u, _, _ in first[0]}


def test_seed_second_run_is_a_no_op_and_reissues_activation_codes():
    seed("--pupils", "120", "--print-accounts")
    counts = (User.objects.count(), Membership.objects.count(), GuardianLink.objects.count(),
              Establishment.objects.count(), TeachingAssignment.objects.count())
    first_codes = set(ActivationCode.objects.values_list("pk", flat=True))
    output = seed("--pupils", "120", "--print-accounts")
    assert "existe déjà" in output and "Rien à créer" in output
    assert (User.objects.count(), Membership.objects.count(), GuardianLink.objects.count(),
            Establishment.objects.count(), TeachingAssignment.objects.count()) == counts
    assert "code : " in output
    # The earlier codes were revoked by the new ones.
    assert not ActivationCode.objects.filter(pk__in=first_codes, revoked_at__isnull=True).exists()
    assert ActivationCode.objects.filter(revoked_at__isnull=True).count() == len(first_codes)


def test_seed_three_establishments_adds_a_collège_of_the_same_shape():
    output = seed("--establishments", "3", "--pupils", "60")
    assert "[2/2]" in output
    assert Establishment.objects.count() == 3
    third = college(unit=1)
    assert third.kind == Establishment.Kind.COLLEGE and third.name.startswith("Collège ")
    assert len(set(Establishment.objects.values_list("uai", flat=True))) == 3
    assert people(third, Role.PUPIL).count() > 0 and people(third, Role.ENT_ADMIN).count() == 1
    assert SchoolClass.objects.filter(establishment=third).count() == 8
    assert not SchoolClass.objects.filter(establishment=third).exclude(
        pk__in=ClassEnrolment.objects.values("school_class_id")).exists()
    # Every seeded row carries a SEED- external id, and usernames are unique prenom.nom.
    assert not User.objects.exclude(external_id__startswith="SEED-1-").exists()
    assert all("." in u and u == u.lower() and u.isascii() for u in User.objects.values_list("username", flat=True))


def test_seed_policy_guardian_sees_only_own_children_and_restrictions_apply():
    seed("--pupils", "120")
    children = guardian_children()
    denied = defaultdict(set)
    for link in GuardianLink.objects.exclude(denied_services=[]):
        for service in link.denied_services:
            denied[(link.guardian_id, service)].add(link.pupil_id)
    guardians = User.objects.filter(pk__in=list(children)).exclude(
        memberships__role__in=[Role.TEACHER, Role.STAFF, Role.ENT_ADMIN])
    for guardian in guardians:
        actor = policy.actor_for(guardian)
        for service in (Service.GRADES, Service.HOMEWORK, Service.ATTENDANCE):
            visible = set(policy.pupils_visible_to(actor, service).values_list("pk", flat=True))
            assert visible == children[guardian.pk] - denied[(guardian.pk, service)]
    carer_link = GuardianLink.objects.filter(relation=GuardianLink.Relation.CARER).first()
    carer = policy.actor_for(carer_link.guardian)
    assert not policy.can_read_school_data(carer, carer_link.pupil, Service.GRADES)
    assert policy.can_read_school_data(carer, carer_link.pupil, Service.HOMEWORK)
    assert policy.can_read_school_data(carer, carer_link.pupil, Service.TIMETABLE)


def test_seed_policy_teacher_and_head_see_their_pupils_only():
    seed("--pupils", "120")
    clg = college()
    head = Membership.objects.get(establishment=clg, role=Role.STAFF, functions=[StaffFunction.HEAD]).user
    visible = set(policy.pupils_visible_to(policy.actor_for(head), Service.GRADES).values_list("pk", flat=True))
    assert visible == set(people(clg, Role.PUPIL).values_list("pk", flat=True))
    assignment = TeachingAssignment.objects.filter(establishment=clg, school_class__isnull=False,
                                                   subject__code="MATHS").first()
    teacher = assignment.teacher
    taught = TeachingAssignment.objects.filter(teacher=teacher)
    expected = set(ClassEnrolment.objects.filter(school_class__in=taught.values("school_class")).values_list(
        "pupil_id", flat=True)) | set(GroupMembership.objects.filter(group__in=taught.values("group")).values_list(
            "pupil_id", flat=True))
    assert set(policy.pupils_visible_to(policy.actor_for(teacher), Service.GRADES).values_list("pk", flat=True)) \
        == expected


def test_seed_usernames_are_folded_and_suffixed():
    assert fold("Anne-Sophie") == "anne-sophie" and fold("Le Gall") == "le-gall" and fold("Anaïs") == "anais"
    names = Usernames({"lea.martin"})
    assert [names.make("Léa", "Martin"), names.make("Léa", "Martin"), names.make("Zoé", "Da Silva")] == \
        ["lea.martin2", "lea.martin3", "zoe.da-silva"]


def test_seed_uai_check_letter_is_the_national_key():
    assert uai_for("0750654") == "0750654D"  # Lycée Henri-IV
    assert uai_for("0690001") == "0690001B"


def test_seed_rejects_bad_sizes():
    with pytest.raises(CommandError):
        call_command("seed", "--pupils", "3", stdout=io.StringIO())


def test_seed_policy_teacher_who_is_a_parent_sees_own_child_and_taught_pupils():
    seed("--pupils", "120")
    clg = college()
    teacher_ids = set(people(clg, Role.TEACHER).values_list("pk", flat=True))
    link = GuardianLink.objects.filter(guardian_id__in=teacher_ids).select_related("guardian").first()
    assert link is not None
    teacher = link.guardian
    taught = TeachingAssignment.objects.filter(teacher=teacher)
    assert taught.filter(school_class__isnull=False).exists()
    expected = {link.pupil_id} | set(ClassEnrolment.objects.filter(
        school_class__in=taught.values("school_class")).values_list("pupil_id", flat=True)) | set(
        GroupMembership.objects.filter(group__in=taught.values("group")).values_list("pupil_id", flat=True))
    assert set(policy.pupils_visible_to(policy.actor_for(teacher), Service.GRADES).values_list("pk", flat=True)) \
        == expected
