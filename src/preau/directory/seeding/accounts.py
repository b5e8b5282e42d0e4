"""The demo accounts `preau seed` prints: one telling example per role, picked from the seeded data of unit 0.

They are found again by query (not remembered from the run that created them), so a second run prints the same
accounts. Activation codes are stored hashed and cannot be shown again: every run issues fresh ones (which revokes
the previous ones) for the unit's accounts left to activate.
"""

from __future__ import annotations

import re
from collections import defaultdict

from preau.accounts.models import User
from preau.directory.models import (
    Establishment,
    GuardianLink,
    Membership,
    Role,
    StaffFunction,
    TeachingAssignment,
)

from .engine import SEED_PREFIX, establishment_key, global_admin_key

# (role key, French label, printed in the table?) in display order.
ROLES = [
    ("pupil", "Élève", True),
    ("guardian_two_children", "Responsable de deux enfants", True),
    ("guardian_restricted", "Parent aux droits limités par décision de justice", True),
    ("carer", "Assistant familial (emploi du temps et devoirs seulement)", True),
    ("guardian_two_establishments", "Responsable d'enfants au collège et à l'école", True),
    ("teacher", "Enseignant, professeur principal", True),
    ("head", "Chef d'établissement", True),
    ("deputy", "Principal adjoint", False),
    ("cpe", "Conseiller principal d'éducation (CPE)", True),
    ("vie_scolaire", "Vie scolaire (AED)", False),
    ("secretary", "Secrétariat", True),
    ("librarian", "Professeur documentaliste", False),
    ("nurse", "Infirmerie", False),
    ("ent_admin", "Administrateur ENT de l'établissement", True),
    ("global_admin", "Administrateur global", True),
    ("teacher_parent", "Enseignante et parent d'élève au collège", False),
    ("ecole_director", "Directeur d'école (enseignant et administrateur ENT)", False),
    ("ecole_teacher", "Professeur des écoles", False),
    ("ecole_pupil", "Élève de l'école", False),
    ("to_activate", "Compte à activer", True),
]
LABELS = {key: label for key, label, _ in ROLES}
PRINTED = {key for key, _, printed in ROLES if printed}
STAFF_ROLES = {"head": StaffFunction.HEAD, "deputy": StaffFunction.DEPUTY, "cpe": StaffFunction.CPE,
               "vie_scolaire": StaffFunction.VIE_SCOLAIRE, "secretary": StaffFunction.SECRETARY,
               "librarian": StaffFunction.LIBRARIAN, "nurse": StaffFunction.NURSE}
TO_ACTIVATE_KINDS = {"R": "responsable", "P": "élève", "T": "enseignant"}


