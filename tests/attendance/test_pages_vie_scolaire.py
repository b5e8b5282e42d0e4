"""Vie scolaire pages (attpages): the dashboard, recording an absence over a period, a pupil's attendance (audited),
class counts with the absenteeism rate and the CSV exports; who reaches them (404 for families, other
establishments, teachers outside their classes)."""

import datetime
from html import unescape

import pytest
import time_machine

from preau.attendance import services
from preau.attendance.models import AttendanceRecord, Justification
from preau.audit.models import AuditEvent

from .fixtures_pages import MONDAY, T, at, make_course, make_course_a, roll_call_url

pytestmark = pytest.mark.django_db

DURING = at(MONDAY, 10, 30)


@pytest.fixture
def course_a(world):
    return make_course_a(world.one)


@pytest.fixture
def during():
    with time_machine.travel(DURING, tick=False):
        yield


def text(response) -> str:
    return unescape(response.content.decode())


# --- Dashboard --------------------------------------------------------------------------------------------------

def test_dashboard_shows_absent_now_roll_calls_not_taken_and_follow_up(client, world, course_a, during):
    one = world.one
    early = make_course(one, weekday=0, start=T(8), end=T(9), teachers=[one.teacher_b], classes=[one.class_b])
    services.take_roll_call(course=early, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                            by=one.teacher_b, now=at(MONDAY, 8, 5))
    services.record_absence(pupil=one.pupil_b2, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 18), by=one.cpe,
                            now=at(MONDAY, 8))
    record = AttendanceRecord.objects.get(pupil=one.pupil_b)
    justification = Justification.objects.create(establishment=one.establishment, pupil=one.pupil_b,
                                                 submitted_by=one.mother_b)
    justification.records.add(record)
    client.force_login(one.cpe)
    response = client.get("/vie-scolaire/")
    assert response.status_code == 200
    html = text(response)
    absent_now = html.split('id="absent-now-heading"')[1].split("</section>")[0]
    assert f"{one.pupil_b2.last_name} {one.pupil_b2.first_name}" in absent_now
    assert one.pupil_b.last_name not in absent_now  # her absence was 8-9
    not_taken = html.split('id="not-taken-heading"')[1].split("</section>")[0]
    assert "10:00–11:00 Mathématiques" in not_taken and "faire l'appel à la place" in not_taken
    assert roll_call_url(course_a) in not_taken and roll_call_url(early) not in not_taken
    follow = html.split('id="unjustified-heading"')[1].split("</section>")[0]
    assert "Martin Léa" in follow
    pending = html.split('id="pending-heading"')[1].split("</section>")[0]
    assert '<span class="badge badge--warning">1</span>' in pending and "Martin Léa" in pending
    # Taking the roll over from the dashboard.
    assert client.get(roll_call_url(course_a)).status_code == 200


def test_dashboard_queries_do_not_grow_with_the_absences(client, world, during, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preau.directory.testing import make_pupil

    one = world.one
    client.force_login(one.cpe)
    counts = []
    for extra in (2, 20):
        for i in range(extra):
            pupil = make_pupil(one.class_b, username=f"dash{extra}_{i}")
            services.record_absence(pupil=pupil, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 18), by=one.cpe,
                                    now=at(MONDAY, 8))
        make_course(one, weekday=0, start=T(8), end=T(9), teachers=[one.teacher_b], classes=[one.class_b])
        client.get("/vie-scolaire/")
        with CaptureQueriesContext(connection) as queries:
            html = text(client.get("/vie-scolaire/"))
        assert html.count("/vie-scolaire/eleve/") >= extra
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(counts[0]):
        client.get("/vie-scolaire/")


def test_dashboard_sends_teachers_to_their_roll_calls_and_families_away(client, world, during):
    one = world.one
    client.force_login(one.teacher_a)
    assert client.get("/vie-scolaire/")["Location"] == "/vie-scolaire/appels/"
    for person in (one.pupil_a, one.guardian_a):
        client.force_login(person)
        response = client.get("/vie-scolaire/")
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            assert response["Location"].startswith("/vie-scolaire/famille/")


def test_dashboard_of_an_establishment_is_its_own(client, world, during):
    one, two = world.one, world.two
    services.record_absence(pupil=one.pupil_a, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 18), by=one.cpe,
                            now=at(MONDAY, 8))
    client.force_login(two.cpe)
    html = text(client.get("/vie-scolaire/"))
    assert two.establishment.name in html and one.pupil_a.last_name not in html


def test_tile_vie_scolaire_for_teachers_and_staff(client, world):
    client.force_login(world.one.teacher_a)
    assert 'href="/vie-scolaire/"' in client.get("/").content.decode()


# --- Recording an absence ---------------------------------------------------------------------------------------

