"""The access policy, asked directly. tests/test_access_matrix.py asks the same questions through HTTP."""

import pytest

from preau.access import policy
from preau.directory.models import Service

pytestmark = pytest.mark.django_db


def visible(user, service):
    return set(policy.pupils_visible_to(policy.actor_for(user), service).values_list("pk", flat=True))


def test_pupil_sees_only_own_school_data(world):
    s = world.one
    assert visible(s.pupil_b, Service.GRADES) == {s.pupil_b.pk}


def test_guardian_sees_own_child_only(world):
    s = world.one
    assert visible(s.mother_b, Service.GRADES) == {s.pupil_b.pk}
    assert visible(s.guardian_a, Service.ATTENDANCE) == {s.pupil_a.pk}


def test_guardian_with_restricted_rights_loses_that_service_only(world):
    s = world.one
    assert visible(s.father_b, Service.GRADES) == set()
    assert visible(s.father_b, Service.HOMEWORK) == {s.pupil_b.pk}
    assert not policy.can_read_school_data(policy.actor_for(s.father_b), s.pupil_b, Service.GRADES)
    assert policy.can_read_school_data(policy.actor_for(s.father_b), s.pupil_b, Service.TIMETABLE)


def test_teacher_sees_pupils_of_taught_classes_and_groups(world):
    s = world.one
    assert visible(s.teacher_b, Service.GRADES) == {s.pupil_b.pk, s.pupil_b2.pk}
    assert visible(s.teacher_a, Service.GRADES) == {s.pupil_a.pk}
    assert visible(s.group_teacher, Service.GRADES) == {s.pupil_a.pk}


def test_leadership_and_cpe_see_their_establishment_only(world):
    s, other = world.one, world.two
    expected = {s.pupil_a.pk, s.pupil_b.pk, s.pupil_b2.pk}
    assert visible(s.head, Service.GRADES) == expected
    assert visible(s.cpe, Service.ATTENDANCE) == expected
    assert not visible(s.head, Service.GRADES) & {other.pupil_a.pk, other.pupil_b.pk}


def test_staff_functions_limit_services(world):
    s = world.one
    assert visible(s.secretary, Service.GRADES) == set()
    assert visible(s.nurse, Service.GRADES) == set()
    assert visible(s.secretary, Service.REPORT_CARDS) == {s.pupil_a.pk, s.pupil_b.pk, s.pupil_b2.pk}


def test_ent_admin_and_global_admin_do_not_read_school_data(world):
    assert visible(world.one.ent_admin, Service.GRADES) == set()
    assert visible(world.global_admin, Service.GRADES) == set()


def test_ent_admin_administers_own_establishment_people_only(world):
    actor = policy.actor_for(world.one.ent_admin)
    assert policy.can_administer_person(actor, world.one.pupil_b)
    assert not policy.can_administer_person(actor, world.two.pupil_b)
    assert not policy.can_administer_person(actor, world.global_admin)
    assert policy.can_administer(actor, world.one.establishment.pk)
    assert not policy.can_administer(actor, world.two.establishment.pk)


def test_directory_visibility_for_families(world):
    s = world.one
    pupil_sees = set(policy.people_visible_to(policy.actor_for(s.pupil_b)).values_list("pk", flat=True))
    assert s.pupil_b2.pk in pupil_sees  # classmate
    assert s.teacher_a.pk in pupil_sees  # teachers of the establishment
    assert s.pupil_a.pk not in pupil_sees  # other class
    assert s.mother_b.pk not in pupil_sees and s.guardian_a.pk not in pupil_sees
    assert world.two.teacher_a.pk not in pupil_sees

    mother_sees = set(policy.people_visible_to(policy.actor_for(s.mother_b)).values_list("pk", flat=True))
    assert s.pupil_b.pk in mother_sees and s.head.pk in mother_sees
    assert s.pupil_b2.pk not in mother_sees and s.father_b.pk not in mother_sees


