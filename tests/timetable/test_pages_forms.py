"""Timetable staff forms through the pages (ttpages): changing one occurrence, extra courses and exams, recurring
courses, the calendar. Valid input writes through the services; invalid input answers 400 in French and writes
nothing; people who may not change answer 403 (or 404 when they may not even see the course)."""

import html

import pytest
from django.urls import reverse

from preau.timetable.models import ClosedPeriod, Course, CourseChange, SchoolCalendar

from .fixtures_core import D, make_course, make_room
from .fixtures_pages import HOLIDAY_MONDAY, MONDAY, full_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(world):
    return full_week(world.one)


def post(client, user, url, data, status=302):
    client.force_login(user)
    response = client.post(url, data)
    assert response.status_code == status, (response.status_code, html.unescape(response.content.decode())[:2000])
    return html.unescape(response.content.decode()) if status != 302 else response


def change_url(course, day=MONDAY):
    return reverse("timetable:change", args=[course.pk, day.isoformat()])


def first(week):
    return week["courses"][0]  # Monday 08:00-08:55, 5e A, room 101


# --- One occurrence -----------------------------------------------------------------------------------------------

def test_change_page_shows_the_forms_to_staff_only(world, client, week):
    s = world.one
    client.force_login(s.cpe)
    text = html.unescape(client.get(change_url(first(week))).content.decode())
    assert "Annuler le cours" in text and "Déplacer le cours" in text and "Enseignant remplaçant" in text
    assert "Revenir au cours prévu" not in text  # nothing to revert yet
    client.force_login(s.teacher_a)
    assert client.get(change_url(first(week))).status_code == 403
    client.force_login(s.pupil_a)
    assert client.get(change_url(first(week))).status_code == 403
    client.force_login(s.pupil_b)
    assert client.get(change_url(first(week))).status_code == 404
    client.force_login(s.secretary)  # reads timetables, does not change them
    assert client.get(change_url(first(week))).status_code == 403


def test_cancel_with_reason(world, client, week):
    s = world.one
    response = post(client, s.cpe, change_url(first(week)), {"action": "cancel", "cancel-reason": "Sortie au musée"})
    assert response["Location"] == reverse("timetable:occurrence", args=[first(week).pk, "2026-12-07"])
    row = CourseChange.objects.get(course=first(week), date=MONDAY)
    assert row.status == "cancelled" and row.reason == "Sortie au musée" and row.created_by == s.cpe
    client.force_login(s.pupil_a)
    text = html.unescape(client.get(reverse("timetable:week") + "?date=2026-12-07").content.decode())
    assert "Annulé : Sortie au musée" in text


def test_cancel_requires_a_reason(world, client, week):
    text = post(client, world.one.cpe, change_url(first(week)), {"action": "cancel", "cancel-reason": "  "},
                status=400)
    assert "Indiquez le motif de l'annulation." in text
    assert not CourseChange.objects.exists()


def test_move_valid_and_invalid(world, client, week):
    s = world.one
    url = change_url(first(week))
    # End before start: the form refuses.
    text = post(client, s.cpe, url, {"action": "move", "move-new_date": "2026-12-09", "move-new_start_time": "15:00",
                                     "move-new_end_time": "14:00"}, status=400)
    assert "L'heure de fin doit suivre l'heure de début." in text
    # A holiday: the service refuses, in French, next to the field.
    text = post(client, s.cpe, url, {"action": "move", "move-new_date": HOLIDAY_MONDAY.isoformat()}, status=400)
    assert "Impossible de déplacer le cours sur ce jour" in text
    # Garbage.
    text = post(client, s.cpe, url, {"action": "move", "move-new_date": "mercredi", "move-new_room": "abc"},
                status=400)
    assert "Indiquez une date valide" in text and "Choisissez une salle de la liste." in text
    assert not CourseChange.objects.exists()
    room = week["rooms"][2]
    post(client, s.cpe, url, {"action": "move", "move-new_date": "2026-12-09", "move-new_start_time": "15:00",
                              "move-new_end_time": "15:55", "move-new_room": room.pk, "move-reason": "Conseil"})
    row = CourseChange.objects.get(course=first(week), date=MONDAY)
    assert (row.status, row.new_date, row.new_start_time.hour, row.new_room) == ("moved", D(2026, 12, 9), 15, room)


