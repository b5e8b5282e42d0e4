"""directory.services asked directly: every write checks the policy (PermissionDenied), whoever calls it."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from preau.access import policy
from preau.directory import services
from preau.directory.models import GuardianLink, Membership, Role, TeachingAssignment

pytestmark = pytest.mark.django_db


def _writes(s):
    """One call per service, on objects of school `s`."""
    link = GuardianLink.objects.get(guardian=s.mother_b, pupil=s.pupil_b)
    membership = Membership.objects.get(user=s.teacher_b)
    assignment = TeachingAssignment.objects.get(teacher=s.teacher_b)
    e = s.establishment
    return {
        "establishment_update": lambda a: services.establishment_update(actor=a, establishment=e, name="X"),
        "school_year_create": lambda a: services.school_year_create(
            actor=a, establishment=e, label="2027-2028", start=datetime.date(2027, 9, 1),
            end=datetime.date(2028, 7, 4)),
        "school_year_set_current": lambda a: services.school_year_set_current(actor=a, school_year=s.year),
        "class_create": lambda a: services.class_create(actor=a, school_year=s.year, code="Z", label="Z"),
        "class_update": lambda a: services.class_update(actor=a, school_class=s.class_a, code="Z", label="Z"),
        "class_delete": lambda a: services.class_delete(actor=a, school_class=s.class_a),
        "group_create": lambda a: services.group_create(actor=a, school_year=s.year, code="Z", label="Z"),
        "group_delete": lambda a: services.group_delete(actor=a, group=s.group),
        "subject_create": lambda a: services.subject_create(actor=a, establishment=e, code="Z", label="Z"),
        "person_create": lambda a: services.person_create(actor=a, establishment=e, first_name="A", last_name="B",
                                                          role=Role.TEACHER),
        "person_update": lambda a: services.person_update(actor=a, establishment=e, person=s.pupil_b, phone="1"),
        "person_set_active": lambda a: services.person_set_active(actor=a, establishment=e, person=s.pupil_b,
                                                                  active=False),
        "membership_grant": lambda a: services.membership_grant(actor=a, establishment=e, person=s.pupil_b,
                                                                role=Role.STAFF),
        "membership_revoke": lambda a: services.membership_revoke(actor=a, membership=membership),
        "enrolment_set": lambda a: services.enrolment_set(actor=a, pupil=s.pupil_b, school_class=s.class_a),
        "guardian_link_create": lambda a: services.guardian_link_create(
            actor=a, establishment=e, guardian=s.guardian_a, pupil=s.pupil_b, relation="other"),
        "guardian_link_update": lambda a: services.guardian_link_update(
            actor=a, establishment=e, link=link, relation="other", legal_authority=False,
            receives_correspondence=False, contact_order=1, denied_services=[]),
        "guardian_link_delete": lambda a: services.guardian_link_delete(actor=a, establishment=e, link=link),
        "assignment_create": lambda a: services.assignment_create(actor=a, teacher=s.teacher_a, subject=s.subject,
                                                                  school_class=s.class_b),
        "assignment_delete": lambda a: services.assignment_delete(actor=a, assignment=assignment),
    }


@pytest.mark.parametrize("persona", ["teacher_b", "head", "mother_b", "pupil_b"])
def test_directory_services_non_admin_permission_denied(world, persona):
    actor = policy.actor_for(getattr(world.one, persona))
    for name, call in _writes(world.one).items():
        with pytest.raises(PermissionDenied):
            call(actor)
            pytest.fail(name)


def test_directory_services_ent_admin_of_other_establishment_permission_denied(world):
    actor = policy.actor_for(world.two.ent_admin)
    for name, call in _writes(world.one).items():
        with pytest.raises(PermissionDenied):
            call(actor)
            pytest.fail(name)


def test_directory_services_establishment_create_global_admin_only(world):
    kwargs = {"uai": "0690077K", "name": "École du Parc", "kind": "ecole"}
    with pytest.raises(PermissionDenied):
        services.establishment_create(actor=policy.actor_for(world.one.ent_admin), **kwargs)
    created = services.establishment_create(actor=policy.actor_for(world.global_admin), **kwargs)
    assert created.uai == "0690077K"


def test_directory_services_school_year_end_before_start_validation_error(world):
    actor = policy.actor_for(world.one.ent_admin)
    with pytest.raises(ValidationError) as caught:
        services.school_year_create(actor=actor, establishment=world.one.establishment, label="2027-2028",
                                    start=datetime.date(2028, 7, 4), end=datetime.date(2027, 9, 1))
    assert "end" in caught.value.error_dict


@pytest.mark.parametrize(("start", "end", "scheme", "expected"), [
    ((2026, 9, 1), (2027, 7, 4), "trimesters", 3),
    ((2026, 9, 1), (2027, 7, 4), "semesters", 2),
    ((2027, 1, 1), (2027, 1, 3), "trimesters", 3),
])
def test_directory_services_split_periods_cover_the_year_without_gaps(start, end, scheme, expected):
    start, end = datetime.date(*start), datetime.date(*end)
    periods = services.split_periods(start, end, scheme)
    assert len(periods) == expected
    assert periods[0][1] == start and periods[-1][2] == end
    for (_l1, _s1, e1), (_l2, s2, _e2) in zip(periods, periods[1:], strict=False):
        assert s2 == e1 + datetime.timedelta(days=1)


def test_directory_services_suggest_username_ascii_and_unique(world):
    assert services.suggest_username("Éloïse", "N'Diaye") == "eloise.ndiaye"
    assert services.suggest_username("", "") == "utilisateur"
