"""Fixes of the issue 5 review (docs/timetable.md): the calendar feed never goes backwards (H4), course edits and
re-imports notify (M2), agenda events beside class and group weeks (M7), history kept when a course's schedule
changes (M10), recipients need an active pupil membership (M12), API teachers resolved through the policy (L13),
the roll-call link asks the attendance policy (L15)."""

from __future__ import annotations

import datetime

import icalendar
import pytest
import time_machine

from preau.access import policy
from preau.imports import services as import_services
from preau.timetable import ics, selectors, services
from preau.timetable.models import Course, CourseChange
from preau.timetable.occurrences import PARIS

from .fixtures_core import D, change, make_calendar, make_course, make_room

pytestmark = pytest.mark.django_db

TODAY = D(2026, 10, 20)  # a Tuesday


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=PARIS)


def feed_event(user, course, planned: datetime.date) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(ics.build_feed(user, today=TODAY))
    uid_start = f"course-{course.pk}-{planned.isoformat()}@"
    [event] = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith(uid_start)]
    return event


def stamp(event) -> tuple[int, datetime.datetime]:
    return int(event["sequence"]), event["dtstamp"].dt


# --- H4: SEQUENCE and DTSTAMP never go backwards --------------------------------------------------------------

@pytest.mark.parametrize("gap", [datetime.timedelta(hours=1), datetime.timedelta(0)])
def test_reverting_a_change_never_lowers_the_feed_sequence(world, gap):
    s = world.one
    make_calendar(s)
    planned = D(2026, 10, 19)
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        course = make_course(s, weekday=0, room=make_room(s))
    with time_machine.travel(at(D(2026, 10, 12)), tick=False):
        services.change_occurrence(course=course, planned_date=planned, status="cancelled", by=s.cpe,
                                   now=at(D(2026, 10, 12)))
        changed = stamp(feed_event(s.pupil_a, course, planned))
    with time_machine.travel(at(D(2026, 10, 12)) + gap, tick=False):
        services.revert_change(course=course, planned_date=planned, by=s.cpe, now=at(D(2026, 10, 12)) + gap)
        event = feed_event(s.pupil_a, course, planned)
    reverted = stamp(event)
    assert str(event["status"]) == "CONFIRMED"
    assert reverted[0] > changed[0] and reverted[1] > changed[1]


def test_ending_a_vanished_course_on_reimport_raises_its_sequence(world, tmp_path):
    from preau.attendance.models import RollCall

    from .fixtures_edt import prepare_directory

    prepare_directory(world)
    s = world.one
    header = "jour;début;fin;matière;enseignants;classes;groupes;salle;semaines;id\n"
    path = tmp_path / "edt.csv"
    path.write_text(header + "lundi;08:00;10:00;MATH;;5A;;;;a\nmardi;08:00;10:00;MATH;;5A;;;;b\n")
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        import_services.import_run(kind="timetable-csv", paths=[path], establishment=s.establishment)
    monday = Course.objects.get(source="csv", weekday=0)
    RollCall.objects.create(course=monday, date=D(2026, 9, 7), establishment=s.establishment)
    before = monday.updated_at
    path.write_text(header + "mardi;08:00;10:00;MATH;;5A;;;;b\n")
    with time_machine.travel(at(D(2026, 10, 20)), tick=False):
        import_services.import_run(kind="timetable-csv", paths=[path], establishment=s.establishment)
    monday.refresh_from_db()
    assert monday.valid_until == D(2026, 10, 19) and monday.updated_at > before


def test_reimport_changing_only_teachers_raises_the_course_stamp(world, tmp_path):
    from .fixtures_edt import prepare_directory

    prepare_directory(world)
    s = world.one
    header = "jour;début;fin;matière;enseignants;classes;groupes;salle;semaines;id\n"
    path = tmp_path / "edt.csv"
    path.write_text(header + f"lundi;08:00;10:00;MATH;{s.teacher_a.username};5A;;;;a\n")
    with time_machine.travel(at(D(2026, 9, 1)), tick=False):
        import_services.import_run(kind="timetable-csv", paths=[path], establishment=s.establishment)
    course = Course.objects.get(source="csv")
    before = course.updated_at
    path.write_text(header + f"lundi;08:00;10:00;MATH;{s.teacher_b.username};5A;;;;a\n")
    with time_machine.travel(at(D(2026, 10, 20)), tick=False):
        import_services.import_run(kind="timetable-csv", paths=[path], establishment=s.establishment)
    course.refresh_from_db()
    assert list(course.teachers.all()) == [s.teacher_b] and course.updated_at > before