def test_modify_replacement_room_exam_note_and_revert(world, client, week):
    s, other = world.one, world.two
    url = change_url(first(week))
    text = post(client, s.cpe, url, {"action": "modify"}, status=400)
    assert "Indiquez au moins un changement" in text
    # A teacher of another establishment is not in the list.
    text = post(client, s.cpe, url, {"action": "modify", "modify-replacement_teacher": other.teacher_a.pk},
                status=400)
    assert "Choisissez un enseignant de la liste." in text
    assert not CourseChange.objects.exists()
    post(client, s.cpe, url, {"action": "modify", "modify-replacement_teacher": s.teacher_b.pk,
                              "modify-is_exam": "on", "modify-note": "Apporter la calculatrice"})
    row = CourseChange.objects.get(course=first(week), date=MONDAY)
    assert (row.status, row.replacement_teacher, row.is_exam, row.note) == (
        "modified", s.teacher_b, True, "Apporter la calculatrice")
    client.force_login(s.teacher_b)
    text = html.unescape(client.get(reverse("timetable:week") + "?date=2026-12-07&vue=jour").content.decode())
    assert f"Vous remplacez {s.teacher_a.full_name}" in text and "Devoir surveillé" in text
    # Revert: the occurrence is as planned again.
    client.force_login(s.cpe)
    assert "Revenir au cours prévu" in html.unescape(client.get(url).content.decode())
    post(client, s.cpe, url, {"action": "revert"})
    assert not CourseChange.objects.exists()


def test_a_note_on_a_moved_course_keeps_it_moved(world, client, week):
    s = world.one
    url = change_url(first(week))
    post(client, s.cpe, url, {"action": "move", "move-new_date": "2026-12-09", "move-new_start_time": "15:00",
                              "move-new_end_time": "15:55"})
    post(client, s.cpe, url, {"action": "modify", "modify-note": "En salle informatique"})
    row = CourseChange.objects.get(course=first(week), date=MONDAY)
    assert (row.status, row.new_date, row.note) == ("moved", D(2026, 12, 9), "En salle informatique")


def test_change_of_a_date_without_occurrence_is_404(world, client, week):
    client.force_login(world.one.cpe)
    assert client.post(change_url(first(week), D(2026, 12, 8)), {"action": "cancel", "cancel-reason": "x"}
                       ).status_code == 404
    assert client.get(change_url(first(week), HOLIDAY_MONDAY)).status_code == 404


def test_unknown_action_changes_nothing(world, client, week):
    client.force_login(world.one.cpe)
    response = client.post(change_url(first(week)), {"action": "explode", "cancel-reason": "x"})
    assert response.status_code == 200 and not CourseChange.objects.exists()
    response = client.post(change_url(first(week)), {"action": "revert"})  # nothing to revert
    assert response.status_code == 200


# --- Extra courses and exams ------------------------------------------------------------------------------------

