"""Timetable services: courses (validation, double-booking warnings), occurrence changes (validation, audit,
notifications), calendars (closed periods, week labels, zone presets) (core)."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, Service
from preau.notifications.models import Notification
from preau.timetable import occurrences as occ
from preau.timetable import selectors, services
from preau.timetable.models import ClosedPeriod, Course, CourseChange, SchoolCalendar

from .fixtures_core import D, T, make_calendar, make_course, make_room

pytestmark = pytest.mark.django_db

MONDAY = D(2026, 9, 14)
NOW = datetime.datetime(2026, 9, 11, 10, tzinfo=occ.PARIS)  # Friday before


def messages(exc):
    return [m for ms in exc.value.message_dict.values() for m in ms]


# --- Courses ------------------------------------------------------------------------------------------------

def test_create_course_and_warnings_for_double_bookings(world):
    s = world.one
    make_calendar(s)
    room = make_room(s, "101")
    first = services.create_course(establishment=s.establishment, school_year=s.year, by=s.head, weekday=0,
                                   start_time=T(8), end_time=T(9), subject=s.subject, teachers=[s.teacher_a],
                                   classes=[s.class_a], room=room)
    assert first.warnings == [] and first.course.created_by == s.head
    assert list(first.course.classes.all()) == [s.class_a]
    clash = services.create_course(establishment=s.establishment, school_year=s.year, by=s.head, weekday=0,
                                   start_time=T(8, 30), end_time=T(9, 30), subject=s.subject,
                                   teachers=[s.teacher_a], classes=[s.class_b], room=room)
    assert len(clash.warnings) == 2
    assert any("salle" in w.lower() for w in clash.warnings)
    assert Course.objects.count() == 2  # a warning, not a refusal
    # Week A against week B never meet.
    services.update_course(first.course, by=s.head, week_pattern="A")
    assert services.update_course(clash.course, by=s.head, week_pattern="B").warnings == []
    assert services.update_course(clash.course, by=s.head, week_pattern="A").warnings != []
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TIMETABLE_EDITED).count() == 5


def test_course_validation_messages_in_french(world):
    s, other = world.one, world.two
    with pytest.raises(ValidationError) as exc:
        services.create_course(establishment=s.establishment, school_year=s.year, weekday=0, start_time=T(10),
                               end_time=T(9), subject=other.subject, teachers=[other.teacher_a],
                               classes=[other.class_a], room=make_room(other, "X"))
    text = " ".join(messages(exc))
    assert "L'heure de fin doit être après l'heure de début." in text
    assert "n'enseigne pas dans cet établissement" in text
    assert "n'est pas de l'année scolaire" in text
    assert "Cette salle n'appartient pas à l'établissement." in text
    assert "Cette matière n'appartient pas à l'établissement." in text
    with pytest.raises(ValidationError) as exc:
        services.create_course(establishment=s.establishment, school_year=s.year, weekday=None, start_time=T(8),
                               end_time=T(9), label="", subject=None)
    text = " ".join(messages(exc))
    assert "Choisissez le jour du cours." in text and "Indiquez une matière ou un libellé." in text
    assert "Indiquez au moins une classe ou un groupe." in text
    with pytest.raises(ValidationError) as exc:
        services.create_course(establishment=s.establishment, school_year=s.year, weekday=1, start_time=T(8),
                               end_time=T(9), label="Latin", groups=[s.group], week_pattern="custom",
                               custom_weeks=["2026-09-15", "nope"])
    assert any("n'est pas un lundi" in m for m in messages(exc)) and any("nope" in m for m in messages(exc))
    assert Course.objects.count() == 0


def test_delete_course(world):
    s = world.one
    course = make_course(s)
    services.delete_course(course, by=s.head)
    assert not Course.objects.exists()


# --- Occurrence changes -------------------------------------------------------------------------------------

@pytest.fixture
def course(world):
    s = world.one
    make_calendar(s, closed=[(D(2026, 10, 17), D(2026, 11, 1), "Toussaint")])
    return make_course(s, weekday=0, room=make_room(s, "101"))


def notified(django_capture_on_commit_callbacks, fn):
    with django_capture_on_commit_callbacks(execute=True):
        result = fn()
    return result, set(Notification.objects.values_list("recipient_id", flat=True))


def test_cancel_notifies_pupils_guardians_teachers(world, course, django_capture_on_commit_callbacks):
    s = world.one
    change, recipients = notified(django_capture_on_commit_callbacks, lambda: services.change_occurrence(
        course=course, planned_date=MONDAY, status="cancelled", by=s.cpe, reason="Professeur absent", now=NOW))
    assert change.status == "cancelled" and change.reason == "Professeur absent" and change.created_by == s.cpe
    assert recipients == {s.pupil_a.pk, s.guardian_a.pk, s.teacher_a.pk}
    n = Notification.objects.filter(recipient=s.pupil_a).get()
    assert n.kind == "timetable" and n.title.startswith("Cours annulé : Mathématiques, lundi 14 septembre à 08h00")
    assert "Professeur absent" in n.body and n.url == f"/emploi-du-temps/cours/{course.pk}/2026-09-14/"
    assert n.source.startswith(f"course:{course.pk}:2026-09-14")
    event = AuditEvent.objects.get(action=AuditEvent.Action.COURSE_CHANGED)
    assert event.actor == s.cpe and event.target == f"course:{course.pk}:2026-09-14"
    assert event.details["status"] == "cancelled"
    [o] = selectors.occurrences_for_pupil(s.pupil_a, MONDAY, MONDAY)
    assert o.status == "cancelled"


def test_guardian_denied_timetable_and_group_pupils(world, django_capture_on_commit_callbacks):
    s = world.one
    make_calendar(s)
    latin = make_course(s, weekday=0, teachers=[s.group_teacher], classes=[s.class_b], groups=[s.group],
                        label="Latin", subject=None)
    GuardianLink.objects.filter(guardian=s.father_b).update(denied_services=[Service.TIMETABLE])
    _change, recipients = notified(django_capture_on_commit_callbacks, lambda: services.change_occurrence(
        course=latin, planned_date=MONDAY, status="modified", by=s.head, replacement_teacher=s.teacher_b,
        now=NOW))
    assert recipients == {s.pupil_a.pk, s.guardian_a.pk, s.pupil_b.pk, s.pupil_b2.pk, s.mother_b.pk,
                          s.group_teacher.pk, s.teacher_b.pk}


def test_no_notification_outside_the_window(world, course, django_capture_on_commit_callbacks):
    s = world.one
    far = D(2026, 9, 28)  # 17 days after NOW
    _c, recipients = notified(django_capture_on_commit_callbacks, lambda: services.change_occurrence(
        course=course, planned_date=far, status="cancelled", by=s.cpe, now=NOW))
    assert recipients == set()
    # Moved from far away into the window: notified.
    _c, recipients = notified(django_capture_on_commit_callbacks, lambda: services.change_occurrence(
        course=course, planned_date=D(2026, 10, 5), status="moved", by=s.cpe, new_date=D(2026, 9, 16), now=NOW))
    assert s.pupil_a.pk in recipients
    # In the past: not notified.
    Notification.objects.all().delete()
    _c, recipients = notified(django_capture_on_commit_callbacks, lambda: services.change_occurrence(
        course=course, planned_date=D(2026, 9, 7), status="cancelled", by=s.cpe, now=NOW))
    assert recipients == set()


def test_notify_days_setting(world, course, settings, django_capture_on_commit_callbacks):
    settings.TIMETABLE_NOTIFY_DAYS = 30
    _c, recipients = notified(django_capture_on_commit_callbacks, lambda: services.change_occurrence(
        course=course, planned_date=D(2026, 9, 28), status="cancelled", by=world.one.cpe, now=NOW))
    assert world.one.pupil_a.pk in recipients


def test_move_validation(world, course):
    s = world.one
    with pytest.raises(ValidationError) as exc:
        services.change_occurrence(course=course, planned_date=D(2026, 9, 15), status="cancelled", by=s.cpe,
                                   now=NOW)
    assert messages(exc) == ["Ce cours n'a pas lieu à cette date."]
    with pytest.raises(ValidationError) as exc:  # planned during the holidays: no occurrence
        services.change_occurrence(course=course, planned_date=D(2026, 10, 19), status="cancelled", by=s.cpe)
    with pytest.raises(ValidationError) as exc:
        services.change_occurrence(course=course, planned_date=MONDAY, status="moved", by=s.cpe,
                                   new_date=D(2026, 10, 20))
    assert "sans cours" in messages(exc)[0]
    with pytest.raises(ValidationError):  # a Sunday
        services.change_occurrence(course=course, planned_date=MONDAY, status="moved", by=s.cpe,
                                   new_date=D(2026, 9, 20))
    with pytest.raises(ValidationError) as exc:
        services.change_occurrence(course=course, planned_date=MONDAY, status="moved", by=s.cpe,
                                   new_start_time=T(10), new_end_time=T(9, 30))
    assert "L'heure de fin doit être après l'heure de début." in messages(exc)
    with pytest.raises(ValidationError):
        services.change_occurrence(course=course, planned_date=MONDAY, status="moved", by=s.cpe)
    with pytest.raises(ValidationError):
        services.change_occurrence(course=course, planned_date=MONDAY, status="modified", by=s.cpe)
    with pytest.raises(ValidationError) as exc:
        services.change_occurrence(course=course, planned_date=MONDAY, status="modified", by=s.cpe,
                                   new_room=make_room(world.two, "Z"), replacement_teacher=world.two.teacher_a)
    assert len(messages(exc)) == 2
    with pytest.raises(ValidationError):
        services.change_occurrence(course=course, planned_date=MONDAY, status="bogus", by=s.cpe)
    assert not CourseChange.objects.exists()
    # Saturday is allowed (make-up courses, exams).
    change = services.change_occurrence(course=course, planned_date=MONDAY, status="moved", by=s.cpe,
                                        new_date=D(2026, 9, 19), now=NOW)
    assert change.new_date == D(2026, 9, 19)


def test_change_replaces_previous_and_revert(world, course, django_capture_on_commit_callbacks):
    s = world.one
    services.change_occurrence(course=course, planned_date=MONDAY, status="modified", by=s.cpe,
                               replacement_teacher=s.teacher_b, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_occurrence(course=course, planned_date=MONDAY, status="cancelled", by=s.cpe, now=NOW)
    change = CourseChange.objects.get()
    assert change.status == "cancelled" and change.replacement_teacher is None
    assert Notification.objects.filter(recipient=s.teacher_b).exists()  # the former replacement is told
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.revert_change(course=course, planned_date=MONDAY, by=s.cpe,
                               now=NOW + datetime.timedelta(minutes=1))
    assert not CourseChange.objects.exists()
    assert Notification.objects.filter(recipient=s.pupil_a, title__startswith="Cours rétabli").exists()
    with pytest.raises(ValidationError):
        services.revert_change(course=course, planned_date=MONDAY, by=s.cpe)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.COURSE_CHANGED).count() == 3


def test_change_warns_of_busy_room(world, course):
    s = world.one
    other_room = make_room(s, "202")
    make_course(s, weekday=2, start=T(15), end=T(16), room=other_room, classes=[s.class_b],
                teachers=[s.teacher_b])
    change = services.change_occurrence(course=course, planned_date=MONDAY, status="moved", by=s.cpe,
                                        new_date=D(2026, 9, 16), new_start_time=T(15), new_end_time=T(16),
                                        new_room=other_room, now=NOW)
    assert change.warnings and "202" in change.warnings[0]


def test_create_extra_course_and_exam(world, course, django_capture_on_commit_callbacks):
    s = world.one
    with django_capture_on_commit_callbacks(execute=True):
        saved = services.create_extra_course(establishment=s.establishment, date=D(2026, 9, 16), start_time=T(14),
                                             end_time=T(16), by=s.head, subject=s.subject,
                                             teachers=[s.teacher_a], classes=[s.class_a], is_exam=True, now=NOW)
    assert saved.course.kind == "exam" and saved.course.school_year == s.year
    assert Notification.objects.filter(recipient=s.guardian_a, title__startswith="Devoir surveillé").exists()
    found = selectors.occurrences_for_class(s.class_a, D(2026, 9, 16), D(2026, 9, 16))
    assert [o.is_exam for o in found] == [True]
    with pytest.raises(ValidationError) as exc:
        services.create_extra_course(establishment=s.establishment, date=D(2026, 10, 20), start_time=T(14),
                                     end_time=T(16), by=s.head, subject=s.subject, classes=[s.class_a])
    assert "sans cours" in messages(exc)[0]
    with pytest.raises(ValidationError):
        services.create_extra_course(establishment=s.establishment, date=D(2030, 1, 7), start_time=T(14),
                                     end_time=T(16), by=s.head, subject=s.subject, classes=[s.class_a])


def test_recipients_are_set_based(world, course, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        ids = services.recipients_of_course(course)
    assert world.one.pupil_a.pk in ids


# --- Calendars ----------------------------------------------------------------------------------------------

def test_week_labels_alternate_over_school_weeks(world):
    s = world.one
    calendar = make_calendar(s, closed=[(D(2026, 10, 17), D(2026, 10, 25))])  # one week closed
    services.update_calendar(calendar, week_mode="ab", first_week_label="A")
    labels = SchoolCalendar.objects.get(pk=calendar.pk).week_labels
    # The year starts on Tuesday 1 September: that week is A.
    assert labels["2026-08-31"] == "A" and labels["2026-09-07"] == "B"
    assert labels["2026-10-12"] == "A" and "2026-10-19" not in labels
    assert labels["2026-10-26"] == "B"  # the closed week does not count
    services.update_calendar(calendar, holidays_count_in_alternation=True)
    labels = SchoolCalendar.objects.get(pk=calendar.pk).week_labels
    assert labels["2026-10-12"] == "A" and labels["2026-10-26"] == "A"  # the closed week counted as B
    services.update_calendar(calendar, first_week_label="B")
    assert SchoolCalendar.objects.get(pk=calendar.pk).week_labels["2026-08-31"] == "B"
    services.update_calendar(calendar, week_mode="every")
    assert SchoolCalendar.objects.get(pk=calendar.pk).week_labels == {}


def test_closed_period_crud_relabels_weeks_and_occurrences(world):
    s = world.one
    calendar = make_calendar(s)
    services.update_calendar(calendar, week_mode="ab")
    make_course(s, weekday=0)
    period = services.add_closed_period(calendar=calendar, kind="local", label="Pont", first_day=MONDAY,
                                        last_day=D(2026, 9, 18), by=s.head)
    assert selectors.occurrences_for_class(s.class_a, MONDAY, MONDAY) == []
    assert "2026-09-14" not in SchoolCalendar.objects.get(pk=calendar.pk).week_labels
    services.update_closed_period(period, last_day=MONDAY, label="Journée banalisée")
    assert "2026-09-14" in SchoolCalendar.objects.get(pk=calendar.pk).week_labels
    services.delete_closed_period(period, by=s.head)
    assert len(selectors.occurrences_for_class(s.class_a, MONDAY, MONDAY)) == 1
    with pytest.raises(ValidationError) as exc:
        services.add_closed_period(calendar=calendar, kind="local", label="", first_day=MONDAY,
                                   last_day=D(2026, 9, 1))
    assert "Indiquez un libellé." in messages(exc) and "Le dernier jour doit suivre le premier." in messages(exc)


def test_update_calendar_validation(world):
    calendar = make_calendar(world.one)
    with pytest.raises(ValidationError) as exc:
        services.update_calendar(calendar, zone="D", week_mode="x", school_days=[], day_start=T(18),
                                 day_end=T(8), week_labels={"2026-09-08": "A"})
    assert len(exc.value.message_dict) == 5
    services.update_calendar(calendar, week_mode="custom", week_labels={"2026-09-07": "1", "2026-09-14": "2"})
    assert SchoolCalendar.objects.get(pk=calendar.pk).week_labels == {"2026-09-07": "1", "2026-09-14": "2"}


def test_apply_zone_preset(world):
    s = world.one
    calendar = make_calendar(s)
    services.add_closed_period(calendar=calendar, kind="local", label="Journée pédagogique",
                               first_day=D(2026, 9, 25), last_day=D(2026, 9, 25))
    created = services.apply_zone_preset(calendar, "A", by=s.head)
    periods = {(p.label, p.first_day, p.last_day) for p in ClosedPeriod.objects.filter(calendar=calendar)}
    assert ("Vacances de la Toussaint", D(2026, 10, 17), D(2026, 11, 1)) in periods
    assert ("Vacances d'hiver", D(2027, 2, 13), D(2027, 2, 28)) in periods
    assert ("Armistice 1918", D(2026, 11, 11), D(2026, 11, 11)) in periods
    assert ("Pont de l'Ascension", D(2027, 5, 7), D(2027, 5, 7)) in periods
    assert ("Lundi de Pentecôte", D(2027, 5, 17), D(2027, 5, 17)) in periods
    assert ("Journée pédagogique", D(2026, 9, 25), D(2026, 9, 25)) in periods  # local days kept
    assert not any(label == "Toussaint" for label, _f, _l in periods)  # 1 Nov is inside the holidays
    assert len(created) == len(periods) - 1
    services.apply_zone_preset(calendar, "C")
    assert ClosedPeriod.objects.filter(calendar=calendar, label="Vacances d'hiver").get().first_day == D(2027, 2, 6)
    assert SchoolCalendar.objects.get(pk=calendar.pk).zone == "C"
    with pytest.raises(ValidationError):
        services.apply_zone_preset(calendar, "Z")
    calendar.refresh_from_db()
    assert not occ.is_school_day(selectors.calendar_with_periods(s.year), D(2027, 2, 8))


def test_zone_preset_refreshes_a_warm_calendar_cache(world):
    s = world.one
    calendar = make_calendar(s)
    make_course(s, weekday=0)
    winter_monday = D(2027, 2, 15)
    assert len(selectors.occurrences_for_class(s.class_a, winter_monday, winter_monday)) == 1  # cached now
    services.apply_zone_preset(calendar, "A")  # bulk_create: no signals
    assert selectors.occurrences_for_class(s.class_a, winter_monday, winter_monday) == []


def test_moved_across_the_dst_change_keeps_wall_clock_time(world, course):
    s = world.one
    services.change_occurrence(course=course, planned_date=D(2026, 10, 12), status="moved", by=s.cpe,
                               new_date=D(2026, 11, 3), now=NOW)
    [o] = selectors.occurrences_for_class(s.class_a, D(2026, 11, 3), D(2026, 11, 3))
    assert o.start == datetime.datetime(2026, 11, 3, 8, tzinfo=occ.PARIS)
    assert o.start.utcoffset() == datetime.timedelta(hours=1) and o.date == D(2026, 10, 12)
