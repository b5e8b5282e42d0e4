"""The roll call page (/vie-scolaire/appel/<course>/<date>/) and the teacher's "Mes appels" (attpages): present by
default, one POST saves all, French errors without writing, who may open it (404 otherwise), until when, known
absences and exemptions shown, constant queries whatever the class size."""

import datetime
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from preau.attendance import services
from preau.attendance.models import AttendanceRecord, Exemption, RollCall
from preau.directory.models import Subject
from preau.timetable.models import CourseChange

from .fixtures_pages import MONDAY, T, add_pupils, at, make_course, make_course_a, roll_call_url

pytestmark = pytest.mark.django_db

DURING = at(MONDAY, 10, 5)


def name_of(pupil) -> str:
    return f"{pupil.last_name} {pupil.first_name}"


@pytest.fixture
def course_a(world):
    return make_course_a(world.one)


@pytest.fixture
def during():
    with time_machine.travel(DURING, tick=False):
        yield


def post_roll(client, course, data, day=MONDAY):
    return client.post(roll_call_url(course, day), data)


def test_teacher_sees_every_pupil_present_by_default(client, world, course_a, during):
    one = world.one
    client.force_login(one.teacher_a)
    response = client.get(roll_call_url(course_a))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert f"<legend>{name_of(one.pupil_a)}</legend>" in html
    assert f'name="statut-{one.pupil_a.pk}" value="present" checked' in html
    assert f'name="statut-{one.pupil_a.pk}" value="absent">' in html
    assert "1 présent, 0 absent, 0 en retard." in html
    assert "attendance/roll_call.js" in html and "<script>" not in html
    assert "Enregistrer l'appel" in html


def test_one_post_saves_absent_and_late_with_counts(client, world, course_a, during):
    one = world.one
    others = add_pupils(one.class_a, 2)
    client.force_login(one.teacher_a)
    response = post_roll(client, course_a, {
        f"statut-{one.pupil_a.pk}": "absent", f"retard-{one.pupil_a.pk}": "",
        f"statut-{others[0].pk}": "late", f"retard-{others[0].pk}": "10",
        f"statut-{others[1].pk}": "present", f"retard-{others[1].pk}": "",
    })
    assert response.status_code == 302 and response["Location"] == roll_call_url(course_a)
    roll = RollCall.objects.get(course=course_a, date=MONDAY)
    assert roll.taken_by == one.teacher_a and roll.expected_count == 3
    absent = AttendanceRecord.objects.get(pupil=one.pupil_a)
    assert absent.kind == "absence" and absent.roll_call == roll and absent.state == "unjustified"
    late = AttendanceRecord.objects.get(pupil=others[0])
    assert late.kind == "late" and late.late_minutes == 10
    assert not AttendanceRecord.objects.filter(pupil=others[1]).exists()
    page = unescape(client.get(roll_call_url(course_a)).content.decode())
    assert "Appel enregistré : 1 présent, 1 absent, 1 en retard." in page
    assert "Appel fait" in page and "Enregistrer les modifications" in page
    # The saved marks prefill the page.
    assert f'name="statut-{one.pupil_a.pk}" value="absent" checked' in page
    assert f'name="retard-{others[0].pk}" value="10"' in page


def test_resubmitting_everyone_present_removes_the_records(client, world, course_a, during):
    one = world.one
    client.force_login(one.teacher_a)
    post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "absent"})
    assert AttendanceRecord.objects.filter(pupil=one.pupil_a).exists()
    post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "present"})
    assert not AttendanceRecord.objects.filter(pupil=one.pupil_a).exists()
    assert RollCall.objects.filter(course=course_a).count() == 1


@pytest.mark.parametrize("data, message", [
    ({"statut": "late", "retard": ""}, "Indiquez les minutes de retard."),
    ({"statut": "late", "retard": "abc"}, "Indiquez un nombre entier de minutes."),
    ({"statut": "late", "retard": "0"}, "Un retard compte au moins une minute."),
    ({"statut": "late", "retard": "500"}, "Un retard de plus de 240 minutes est une absence."),
    ({"statut": "asleep", "retard": ""}, "Choisissez présent, absent ou en retard."),
    ({}, "Choisissez présent, absent ou en retard."),
])
def test_invalid_input_is_refused_in_french_without_writing(client, world, course_a, during, data, message):
    one = world.one
    client.force_login(one.teacher_a)
    posted = {f"{key}-{one.pupil_a.pk}": value for key, value in data.items()}
    response = post_roll(client, course_a, posted)
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert "L'appel n'est pas enregistré" in html and message in html
    assert not RollCall.objects.exists() and not AttendanceRecord.objects.exists()


def test_minutes_of_a_pupil_who_is_not_late_are_ignored(client, world, course_a, during):
    one = world.one
    client.force_login(one.teacher_a)
    response = post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "absent", f"retard-{one.pupil_a.pk}": "abc"})
    assert response.status_code == 302
    record = AttendanceRecord.objects.get(pupil=one.pupil_a)
    assert record.kind == "absence" and record.late_minutes is None