# --- L15: the roll-call link asks the attendance policy --------------------------------------------------------

def test_roll_call_link_from_the_policy_without_a_query(world, django_assert_num_queries):
    from preau.timetable.views import roll_call_url

    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0)
    found = selectors.occurrence(course.pk, D(2026, 9, 14))
    teacher, other = policy.actor_for(s.teacher_a), policy.actor_for(s.teacher_b)
    teacher.roles_in(s.establishment.pk), other.roles_in(s.establishment.pk)
    policy.can_manage_attendance(teacher, s.establishment.pk)
    policy.can_manage_attendance(other, s.establishment.pk)
    with django_assert_num_queries(0):
        url = roll_call_url(teacher, found)
        refused = roll_call_url(other, found)
    assert url == f"/vie-scolaire/appel/{course.pk}/2026-09-14/" or url.endswith(f"/{course.pk}/2026-09-14/")
    assert refused is None
    change(course, D(2026, 9, 14), CourseChange.Status.MODIFIED, replacement_teacher=s.teacher_b)
    replaced = selectors.occurrence(course.pk, D(2026, 9, 14))
    assert roll_call_url(teacher, replaced) is None and roll_call_url(other, replaced) is not None


# --- M12: an active pupil membership in the course's establishment --------------------------------------------

def test_pupils_and_recipients_need_an_active_pupil_membership(world):
    from preau.directory.models import Membership, Role

    s = world.one
    make_calendar(s)
    latin = make_course(s, weekday=0, teachers=[s.group_teacher], classes=[s.class_b], groups=[s.group])
    found = selectors.occurrence(latin.pk, D(2026, 9, 14))
    assert s.pupil_a in selectors.pupils_of_occurrence(found)
    assert {s.pupil_a.pk, s.guardian_a.pk} <= services.recipients_of_course(latin)
    Membership.objects.filter(user=s.pupil_a, establishment=s.establishment, role=Role.PUPIL).update(
        is_active=False)
    assert s.pupil_a not in selectors.pupils_of_occurrence(found)
    assert set(selectors.pupils_of_occurrence(found)) == {s.pupil_b, s.pupil_b2}
    recipients = services.recipients_of_course(latin)
    assert s.pupil_a.pk not in recipients and s.guardian_a.pk not in recipients
    assert {s.pupil_b.pk, s.mother_b.pk, s.group_teacher.pk} <= recipients


# --- L13: API teacher ids resolved through the policy ---------------------------------------------------------

def test_api_teacher_ids_are_the_establishments_teachers_only(world):
    from django.test import Client

    s, other = world.one, world.two
    make_calendar(s)
    head = Client()
    head.force_login(s.head)
    payload = {"establishment_id": s.establishment.pk, "subject_id": s.subject.pk, "class_ids": [s.class_a.pk],
               "weekday": 0, "start_time": "08:30", "end_time": "09:30"}
    for stranger in (other.teacher_a, s.pupil_a, world.global_admin):
        r = head.post("/api/v1/timetable/courses", {**payload, "teacher_ids": [stranger.pk]},
                      content_type="application/json")
        assert r.status_code == 400, stranger
        detail = r.json()["detail"]
        assert detail == "Enseignant(e)s inconnu(e)s : vérifiez les identifiants."
        assert stranger.last_name not in detail
    assert not Course.objects.exists()
    course = make_course(s, weekday=0)
    r = head.post(f"/api/v1/timetable/occurrences/{course.pk}/2026-09-14/change",
                  {"status": "modified", "replacement_teacher_id": other.teacher_b.pk},
                  content_type="application/json")
    assert r.status_code == 400 and other.teacher_b.last_name not in r.json()["detail"]
    r = head.post("/api/v1/timetable/courses", {**payload, "teacher_ids": [s.teacher_b.pk]},
                  content_type="application/json")
    assert r.status_code == 201 and [t["id"] for t in r.json()["teachers"]] == [s.teacher_b.pk]


