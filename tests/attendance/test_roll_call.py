"""Roll call (attcore): present by default, statuses, idempotent re-submission, who may take it and until when,
multi-day absences covering it, cancelled occurrences, notifications once per pupil and day."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from preau.attendance import services
from preau.attendance.models import AttendanceRecord, RollCall
from preau.audit.models import AuditEvent
from preau.notifications.models import Notification
from preau.timetable.models import CourseChange

from .fixtures_attcore import MONDAY, at, make_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_b(world):
    """Maths of 5e B with teacher_b, Mondays 08:00-09:00."""
    return make_course(world.one)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def absences(**kwargs):
    return AttendanceRecord.objects.filter(**kwargs)


def test_present_by_default_and_statuses(world, course_b):
    one = world.one
    roll = services.take_roll_call(course=course_b, planned_date=MONDAY, by=one.teacher_b, now=at(MONDAY, 8, 5),
                                   marks={one.pupil_b.pk: {"status": "absent"},
                                          str(one.pupil_b2.pk): {"status": "late", "late_minutes": 12}})
    assert RollCall.objects.get() == roll and roll.expected_count == 2 and roll.taken_by == one.teacher_b
    absent = absences(pupil=one.pupil_b).get()
    assert absent.kind == "absence" and absent.starts_at == at(MONDAY, 8) and absent.ends_at == at(MONDAY, 9)
    assert absent.state == "unjustified" and absent.roll_call == roll and absent.course_date == MONDAY
    late = absences(pupil=one.pupil_b2).get()
    assert late.kind == "late" and late.late_minutes == 12 and late.ends_at == at(MONDAY, 8, 12)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLL_CALL_TAKEN)
    assert event.actor == one.teacher_b and event.details["absent"] == 1 and event.details["late"] == 1


def test_resubmission_is_idempotent_and_replaces(world, course_b, run_on_commit):
    one = world.one
    marks = {one.pupil_b.pk: "absent"}
    with run_on_commit():
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks=marks, by=one.teacher_b,
                                now=at(MONDAY, 8, 5))
    first = absences().get()
    with run_on_commit():
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks=marks, by=one.teacher_b,
                                now=at(MONDAY, 8, 30))
    assert list(absences().values_list("pk", flat=True)) == [first.pk]
    assert RollCall.objects.count() == 1
    # One notice per guardian (mother and father of Léa), not two.
    notes = Notification.objects.filter(kind="absence")
    assert sorted(notes.values_list("recipient_id", flat=True)) == sorted([one.mother_b.pk, one.father_b.pk])
    assert {n.source for n in notes} == {f"absence:{one.pupil_b.pk}:{MONDAY.isoformat()}"}
    # Now everybody present: the record goes, and the notice is taken back.
    with run_on_commit():
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=one.teacher_b,
                                now=at(MONDAY, 8, 40))
    assert not absences().exists()
    assert not Notification.objects.filter(kind="absence").exists()


def test_one_notification_per_pupil_per_day(world, run_on_commit):
    one = world.one
    first = make_course(one, start=datetime.time(8), end=datetime.time(9))
    second = make_course(one, start=datetime.time(10), end=datetime.time(11))
    with run_on_commit():
        services.take_roll_call(course=first, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))
    with run_on_commit():
        services.take_roll_call(course=second, planned_date=MONDAY,
                                marks={one.pupil_b.pk: "absent", one.pupil_b2.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY, 10, 5))
    rows = Notification.objects.filter(kind="absence")
    per_recipient = sorted(rows.values_list("recipient_id", "source"))
    assert len(per_recipient) == 2  # Léa's two guardians, once; pupil_b2 has no guardian
    assert absences(kind="absence").count() == 3
    assert absences(pupil=one.pupil_b, guardians_notified_at__isnull=False).count() >= 1


def test_pupils_must_belong_to_the_occurrence(world, course_b):
    one = world.one
    with pytest.raises(ValidationError):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_a.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))
    with pytest.raises(ValidationError):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "late"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))  # minutes missing
    with pytest.raises(ValidationError):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "sleeping"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))
    assert not RollCall.objects.exists() and not absences().exists()


def test_a_teacher_cannot_take_the_roll_of_another_course(world, course_b):
    one, two = world.one, world.two
    for intruder in (one.teacher_a, one.group_teacher, one.secretary, one.nurse, one.ent_admin, two.teacher_b,
                     two.cpe, one.mother_b, one.pupil_b, world.global_admin):
        with pytest.raises(PermissionDenied):
            services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=intruder,
                                    now=at(MONDAY, 8, 5))
    assert not RollCall.objects.exists()


def test_the_day_s_rule_teacher_until_midnight_vie_scolaire_always(world, course_b):
    one = world.one
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=one.teacher_b, now=at(MONDAY, 23, 59))
    with pytest.raises(PermissionDenied):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY + datetime.timedelta(days=1), 0, 1))
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"}, by=one.cpe,
                            now=at(MONDAY + datetime.timedelta(days=3), 9))
    roll = RollCall.objects.get()
    assert roll.taken_by == one.teacher_b and roll.updated_by == one.cpe
    with pytest.raises(ValidationError):  # not before the day of the course
        services.take_roll_call(course=course_b, planned_date=MONDAY + datetime.timedelta(days=7), marks={},
                                by=one.teacher_b, now=at(MONDAY, 9))


def test_edit_until_end_of_day_with_the_clock(world, course_b):
    """The same rule driven by the real clock (time-machine), in Paris time across the UTC date line."""
    one = world.one
    with time_machine.travel(at(MONDAY, 23, 30), tick=False):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                                by=one.teacher_b)
    # 00:10 in Paris is still Monday in UTC (22:10Z): the Paris day decides.
    with time_machine.travel(at(MONDAY + datetime.timedelta(days=1), 0, 10), tick=False), \
            pytest.raises(PermissionDenied):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=one.teacher_b)
    assert absences().count() == 1


def test_replacement_teacher_takes_the_roll_instead(world, course_b):
    one = world.one
    CourseChange.objects.create(course=course_b, date=MONDAY, status="modified", replacement_teacher=one.teacher_a)
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=one.teacher_a, now=at(MONDAY, 8))
    with pytest.raises(PermissionDenied):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=one.teacher_b,
                                now=at(MONDAY, 8))


def test_cancelled_occurrence_refuses_a_roll_call(world, course_b):
    CourseChange.objects.create(course=course_b, date=MONDAY, status="cancelled", reason="Sortie")
    with pytest.raises(ValidationError):
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=world.one.teacher_b,
                                now=at(MONDAY, 8))
    with pytest.raises(ValidationError):  # no course that day (a Tuesday)
        services.take_roll_call(course=course_b, planned_date=MONDAY + datetime.timedelta(days=1), marks={},
                                by=world.one.teacher_b, now=at(MONDAY, 8))


def test_multi_day_absence_covers_the_roll_call(world, course_b, run_on_commit):
    one = world.one
    with run_on_commit():
        services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 0), ends_at=at(MONDAY, 23, 59),
                                by=one.cpe, comment="Hospitalisée", now=at(MONDAY, 7))
    sheet = services.roll_call_sheet(course_b, MONDAY)
    assert sheet.marks[one.pupil_b.pk]["status"] == "absent" and sheet.marks[one.pupil_b.pk]["covered"]
    assert sheet.marks[one.pupil_b2.pk]["status"] == "present" and not sheet.taken
    with run_on_commit():
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))
    assert absences(pupil=one.pupil_b).count() == 1  # not duplicated
    assert Notification.objects.filter(kind="absence").count() == 2  # once per guardian for the day


def test_early_leave_and_exclusion(world, course_b):
    one = world.one
    services.take_roll_call(course=course_b, planned_date=MONDAY, by=one.teacher_b, now=at(MONDAY, 8, 50),
                            marks={one.pupil_b.pk: {"status": "early_leave", "left_at": "08:40"},
                                   one.pupil_b2.pk: {"status": "exclusion", "comment": "Insolence"}})
    leave = absences(pupil=one.pupil_b).get()
    assert leave.kind == "early_leave" and leave.starts_at == at(MONDAY, 8, 40)
    excluded = absences(pupil=one.pupil_b2).get()
    assert excluded.kind == "exclusion" and excluded.starts_at == at(MONDAY, 8, 50) and excluded.comment == "Insolence"
    state = services.roll_call_state(course_b, MONDAY)
    assert state[one.pupil_b.pk]["status"] == "early_leave" and state[one.pupil_b2.pk]["status"] == "exclusion"
    with pytest.raises(ValidationError):
        services.take_roll_call(course=course_b, planned_date=MONDAY, by=one.teacher_b, now=at(MONDAY, 8, 50),
                                marks={one.pupil_b.pk: {"status": "early_leave", "left_at": "10:40"}})


def test_roll_call_queries_do_not_grow_with_the_class(world, django_capture_on_commit_callbacks):
    """Set-based: the same number of queries for 3 absentees out of 5 and 30 out of 40 (notifications included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preau.directory.testing import make_guardian, make_pupil

    one = world.one

    def run(n_pupils, n_absent, course):
        pupils = [make_pupil(one.class_a) for _ in range(n_pupils)]
        for pupil in pupils:
            make_guardian(one.establishment, pupil)
        marks = {p.pk: "absent" for p in pupils[:n_absent]}
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False):
            services.take_roll_call(course=course, planned_date=MONDAY, marks=marks, by=one.teacher_a,
                                    now=at(MONDAY, 8, 5))
        assert AttendanceRecord.objects.filter(roll_call__course=course).count() == n_absent
        return len(queries)

    run(1, 1, make_course(one, teachers=[one.teacher_a], classes=[one.class_a], start=datetime.time(7),
                          end=datetime.time(8)))  # warm the calendar cache
    one.class_a.enrolments.all().delete()
    small = run(5, 3, make_course(one, teachers=[one.teacher_a], classes=[one.class_a]))
    one.class_a.enrolments.all().delete()
    large = run(40, 30, make_course(one, teachers=[one.teacher_a], classes=[one.class_a],
                                    start=datetime.time(10), end=datetime.time(11)))
    assert large == small <= 25, (small, large)


def test_a_moved_occurrence_is_taken_on_its_new_day(world, course_b):
    one = world.one
    tuesday = MONDAY + datetime.timedelta(days=1)
    CourseChange.objects.create(course=course_b, date=MONDAY, status="moved", new_date=tuesday,
                                new_start_time=datetime.time(14), new_end_time=datetime.time(15))
    with pytest.raises(ValidationError):  # Monday: it has not happened yet
        services.take_roll_call(course=course_b, planned_date=MONDAY, marks={}, by=one.teacher_b,
                                now=at(MONDAY, 9))
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                            by=one.teacher_b, now=at(tuesday, 14, 5))
    rec = absences().get()
    assert rec.starts_at == at(tuesday, 14) and rec.course_date == MONDAY
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                            by=one.teacher_b, now=at(tuesday, 23, 50))  # still its day