def test_extra_course_and_exam(world, client, week):
    s = world.one
    url = reverse("timetable:extra_create")
    text = post(client, s.cpe, url, {"kind": "exam", "date": "2026-12-10", "start_time": "16:00",
                                     "end_time": "15:00", "subject": s.subject.pk}, status=400)
    assert "L'heure de fin doit suivre l'heure de début." in text
    text = post(client, s.cpe, url, {"kind": "exam", "date": "2026-12-10", "start_time": "16:00",
                                     "end_time": "17:00", "subject": s.subject.pk}, status=400)
    assert "Choisissez au moins une classe ou un groupe." in text
    text = post(client, s.cpe, url, {"kind": "exam", "date": HOLIDAY_MONDAY.isoformat(), "start_time": "16:00",
                                     "end_time": "17:00", "subject": s.subject.pk, "classes": [s.class_a.pk]},
                status=400)
    assert "Ce jour est sans cours" in text
    text = post(client, s.cpe, url, {"kind": "exam", "date": "2026-12-10", "start_time": "16:00",
                                     "end_time": "17:00", "subject": s.subject.pk,
                                     "classes": [world.two.class_a.pk]}, status=400)
    assert "Choisissez des classes de la liste." in text
    assert not Course.objects.exclude(kind=Course.Kind.RECURRING).exists()
    response = post(client, s.cpe, url, {"kind": "exam", "date": "2026-12-10", "start_time": "16:00",
                                         "end_time": "17:00", "subject": s.subject.pk, "classes": [s.class_a.pk],
                                         "teachers": [s.teacher_a.pk], "room": week["rooms"][0].pk})
    exam = Course.objects.get(kind=Course.Kind.EXAM)
    assert response["Location"] == reverse("timetable:occurrence", args=[exam.pk, "2026-12-10"])
    client.force_login(s.pupil_a)
    text = html.unescape(client.get(reverse("timetable:week") + "?date=2026-12-10&vue=jour").content.decode())
    assert "Devoir surveillé" in text and "16:00" in text


def test_extra_course_deleted_by_who_changes_courses(world, client, week):
    s = world.one
    extra = make_course(s, kind=Course.Kind.EXTRA, date=D(2026, 12, 10), teachers=[s.teacher_a],
                        classes=[s.class_a], label="Soutien", subject=None)
    client.force_login(s.cpe)
    response = client.get(reverse("timetable:course_edit", args=[extra.pk]))
    assert response.status_code == 302 and response["Location"] == change_url(extra, D(2026, 12, 10))
    assert "Supprimer ce cours exceptionnel" in html.unescape(client.get(response["Location"]).content.decode())
    client.force_login(s.teacher_a)
    assert client.post(reverse("timetable:course_delete", args=[extra.pk])).status_code == 403
    post(client, s.cpe, reverse("timetable:course_delete", args=[extra.pk]), {})
    assert not Course.objects.filter(pk=extra.pk).exists()


def test_extra_course_refused_to_teachers_and_pupils(world, client, week):
    for user in (world.one.teacher_a, world.one.pupil_a, world.one.secretary):
        client.force_login(user)
        assert client.get(reverse("timetable:extra_create")).status_code == 403


# --- Recurring courses (managers) ---------------------------------------------------------------------------------

def test_courses_list_and_filters(world, client, week):
    s = world.one
    client.force_login(s.head)
    text = html.unescape(client.get(reverse("timetable:courses")).content.decode())
    assert "Cours de l'année" in text and "Mathématiques" in text and "Latin" in text
    text = html.unescape(client.get(reverse("timetable:courses") + f"?enseignant={s.group_teacher.pk}").content
                         .decode())
    assert "Latin" in text and "Mathématiques" not in text
    assert client.get(reverse("timetable:courses") + "?classe=abc&page=zz").status_code == 200
    client.force_login(s.cpe)
    assert client.get(reverse("timetable:courses")).status_code == 403