# --- M7: agenda events beside class and group weeks -----------------------------------------------------------

def test_class_and_group_weeks_show_their_agenda_events(world, client):
    from django.urls import reverse

    from .fixtures_agenda import add_event

    s = world.one
    make_calendar(s)
    make_course(s, weekday=3)
    day = D(2026, 10, 15)
    add_event(s.head, s, title="Sortie au musée 5A", day=day, classes=[s.class_a])
    add_event(s.head, s, title="Conseil de la 5B", day=day, classes=[s.class_b])
    add_event(s.head, s, title="Voyage des latinistes", day=day, groups=[s.group])
    add_event(s.head, s, title="Journée banalisée", day=day, audience_roles=["pupil", "guardian"])
    add_event(s.head, s, title="Réunion des professeurs", day=day, audience_roles=["teacher"])
    add_event(world.two.head, world.two, title="Fête de l'autre collège", day=day)

    def page(user, url):
        client.force_login(user)
        response = client.get(url, {"date": day.isoformat()})
        assert response.status_code == 200
        return response.content.decode()

    class_page = page(s.cpe, reverse("timetable:class_week", args=[s.class_a.pk]))
    for title in ("Sortie au musée 5A", "Voyage des latinistes", "Journée banalisée"):
        assert title in class_page, title
    for title in ("Conseil de la 5B", "Réunion des professeurs", "Fête de l"):
        assert title not in class_page, title
    group_page = page(s.cpe, reverse("timetable:group_week", args=[s.group.pk]))
    assert "Voyage des latinistes" in group_page and "Journée banalisée" in group_page
    assert "Sortie au musée 5A" not in group_page and "Conseil de la 5B" not in group_page
    # The group's teacher: its event, not the one for pupils and guardians only.
    group_page = page(s.group_teacher, reverse("timetable:group_week", args=[s.group.pk]))
    assert "Voyage des latinistes" in group_page and "Journée banalisée" not in group_page
    # Only what the viewer may read: a pupil of 5e B looking at their class does not see 5e A's trip.
    own_class = page(s.pupil_b, reverse("timetable:class_week", args=[s.class_b.pk]))
    assert "Conseil de la 5B" in own_class and "Sortie au musée 5A" not in own_class


# --- M2: course edits, deletions and re-imports notify ---------------------------------------------------------

NOW = datetime.datetime(2026, 9, 11, 10, tzinfo=PARIS)  # Friday; the notice window runs to Friday 18


def notifications(django_capture_on_commit_callbacks, fn):
    from preau.notifications.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        fn()
    return list(Notification.objects.order_by("recipient_id"))


def test_editing_a_course_notifies_old_and_new_pupils_once(world, django_capture_on_commit_callbacks):
    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0)
    rows = notifications(django_capture_on_commit_callbacks, lambda: services.update_course(
        course, by=s.head, now=NOW, start_time=datetime.time(10), end_time=datetime.time(11),
        classes=[s.class_b]))
    recipients = {n.recipient_id for n in rows}
    assert recipients == {s.pupil_a.pk, s.guardian_a.pk, s.pupil_b.pk, s.pupil_b2.pk, s.mother_b.pk,
                          s.father_b.pk, s.teacher_a.pk}
    assert len(rows) == len(recipients)  # one per person
    n = rows[0]
    assert n.kind == "timetable" and n.title == "Emploi du temps modifié : Mathématiques"
    assert "lundi 14 septembre" in n.body and n.source.startswith(f"course-edit:{course.pk}:")


def test_edit_outside_the_notice_window_notifies_nobody(world, django_capture_on_commit_callbacks):
    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0)
    assert notifications(django_capture_on_commit_callbacks, lambda: services.update_course(
        course, by=s.head, now=NOW, valid_until=D(2027, 6, 1))) == []
    assert notifications(django_capture_on_commit_callbacks, lambda: services.update_course(
        course, by=s.head, now=NOW, label="Maths renforcées")) != []  # what people see changed


def test_deleting_a_weekly_course_notifies(world, django_capture_on_commit_callbacks):
    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0)
    rows = notifications(django_capture_on_commit_callbacks,
                         lambda: services.delete_course(course, by=s.head, now=NOW))
    assert {n.recipient_id for n in rows} == {s.pupil_a.pk, s.guardian_a.pk, s.teacher_a.pk}
    assert rows[0].title == "Cours supprimé : Mathématiques" and "lundi 14 septembre" in rows[0].body


