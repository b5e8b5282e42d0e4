"""The school agenda: who writes, who sees (per role, per class), validation, notifications, audit, selectors."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, Role, Service, StaffFunction
from preau.directory.testing import make_staff
from preau.timetable import agenda
from preau.timetable.models import AgendaEvent

from . import fixtures_agenda
from .fixtures_agenda import NOW, D, actor, add_event, at, visible_ids

notified = fixtures_agenda.notified

pytestmark = pytest.mark.django_db


# --- Who writes -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["head", "cpe", "secretary", "ent_admin"])
def test_school_staff_write_for_the_whole_establishment(world, who):
    event = add_event(getattr(world.one, who), world.one)
    assert event.establishment == world.one.establishment
    assert event.audience_roles == ["pupil", "guardian", "teacher", "staff"]


def test_vie_scolaire_writes_for_the_whole_establishment(world):
    vs = make_staff(world.one.establishment, StaffFunction.VIE_SCOLAIRE, username="vs")
    assert add_event(vs, world.one).pk


@pytest.mark.parametrize("who", ["nurse", "pupil_a", "mother_b"])
def test_other_people_do_not_write(world, who):
    with pytest.raises(PermissionDenied):
        add_event(getattr(world.one, who), world.one)


def test_no_one_writes_in_another_establishment(world):
    with pytest.raises(PermissionDenied):
        add_event(world.two.head, world.one)


def test_teacher_writes_for_their_classes_and_groups_only(world):
    teacher = world.one.teacher_a
    event = add_event(teacher, world.one, classes=[world.one.class_a])
    assert list(event.classes.all()) == [world.one.class_a]
    with pytest.raises(PermissionDenied):
        add_event(teacher, world.one, classes=[world.one.class_b])
    with pytest.raises(ValidationError) as error:
        add_event(teacher, world.one)  # the whole establishment
    assert "classe" in str(error.value)
    assert add_event(world.one.group_teacher, world.one, groups=[world.one.group]).pk


def test_validation_in_french(world):
    head = world.one.head
    with pytest.raises(ValidationError) as error:
        add_event(head, world.one, title="   ")
    assert error.value.message_dict["title"] == ["Donnez un titre."]
    with pytest.raises(ValidationError) as error:
        add_event(head, world.one, starts_at=at(D(2026, 10, 15), 18), ends_at=at(D(2026, 10, 15), 17))
    assert "précéder" in error.value.message_dict["ends_at"][0]
    with pytest.raises(ValidationError) as error:
        add_event(head, world.one, audience_roles=[])
    assert "audience_roles" in error.value.message_dict
    with pytest.raises(ValidationError):
        add_event(head, world.one, audience_roles=["ent_admin"])
    with pytest.raises(ValidationError):
        add_event(head, world.one, kind="party")
    with pytest.raises(ValidationError) as error:
        add_event(head, world.one, classes=[world.two.class_a])
    assert "classes" in error.value.message_dict
    with pytest.raises(ValidationError):
        add_event(head, world.one, classes=["abc"])
    assert not AgendaEvent.objects.exists()


def test_description_is_sanitised_and_all_day_events_span_whole_days(world):
    event = add_event(world.one.head, world.one, description='<p>Venez <script>alert(1)</script><b>nombreux</b></p>',
                      all_day=True, starts_at=D(2026, 10, 20), ends_at=D(2026, 10, 22))
    assert "<script>" not in event.description and "<b>nombreux</b>" in event.description
    assert event.starts_at == at(D(2026, 10, 20), 0) and event.ends_at == at(D(2026, 10, 23), 0)
    assert agenda.last_day(event) == D(2026, 10, 22)


def test_create_is_audited(world):
    event = add_event(world.one.cpe, world.one)
    audit = AuditEvent.objects.get(action=AuditEvent.Action.AGENDA_EVENT_PUBLISHED)
    assert audit.actor == world.one.cpe and audit.establishment_id == world.one.establishment.pk
    assert audit.details["event"] == event.pk and audit.details["change"] == "created"


# --- Who sees -------------------------------------------------------------------------------------------------

def test_whole_establishment_event_by_role(world):
    one, two = world.one, world.two
    for_all = add_event(one.head, one)
    for_guardians = add_event(one.head, one, title="Parents", audience_roles=[Role.GUARDIAN])
    for person in (one.pupil_a, one.pupil_b, one.mother_b, one.teacher_a, one.nurse, one.ent_admin):
        assert for_all.pk in visible_ids(person)
    assert for_guardians.pk in visible_ids(one.mother_b)
    assert for_guardians.pk not in visible_ids(one.pupil_b)
    assert for_guardians.pk not in visible_ids(one.teacher_a)
    assert for_guardians.pk in visible_ids(one.nurse)  # staff see their establishment's agenda
    assert for_guardians.pk in visible_ids(world.global_admin)
    for person in (two.pupil_a, two.mother_b, two.teacher_a, two.head, two.ent_admin):
        assert visible_ids(person) == set()


def test_class_event_seen_by_that_class_only(world):
    one = world.one
    trip = add_event(one.teacher_b, one, title="Sortie 5e B", classes=[one.class_b])
    seen = {trip.pk}
    for person in (one.pupil_b, one.pupil_b2, one.mother_b, one.father_b, one.teacher_b, one.head, one.cpe):
        assert visible_ids(person) == seen, person.username
    for person in (one.pupil_a, one.guardian_a, one.teacher_a, one.group_teacher, world.two.pupil_b):
        assert visible_ids(person) == set(), person.username


def test_group_event_seen_by_the_group(world):
    one = world.one
    latin = add_event(one.group_teacher, one, title="Latin", groups=[one.group],
                      audience_roles=[Role.PUPIL, Role.GUARDIAN, Role.TEACHER])
    assert latin.pk in visible_ids(one.pupil_a) and latin.pk in visible_ids(one.guardian_a)
    assert latin.pk in visible_ids(one.group_teacher)
    assert latin.pk not in visible_ids(one.pupil_b) and latin.pk not in visible_ids(one.mother_b)
    assert latin.pk not in visible_ids(one.teacher_a)


def test_guardian_whose_link_denies_the_timetable_does_not_see_class_events(world):
    one = world.one
    trip = add_event(one.head, one, classes=[one.class_b])
    GuardianLink.objects.filter(guardian=one.father_b).update(denied_services=[Service.TIMETABLE])
    assert trip.pk not in visible_ids(one.father_b)
    assert trip.pk in visible_ids(one.mother_b)


def test_access_is_404_for_the_unseen_and_manage_is_for_writers(world):
    from django.http import Http404

    from preau.access import policy

    one = world.one
    trip = add_event(one.teacher_b, one, classes=[one.class_b])
    assert policy.access_agenda_event(actor(one.pupil_b), trip.pk) == trip
    with pytest.raises(Http404):
        policy.access_agenda_event(actor(one.pupil_a), trip.pk)
    with pytest.raises(Http404):
        policy.access_agenda_event(actor(one.pupil_b), trip.pk, manage=True)
    with pytest.raises(Http404):
        policy.access_agenda_event(actor(one.head), "x")
    assert policy.can_manage_agenda_event(actor(one.teacher_b), trip)
    assert policy.can_manage_agenda_event(actor(one.head), trip)
    assert not policy.can_manage_agenda_event(actor(one.teacher_a), trip)
    assert not policy.can_manage_agenda_event(actor(world.two.head), trip)


def test_range_selection_includes_overlapping_events(world):
    one = world.one
    long_trip = add_event(one.head, one, title="Voyage", all_day=True, starts_at=D(2026, 10, 12),
                          ends_at=D(2026, 10, 16))
    later = add_event(one.head, one, title="Plus tard", day=D(2026, 10, 20))
    ids = lambda first, last: [e.pk for e in agenda.events_visible_to(actor(one.pupil_a), first, last)]  # noqa: E731
    assert ids(D(2026, 10, 14), D(2026, 10, 14)) == [long_trip.pk]
    assert ids(D(2026, 10, 17), D(2026, 10, 19)) == []
    assert ids(D(2026, 10, 12), D(2026, 10, 25)) == [long_trip.pk, later.pk]


def test_events_for_pupil_and_for_their_guardian(world):
    one = world.one
    for_pupils = add_event(one.head, one, title="Photo de classe", classes=[one.class_b], audience_roles=[Role.PUPIL])
    for_parents = add_event(one.head, one, title="Réunion", classes=[one.class_b], audience_roles=[Role.GUARDIAN])
    add_event(one.head, one, title="Autre classe", classes=[one.class_a])
    first, last = D(2026, 10, 12), D(2026, 10, 18)
    assert [e.pk for e in agenda.events_for_pupil(one.pupil_b, first, last)] == [for_pupils.pk]
    all_parents = add_event(one.head, one, title="Réunion de rentrée", audience_roles=[Role.GUARDIAN])
    seen_by_mother = agenda.events_for_pupil(one.pupil_b, first, last, viewer=actor(one.mother_b))
    assert {e.pk for e in seen_by_mother} == {for_pupils.pk, for_parents.pk, all_parents.pk}
    # A guardian of another child does not get this child's parents' events.
    assert [e.pk for e in agenda.events_for_pupil(one.pupil_b, first, last, viewer=actor(one.guardian_a))] \
        == [for_pupils.pk]


def test_selectors_are_a_constant_number_of_queries(world, django_assert_max_num_queries):
    one = world.one
    for index in range(3):
        add_event(one.head, one, title=f"E{index}", classes=[one.class_b])
    first, last = D(2026, 9, 1), D(2026, 12, 31)
    who = actor(one.mother_b)
    who.memberships, who.child_links  # noqa: B018 (the per-request actor loads these once)
    with django_assert_max_num_queries(3):
        few = agenda.events_visible_to(who, first, last)
    for index in range(30):
        add_event(one.head, one, title=f"F{index}", classes=[one.class_b], audience_roles=[Role.GUARDIAN])
    with django_assert_max_num_queries(3):
        many = agenda.events_visible_to(who, first, last)
    assert len(few) == 3 and len(many) == 33
    for event in many:
        list(event.classes.all()), list(event.groups.all())


# --- Notifications --------------------------------------------------------------------------------------------

def test_audience_is_notified_on_commit(world, notified):
    one = world.one
    with notified():
        event = add_event(one.teacher_b, one, classes=[one.class_b],
                          audience_roles=[Role.PUPIL, Role.GUARDIAN, Role.TEACHER])
    expected = sorted([one.pupil_b.pk, one.pupil_b2.pk, one.mother_b.pk, one.father_b.pk])  # not the author
    assert notified.recipients() == expected
    from preau.notifications.models import Notification

    row = Notification.objects.filter(source=f"agenda.event:{event.pk}").first()
    assert row.kind == agenda.NOTIFICATION_KIND == "timetable"
    assert row.url == f"/agenda/{event.pk}/"


def test_whole_establishment_roles_are_notified(world, notified):
    one = world.one
    with notified():
        add_event(one.head, one, audience_roles=[Role.TEACHER, Role.STAFF])
    expected = {one.teacher_a.pk, one.teacher_b.pk, one.group_teacher.pk, one.cpe.pk, one.secretary.pk,
                one.nurse.pk}
    assert set(notified.recipients()) == expected


def test_guardians_denied_the_timetable_are_not_notified(world, notified):
    one = world.one
    GuardianLink.objects.filter(guardian=one.father_b).update(denied_services=[Service.TIMETABLE])
    with notified():
        add_event(one.head, one, classes=[one.class_b], audience_roles=[Role.GUARDIAN])
    assert notified.recipients() == [one.mother_b.pk]


def test_past_events_notify_nobody_and_edits_notify_only_when_moved(world, notified):
    one = world.one
    with notified():
        add_event(one.head, one, day=D(2026, 9, 15), now=at(D(2026, 9, 20), 8))
    assert notified.recipients() == []
    with notified():
        event = add_event(one.head, one, classes=[one.class_a], audience_roles=[Role.PUPIL])
    assert notified.recipients() == [one.pupil_a.pk]
    with notified():
        agenda.agenda_event_update(actor=actor(one.head), event=event, title="Nouveau titre",
                                   starts_at=event.starts_at, ends_at=event.ends_at, classes=[one.class_a],
                                   audience_roles=[Role.PUPIL], now=NOW)
    assert notified.recipients() == [one.pupil_a.pk]  # same slot: nobody told again
    with notified():
        agenda.agenda_event_update(actor=actor(one.head), event=event, title="Nouveau titre",
                                   starts_at=at(D(2026, 10, 16), 18), ends_at=at(D(2026, 10, 16), 19),
                                   classes=[one.class_a], audience_roles=[Role.PUPIL], now=NOW)
    assert notified.recipients() == [one.pupil_a.pk, one.pupil_a.pk]
    with notified():
        agenda.agenda_event_delete(actor=actor(one.head), event=event, now=NOW)
    assert notified.recipients() == [one.pupil_a.pk] * 3
    assert not AgendaEvent.objects.filter(pk=event.pk).exists()


def test_update_and_delete_need_the_right_to_manage(world):
    one = world.one
    event = add_event(one.teacher_b, one, classes=[one.class_b])
    with pytest.raises(PermissionDenied):
        agenda.agenda_event_update(actor=actor(one.teacher_a), event=event, title="X", starts_at=event.starts_at)
    with pytest.raises(PermissionDenied):
        agenda.agenda_event_delete(actor=actor(one.pupil_b), event=event)
    updated = agenda.agenda_event_update(actor=actor(one.teacher_b), event=event, title="Sortie au musée",
                                         starts_at=event.starts_at, ends_at=event.ends_at, classes=[one.class_b],
                                         location="Musée des Confluences", now=NOW)
    assert updated.title == "Sortie au musée" and updated.location == "Musée des Confluences"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.AGENDA_EVENT_PUBLISHED).count() == 2