def test_pupils_outside_the_course_in_the_post_are_ignored(client, world, course_a, during):
    one = world.one
    client.force_login(one.teacher_a)
    response = post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "present",
                                            f"statut-{one.pupil_b.pk}": "absent"})
    assert response.status_code == 302
    assert not AttendanceRecord.objects.exists()


@pytest.mark.parametrize("who", ["teacher_b", "group_teacher", "pupil_a", "guardian_a", "secretary", "nurse",
                                 "ent_admin"])
def test_people_who_may_not_take_the_roll_get_404(client, world, course_a, during, who):
    client.force_login(getattr(world.one, who))
    assert client.get(roll_call_url(course_a)).status_code == 404
    assert post_roll(client, course_a, {f"statut-{world.one.pupil_a.pk}": "absent"}).status_code == 404
    assert not RollCall.objects.exists()


def test_other_establishment_gets_404(client, world, course_a, during):
    for person in (world.two.cpe, world.two.teacher_a, world.two.head):
        client.force_login(person)
        assert client.get(roll_call_url(course_a)).status_code == 404
    assert not RollCall.objects.exists()


def test_no_occurrence_that_day_or_bad_date_is_404(client, world, course_a, during):
    client.force_login(world.one.teacher_a)
    assert client.get(roll_call_url(course_a, MONDAY + datetime.timedelta(days=1))).status_code == 404
    assert client.get(f"/vie-scolaire/appel/{course_a.pk}/2026-13-45/").status_code == 404
    assert client.get(f"/vie-scolaire/appel/999999/{MONDAY.isoformat()}/").status_code == 404


def test_teacher_may_edit_until_the_end_of_the_day_then_vie_scolaire_takes_over(client, world, course_a):
    one = world.one
    client.force_login(one.teacher_a)
    with time_machine.travel(at(MONDAY, 23, 50), tick=False):
        assert post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "absent"}).status_code == 302
    with time_machine.travel(at(MONDAY + datetime.timedelta(days=1), 8), tick=False):
        page = client.get(roll_call_url(course_a))
        assert page.status_code == 200
        html = unescape(page.content.decode())
        assert "L'appel de ce cours n'est plus modifiable" in html
        assert "<fieldset class=\"roll-pupil roll-pupil--absent\" data-pupil disabled>" in html
        assert "Enregistrer" not in html
        refused = post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "present"})
        assert refused.status_code == 403
        assert "L'appel de ce cours n'est plus modifiable" in unescape(refused.content.decode())
        assert AttendanceRecord.objects.filter(pupil=one.pupil_a).exists()
        # Vie scolaire may take it over any time.
        client.force_login(one.cpe)
        assert post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "present"}).status_code == 302
        assert not AttendanceRecord.objects.filter(pupil=one.pupil_a).exists()
        assert RollCall.objects.get(course=course_a).updated_by == one.cpe


def test_roll_call_of_a_later_day_cannot_be_taken_yet(client, world, course_a, during):
    one = world.one
    client.force_login(one.teacher_a)
    next_monday = MONDAY + datetime.timedelta(days=7)
    page = unescape(client.get(roll_call_url(course_a, next_monday)).content.decode())
    assert "ne peut pas être fait avant le jour du cours" in page
    assert post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "absent"}, next_monday).status_code == 403
    assert not RollCall.objects.exists()


def test_cancelled_course_has_no_roll_call(client, world, course_a, during):
    one = world.one
    CourseChange.objects.create(course=course_a, date=MONDAY, status="cancelled", reason="Sortie")
    client.force_login(one.teacher_a)
    html = unescape(client.get(roll_call_url(course_a)).content.decode())
    assert "Ce cours est annulé" in html and "Enregistrer" not in html
    assert post_roll(client, course_a, {f"statut-{one.pupil_a.pk}": "absent"}).status_code == 400
    assert not RollCall.objects.exists()


def test_known_absence_and_exemption_are_shown(client, world, course_a, during):
    one = world.one
    other = add_pupils(one.class_a, 1)[0]
    services.record_absence(pupil=one.pupil_a, starts_at=at(MONDAY, 8), ends_at=at(MONDAY + datetime.timedelta(2), 18),
                            by=one.cpe, reason=services.reasons_for(one.establishment.pk).get(code="MAL"),
                            now=at(MONDAY, 7))
    eps = Subject.objects.create(establishment=one.establishment, code="EPS", label="EPS")
    course_a.subject = eps
    course_a.save()
    Exemption.objects.create(establishment=one.establishment, pupil=other, subject=eps, first_day=MONDAY,
                             last_day=MONDAY + datetime.timedelta(days=30))
    client.force_login(one.teacher_a)
    html = unescape(client.get(roll_call_url(course_a)).content.decode())
    assert "Absence signalée du 05/10 08:00 au 07/10 18:00 (Maladie)" in html
    assert f'name="statut-{one.pupil_a.pk}"' not in html  # kept by its record, not editable here
    assert "Dispensé d'EPS" in html
    assert "1 présent, 1 absent, 0 en retard." in html
    # Saving keeps the known absence and writes nothing for it.
    assert post_roll(client, course_a, {f"statut-{other.pk}": "present"}).status_code == 302
    assert AttendanceRecord.objects.filter(pupil=one.pupil_a).count() == 1


