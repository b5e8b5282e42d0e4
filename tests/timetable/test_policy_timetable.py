"""The Timetable section of the access policy (core)."""

import pytest
from django.http import Http404

from preau.access import policy
from preau.directory.models import GuardianLink, Service

from .fixtures_core import make_course, make_room

pytestmark = pytest.mark.django_db


def actor(user):
    return policy.actor_for(user)


def test_pupil_reads_only_self(world):
    s = world.one
    a = actor(s.pupil_a)
    assert policy.can_read_timetable(a, s.pupil_a)
    assert not policy.can_read_timetable(a, s.pupil_b)
    assert list(policy.timetable_pupils_visible_to(a)) == [s.pupil_a]
    with pytest.raises(Http404):
        policy.access_timetable_pupil(a, s.pupil_b.pk)
    assert policy.access_timetable_class(a, s.class_a.pk) == s.class_a
    with pytest.raises(Http404):
        policy.access_timetable_class(a, s.class_b.pk)
    assert policy.access_timetable_group(a, s.group.pk) == s.group
    assert not policy.can_read_teacher_timetable(a, s.teacher_a)
    room = make_room(s)
    with pytest.raises(Http404):
        policy.access_room(a, room.pk)


def test_guardian_reads_children_unless_timetable_denied(world):
    s = world.one
    mother = actor(s.mother_b)
    assert policy.can_read_timetable(mother, s.pupil_b)
    assert not policy.can_read_timetable(mother, s.pupil_a)
    assert policy.access_timetable_pupil(mother, s.pupil_b.pk) == s.pupil_b
    assert policy.access_timetable_class(mother, s.class_b.pk) == s.class_b
    with pytest.raises(Http404):
        policy.access_timetable_class(mother, s.class_a.pk)
    GuardianLink.objects.filter(guardian=s.father_b).update(denied_services=[Service.TIMETABLE])
    father = actor(s.father_b)
    assert not policy.can_read_timetable(father, s.pupil_b)
    with pytest.raises(Http404):
        policy.access_timetable_pupil(father, s.pupil_b.pk)
    with pytest.raises(Http404):
        policy.access_timetable_class(father, s.class_b.pk)
    course = make_course(s, classes=[s.class_b])
    assert policy.access_course(mother, course.pk) == course
    with pytest.raises(Http404):
        policy.access_course(father, course.pk)


def test_teachers_and_staff_of_the_establishment(world):
    s = world.one
    room = make_room(s)
    course = make_course(s)
    for user in (s.teacher_a, s.teacher_b, s.group_teacher, s.head, s.cpe, s.secretary, s.ent_admin):
        a = actor(user)
        assert policy.can_read_timetable(a, s.pupil_b), user
        assert policy.access_timetable_class(a, s.class_b.pk) == s.class_b
        assert policy.access_room(a, room.pk) == room
        assert policy.can_read_teacher_timetable(a, s.teacher_b)
        assert policy.access_course(a, course.pk) == course
        assert policy.can_find_free_rooms(a, s.establishment.pk)


def test_other_establishment_never(world):
    s, other = world.one, world.two
    room = make_room(s)
    course = make_course(s)
    for user in (other.teacher_a, other.head, other.cpe, other.ent_admin, other.pupil_a, other.mother_b):
        a = actor(user)
        assert not policy.can_read_timetable(a, s.pupil_b)
        assert not policy.can_read_teacher_timetable(a, s.teacher_a)
        for access, pk in ((policy.access_timetable_pupil, s.pupil_b.pk), (policy.access_timetable_class, s.class_a.pk),
                           (policy.access_timetable_group, s.group.pk), (policy.access_room, room.pk),
                           (policy.access_course, course.pk), (policy.access_timetable_teacher, s.teacher_a.pk)):
            with pytest.raises(Http404):
                access(a, pk)
        assert not policy.can_manage_timetable(a, s.establishment.pk)
        assert not policy.can_change_occurrences(a, s.establishment.pk)
        assert not policy.can_find_free_rooms(a, s.establishment.pk)


def test_who_manages_and_who_changes_occurrences(world):
    s = world.one
    e = s.establishment.pk
    assert policy.can_manage_timetable(actor(s.head), e)
    assert policy.can_manage_timetable(actor(s.ent_admin), e)
    assert policy.can_manage_timetable(actor(world.global_admin), e)
    for user in (s.cpe, s.secretary, s.nurse, s.teacher_a, s.pupil_a, s.mother_b):
        assert not policy.can_manage_timetable(actor(user), e), user
    assert policy.can_change_occurrences(actor(s.cpe), e)
    assert policy.can_change_occurrences(actor(s.head), e)
    for user in (s.secretary, s.nurse, s.teacher_a, s.pupil_a, s.mother_b):
        assert not policy.can_change_occurrences(actor(user), e), user


def test_missing_and_bad_ids_are_404(world):
    a = actor(world.one.head)
    for access in (policy.access_timetable_pupil, policy.access_timetable_class, policy.access_timetable_group,
                   policy.access_room, policy.access_course, policy.access_timetable_teacher):
        for bad in (999999, "abc", None):
            with pytest.raises(Http404):
                access(a, bad)


def test_nurse_reads_rooms_but_not_pupils_outside_timetable_functions(world):
    # Every member of the staff works in the establishment: the timetable is not sensitive.
    s = world.one
    assert policy.can_read_timetable(actor(s.nurse), s.pupil_a)
    assert s.pupil_b in policy.timetable_pupils_visible_to(actor(s.teacher_a))


def test_global_admin_reads_and_manages(world):
    s = world.one
    a = actor(world.global_admin)
    assert policy.can_read_timetable(a, s.pupil_b)
    assert policy.access_timetable_class(a, world.two.class_a.pk) == world.two.class_a
    assert policy.can_manage_timetable(a, world.two.establishment.pk)


def test_inactive_pupil_is_not_visible(world):
    s = world.one
    s.pupil_b.is_active = False
    s.pupil_b.save()
    with pytest.raises(Http404):
        policy.access_timetable_pupil(actor(s.head), s.pupil_b.pk)
