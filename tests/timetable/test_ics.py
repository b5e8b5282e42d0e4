"""The calendar feed: RFC 5545 parsed by the icalendar library, stable UIDs, cancellations, Europe/Paris across the
DST change, guardians' children, the secret URL (served without a session, revocable, throttled), query counts."""

from __future__ import annotations

import datetime
import re

import icalendar
import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, Role, Service
from preau.timetable import ics
from preau.timetable.models import CalendarFeedToken, CourseChange
from preau.timetable.occurrences import PARIS

from .fixtures_agenda import D, add_event, at
from .fixtures_core import T, change, make_calendar, make_course, make_room

pytestmark = pytest.mark.django_db

TODAY = D(2026, 10, 20)  # a Tuesday; the feed covers 2026-09-22 → 2027-02-09, across the 25 October DST change


@pytest.fixture
def timetable(world):
    one = world.one
    make_calendar(one)
    room = make_room(one, "101")
    maths_a = make_course(one, weekday=0, start=T(8), end=T(9), teachers=[one.teacher_a], classes=[one.class_a],
                          room=room)
    maths_b = make_course(one, weekday=1, start=T(10), end=T(11), teachers=[one.teacher_b], classes=[one.class_b])
    latin = make_course(one, weekday=3, start=T(14), end=T(15), subject=None, label="Latin",
                        teachers=[one.group_teacher], classes=[], groups=[one.group])
    return {"room": room, "maths_a": maths_a, "maths_b": maths_b, "latin": latin}


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def feed(user, today=TODAY) -> icalendar.Calendar:
    return parse(ics.build_feed(user, today=today))


def test_feed_parses_and_round_trips(world, timetable):
    one = world.one
    add_event(one.head, one, title="Réunion parents-professeurs", day=D(2026, 11, 5), location="Salle polyvalente",
              description="<p>Venez <strong>nombreux</strong></p>")
    body = ics.build_feed(one.pupil_a, today=TODAY)
    calendar = parse(body)
    assert str(calendar["version"]) == "2.0" and "Préau" in str(calendar["prodid"])
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    found = events(calendar)
    assert len(found) > 20
    again = parse(calendar.to_ical())
    assert events(again).keys() == found.keys()
    for uid, event in events(again).items():
        original = found[uid]
        for prop in ("summary", "status", "location", "description", "sequence"):
            assert str(event.get(prop)) == str(original.get(prop)), (uid, prop)
        for prop in ("dtstart", "dtend", "dtstamp", "last-modified"):
            assert event.decoded(prop) == original.decoded(prop), (uid, prop)
    meeting = found[f"event-{AgendaEventPk.of(one)}@127.0.0.1"]
    assert str(meeting["summary"]) == "Réunion parents-professeurs"
    assert str(meeting["location"]) == "Salle polyvalente"
    assert "Venez nombreux" in str(meeting["description"]) and "<" not in str(meeting["description"])


class AgendaEventPk:
    @staticmethod
    def of(school):
        from preau.timetable.models import AgendaEvent

        return AgendaEvent.objects.get(establishment=school.establishment).pk


def test_pupil_feed_holds_their_classes_and_groups_courses(world, timetable):
    found = events(feed(world.one.pupil_a))
    summaries = {str(e["summary"]) for e in found.values()}
    assert summaries == {"Mathématiques", "Latin"}
    monday = found[f"course-{timetable['maths_a'].pk}-2026-10-19@127.0.0.1"]
    assert str(monday["location"]) == "Salle 101"
    assert monday.decoded("dtstart") == datetime.datetime(2026, 10, 19, 8, tzinfo=PARIS)
    assert "Enseignants : " + world.one.teacher_a.full_name in str(monday["description"])
    assert "5e A" in str(monday["description"])
    # Window: 4 weeks back, 16 weeks ahead.
    starts = sorted(e.decoded("dtstart") for e in found.values())
    assert starts[0].date() >= TODAY - datetime.timedelta(weeks=4)
    assert starts[-1].date() <= TODAY + datetime.timedelta(weeks=16)
    assert all(e.decoded("dtstart").date() >= D(2026, 9, 22) for e in found.values())


def test_times_keep_europe_paris_wall_clock_across_the_dst_change(world, timetable):
    body = ics.build_feed(world.one.pupil_a, today=TODAY)
    course = timetable["maths_a"]
    assert f"UID:course-{course.pk}-2026-10-19@127.0.0.1".encode() in body
    found = events(parse(body))
    before = found[f"course-{course.pk}-2026-10-19@127.0.0.1"].decoded("dtstart")
    after = found[f"course-{course.pk}-2026-10-26@127.0.0.1"].decoded("dtstart")
    assert (before.hour, after.hour) == (8, 8)
    assert before.utcoffset() == datetime.timedelta(hours=2) and after.utcoffset() == datetime.timedelta(hours=1)
    assert str(before.tzinfo) == "Europe/Paris"
    assert b"DTSTART;TZID=Europe/Paris:20261026T080000" in body
    # The VTIMEZONE states the change on the last Sunday of October.
    assert b"DTSTART:20261025T030000" in body and b"TZOFFSETTO:+0100" in body