def test_record_an_absence_over_a_period(client, world, during):
    one = world.one
    client.force_login(one.cpe)
    search = text(client.get("/vie-scolaire/absences/nouvelle/", {"q": one.pupil_b.last_name}))
    assert f'value="{one.pupil_b.pk}"' in search and f'value="{world.two.pupil_b.pk}"' not in search
    reason = services.reasons_for(one.establishment.pk).get(code="MAL")
    response = client.post("/vie-scolaire/absences/nouvelle/", {
        "pupil": one.pupil_b.pk, "kind": "absence", "starts_at": "2026-10-05T08:00", "ends_at": "2026-10-07T18:00",
        "reason": reason.pk, "comment": "Grippe"})
    assert response.status_code == 302 and response["Location"] == f"/vie-scolaire/eleve/{one.pupil_b.pk}/"
    record = AttendanceRecord.objects.get(pupil=one.pupil_b)
    assert record.source == "vie_scolaire" and record.reason == reason and record.state == "justified"
    assert record.starts_at == at(MONDAY, 8) and record.ends_at == at(MONDAY + datetime.timedelta(2), 18)
    assert "Absence enregistrée pour Léa Martin." in text(client.get(response["Location"]))
    chosen = text(client.get("/vie-scolaire/absences/nouvelle/", {"eleve": one.pupil_b.pk}))
    assert f'name="pupil" value="{one.pupil_b.pk}" id="id_pupil_0" checked' in chosen
    # Somebody outside the vie scolaire's pupils is not offered.
    assert 'name="pupil"' not in text(client.get("/vie-scolaire/absences/nouvelle/", {"eleve": world.two.pupil_b.pk}))


@pytest.mark.parametrize("change, message", [
    ({"ends_at": "2026-10-05T07:00"}, "La fin doit être après le début."),
    ({"starts_at": "lundi"}, "Indiquez une date et une heure valides."),
    ({"kind": "nap"}, "Choisissez un type de la liste."),
    ({"pupil": ""}, "Choisissez l'élève."),
    ({"reason": "999999"}, "Choisissez un motif de la liste."),
])
def test_record_absence_invalid_input_in_french_without_writing(client, world, during, change, message):
    one = world.one
    client.force_login(one.cpe)
    data = {"pupil": one.pupil_b.pk, "kind": "absence", "starts_at": "2026-10-05T08:00",
            "ends_at": "2026-10-05T18:00", "reason": "", "comment": ""}
    data.update(change)
    response = client.post("/vie-scolaire/absences/nouvelle/", data)
    assert response.status_code == 400 and message in text(response)
    assert not AttendanceRecord.objects.exists()


def test_record_absence_refuses_a_pupil_of_another_establishment(client, world, during):
    one, two = world.one, world.two
    client.force_login(one.cpe)
    response = client.post("/vie-scolaire/absences/nouvelle/", {
        "pupil": two.pupil_b.pk, "kind": "absence", "starts_at": "2026-10-05T08:00",
        "ends_at": "2026-10-05T18:00"})
    assert response.status_code == 400 and "Choisissez un élève de la liste." in text(response)
    assert not AttendanceRecord.objects.exists()


@pytest.mark.parametrize("who", ["teacher_a", "secretary", "pupil_a", "guardian_a", "ent_admin"])
def test_record_absence_is_for_vie_scolaire_only(client, world, who):
    one = world.one
    client.force_login(getattr(one, who))
    assert client.get("/vie-scolaire/absences/nouvelle/").status_code == 404
    assert client.post("/vie-scolaire/absences/nouvelle/", {
        "pupil": one.pupil_a.pk, "kind": "absence", "starts_at": "2026-10-05T08:00",
        "ends_at": "2026-10-05T18:00"}).status_code == 404
    assert not AttendanceRecord.objects.exists()


# --- A pupil ----------------------------------------------------------------------------------------------------

def test_pupil_page_for_vie_scolaire_and_their_teachers_is_audited(client, world, during):
    one = world.one
    services.record_absence(pupil=one.pupil_a, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 18), by=one.cpe,
                            now=at(MONDAY, 8))
    for reader in (one.cpe, one.teacher_a, one.group_teacher, one.head):
        client.force_login(reader)
        response = client.get(f"/vie-scolaire/eleve/{one.pupil_a.pk}/")
        assert response.status_code == 200
        html = text(response)
        assert "Demi-journées d'absence" in html and "du 05/10/2026 08:00 au 05/10/2026 18:00" in html
        counts = html.split('data-testid="pupil-counts"')[1].split("</dl>")[0]
        assert "<dd>2</dd>" in counts  # the morning and the afternoon
        assert AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ, actor=reader,
                                         subject=one.pupil_a, target="attendance").count() == 1
        periods = html.split('data-testid="pupil-periods"')[1].split("</table>")[0]
        assert "Trimestre 1</a></th><td>2</td><td>0</td><td>2</td><td>0</td>" in periods
        assert "Trimestre 2</a></th><td>0</td>" in periods
        record_link = f"/vie-scolaire/absences/nouvelle/?eleve={one.pupil_a.pk}"
        assert (record_link in html) == (reader in (one.cpe, one.head))