def test_course_create_edit_delete(world, client, week):
    s = world.one
    url = reverse("timetable:course_create")
    text = post(client, s.head, url, {"weekday": "9", "start_time": "10:00", "end_time": "11:00"}, status=400)
    assert "Choisissez un jour de la liste." in text
    text = post(client, s.head, url, {"weekday": "3", "start_time": "16:00", "end_time": "17:00",
                                      "classes": [s.class_b.pk], "week_pattern": "custom",
                                      "custom_weeks": "pas une date"}, status=400)
    assert "Choisissez une matière ou donnez un libellé." in text or "n'est pas une date" in text
    count = Course.objects.count()
    post(client, s.head, url, {"weekday": "3", "start_time": "16:00", "end_time": "17:00", "label": "Chorale",
                               "classes": [s.class_b.pk], "teachers": [s.teacher_b.pk], "week_pattern": "custom",
                               "custom_weeks": "2026-12-10, 14/12/2026"})
    assert Course.objects.count() == count + 1
    course = Course.objects.get(label="Chorale")
    assert course.custom_weeks == ["2026-12-07", "2026-12-14"] and list(course.classes.all()) == [s.class_b]
    edit = reverse("timetable:course_edit", args=[course.pk])
    client.force_login(s.head)
    assert "Chorale" in html.unescape(client.get(edit).content.decode())
    post(client, s.head, edit, {"weekday": "4", "start_time": "16:00", "end_time": "17:30", "label": "Chorale",
                                "classes": [s.class_b.pk], "week_pattern": "every"})
    course.refresh_from_db()
    assert course.weekday == 4 and course.end_time.minute == 30 and course.week_pattern == "every"
    # A double booking is saved with a warning.
    room = week["rooms"][0]
    client.force_login(s.head)
    response = client.post(edit, {"weekday": "0", "start_time": "08:00", "end_time": "08:55", "label": "Chorale",
                                  "classes": [s.class_b.pk], "room": room.pk, "week_pattern": "every"}, follow=True)
    assert "déjà occupée" in html.unescape(response.content.decode())
    client.force_login(s.cpe)
    assert client.post(reverse("timetable:course_delete", args=[course.pk])).status_code == 403
    post(client, s.head, reverse("timetable:course_delete", args=[course.pk]), {})
    assert not Course.objects.filter(pk=course.pk).exists()