def test_uids_and_bytes_are_stable_across_generations(world, timetable):
    first = ics.build_feed(world.one.pupil_a, today=TODAY)
    second = ics.build_feed(world.one.pupil_a, today=TODAY)
    assert first == second
    uids = list(events(parse(first)))
    assert len(uids) == len(set(uids))
    assert all(re.fullmatch(r"(course-\d+-\d{4}-\d{2}-\d{2}|event-\d+)@127\.0\.0\.1", uid) for uid in uids)
    # Another day's window keeps the UIDs of the occurrences both windows hold.
    later = events(feed(world.one.pupil_a, today=TODAY + datetime.timedelta(days=7)))
    common = set(uids) & set(later)
    assert len(common) > 10


def test_cancelled_occurrence_stays_with_status_cancelled(world, timetable):
    course = timetable["maths_a"]
    change(course, D(2026, 10, 19), CourseChange.Status.CANCELLED, reason="Professeur absent")
    found = events(feed(world.one.pupil_a))
    cancelled = found[f"course-{course.pk}-2026-10-19@127.0.0.1"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert str(cancelled["summary"]) == "Annulé : Mathématiques"
    assert "Professeur absent" in str(cancelled["description"])
    normal = found[f"course-{course.pk}-2026-11-02@127.0.0.1"]
    assert str(normal["status"]) == "CONFIRMED"
    assert int(cancelled["sequence"]) > int(normal["sequence"]) or cancelled["sequence"] == normal["sequence"]


def test_moved_occurrence_keeps_its_uid_at_its_new_time(world, timetable):
    course = timetable["maths_a"]
    other_room = make_room(world.one, "202")
    change(course, D(2026, 10, 19), CourseChange.Status.MOVED, new_date=D(2026, 10, 21), new_start_time=T(13),
           new_end_time=T(14), new_room=other_room, note="Apporter la calculatrice")
    moved = events(feed(world.one.pupil_a))[f"course-{course.pk}-2026-10-19@127.0.0.1"]
    assert moved.decoded("dtstart") == datetime.datetime(2026, 10, 21, 13, tzinfo=PARIS)
    assert moved.decoded("dtend") == datetime.datetime(2026, 10, 21, 14, tzinfo=PARIS)
    assert str(moved["location"]) == "Salle 202"
    assert "Apporter la calculatrice" in str(moved["description"])
    assert "déplacé" in str(moved["description"])


def test_teacher_feed_includes_replacements_and_excludes_replaced(world, timetable):
    one = world.one
    course = timetable["maths_b"]
    change(course, D(2026, 10, 20), CourseChange.Status.MODIFIED, replacement_teacher=one.teacher_a)
    teacher_a = events(feed(one.teacher_a))
    teacher_b = events(feed(one.teacher_b))
    uid = f"course-{course.pk}-2026-10-20@127.0.0.1"
    assert uid in teacher_a and uid not in teacher_b
    assert f"course-{course.pk}-2026-10-27@127.0.0.1" in teacher_b


def test_guardian_feed_holds_each_allowed_child_with_their_first_name(world, timetable):
    one = world.one
    found = events(feed(one.mother_b))
    summaries = {str(e["summary"]) for e in found.values()}
    assert summaries == {"Léa — Mathématiques"}
    GuardianLink.objects.filter(guardian=one.mother_b).update(denied_services=[Service.TIMETABLE])
    from preau.access import policy

    one.mother_b._preau_actor = None
    assert policy.actor_for(one.mother_b) is not None
    assert events(feed(one.mother_b)) == {}


def test_guardian_of_two_children_sharing_a_course_gets_one_entry(world, timetable):
    one = world.one
    from preau.directory.models import GroupMembership

    GroupMembership.objects.create(pupil=one.pupil_b, group=one.group)
    GuardianLink.objects.create(guardian=one.guardian_a, pupil=one.pupil_b, relation="mother", contact_order=2)
    found = events(feed(one.guardian_a))
    latin = found[f"course-{timetable['latin'].pk}-2026-10-22@127.0.0.1"]
    first_names = sorted([one.pupil_a.first_name, "Léa"])
    assert str(latin["summary"]) in {f"{', '.join(first_names)} — Latin",
                                     f"{', '.join(reversed(first_names))} — Latin"}


def test_agenda_events_in_the_feed_follow_the_audience(world, timetable):
    one = world.one
    for_b = add_event(one.head, one, title="Sortie 5e B", classes=[one.class_b])
    all_day = add_event(one.head, one, title="Journée portes ouvertes", all_day=True, starts_at=D(2026, 11, 7),
                        ends_at=D(2026, 11, 8), audience_roles=[Role.GUARDIAN])
    mother = events(feed(one.mother_b))
    assert f"event-{for_b.pk}@127.0.0.1" in mother
    whole_day = mother[f"event-{all_day.pk}@127.0.0.1"]
    assert whole_day.decoded("dtstart") == D(2026, 11, 7) and whole_day.decoded("dtend") == D(2026, 11, 9)
    assert f"event-{for_b.pk}@127.0.0.1" not in events(feed(one.pupil_a))
    assert events(feed(world.two.pupil_b)) == {}
    # The head's feed holds every event of the establishment; a global admin's only their establishments' (none).
    assert {f"event-{for_b.pk}@127.0.0.1", f"event-{all_day.pk}@127.0.0.1"} <= set(events(feed(one.head)))
    assert events(feed(world.global_admin)) == {}


def test_feed_is_a_constant_number_of_queries(world, timetable, django_assert_max_num_queries):
    one = world.one
    add_event(one.head, one, classes=[one.class_b])
    ics.build_feed(one.mother_b, today=TODAY)  # warm the calendar cache
    counts = []
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for user in (one.mother_b,):
        user._preau_actor = None
        with CaptureQueriesContext(connection) as small:
            ics.build_feed(user, today=TODAY)
        counts.append(len(small))
    for index in range(15):
        make_course(one, weekday=index % 5, start=T(15), end=T(16), teachers=[one.teacher_b], classes=[one.class_b])
        add_event(one.head, one, title=f"E{index}", classes=[one.class_b], day=D(2026, 11, 1 + index))
    one.mother_b._preau_actor = None
    ics.build_feed(one.mother_b, today=TODAY)
    one.mother_b._preau_actor = None
    with CaptureQueriesContext(connection) as big:
        body = ics.build_feed(one.mother_b, today=TODAY)
    assert len(big) == counts[0] <= 12
    assert len(events(parse(body))) > 200


# --- The secret URL -------------------------------------------------------------------------------------------

def _create_token(client, user) -> str:
    client.force_login(user)
    response = client.post(reverse("agenda:feed_settings"), {"action": "create"})
    assert response.status_code == 302
    page = client.get(reverse("agenda:feed_settings"))
    match = re.search(r'>http://127\.0\.0\.1:8000/agenda/ics/([A-Za-z0-9_-]+)\.ics</textarea>', page.content.decode())
    assert match, "the full URL is shown once"
    assert f'href="webcal://127.0.0.1:8000/agenda/ics/{match.group(1)}.ics"' in page.content.decode()
    again = client.get(reverse("agenda:feed_settings")).content.decode()
    assert match.group(1) not in again and "Un lien est actif" in again
    return match.group(1)


@time_machine.travel(datetime.datetime(2026, 10, 20, 7, 0, tzinfo=datetime.UTC), tick=False)
def test_token_lifecycle_over_http(world, timetable, client):
    user = world.one.pupil_a
    token = _create_token(client, user)
    row = CalendarFeedToken.objects.get(user=user)
    assert row.token_hash == ics.hash_token(token) and token not in row.token_hash and len(row.token_hash) == 64
    assert row.hint == token[-4:]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CALENDAR_FEED_CREATED, actor=user).count() == 1

    anonymous = Client()  # a calendar client: no session, no cookie
    url = reverse("agenda:ics", args=[token])
    response = anonymous.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"].startswith("private")
    assert not response.cookies
    calendar = parse(response.content)
    assert any(str(e["summary"]) == "Mathématiques" for e in calendar.walk("VEVENT"))
    etag = response["ETag"]
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert anonymous.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert anonymous.head(url).status_code == 200
    assert anonymous.post(url).status_code == 405
    CalendarFeedToken.objects.filter(pk=row.pk).update(last_used_at=None)
    anonymous.get(url)
    assert CalendarFeedToken.objects.get(pk=row.pk).last_used_at is not None

    # Regenerating: the old URL stops working, the new one works.
    new_token = None
    client.post(reverse("agenda:feed_settings"), {"action": "regenerate"})
    page = client.get(reverse("agenda:feed_settings")).content.decode()
    new_token = re.search(r"/agenda/ics/([A-Za-z0-9_-]+)\.ics", page).group(1)
    assert new_token != token
    created = AuditEvent.objects.filter(action=AuditEvent.Action.CALENDAR_FEED_CREATED, actor=user).order_by("pk")
    assert [event.details["replaced"] for event in created] == [False, True]
    assert CalendarFeedToken.objects.filter(user=user).count() == 1
    assert anonymous.get(url).status_code == 404
    assert anonymous.get(reverse("agenda:ics", args=[new_token])).status_code == 200

    # Revoking: 404, audited.
    client.post(reverse("agenda:feed_settings"), {"action": "revoke"})
    assert anonymous.get(reverse("agenda:ics", args=[new_token])).status_code == 404
    assert not CalendarFeedToken.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CALENDAR_FEED_REVOKED, actor=user).count() == 1
    assert "Aucun lien d'abonnement actif" in client.get(reverse("agenda:feed_settings")).content.decode()