@pytest.mark.parametrize("who", ["teacher_b", "secretary", "nurse", "pupil_a", "guardian_a", "pupil_b",
                                 "ent_admin"])
def test_pupil_page_404_outside_the_policy_or_for_families(client, world, who):
    one = world.one
    client.force_login(getattr(one, who))
    assert client.get(f"/vie-scolaire/eleve/{one.pupil_a.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ).exists()


def test_pupil_page_other_establishment_404(client, world):
    client.force_login(world.two.cpe)
    assert client.get(f"/vie-scolaire/eleve/{world.one.pupil_a.pk}/").status_code == 404


# --- Classes: counts and exports ------------------------------------------------------------------------------

def test_class_counts_and_rate(client, world, during):
    one = world.one
    services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 18), by=one.cpe,
                            now=at(MONDAY, 8))
    client.force_login(one.cpe)
    html = text(client.get("/vie-scolaire/classes/"))
    assert f"/vie-scolaire/classe/{one.class_b.pk}/" in html and "Exporter tout l'établissement" in html
    response = client.get(f"/vie-scolaire/classe/{one.class_b.pk}/", {"periode": 1})
    assert response.status_code == 200
    html = text(response)
    row = html.split(f"{one.pupil_b.last_name} {one.pupil_b.first_name}</a></th>")[1].split("</tr>")[0]
    assert "<td>2</td><td>0</td><td>2</td><td>0</td>" in row
    assert "Du 01/09/2026 au 30/11/2026." in html
    assert 'data-testid="class-rate"' in html and "Exporter (CSV)" in html
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ, actor=one.cpe).count() == 2


def test_class_csv_export(client, world, during):
    one = world.one
    services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 18), by=one.cpe,
                            now=at(MONDAY, 8))
    client.force_login(one.cpe)
    response = client.get(f"/vie-scolaire/classe/{one.class_b.pk}/export/", {"periode": 1, "contenu": "counts"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert one.pupil_b.last_name in body and ";" in body
    assert client.get(f"/vie-scolaire/classe/{one.class_b.pk}/export/", {"contenu": "x"}).status_code == 404
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ATTENDANCE_EXPORTED).count() == 1


def test_establishment_export_is_queued(client, world, during, django_capture_on_commit_callbacks):
    one = world.one
    client.force_login(one.cpe)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/vie-scolaire/exports/", {"kind": "records", "first_day": "2026-09-01",
                                                          "last_day": "2026-11-30"})
    assert response.status_code == 302
    assert "Exportation en préparation" in text(client.get(response["Location"]))
    bad = client.post("/vie-scolaire/exports/", {"kind": "records", "first_day": "2026-11-30",
                                                 "last_day": "2026-09-01"}, follow=True)
    assert "Le dernier jour doit suivre le premier." in text(bad)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ATTENDANCE_EXPORTED).count() == 1
    client.force_login(one.teacher_a)
    assert client.post("/vie-scolaire/exports/", {"kind": "records", "first_day": "2026-09-01",
                                                  "last_day": "2026-11-30"}).status_code == 404


def test_teacher_reads_counts_of_their_class_only_and_cannot_export(client, world, during):
    one = world.one
    client.force_login(one.teacher_a)
    html = text(client.get("/vie-scolaire/classes/"))
    assert f"/vie-scolaire/classe/{one.class_a.pk}/" in html and f"/vie-scolaire/classe/{one.class_b.pk}/" not in html
    assert "Exporter" not in html
    page = client.get(f"/vie-scolaire/classe/{one.class_a.pk}/")
    assert page.status_code == 200 and "Exporter (CSV)" not in text(page)
    assert client.get(f"/vie-scolaire/classe/{one.class_b.pk}/").status_code == 404
    assert client.get(f"/vie-scolaire/classe/{one.class_a.pk}/export/").status_code == 404


@pytest.mark.parametrize("who", ["pupil_a", "guardian_a"])
def test_class_pages_404_for_families(client, world, who):
    one = world.one
    client.force_login(getattr(one, who))
    assert client.get("/vie-scolaire/classes/").status_code == 404
    assert client.get(f"/vie-scolaire/classe/{one.class_a.pk}/").status_code == 404
    assert client.get(f"/vie-scolaire/classe/{one.class_a.pk}/export/").status_code == 404


def test_class_of_another_establishment_404(client, world):
    client.force_login(world.two.cpe)
    assert client.get(f"/vie-scolaire/classe/{world.one.class_a.pk}/").status_code == 404
    assert client.get(f"/vie-scolaire/classe/{world.one.class_a.pk}/export/").status_code == 404
