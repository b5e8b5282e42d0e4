"""The timetable JSON API (core): reading, scoping, ranges, occurrence changes, courses, calendars."""

import datetime

import pytest
from django.test import Client

from preau.directory.models import GuardianLink, Service
from preau.timetable.models import ClosedPeriod, Course, CourseChange, SchoolCalendar

from .fixtures_core import D, make_calendar, make_course, make_room

pytestmark = pytest.mark.django_db
API = "/api/v1/timetable"
WEEK = "start=2026-09-14&end=2026-09-20"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tt(world):
    s = world.one
    make_calendar(s)
    room = make_room(s, "101")
    maths_a = make_course(s, weekday=0, room=room)
    maths_b = make_course(s, weekday=1, teachers=[s.teacher_b], classes=[s.class_b], room=room)
    latin = make_course(s, weekday=2, teachers=[s.group_teacher], classes=[], groups=[s.group], subject=None,
                        label="Latin")
    return {"room": room, "maths_a": maths_a, "maths_b": maths_b, "latin": latin}


def keys(timetable):
    return [o["key"] for o in timetable["occurrences"]]


def test_my_week_pupil_teacher_guardian(world, tt):
    s = world.one
    r = client_for(s.pupil_a).get(f"{API}/me?{WEEK}")
    assert r.status_code == 200
    [mine] = r.json()["timetables"]
    assert mine["kind"] == "pupil" and mine["id"] == s.pupil_a.pk
    assert keys(mine) == [f"{tt['maths_a'].pk}:2026-09-14", f"{tt['latin'].pk}:2026-09-16"]
    first = mine["occurrences"][0]
    assert first["start"] == "2026-09-14T08:00:00+02:00" and first["room"]["code"] == "101"
    assert first["status"] == "normal" and first["classes"][0]["label"] == "5e A"
    [teacher] = client_for(s.teacher_b).get(f"{API}/me?{WEEK}").json()["timetables"]
    assert teacher["kind"] == "teacher" and keys(teacher) == [f"{tt['maths_b'].pk}:2026-09-15"]
    [child] = client_for(s.mother_b).get(f"{API}/me?{WEEK}").json()["timetables"]
    assert child["id"] == s.pupil_b.pk and keys(child) == [f"{tt['maths_b'].pk}:2026-09-15"]
    GuardianLink.objects.filter(guardian=s.father_b).update(denied_services=[Service.TIMETABLE])
    assert client_for(s.father_b).get(f"{API}/me?{WEEK}").json() == {"timetables": []}


def test_range_limits(world, tt):
    c = client_for(world.one.pupil_a)
    r = c.get(f"{API}/me?start=2026-09-01&end=2026-10-15")
    assert r.status_code == 400 and "31 jours" in r.json()["detail"]
    r = c.get(f"{API}/me?start=2026-09-10&end=2026-09-01")
    assert r.status_code == 400
    assert c.get(f"{API}/me?start=2026-09-01&end=2026-10-01").status_code == 200  # 31 days
    assert c.get(f"{API}/me?start=nope").status_code == 422


def test_scoped_reads(world, tt):
    s, other = world.one, world.two
    pupil = client_for(s.pupil_a)
    assert pupil.get(f"{API}/pupils/{s.pupil_a.pk}?{WEEK}").status_code == 200
    assert pupil.get(f"{API}/pupils/{s.pupil_b.pk}?{WEEK}").status_code == 404
    assert pupil.get(f"{API}/classes/{s.class_a.pk}?{WEEK}").status_code == 200
    assert pupil.get(f"{API}/classes/{s.class_b.pk}?{WEEK}").status_code == 404
    assert pupil.get(f"{API}/teachers/{s.teacher_a.pk}?{WEEK}").status_code == 404
    assert pupil.get(f"{API}/rooms/{tt['room'].pk}?{WEEK}").status_code == 404
    teacher = client_for(s.teacher_a)
    r = teacher.get(f"{API}/classes/{s.class_b.pk}?{WEEK}")
    assert r.status_code == 200 and keys(r.json()) == [f"{tt['maths_b'].pk}:2026-09-15", f"{tt['latin'].pk}:2026-09-16"]
    assert keys(teacher.get(f"{API}/groups/{s.group.pk}?{WEEK}").json()) == [f"{tt['latin'].pk}:2026-09-16"]
    assert len(keys(teacher.get(f"{API}/rooms/{tt['room'].pk}?{WEEK}").json())) == 2
    assert teacher.get(f"{API}/teachers/{s.teacher_b.pk}?{WEEK}").status_code == 200
    assert teacher.get(f"{API}/pupils/{s.pupil_b.pk}?{WEEK}").status_code == 200
    stranger = client_for(other.head)
    for url in (f"pupils/{s.pupil_a.pk}", f"classes/{s.class_a.pk}", f"groups/{s.group.pk}",
                f"rooms/{tt['room'].pk}", f"teachers/{s.teacher_a.pk}", f"occurrences/{tt['maths_a'].pk}/2026-09-14",
                f"courses/{tt['maths_a'].pk}", f"calendars/{s.year.pk}"):
        r = stranger.get(f"{API}/{url}?{WEEK}")
        assert r.status_code == 404, url
        assert r.json()["detail"]
    assert [room["code"] for room in teacher.get(f"{API}/rooms").json()["items"]] == ["101"]
    assert stranger.get(f"{API}/rooms").json()["count"] == 0