CSV_HEADER = "jour;début;fin;matière;enseignants;classes;groupes;salle;semaines;id\n"


def csv_run(world, tmp_path, text, moment, *, dry_run=False):
    path = tmp_path / "edt.csv"
    path.write_text(CSV_HEADER + text)
    with time_machine.travel(moment, tick=False):
        return import_services.import_run(kind="timetable-csv", paths=[path], dry_run=dry_run,
                                          establishment=world.one.establishment)


def test_reimport_notifies_each_person_once_per_run(world, tmp_path, django_capture_on_commit_callbacks):
    from .fixtures_edt import prepare_directory

    prepare_directory(world)
    s = world.one
    make_calendar(s)
    first = (f"lundi;08:00;09:00;MATH;{s.teacher_a.username};5A;;;;a\n"
             f"mardi;08:00;09:00;MATH;{s.teacher_a.username};5A;;;;b\n"
             f"jeudi;08:00;09:00;MATH;{s.teacher_b.username};5e B;;;;c\n")
    csv_run(world, tmp_path, first, at(D(2026, 9, 1)))  # more than a week before the changes
    assert notifications(django_capture_on_commit_callbacks, lambda: csv_run(
        world, tmp_path, first, at(D(2026, 9, 11)))) == []  # unchanged
    second = (f"lundi;10:00;11:00;MATH;{s.teacher_a.username};5A;;;;a\n"
              f"mardi;10:00;11:00;MATH;{s.teacher_a.username};5A;;;;b\n"
              f"jeudi;08:00;09:00;MATH;{s.teacher_b.username};5e B;;;;c\n")
    assert notifications(django_capture_on_commit_callbacks, lambda: csv_run(
        world, tmp_path, second, at(D(2026, 9, 11)), dry_run=True)) == []
    result = {}
    rows = notifications(django_capture_on_commit_callbacks, lambda: result.setdefault(
        "run", csv_run(world, tmp_path, second, at(D(2026, 9, 11)))))
    import_run = result["run"][0]
    assert [n.recipient_id for n in rows] == sorted({s.pupil_a.pk, s.guardian_a.pk, s.teacher_a.pk})
    assert {n.source for n in rows} == {f"timetable-import:{import_run.pk}"}
    assert rows[0].title == "Emploi du temps mis à jour"
    assert "lundi 14 septembre" in rows[0].body and "mardi 15 septembre" in rows[0].body


# --- M10: a new schedule does not rewrite a past with history --------------------------------------------------

def test_new_schedule_of_a_course_with_roll_calls_ends_it_and_starts_a_new_one(world, client):
    from django.urls import reverse

    from preau.attendance.models import RollCall

    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0, room=make_room(s))
    RollCall.objects.create(course=course, date=D(2026, 9, 7), establishment=s.establishment)
    change(course, D(2026, 9, 21), CourseChange.Status.CANCELLED)  # a future change follows the course
    saved = services.update_course(course, by=s.head, now=NOW, weekday=1, start_time=datetime.time(10),
                                   end_time=datetime.time(11))
    old, new = saved.ended, saved.course
    assert old.pk == course.pk and new.pk != old.pk
    old.refresh_from_db()
    assert old.valid_until == D(2026, 9, 10) and (old.weekday, old.start_time) == (0, datetime.time(8))
    assert (new.weekday, new.start_time, new.valid_from) == (1, datetime.time(10), D(2026, 9, 11))
    assert list(new.teachers.all()) == [s.teacher_a] and list(new.classes.all()) == [s.class_a]
    # The past week keeps its course and the roll call page still finds its occurrence.
    past = selectors.occurrences_for_pupil(s.pupil_a, D(2026, 9, 7), D(2026, 9, 13))
    assert [(o.course.pk, o.start.hour) for o in past] == [(old.pk, 8)]
    assert selectors.occurrence(old.pk, D(2026, 9, 7)) is not None
    client.force_login(s.teacher_a)
    response = client.get(reverse("attendance:roll_call", args=[old.pk, "2026-09-07"]))
    assert response.status_code == 200
    # From the effective day on: the new course only, with the future change moved to it.
    future = selectors.occurrences_for_pupil(s.pupil_a, D(2026, 9, 14), D(2026, 9, 20))
    assert [(o.course.pk, o.day, o.start.hour) for o in future] == [(new.pk, D(2026, 9, 15), 10)]
    assert CourseChange.objects.get().course_id == old.pk  # planned on a Monday: not a day of the new course