def test_contact_details(world):
    s = world.one
    assert policy.can_read_contact_details(policy.actor_for(s.mother_b), s.pupil_b)
    assert not policy.can_read_contact_details(policy.actor_for(s.mother_b), s.pupil_b2)
    assert policy.can_read_contact_details(policy.actor_for(s.secretary), s.mother_b)
    assert not policy.can_read_contact_details(policy.actor_for(s.teacher_b), s.mother_b)
    assert not policy.can_read_contact_details(policy.actor_for(s.secretary), world.two.mother_b)


def test_people_in_two_establishments_see_both(world):
    from preau.directory.models import Role
    from preau.directory.testing import add_membership

    s, other = world.one, world.two
    add_membership(s.teacher_a, other.establishment, Role.TEACHER)
    sees = set(policy.people_visible_to(policy.actor_for(s.teacher_a)).values_list("pk", flat=True))
    assert other.pupil_a.pk in sees and s.pupil_b.pk in sees


def test_actor_queries_are_memoised(world, django_assert_max_num_queries):
    actor = policy.actor_for(world.one.mother_b)
    with django_assert_max_num_queries(2):
        for _ in range(5):
            assert actor.memberships
            actor.child_ids("grades")
            policy.can_read_school_data(actor, world.one.pupil_b, Service.GRADES)


def test_audit_events_visible_to_scopes_by_administered_establishment(world):
    from preau.audit.models import AuditEvent
    from preau.audit.services import record, record_sensitive_read

    one, two = world.one, world.two
    about_one = record_sensitive_read(actor=one.cpe, subject=one.pupil_b, target="grades")
    by_one_member = record(AuditEvent.Action.LOGIN, actor=one.teacher_a, subject=one.teacher_a)
    for_one = record(AuditEvent.Action.CHARTER_PUBLISHED, actor=world.global_admin,
                     establishment_id=one.establishment.pk)
    failed_on_one = record(AuditEvent.Action.LOGIN_FAILED, username_tried=one.pupil_a.username)
    about_two = record_sensitive_read(actor=two.cpe, subject=two.pupil_b, target="grades")
    failed_unknown = record(AuditEvent.Action.LOGIN_FAILED, username_tried="nobody")

    def visible(user):
        return set(policy.audit_events_visible_to(policy.actor_for(user)).values_list("pk", flat=True))

    assert visible(one.ent_admin) == {about_one.pk, by_one_member.pk, for_one.pk, failed_on_one.pk}
    assert visible(two.ent_admin) == {about_two.pk}
    assert visible(world.global_admin) == {about_one.pk, by_one_member.pk, for_one.pk, failed_on_one.pk,
                                           about_two.pk, failed_unknown.pk}
    for persona in ("pupil_b", "mother_b", "teacher_b", "head", "cpe", "secretary", "nurse"):
        assert visible(getattr(one, persona)) == set()
    assert not policy.audit_events_visible_to(None).exists()


def test_sensitive_reads_about_visible_to_self_and_children(world):
    from preau.audit.services import record_sensitive_read

    s = world.one
    about_lea = record_sensitive_read(actor=s.cpe, subject=s.pupil_b, target="grades")
    about_mother = record_sensitive_read(actor=s.cpe, subject=s.mother_b, target="directory.contact")
    about_other = record_sensitive_read(actor=s.cpe, subject=s.pupil_a, target="grades")

    def visible(user):
        return set(policy.sensitive_reads_about_visible_to(policy.actor_for(user)).values_list("pk", flat=True))

    assert visible(s.pupil_b) == {about_lea.pk}
    assert visible(s.mother_b) == {about_lea.pk, about_mother.pk}
    assert visible(s.father_b) == {about_lea.pk}
    assert visible(s.guardian_a) == {about_other.pk}
    assert visible(s.cpe) == set()
    assert not policy.sensitive_reads_about_visible_to(None).exists()