def test_course_of_another_establishment_is_404(world, client, week):
    other = world.two
    foreign = make_course(other, weekday=0, teachers=[other.teacher_a], classes=[other.class_a],
                          room=make_room(other, "9"))
    client.force_login(world.one.head)
    assert client.get(reverse("timetable:course_edit", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("timetable:course_delete", args=[foreign.pk])).status_code == 404
    assert Course.objects.filter(pk=foreign.pk).exists()


# --- The calendar (managers) --------------------------------------------------------------------------------------

def test_calendar_zone_weeks_and_periods(world, client, week):
    s = world.one
    url = reverse("timetable:calendar")
    client.force_login(s.cpe)
    assert client.get(url).status_code == 403
    client.force_login(s.head)
    assert "Calendrier scolaire" in html.unescape(client.get(url).content.decode())
    assert "Choisissez la zone A, B ou C." in post(client, s.head, url, {"action": "zone", "zone-zone": "Z"},
                                                   status=400)
    post(client, s.head, url, {"action": "zone", "zone-zone": "A"})
    calendar = SchoolCalendar.objects.get(school_year=s.year)
    assert calendar.zone == "A"
    assert ClosedPeriod.objects.filter(calendar=calendar, kind="holidays").count() >= 4
    # Alternating weeks: the list is generated, then editable week by week.
    settings = {"action": "settings", "settings-week_mode": "ab", "settings-first_week_label": "A",
                "settings-school_days": ["0", "1", "2", "3", "4"], "settings-day_start": "08:00",
                "settings-day_end": "18:00", "settings-half_day_split": "12:30"}
    text = post(client, s.head, url, {**settings, "settings-day_end": "07:00"}, status=400)
    assert "L'heure de fin doit suivre l'heure de début." in text
    post(client, s.head, url, settings)
    calendar.refresh_from_db()
    assert calendar.week_mode == "ab" and calendar.week_labels
    first_monday = min(calendar.week_labels)
    client.force_login(s.head)
    assert f'name="weeks-w{first_monday}"' in client.get(url).content.decode()
    labels = {f"weeks-w{monday}": label for monday, label in calendar.week_labels.items()}
    labels[f"weeks-w{first_monday}"] = "B" if calendar.week_labels[first_monday] == "A" else "A"
    post(client, s.head, url, {"action": "weeks", **labels})
    calendar.refresh_from_db()
    assert calendar.week_labels[first_monday] == labels[f"weeks-w{first_monday}"]
    assert "Choisissez A, B ou aucune étiquette." in post(
        client, s.head, url, {"action": "weeks", f"weeks-w{first_monday}": "Z"}, status=400)
    # Closed periods: add (invalid, valid), remove.
    text = post(client, s.head, url, {"action": "period_add", "period-kind": "local", "period-label": "Pont",
                                      "period-first_day": "2027-05-14", "period-last_day": "2027-05-13"},
                status=400)
    assert "Le dernier jour doit suivre le premier." in text
    post(client, s.head, url, {"action": "period_add", "period-kind": "local",
                               "period-label": "Journée banalisée du 14 mai", "period-first_day": "2027-05-14"})
    bridge = ClosedPeriod.objects.get(label="Journée banalisée du 14 mai")
    assert bridge.first_day == bridge.last_day == D(2027, 5, 14)
    client.force_login(s.head)
    assert client.post(url, {"action": "period_delete", "period": "abc"}).status_code == 404
    post(client, s.head, url, {"action": "period_delete", "period": bridge.pk})
    assert not ClosedPeriod.objects.filter(pk=bridge.pk).exists()
    # Another establishment's period is not reachable from this calendar.
    other_calendar = full_week(world.two)["calendar"]
    foreign = ClosedPeriod.objects.filter(calendar=other_calendar).first()
    client.force_login(s.head)
    assert client.post(url, {"action": "period_delete", "period": foreign.pk}).status_code == 404
    assert ClosedPeriod.objects.filter(pk=foreign.pk).exists()


# --- Query counts -------------------------------------------------------------------------------------------------

def test_staff_pages_constant_queries(world, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preau.directory.testing import make_pupil, make_teacher

    s = world.one
    data = full_week(s)
    course = data["courses"][0]
    pages = [(s.cpe, change_url(course)), (s.cpe, reverse("timetable:extra_create")),
             (s.head, reverse("timetable:courses")), (s.head, reverse("timetable:course_edit", args=[course.pk])),
             (s.head, reverse("timetable:calendar"))]

    def counts():
        found = []
        for user, url in pages:
            client.force_login(user)
            client.get(url)
            with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(20):
                assert client.get(url).status_code == 200
            found.append(len(captured))
        return found

    small = counts()
    for index in range(25):
        make_pupil(s.class_a, username=f"more{index}")
    for index in range(5):
        make_teacher(s.establishment, s.subject, s.class_b, username=f"moreteacher{index}")
    for index in range(10):
        make_course(s, weekday=index % 5, start=data["courses"][0].start_time, end=data["courses"][0].end_time,
                    teachers=[s.teacher_b], classes=[s.class_b], room=None)
    assert counts() == small


BIG = "9" * 30


def test_garbage_input_is_never_a_server_error(world, client, week):
    s = world.one
    url = change_url(first(week))
    client.force_login(s.head)
    for data in ({"action": "move", "move-new_date": "2026-12-09", "move-new_room": BIG},
                 {"action": "modify", "modify-replacement_teacher": BIG},
                 {"action": "modify", "modify-replacement_teacher": "-1"},
                 {"action": "cancel", "cancel-reason": "x" * 500},
                 {"action": "move", "move-new_date": "9999-12-31"},
                 {"action": "move", "move-new_date": "2026-12-09", "move-new_start_time": "25:00"}):
        assert client.post(url, data).status_code == 400, data
    for data in ({"kind": "exam", "date": "2026-12-10", "start_time": "16:00", "end_time": "17:00",
                  "classes": [BIG], "teachers": [BIG, "x"]},
                 {"kind": "zz", "date": "0000-00-00"}):
        assert client.post(reverse("timetable:extra_create"), data).status_code == 400
    assert client.post(reverse("timetable:course_create"), {"weekday": "0", "start_time": "08:00",
                                                            "end_time": "09:00", "label": "x",
                                                            "groups": ["-3"]}).status_code == 400
    for query in (f"?classe={BIG}&enseignant=x&salle=-5&page=999999", "?page=-1"):
        assert client.get(reverse("timetable:courses") + query).status_code == 200
    assert client.post(reverse("timetable:calendar"), {"action": "period_delete", "period": BIG}).status_code == 404
    assert client.get(reverse("timetable:free_rooms") + "?date=2026-12-07&start=00:00&end=23:59").status_code == 200
    assert not CourseChange.objects.exists() and not Course.objects.exclude(kind="recurring").exists()