def test_unknown_token_and_deactivated_account_answer_404(world, client):
    assert Client().get(reverse("agenda:ics", args=["nope"])).status_code == 404
    token = ics.feed_token_create(user=world.one.teacher_a)
    url = reverse("agenda:ics", args=[token])
    assert Client().get(url).status_code == 200
    world.one.teacher_a.is_active = False
    world.one.teacher_a.save(update_fields=["is_active"])
    assert Client().get(url).status_code == 404


@override_settings(PREAU_CALENDAR_FEED_RATE="3/h")
def test_feed_is_rate_limited_per_token(world):
    token = ics.feed_token_create(user=world.one.pupil_b)
    other = ics.feed_token_create(user=world.one.pupil_a)
    url = reverse("agenda:ics", args=[token])
    assert [Client().get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = Client().get(url)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert Client().get(reverse("agenda:ics", args=[other])).status_code == 200


def test_feed_settings_need_login_and_post_only_changes(world, client):
    response = client.get(reverse("agenda:feed_settings"))
    assert response.status_code == 302 and "/compte/" in response["Location"]
    client.force_login(world.one.mother_b)
    page = client.get(reverse("agenda:feed_settings")).content.decode()
    for client_name in ("Google Agenda", "Apple", "Outlook", "Thunderbird"):
        assert client_name in page
    assert not CalendarFeedToken.objects.exists()


def test_feed_view_query_count(world, timetable, django_assert_max_num_queries):
    token = ics.feed_token_create(user=world.one.pupil_a)
    url = reverse("agenda:ics", args=[token])
    Client().get(url)
    with django_assert_max_num_queries(12):
        assert Client().get(url).status_code == 200


def test_feed_uses_timezone_aware_now_window(world, timetable):
    # The window moves with the day: a course 17 weeks ahead is not in today's feed but is in a later one.
    course = timetable["maths_a"]
    far = D(2027, 2, 15)
    uid = f"course-{course.pk}-{far.isoformat()}@127.0.0.1"
    assert uid not in events(feed(world.one.pupil_a))
    assert uid in events(feed(world.one.pupil_a, today=D(2026, 12, 1)))
    assert at(far, 8).hour == 8


@time_machine.travel(datetime.datetime(2026, 10, 20, 7, 0, tzinfo=datetime.UTC), tick=False)
def test_etag_follows_every_change_and_the_text_is_built_once(world, timetable, monkeypatch):
    token = ics.feed_token_create(user=world.one.pupil_a)
    url = reverse("agenda:ics", args=[token])
    first = Client().get(url)
    etag = first["ETag"]
    built = []
    real_render = ics.render
    monkeypatch.setattr(ics, "render", lambda data: built.append(1) or real_render(data))
    again = Client().get(url)
    assert again.content == first.content and again["ETag"] == etag and built == []  # served from the cache
    # A cancellation, a room renamed, a teacher's name: each changes the ETag and the text.
    change(timetable["maths_a"], D(2026, 10, 26), CourseChange.Status.CANCELLED)
    cancelled = Client().get(url, HTTP_IF_NONE_MATCH=etag)
    assert cancelled.status_code == 200 and b"STATUS:CANCELLED" in cancelled.content and built == [1]
    timetable["room"].label = "Labo de sciences"
    timetable["room"].save()
    renamed = Client().get(url, HTTP_IF_NONE_MATCH=cancelled["ETag"])
    assert renamed.status_code == 200 and b"LOCATION:Labo de sciences" in renamed.content
    world.one.teacher_a.last_name = "Nouveau-Nom"
    world.one.teacher_a.save()
    named = Client().get(url, HTTP_IF_NONE_MATCH=renamed["ETag"])
    assert named.status_code == 200 and b"Nouveau-Nom" in named.content
    assert Client().get(url, HTTP_IF_NONE_MATCH=named["ETag"]).status_code == 304
