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