def test_replacement_teacher_takes_the_roll_of_that_occurrence(client, world, course_a, during):
    one = world.one
    CourseChange.objects.create(course=course_a, date=MONDAY, status="modified", replacement_teacher=one.teacher_b)
    client.force_login(one.teacher_b)
    assert client.get(roll_call_url(course_a)).status_code == 200
    client.force_login(one.teacher_a)
    assert client.get(roll_call_url(course_a)).status_code == 404


def test_roll_call_page_queries_do_not_grow_with_the_class(client, world, django_assert_max_num_queries):
    one = world.one
    small = make_course(one, weekday=0, start=T(10), end=T(11), teachers=[one.teacher_a], classes=[one.class_a])
    add_pupils(one.class_a, 4)  # 5 pupils
    big_class = one.class_b
    big = make_course(one, weekday=0, start=T(14), end=T(15), teachers=[one.teacher_a], classes=[big_class])
    add_pupils(big_class, 33)  # 35 pupils
    client.force_login(one.teacher_a)
    counts = []
    with time_machine.travel(DURING, tick=False):
        for course, expected in ((small, 5), (big, 35)):
            client.get(roll_call_url(course))  # warm the calendar cache and the session
            with CaptureQueriesContext(connection) as queries:
                response = client.get(roll_call_url(course))
            assert unescape(response.content.decode()).count("<legend>") == expected
            counts.append(len(queries))
        assert counts[0] == counts[1]
        with django_assert_max_num_queries(counts[0]):
            client.get(roll_call_url(big))
    assert counts[0] <= 14


def test_post_queries_do_not_grow_with_the_class(client, world):
    one = world.one
    add_pupils(one.class_b, 33)
    small = make_course(one, weekday=0, start=T(10), end=T(11), teachers=[one.teacher_a], classes=[one.class_a])
    add_pupils(one.class_a, 4)
    big = make_course(one, weekday=0, start=T(14), end=T(15), teachers=[one.teacher_a], classes=[one.class_b])
    client.force_login(one.teacher_a)
    counts = []
    with time_machine.travel(DURING, tick=False):
        for course in (small, big):
            client.get(roll_call_url(course))
            pupils = list(one.class_a.enrolments.values_list("pupil_id", flat=True)) if course is small else \
                list(one.class_b.enrolments.values_list("pupil_id", flat=True))
            data = {f"statut-{p}": "present" for p in pupils}
            data[f"statut-{pupils[0]}"] = "absent"
            with CaptureQueriesContext(connection) as queries:
                assert client.post(roll_call_url(course), data).status_code == 302
            counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Mes appels -------------------------------------------------------------------------------------------------

def test_my_roll_calls_lists_the_day_with_each_state(client, world, course_a, during):
    one = world.one
    later = make_course(one, weekday=0, start=T(14), end=T(15), teachers=[one.teacher_a], classes=[one.class_a])
    cancelled = make_course(one, weekday=0, start=T(16), end=T(17), teachers=[one.teacher_a], classes=[one.class_a])
    CourseChange.objects.create(course=cancelled, date=MONDAY, status="cancelled")
    services.take_roll_call(course=course_a, planned_date=MONDAY, marks={}, by=one.teacher_a, now=DURING)
    client.force_login(one.teacher_a)
    response = client.get("/vie-scolaire/appels/")
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "10:00–11:00" in html and "14:00–15:00" in html and "16:00–17:00" in html
    assert html.count(">Fait</span>") == 1 and html.count(">À faire</span>") == 1
    assert html.count(">Annulé</span>") == 1
    assert roll_call_url(course_a) in html and roll_call_url(later) in html
    assert roll_call_url(cancelled) not in html
    # The date picker: another day, and a bad date falls back to today.
    tuesday = unescape(client.get("/vie-scolaire/appels/?jour=2026-10-06").content.decode())
    assert "Aucun cours ce jour-là." in tuesday
    assert "Indiquez une date valide." in unescape(client.get("/vie-scolaire/appels/?jour=demain").content.decode())
    assert unescape(client.get("/vie-scolaire/appels/?jour=2026-10-12").content.decode()).count(">À faire</span>") == 3


@pytest.mark.parametrize("who", ["pupil_a", "guardian_a"])
def test_my_roll_calls_is_not_for_families(client, world, who):
    client.force_login(getattr(world.one, who))
    assert client.get("/vie-scolaire/appels/").status_code == 404