def test_occurrence_and_free_rooms(world, tt):
    s = world.one
    c = client_for(s.cpe)
    r = c.get(f"{API}/occurrences/{tt['maths_a'].pk}/2026-09-14")
    assert r.status_code == 200 and r.json()["label"] == "Mathématiques"
    assert c.get(f"{API}/occurrences/{tt['maths_a'].pk}/2026-09-15").status_code == 404
    other = make_room(s, "202")
    r = c.get(f"{API}/free-rooms", {"establishment": s.establishment.pk, "start": "2026-09-14T08:15:00",
                                    "end": "2026-09-14T08:45:00"})
    assert r.status_code == 200 and [room["id"] for room in r.json()["rooms"]] == [other.pk]
    r = c.get(f"{API}/free-rooms", {"establishment": s.establishment.pk, "start": "2026-09-14T09:00:00",
                                    "end": "2026-09-14T08:00:00"})
    assert r.status_code == 400
    assert client_for(s.pupil_a).get(f"{API}/free-rooms", {
        "establishment": s.establishment.pk, "start": "2026-09-14T08:15:00", "end": "2026-09-14T08:45:00",
    }).status_code == 404


def test_change_and_revert_occurrence(world, tt):
    s = world.one
    url = f"{API}/occurrences/{tt['maths_a'].pk}/2026-09-14/change"
    body = {"status": "moved", "new_date": "2026-09-17", "new_start_time": "10:00", "new_end_time": "11:00",
            "reason": "Sortie"}
    assert client_for(s.teacher_a).post(url, body, content_type="application/json").status_code == 403
    assert client_for(s.pupil_a).post(url, body, content_type="application/json").status_code == 403
    assert client_for(world.two.cpe).post(url, body, content_type="application/json").status_code == 404
    r = client_for(s.cpe).post(url, body, content_type="application/json")
    assert r.status_code == 200, r.json()
    data = r.json()["occurrence"]
    assert data["status"] == "moved" and data["day"] == "2026-09-17" and data["start"].startswith("2026-09-17T10:00")
    change = CourseChange.objects.get()
    assert change.reason == "Sortie" and change.created_by == s.cpe
    r = client_for(s.cpe).post(url, {"status": "moved", "new_date": "2026-10-20"}, content_type="application/json")
    assert r.status_code == 200  # no holidays in this calendar
    make_calendar(s, closed=[(D(2026, 10, 17), D(2026, 11, 1))])
    r = client_for(s.cpe).post(url, {"status": "moved", "new_date": "2026-10-20"}, content_type="application/json")
    assert r.status_code == 400 and "sans cours" in r.json()["detail"]
    r = client_for(s.cpe).delete(url)
    assert r.status_code == 200 and r.json()["status"] == "normal" and not CourseChange.objects.exists()
    assert client_for(s.cpe).delete(url).status_code == 400
    r = client_for(s.cpe).post(url, {"status": "modified", "new_room_id": make_room(world.two, "Z").pk},
                               content_type="application/json")
    assert r.status_code == 400


def test_courses_crud_for_managers(world, tt):
    s = world.one
    payload = {"establishment_id": s.establishment.pk, "subject_id": s.subject.pk, "teacher_ids": [s.teacher_a.pk],
               "class_ids": [s.class_a.pk], "room_id": tt["room"].pk, "weekday": 0, "start_time": "08:30",
               "end_time": "09:30", "week_pattern": "A"}
    for user in (s.teacher_a, s.cpe, s.pupil_a):
        r = client_for(user).post(f"{API}/courses", payload, content_type="application/json")
        assert r.status_code == 403, user
    head = client_for(s.head)
    r = head.post(f"{API}/courses", payload, content_type="application/json")
    assert r.status_code == 201
    created = r.json()
    assert created["week_pattern"] == "A" and created["warnings"]  # room and teacher busy at 08:00-09:00
    course_id = created["id"]
    r = head.put(f"{API}/courses/{course_id}", {**payload, "start_time": "10:00", "end_time": "11:00"},
                 content_type="application/json")
    assert r.status_code == 200 and r.json()["warnings"] == [] and r.json()["start_time"] == "10:00:00"
    r = head.put(f"{API}/courses/{course_id}", {**payload, "end_time": "08:00"}, content_type="application/json")
    assert r.status_code == 400 and "L'heure de fin doit être après l'heure de début." in r.json()["detail"]
    r = head.post(f"{API}/courses", {**payload, "class_ids": [world.two.class_a.pk]}, content_type="application/json")
    assert r.status_code == 400
    listed = head.get(f"{API}/courses", {"establishment": s.establishment.pk, "school_class": s.class_a.pk}).json()
    assert course_id in [c["id"] for c in listed["items"]] and listed["count"] == 2
    assert head.get(f"{API}/courses/{course_id}").json()["label"] == "Mathématiques"
    assert head.delete(f"{API}/courses/{course_id}").json() == {"deleted": 1}
    assert not Course.objects.filter(pk=course_id).exists()
    r = client_for(world.two.head).post(f"{API}/courses", payload, content_type="application/json")
    assert r.status_code == 404