def test_roll_call_taken_today_moves_the_effective_day(world):
    from preau.attendance.models import RollCall

    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=4)  # Friday 11 September is NOW's day
    RollCall.objects.create(course=course, date=D(2026, 9, 11), establishment=s.establishment)
    saved = services.update_course(course, by=s.head, now=NOW, start_time=datetime.time(14),
                                   end_time=datetime.time(15))
    assert saved.ended.valid_until == D(2026, 9, 11) and saved.course.valid_from == D(2026, 9, 12)
    assert selectors.occurrence(course.pk, D(2026, 9, 11)).start.hour == 8


def test_schedule_change_without_history_or_past_change_is_in_place(world):
    from preau.attendance.models import RollCall

    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0)
    saved = services.update_course(course, by=s.head, now=NOW, weekday=2)
    assert saved.ended is None and saved.course.pk == course.pk and Course.objects.count() == 1
    RollCall.objects.create(course=course, date=D(2026, 9, 9), establishment=s.establishment)
    # The end of validity moves later: the past is the same, the course is changed in place.
    saved = services.update_course(course, by=s.head, now=NOW, valid_until=D(2027, 5, 31))
    assert saved.ended is None and Course.objects.count() == 1
    # The room is no schedule: in place too.
    saved = services.update_course(course, by=s.head, now=NOW, room=make_room(s, "202"))
    assert saved.ended is None and Course.objects.count() == 1


def test_reimport_with_a_new_time_keeps_history_and_is_stable(world, tmp_path):
    from preau.attendance.models import RollCall

    from .fixtures_edt import prepare_directory

    prepare_directory(world)
    s = world.one
    make_calendar(s)
    csv_run(world, tmp_path, f"lundi;08:00;09:00;MATH;{s.teacher_a.username};5A;;;;a\n", at(D(2026, 9, 1)))
    old = Course.objects.get()
    RollCall.objects.create(course=old, date=D(2026, 9, 7), establishment=s.establishment)
    moved = f"lundi;10:00;11:00;MATH;{s.teacher_a.username};5A;;;;a\n"
    _run, report = csv_run(world, tmp_path, moved, at(D(2026, 9, 11)))
    assert report.get("courses", "updated") == 1
    old.refresh_from_db()
    new = Course.objects.exclude(pk=old.pk).get()
    assert (old.start_time, old.valid_until) == (datetime.time(8), D(2026, 9, 10))
    assert (new.start_time, new.valid_from, new.external_id) == (datetime.time(10), D(2026, 9, 11), "2026:csv:a")
    assert old.external_id == "2026:csv:a~2026-09-11"
    assert selectors.occurrence(old.pk, D(2026, 9, 7)) is not None
    # The same file again: unchanged, nothing ended or deleted.
    _run, report = csv_run(world, tmp_path, moved, at(D(2026, 9, 18)))
    assert report.get("courses", "unchanged") == 1 and report.get("courses", "updated") == 0
    assert report.get("courses_ended", "deactivated") == 0 and report.get("courses_deleted", "deactivated") == 0
    assert Course.objects.count() == 2


def test_future_change_on_a_day_the_new_course_keeps_follows_it(world):
    from preau.attendance.models import RollCall

    s = world.one
    make_calendar(s)
    course = make_course(s, weekday=0)
    RollCall.objects.create(course=course, date=D(2026, 9, 7), establishment=s.establishment)
    change(course, D(2026, 9, 21), CourseChange.Status.CANCELLED, reason="Sortie")
    saved = services.update_course(course, by=s.head, now=NOW, start_time=datetime.time(9),
                                   end_time=datetime.time(10))
    assert CourseChange.objects.get().course_id == saved.course.pk
    [o] = selectors.occurrences_for_pupil(s.pupil_a, D(2026, 9, 21), D(2026, 9, 21))
    assert o.course.pk == saved.course.pk and o.status == "cancelled" and o.start.hour == 9