def natural(text: str | None):
    """Sort key putting SEED-1-0-P2 before SEED-1-0-P10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text or "")]


def _first(users):
    users = [u for u in users if u is not None]
    return min(users, key=lambda u: natural(u.external_id)) if users else None


def sample_accounts(*, seed: int, password: str, issue_codes: bool = True) -> tuple[list[dict], str | None]:
    """([{role, label, username, password, name, establishment, activation_code?}], note about codes or None)."""
    college = Establishment.objects.filter(external_id=establishment_key(seed, 0, 0)).first()
    if college is None:
        return [], None
    ecole = Establishment.objects.filter(external_id=establishment_key(seed, 0, 1)).first()
    picked: dict[str, tuple[User, Establishment | None]] = {}
    establishments = [e for e in (college, ecole) if e is not None]
    memberships = list(Membership.objects.filter(establishment__in=establishments).select_related("user"))
    pupil_school = {m.user_id: m.establishment_id for m in memberships if m.role == Role.PUPIL}
    roles_of: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for m in memberships:
        roles_of[m.user_id].add((m.establishment_id, m.role))
    users = {m.user_id: m.user for m in memberships}

    def active(user_id) -> bool:
        user = users.get(user_id)
        return user is not None and user.is_active and user.activated_at is not None

    def only_guardian(user_id) -> bool:
        return all(role == Role.GUARDIAN for _, role in roles_of[user_id])

    links = list(GuardianLink.objects.filter(pupil_id__in=list(pupil_school)))
    children: dict[int, list[GuardianLink]] = defaultdict(list)
    for link in links:
        children[link.guardian_id].append(link)

    # A parent with full rights and two children at the collège; their child and that child's main teacher.
    def full_parent_of_two(link_list):
        at_college = [k for k in link_list if pupil_school.get(k.pupil_id) == college.pk]
        return (len(at_college) >= 2 and all(not k.denied_services and k.legal_authority for k in link_list)
                and all(active(k.pupil_id) for k in at_college))

    parent = _first([users[g] for g, ls in children.items()
                     if active(g) and only_guardian(g) and full_parent_of_two(ls)
                     and {e for e, _ in roles_of[g]} == {college.pk}])
    if parent:
        picked["guardian_two_children"] = (parent, college)
        child = _first([users[k.pupil_id] for k in children[parent.pk] if pupil_school[k.pupil_id] == college.pk])
        picked["pupil"] = (child, college)
        main = (TeachingAssignment.objects.filter(school_class__enrolments__pupil=child, is_main_teacher=True)
                .select_related("teacher").first())
        if main and main.teacher.activated_at:
            picked["teacher"] = (main.teacher, college)
    if "teacher" not in picked:
        mains = TeachingAssignment.objects.filter(establishment=college, is_main_teacher=True,
                                                  teacher__activated_at__isnull=False).select_related("teacher")
        teacher = _first([a.teacher for a in mains])
        if teacher:
            picked["teacher"] = (teacher, college)

    def guardian_where(predicate, establishment=college):
        found = _first([users[link.guardian_id] for link in links
                        if active(link.guardian_id) and only_guardian(link.guardian_id) and predicate(link)])
        return (found, establishment) if found else None

    restricted = guardian_where(lambda k: not k.legal_authority and k.relation in ("mother", "father")
                                and k.denied_services)
    carer = guardian_where(lambda k: k.relation == GuardianLink.Relation.CARER)
    if ecole is not None:
        two = guardian_where(lambda k: {(college.pk, Role.GUARDIAN), (ecole.pk, Role.GUARDIAN)}
                             <= roles_of[k.guardian_id], establishment=college)
        if two:
            picked["guardian_two_establishments"] = two
            little = _first([users[k.pupil_id] for k in children[two[0].pk]
                             if pupil_school[k.pupil_id] == ecole.pk and active(k.pupil_id)])
            if little:
                picked["ecole_pupil"] = (little, ecole)
    for key, value in (("guardian_restricted", restricted), ("carer", carer)):
        if value:
            picked[key] = value

    for key, function in STAFF_ROLES.items():
        staff = _first([m.user for m in memberships if m.establishment_id == college.pk and m.role == Role.STAFF
                        and function in (m.functions or []) and active(m.user_id)])
        if staff:
            picked[key] = (staff, college)
    admin = _first([m.user for m in memberships if m.establishment_id == college.pk and m.role == Role.ENT_ADMIN
                    and active(m.user_id)])
    if admin:
        picked["ent_admin"] = (admin, college)
    both = _first([users[g] for g in children if active(g) and (college.pk, Role.TEACHER) in roles_of[g]])
    if both:
        picked["teacher_parent"] = (both, college)
    global_admin = User.objects.filter(external_id=global_admin_key(seed)).first()
    if global_admin:
        picked["global_admin"] = (global_admin, None)
    if ecole is not None:
        director = _first([m.user for m in memberships if m.establishment_id == ecole.pk and m.role == Role.STAFF
                           and StaffFunction.DIRECTOR in (m.functions or []) and active(m.user_id)])
        if director:
            picked["ecole_director"] = (director, ecole)
        teacher = _first([m.user for m in memberships if m.establishment_id == ecole.pk and m.role == Role.TEACHER
                          and active(m.user_id) and (ecole.pk, Role.STAFF) not in roles_of[m.user_id]])
        if teacher:
            picked["ecole_teacher"] = (teacher, ecole)

    entries = []
    for key, _, _ in ROLES:
        if key in picked:
            user, establishment = picked[key]
            entries.append(_entry(key, LABELS[key], user, establishment, password))

    # Accounts left to activate: fresh one-time codes (older ones are revoked).
    pending = sorted(User.objects.filter(external_id__startswith=f"{SEED_PREFIX}{seed}-0-", activated_at__isnull=True,
                                         is_active=True), key=lambda u: natural(u.external_id))
    pending.sort(key=lambda u: not u.external_id.rsplit("-", 1)[-1].startswith("R"))  # a guardian first
    codes, note = {}, None
    if pending and issue_codes:
        codes, note = _issue_codes(global_admin, pending)
    establishment_of = {m.user_id: m.establishment for m in memberships}
    for user in pending:
        kind = TO_ACTIVATE_KINDS.get(re.sub(r"\d+", "", user.external_id.rsplit("-", 1)[-1]), "")
        entry = _entry("to_activate", f"{LABELS['to_activate']} ({kind})", user, establishment_of.get(user.pk), None)
        entry["activation_code"] = codes.get(user.pk)
        entries.append(entry)
    return entries, note


def _entry(key, label, user: User, establishment: Establishment | None, password: str | None) -> dict:
    return {"role": key, "label": label, "username": user.username, "password": password, "name": user.full_name,
            "establishment": str(establishment) if establishment else None}


def _issue_codes(actor: User | None, users: list[User]) -> tuple[dict[int, str], str | None]:
    try:
        from preau.accounts.services import issue_activation_codes
    except ImportError:
        return {}, "Codes d'activation indisponibles : preau.accounts.services.issue_activation_codes n'existe pas."
    if actor is None:
        return {}, "Codes d'activation indisponibles : pas d'administrateur global pour les émettre."
    return issue_activation_codes(actor=actor, users=users), None