def test_extra_course(world, tt):
    s = world.one
    payload = {"establishment_id": s.establishment.pk, "date": "2026-09-19", "start_time": "08:00",
               "end_time": "10:00", "subject_id": s.subject.pk, "class_ids": [s.class_b.pk], "is_exam": True,
               "teacher_ids": [s.teacher_b.pk]}
    assert client_for(s.teacher_b).post(f"{API}/extra-courses", payload,
                                        content_type="application/json").status_code == 403
    r = client_for(s.cpe).post(f"{API}/extra-courses", payload, content_type="application/json")
    assert r.status_code == 201 and r.json()["kind"] == "exam"
    [week] = client_for(s.pupil_b).get(f"{API}/me?{WEEK}").json()["timetables"]
    assert [o["is_exam"] for o in week["occurrences"]] == [False, True]


def test_calendar_get_and_put(world):
    s = world.one
    url = f"{API}/calendars/{s.year.pk}"
    r = client_for(s.pupil_a).get(url)
    assert r.status_code == 200 and r.json()["can_manage"] is False and r.json()["school_days"] == [0, 1, 2, 3, 4]
    assert client_for(s.cpe).put(url, {"zone": "A"}, content_type="application/json").status_code == 403
    head = client_for(s.head)
    r = head.put(url, {"zone": "A", "week_mode": "ab"}, content_type="application/json")
    assert r.status_code == 200
    data = r.json()
    assert data["zone"] == "A" and data["week_mode"] == "ab" and data["week_labels"]["2026-08-31"] == "A"
    assert any(p["label"] == "Vacances de la Toussaint" for p in data["closed_periods"])
    r = head.put(url, {"closed_periods": [{"kind": "local", "label": "Pont", "first_day": "2026-11-10",
                                           "last_day": "2026-11-10"}]}, content_type="application/json")
    assert [p["label"] for p in r.json()["closed_periods"]] == ["Pont"]
    r = head.put(url, {"closed_periods": [{"kind": "local", "label": "", "first_day": "2026-11-10",
                                           "last_day": "2026-11-01"}]}, content_type="application/json")
    assert r.status_code == 400
    assert list(ClosedPeriod.objects.values_list("label", flat=True)) == ["Pont"]  # nothing half written
    r = head.put(url, {"school_days": [9]}, content_type="application/json")
    assert r.status_code == 400
    assert SchoolCalendar.objects.get().zone == "A"
    assert client_for(s.head).get(f"{API}/calendars/999999").status_code == 404


def test_week_api_query_count(world, tt, django_assert_max_num_queries):
    c = client_for(world.one.pupil_a)
    c.get(f"{API}/me?{WEEK}")
    with django_assert_max_num_queries(12):
        assert c.get(f"{API}/me?{WEEK}").status_code == 200


def test_anonymous_is_401():
    assert Client().get(f"{API}/me").status_code == 401


def test_times_in_paris_after_dst(world, tt):
    r = client_for(world.one.pupil_a).get(f"{API}/me?start=2026-10-26&end=2026-10-26").json()["timetables"]
    assert r[0]["occurrences"][0]["start"] == "2026-10-26T08:00:00+01:00"
    assert datetime.datetime.fromisoformat(r[0]["occurrences"][0]["end"]).hour == 9


def test_zone_preset_endpoint(world):
    s = world.one
    url = f"{API}/calendars/{s.year.pk}/zone-preset"
    assert client_for(s.cpe).post(url, {"zone": "B"}, content_type="application/json").status_code == 403
    assert client_for(world.two.head).post(url, {"zone": "B"}, content_type="application/json").status_code == 404
    r = client_for(s.head).post(url, {"zone": "B"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["zone"] == "B"
    winter = [p for p in r.json()["closed_periods"] if p["label"] == "Vacances d'hiver"]
    assert winter[0]["first_day"] == "2027-02-20"
    r = client_for(s.head).post(url, {"zone": "X"}, content_type="application/json")
    assert r.status_code == 400 and "zone" in r.json()["detail"]


@pytest.mark.parametrize("who", ["teacher", "class"])
def test_other_week_api_query_counts(world, tt, who, django_assert_max_num_queries):
    s = world.one
    url = {"teacher": f"{API}/teachers/{s.teacher_a.pk}?{WEEK}", "class": f"{API}/classes/{s.class_a.pk}?{WEEK}"}[who]
    c = client_for(s.head)
    assert c.get(url).status_code == 200
    with django_assert_max_num_queries(12):
        assert c.get(url).status_code == 200
