"""Vie scolaire's management pages (attfix2): the official follow-up threshold (4 unjustified half-days in a month,
Code de l'éducation L131-8) as a function, a page, a dashboard block and an API; the reasons list (add, edit,
reorder, deactivate); editing and deleting a record; the family's « Signaler une absence ». Who reaches them (404
for everyone else, other establishments included), French errors with nothing written, audit, constant queries."""

from __future__ import annotations

import datetime
from html import unescape

import pytest
import time_machine

from preau.attendance import management, services
from preau.attendance.models import AbsenceReason, AttendanceRecord, Justification
from preau.audit.models import AuditEvent

from .fixtures_attcore import D, at, use_media

pytestmark = pytest.mark.django_db

State = AttendanceRecord.State
Action = AuditEvent.Action
NOW = at(D(2026, 10, 20), 10)  # Tuesday 20 October 2026, 10:00 in Paris
OCTOBER = D(2026, 10, 1)
THRESHOLD_URL = "/vie-scolaire/suivi/"
REASONS_URL = "/vie-scolaire/motifs/"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def text(response) -> str:
    return unescape(response.content.decode())


def record(school, pupil, start, end, state=State.UNJUSTIFIED, kind="absence"):
    return AttendanceRecord.objects.create(establishment=school.establishment, pupil=pupil, kind=kind,
                                           starts_at=start, ends_at=end, state=state, source="vie_scolaire")


def api_url(establishment, month=None):
    url = f"/api/v1/attendance/establishments/{establishment.pk}/threshold"
    return url + (f"?month={month}" if month else "")


@pytest.fixture
def month_of_absences(world):
    """October 2026 in establishment one (Monday 5 to Friday 9, then a Saturday):

    - Léa (pupil_b): Mon all day unjustified (2), Tue morning unjustified (1), Wed morning justified (0), Thu
      afternoon awaiting a decision (1, pending is not justified), Fri morning justified *and* unjustified records
      over the same half-day (1: justified only if every absence is), Saturday unjustified (0: no school) → 5;
    - pupil_b2: four justified half-days → 0 unjustified; one lateness;
    - pupil_a: three unjustified half-days in October (under the threshold), four in September;
    - establishment two's Léa: six unjustified half-days (another school's).
    """
    one, two = world.one, world.two
    lea = one.pupil_b
    record(one, lea, at(D(2026, 10, 5), 8), at(D(2026, 10, 5), 17))
    record(one, lea, at(D(2026, 10, 6), 8), at(D(2026, 10, 6), 12))
    record(one, lea, at(D(2026, 10, 7), 8), at(D(2026, 10, 7), 12), state=State.JUSTIFIED)
    record(one, lea, at(D(2026, 10, 8), 14), at(D(2026, 10, 8), 16), state=State.PENDING)
    record(one, lea, at(D(2026, 10, 9), 8), at(D(2026, 10, 9), 10), state=State.JUSTIFIED)
    record(one, lea, at(D(2026, 10, 9), 10), at(D(2026, 10, 9), 11))
    record(one, lea, at(D(2026, 10, 10), 8), at(D(2026, 10, 10), 12))  # a Saturday
    b2 = one.pupil_b2
    record(one, b2, at(D(2026, 10, 5), 8), at(D(2026, 10, 6), 17), state=State.JUSTIFIED)
    record(one, b2, at(D(2026, 10, 7), 8), at(D(2026, 10, 7), 8, 20), kind="late")
    record(one, one.pupil_a, at(D(2026, 10, 12), 8), at(D(2026, 10, 12), 17))
    record(one, one.pupil_a, at(D(2026, 10, 13), 8), at(D(2026, 10, 13), 11))
    record(one, one.pupil_a, at(D(2026, 9, 14), 8), at(D(2026, 9, 15), 17))
    record(two, two.pupil_b, at(D(2026, 10, 5), 8), at(D(2026, 10, 7), 17))
    return world


# --- The threshold rule -------------------------------------------------------------------------------------------

def test_pupils_over_threshold_counts_unjustified_half_days_of_the_month(month_of_absences, django_assert_num_queries):
    one = month_of_absences.one
    rows = management.pupils_over_threshold(one.establishment, OCTOBER)
    assert [r.pupil for r in rows] == [one.pupil_b]
    counts = rows[0].counts
    assert (counts["unjustified"], counts["pending"], counts["justified"], counts["absent"]) == (5, 1, 1, 6)
    assert rows[0].school_class == one.class_b.label
    # Any day of the month names the month; September is pupil_a's month.
    assert [r.pupil for r in management.pupils_over_threshold(one.establishment, D(2026, 9, 17))] == [one.pupil_a]
    assert management.pupils_over_threshold(one.establishment, D(2026, 11, 1)) == []
    # Records of pupil_a kept by another establishment (a former school) do not count here.
    record(month_of_absences.two, one.pupil_a, at(D(2026, 10, 14), 8), at(D(2026, 10, 15), 17))
    assert [r.pupil for r in management.pupils_over_threshold(one.establishment, OCTOBER)] == [one.pupil_b]
    # Justifying the pending half-day and the Friday's unjustified hour brings Léa under the threshold (3).
    AttendanceRecord.objects.filter(pupil=one.pupil_b, state=State.PENDING).update(state=State.JUSTIFIED)
    AttendanceRecord.objects.filter(pupil=one.pupil_b, starts_at=at(D(2026, 10, 9), 10)).update(
        state=State.JUSTIFIED)
    assert management.pupils_over_threshold(one.establishment, OCTOBER) == []
    # The other establishment sees its own pupil only.
    two = month_of_absences.two
    assert [r.pupil for r in management.pupils_over_threshold(two.establishment, OCTOBER)] == [two.pupil_b]


def test_pupils_over_threshold_runs_a_constant_number_of_queries(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preau.directory.testing import make_pupil

    one = world.one
    counts = []
    for size in (1, 6):
        for i in range(size):
            pupil = make_pupil(one.class_a, username=f"thr{size}_{i}")
            record(one, pupil, at(D(2026, 11, 2), 8), at(D(2026, 11, 3), 17))
        management.pupils_over_threshold(one.establishment, D(2026, 11, 1))  # warm the calendar cache
        with CaptureQueriesContext(connection) as captured:
            rows = management.pupils_over_threshold(one.establishment, D(2026, 11, 1))
        counts.append(len(captured))
    assert len(rows) == 7
    assert counts[0] == counts[1]


def test_parse_month():
    today = D(2026, 10, 20)
    assert management.parse_month("2026-11", today) == D(2026, 11, 1)
    assert management.parse_month("", today) == OCTOBER
    for bad in ("2026-13", "11/2026", "2026-1", "abc"):
        with pytest.raises(Exception, match="AAAA-MM"):
            management.parse_month(bad, today)
    assert management.shift_month(D(2026, 1, 1), -1) == D(2025, 12, 1)
    assert management.month_bounds(D(2027, 2, 10)) == (D(2027, 2, 1), D(2027, 2, 28))


# --- The threshold page and the dashboard --------------------------------------------------------------------------

def test_threshold_page_lists_the_month_and_logs_the_reads(month_of_absences, client, frozen):
    one = month_of_absences.one
    client.force_login(one.cpe)
    response = client.get(THRESHOLD_URL)
    assert response.status_code == 200
    page = text(response)
    table = page.split('data-testid="threshold"')[1].split("</table>")[0]
    assert "Martin Léa" in table and f"/vie-scolaire/eleve/{one.pupil_b.pk}/" in table
    assert "<td>5</td><td>1</td><td>6</td>" in table
    assert one.pupil_a.last_name not in table and one.pupil_b2.last_name not in table
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ, actor=one.cpe, subject=one.pupil_b,
                                     target="attendance").count() == 1
    september = text(client.get(THRESHOLD_URL + "?mois=2026-09"))
    assert one.pupil_a.last_name in september.split('data-testid="threshold"')[1]
    bad = client.get(THRESHOLD_URL + "?mois=octobre")
    assert bad.status_code == 400 and "Indiquez un mois au format AAAA-MM" in text(bad)


@pytest.mark.parametrize("who", ["teacher_b", "secretary", "nurse", "mother_b", "pupil_b", "ent_admin"])
def test_threshold_page_is_vie_scolaire_only(month_of_absences, client, frozen, who):
    client.force_login(getattr(month_of_absences.one, who))
    assert client.get(THRESHOLD_URL).status_code == 404


def test_threshold_page_of_another_establishment_shows_its_own_pupils(month_of_absences, client, frozen):
    two = month_of_absences.two
    client.force_login(two.cpe)
    page = text(client.get(THRESHOLD_URL))
    table = page.split('data-testid="threshold"')[1]
    assert two.pupil_b.last_name in table and f"/vie-scolaire/eleve/{month_of_absences.one.pupil_b.pk}/" not in page


def test_threshold_page_queries_do_not_grow(world, client, frozen, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preau.directory.testing import make_pupil

    one = world.one
    client.force_login(one.head)
    counts = []
    for size in (1, 6):
        for i in range(size):
            pupil = make_pupil(one.class_b, username=f"page{size}_{i}")
            record(one, pupil, at(D(2026, 10, 5), 8), at(D(2026, 10, 6), 17))
        client.get(THRESHOLD_URL)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(THRESHOLD_URL).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_dashboard_shows_the_threshold_block_and_links(month_of_absences, client, frozen):
    one = month_of_absences.one
    client.force_login(one.cpe)
    page = text(client.get("/vie-scolaire/"))
    block = page.split('id="threshold-heading"')[1].split("</section>")[0]
    assert "Martin Léa" in block and "5 demi-journées non justifiées" in block
    assert THRESHOLD_URL in block and REASONS_URL in page
    unjustified = AttendanceRecord.objects.filter(pupil=one.pupil_b, starts_at=at(D(2026, 10, 6), 8)).get()
    assert f"/vie-scolaire/absences/{unjustified.pk}/modifier/" in page


# --- The API ---------------------------------------------------------------------------------------------------------

def test_threshold_api(month_of_absences, client, frozen):
    one, two = month_of_absences.one, month_of_absences.two
    client.force_login(one.cpe)
    response = client.get(api_url(one.establishment, "2026-10"))
    assert response.status_code == 200
    body = response.json()
    assert body["month"] == "2026-10" and body["threshold"] == 4
    assert body["first_day"] == "2026-10-01" and body["last_day"] == "2026-10-31"
    assert [(i["pupil"]["id"], i["counts"]["unjustified"], i["counts"]["pending"]) for i in body["items"]] == [
        (one.pupil_b.pk, 5, 1)]
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ, actor=one.cpe, subject=one.pupil_b).exists()
    assert client.get(api_url(one.establishment)).json()["month"] == "2026-10"  # the current month by default
    bad = client.get(api_url(one.establishment, "10-2026"))
    assert bad.status_code == 400 and "AAAA-MM" in bad.json()["detail"]
    assert client.get(api_url(two.establishment, "2026-10")).status_code == 404
    assert client.get("/api/v1/attendance/establishments/999999/threshold").status_code == 404
    for who in (one.teacher_b, one.mother_b, one.nurse, two.cpe):
        client.force_login(who)
        assert client.get(api_url(one.establishment, "2026-10")).status_code == 404


# --- Reasons ----------------------------------------------------------------------------------------------------------

def labels(school):
    return list(services.reasons_for(school.establishment.pk, include_inactive=True).values_list("label", flat=True))


def test_vie_scolaire_adds_edits_reorders_and_deactivates_reasons(world, client):
    one = world.one
    client.force_login(one.cpe)
    page = text(client.get(REASONS_URL))
    assert "Maladie" in page and "Sans motif" in page
    response = client.post("/vie-scolaire/motifs/nouveau/", {"label": "Stage en entreprise", "code": "stage",
                                                             "justifies": "on", "is_active": "on"})
    assert response.status_code == 302
    reason = AbsenceReason.objects.get(establishment=one.establishment, code="STAGE")
    assert reason.justifies and not reason.offered_to_families and reason.is_active
    assert labels(one)[-1] == "Stage en entreprise"
    assert AuditEvent.objects.filter(action=Action.ATTENDANCE_CHANGED, actor=one.cpe,
                                     target="attendance.reason").exists()
    # Edit.
    response = client.post(f"/vie-scolaire/motifs/{reason.pk}/", {
        "label": "Stage", "code": "STAGE", "offered_to_families": "on", "is_active": "on"})
    assert response.status_code == 302
    reason.refresh_from_db()
    assert (reason.label, reason.justifies, reason.offered_to_families) == ("Stage", False, True)
    # Reorder: up once, then the first one down.
    assert client.post(f"/vie-scolaire/motifs/{reason.pk}/deplacer/", {"sens": "haut"}).status_code == 302
    assert labels(one)[-2:] == ["Stage", "Sans motif"]
    first = AbsenceReason.objects.get(establishment=one.establishment, code="MAL")
    client.post(f"/vie-scolaire/motifs/{first.pk}/deplacer/", {"sens": "bas"})
    assert labels(one)[:2] == ["Rendez-vous médical", "Maladie"]
    # Deactivate: no longer offered (to vie scolaire or families); records keep it.
    client.post(f"/vie-scolaire/motifs/{first.pk}/activer/", {"actif": "0"})
    first.refresh_from_db()
    assert not first.is_active
    assert "MAL" not in set(services.reasons_for(one.establishment.pk).values_list("code", flat=True))
    assert "désactivé" in text(client.get(REASONS_URL))
    client.post(f"/vie-scolaire/motifs/{first.pk}/activer/", {"actif": "1"})
    first.refresh_from_db()
    assert first.is_active


def test_reason_form_errors_in_french_and_nothing_written(world, client):
    one = world.one
    client.force_login(one.cpe)
    services.reasons_for(one.establishment.pk)  # the defaults exist
    before = AbsenceReason.objects.count()
    response = client.post("/vie-scolaire/motifs/nouveau/", {"label": "  ", "code": ""})
    assert response.status_code == 400 and "Donnez un libellé au motif." in text(response)
    response = client.post("/vie-scolaire/motifs/nouveau/", {"label": "Doublon", "code": "MAL"})
    assert response.status_code == 400 and "Un motif porte déjà le code MAL." in text(response)
    response = client.post("/vie-scolaire/motifs/nouveau/", {"label": "Espace", "code": "A B"})
    assert response.status_code == 400 and "Le code ne contient que des lettres" in text(response)
    response = client.post("/vie-scolaire/motifs/nouveau/", {"label": "x" * 121})
    assert response.status_code == 400 and "120 caractères au plus" in text(response)
    assert AbsenceReason.objects.count() == before
    reason = AbsenceReason.objects.get(establishment=one.establishment, code="MAL")
    response = client.post(f"/vie-scolaire/motifs/{reason.pk}/deplacer/", {"sens": "ailleurs"})
    assert response.status_code == 302
    assert labels(one)[0] == "Maladie"


@pytest.mark.parametrize("who", ["teacher_a", "secretary", "nurse", "mother_b", "pupil_b", "ent_admin"])
def test_reason_pages_are_vie_scolaire_only(world, client, who):
    one = world.one
    reason = services.reasons_for(one.establishment.pk).get(code="MAL")
    client.force_login(getattr(one, who))
    assert client.get(REASONS_URL).status_code == 404
    assert client.get("/vie-scolaire/motifs/nouveau/").status_code == 404
    assert client.get(f"/vie-scolaire/motifs/{reason.pk}/").status_code == 404
    assert client.post(f"/vie-scolaire/motifs/{reason.pk}/activer/", {"actif": "0"}).status_code == 404
    assert AbsenceReason.objects.get(pk=reason.pk).is_active


def test_another_establishments_reason_is_404(world, client):
    mine = services.reasons_for(world.one.establishment.pk).get(code="MAL")
    client.force_login(world.two.cpe)
    assert client.get(f"/vie-scolaire/motifs/{mine.pk}/").status_code == 404
    assert client.post(f"/vie-scolaire/motifs/{mine.pk}/", {"label": "Pris"}).status_code == 404
    assert client.post(f"/vie-scolaire/motifs/{mine.pk}/deplacer/", {"sens": "bas"}).status_code == 404
    assert client.post(f"/vie-scolaire/motifs/{mine.pk}/activer/", {"actif": "0"}).status_code == 404
    assert client.get("/vie-scolaire/motifs/999999/").status_code == 404
    mine.refresh_from_db()
    assert mine.label == "Maladie" and mine.is_active


def test_reasons_page_queries_do_not_grow(world, client, django_assert_max_num_queries):
    one = world.one
    client.force_login(one.cpe)
    client.get(REASONS_URL)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(REASONS_URL)
    for i in range(8):
        services.save_reason(establishment_id=one.establishment.pk, by=one.cpe, label=f"Motif {i}")
    with django_assert_max_num_queries(len(captured)):
        assert client.get(REASONS_URL).status_code == 200


# --- Editing and deleting a record ----------------------------------------------------------------------------------

@pytest.fixture
def lea_record(world, frozen):
    one = world.one
    return services.record_absence(pupil=one.pupil_b, starts_at=at(D(2026, 10, 19), 8),
                                   ends_at=at(D(2026, 10, 19), 12), by=one.cpe, now=NOW)


def edit_url(rec):
    return f"/vie-scolaire/absences/{rec.pk}/modifier/"


def delete_url(rec):
    return f"/vie-scolaire/absences/{rec.pk}/supprimer/"


def test_vie_scolaire_edits_a_record(world, client, lea_record):
    one = world.one
    client.force_login(one.cpe)
    page = text(client.get(f"/vie-scolaire/eleve/{one.pupil_b.pk}/"))
    assert edit_url(lea_record) in page
    form = client.get(edit_url(lea_record))
    assert form.status_code == 200 and 'value="2026-10-19T08:00"' in text(form)
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ, actor=one.cpe, subject=one.pupil_b).exists()
    sick = services.reasons_for(one.establishment.pk).get(code="MAL")
    response = client.post(edit_url(lea_record), {
        "kind": "absence", "starts_at": "2026-10-19T08:00", "ends_at": "2026-10-19T17:00", "reason": sick.pk,
        "state": "justified", "comment": "Certificat reçu par téléphone."})
    assert response.status_code == 302 and response["Location"] == f"/vie-scolaire/eleve/{one.pupil_b.pk}/"
    lea_record.refresh_from_db()
    assert (lea_record.ends_at, lea_record.reason_id, lea_record.state) == (at(D(2026, 10, 19), 17), sick.pk,
                                                                           State.JUSTIFIED)
    assert lea_record.comment == "Certificat reçu par téléphone."
    event = AuditEvent.objects.get(action=Action.ATTENDANCE_CHANGED, target="attendance.record")
    assert event.actor == one.cpe and event.subject == one.pupil_b
    # A lateness needs its minutes.
    response = client.post(edit_url(lea_record), {
        "kind": "late", "starts_at": "2026-10-19T08:00", "ends_at": "2026-10-19T08:15", "state": "unjustified"})
    assert response.status_code == 400 and "Indiquez les minutes de retard." in text(response)
    response = client.post(edit_url(lea_record), {
        "kind": "late", "starts_at": "2026-10-19T08:00", "ends_at": "2026-10-19T08:15", "late_minutes": "15",
        "state": "unjustified"})
    assert response.status_code == 302
    lea_record.refresh_from_db()
    assert (lea_record.kind, lea_record.late_minutes, lea_record.reason_id) == ("late", 15, None)


def test_record_edit_errors_in_french_and_nothing_written(world, client, lea_record):
    one = world.one
    client.force_login(one.cpe)
    other = services.reasons_for(world.two.establishment.pk).get(code="MAL")
    cases = [
        ({"starts_at": "2026-10-19T12:00", "ends_at": "2026-10-19T08:00"}, "La fin doit être après le début."),
        ({"starts_at": "demain"}, "Indiquez une date et une heure valides."),
        ({"state": "peut-être"}, "Choisissez un état de la liste."),
        ({"reason": other.pk}, "Choisissez un motif de la liste."),
        ({"comment": "x" * 501}, "Le commentaire dépasse 500 caractères."),
        ({"starts_at": "2025-01-01T08:00"}, "Une absence ne peut pas dépasser une année scolaire."),
    ]
    base = {"kind": "absence", "starts_at": "2026-10-19T08:00", "ends_at": "2026-10-19T12:00",
            "state": "unjustified"}
    for change, message in cases:
        response = client.post(edit_url(lea_record), {**base, **change})
        assert response.status_code == 400, change
        assert message in text(response), change
    fresh = AttendanceRecord.objects.get(pk=lea_record.pk)
    assert (fresh.starts_at, fresh.ends_at, fresh.state, fresh.comment) == (
        lea_record.starts_at, lea_record.ends_at, lea_record.state, lea_record.comment)
    assert not AuditEvent.objects.filter(action=Action.ATTENDANCE_CHANGED).exists()


def test_vie_scolaire_deletes_a_record(world, client, lea_record):
    one = world.one
    client.force_login(one.head)
    confirm = client.get(delete_url(lea_record))
    assert confirm.status_code == 200 and "Supprimer définitivement" in text(confirm)
    assert AttendanceRecord.objects.filter(pk=lea_record.pk).exists()
    response = client.post(delete_url(lea_record))
    assert response.status_code == 302
    assert not AttendanceRecord.objects.filter(pk=lea_record.pk).exists()
    assert AuditEvent.objects.filter(action=Action.ATTENDANCE_CHANGED, actor=one.head, subject=one.pupil_b,
                                     target="attendance.record").exists()


@pytest.mark.parametrize("who", ["teacher_b", "secretary", "nurse", "mother_b", "pupil_b", "ent_admin"])
def test_record_pages_are_vie_scolaire_only(world, client, lea_record, who):
    client.force_login(getattr(world.one, who))
    assert client.get(edit_url(lea_record)).status_code == 404
    assert client.post(edit_url(lea_record), {"kind": "absence", "starts_at": "2026-10-19T08:00",
                                              "ends_at": "2026-10-19T09:00", "state": "justified"}).status_code == 404
    assert client.post(delete_url(lea_record)).status_code == 404
    lea_record.refresh_from_db()
    assert lea_record.state == State.UNJUSTIFIED


def test_record_of_another_establishment_is_404(world, client, lea_record):
    client.force_login(world.two.cpe)
    assert client.get(edit_url(lea_record)).status_code == 404
    assert client.post(delete_url(lea_record)).status_code == 404
    assert client.get("/vie-scolaire/absences/999999/modifier/").status_code == 404
    assert AttendanceRecord.objects.filter(pk=lea_record.pk).exists()


def test_teacher_sees_no_edit_link_on_the_pupil_page(world, client, lea_record):
    client.force_login(world.one.teacher_b)
    page = client.get(f"/vie-scolaire/eleve/{world.one.pupil_b.pk}/")
    assert page.status_code == 200 and edit_url(lea_record) not in text(page)


# --- The family announces an absence -----------------------------------------------------------------------------

def announce_url(pupil):
    return f"/vie-scolaire/famille/{pupil.pk}/signaler/"


def test_guardian_announces_an_absence(world, client, frozen, settings, tmp_path, django_capture_on_commit_callbacks):
    from .fixtures_attcore import pdf_file

    use_media(settings, tmp_path)
    one = world.one
    client.force_login(one.mother_b)
    family = text(client.get(f"/vie-scolaire/famille/{one.pupil_b.pk}/"))
    assert announce_url(one.pupil_b) in family and "Signaler une absence" in family
    form = client.get(announce_url(one.pupil_b))
    assert form.status_code == 200
    page = text(form)
    assert "Rendez-vous médical" in page and "Sans motif" not in page  # the reasons offered to families
    rdv = services.reasons_for(one.establishment.pk).get(code="RDV")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(announce_url(one.pupil_b), {
            "starts_at": "2026-10-22T14:00", "ends_at": "2026-10-22T16:00", "reason": rdv.pk,
            "comment": "Orthodontiste.", "document": pdf_file("convocation.pdf")})
    assert response.status_code == 302 and response["Location"] == f"/vie-scolaire/famille/{one.pupil_b.pk}/"
    rec = AttendanceRecord.objects.get(pupil=one.pupil_b)
    assert (rec.source, rec.state, rec.reason_id, rec.recorded_by) == ("family", State.PENDING, rdv.pk,
                                                                       one.mother_b)
    assert rec.starts_at == at(D(2026, 10, 22), 14)
    justification = Justification.objects.get(records=rec)
    assert justification.document and justification.document_name == "convocation.pdf"
    assert AuditEvent.objects.filter(action=Action.ATTENDANCE_RECORDED, actor=one.mother_b,
                                     subject=one.pupil_b).exists()


def test_announce_errors_in_french_and_nothing_written(world, client, frozen, settings, tmp_path):
    from .fixtures_attcore import fake_pdf_html

    use_media(settings, tmp_path)
    one = world.one
    client.force_login(one.mother_b)
    rdv = services.reasons_for(one.establishment.pk).get(code="RDV")
    sans = services.reasons_for(one.establishment.pk).get(code="SM")
    base = {"starts_at": "2026-10-22T14:00", "ends_at": "2026-10-22T16:00", "reason": rdv.pk}
    cases = [
        ({"starts_at": "2026-10-19T08:00", "ends_at": "2026-10-19T10:00"},
         "Une absence passée se justifie depuis la liste des absences."),
        ({"ends_at": "2026-10-22T13:00"}, "La fin doit être après le début."),
        ({"reason": ""}, "Choisissez un motif."),
        ({"reason": sans.pk}, "Choisissez un motif de la liste."),
        ({"ends_at": "2026-12-31T18:00"}, "Une absence signalée par la famille dure un mois au plus."),
        ({"document": fake_pdf_html()}, "doit être un PDF ou une image JPEG ou PNG"),
    ]
    for change, message in cases:
        response = client.post(announce_url(one.pupil_b), {**base, **change})
        assert response.status_code == 400, change
        assert message in text(response), change
    assert not AttendanceRecord.objects.exists() and not Justification.objects.exists()


@pytest.mark.parametrize("who", ["pupil_b", "guardian_a", "cpe", "teacher_b", "ent_admin"])
def test_announce_is_for_the_childs_guardians_only(world, client, frozen, who):
    one = world.one
    client.force_login(getattr(one, who))
    assert client.get(announce_url(one.pupil_b)).status_code == 404
    rdv = services.reasons_for(one.establishment.pk).get(code="RDV")
    response = client.post(announce_url(one.pupil_b), {"starts_at": "2026-10-22T14:00",
                                                       "ends_at": "2026-10-22T16:00", "reason": rdv.pk})
    assert response.status_code == 404
    assert not AttendanceRecord.objects.exists()


def test_announce_for_a_child_of_another_establishment_or_denied_is_404(world, client, frozen):
    from preau.directory.models import GuardianLink, Service

    one, two = world.one, world.two
    client.force_login(one.mother_b)
    assert client.get(announce_url(two.pupil_b)).status_code == 404
    assert client.get("/vie-scolaire/famille/999999/signaler/").status_code == 404
    link = GuardianLink.objects.get(guardian=one.mother_b, pupil=one.pupil_b)
    link.denied_services = [Service.ATTENDANCE]
    link.save()
    assert client.get(announce_url(one.pupil_b)).status_code == 404


def test_father_with_parental_authority_may_announce(world, client, frozen):
    one = world.one
    client.force_login(one.father_b)
    assert client.get(announce_url(one.pupil_b)).status_code == 200


def test_pupil_sees_no_announce_link(world, client, frozen):
    one = world.one
    client.force_login(one.pupil_b)
    page = client.get("/vie-scolaire/famille/")
    assert page.status_code == 200 and announce_url(one.pupil_b) not in text(page)


def test_announce_initial_span_is_today():
    from preau.attendance.manage_views import _announce_initial

    with time_machine.travel(NOW, tick=False):
        assert _announce_initial() == {"starts_at": "2026-10-20T08:00", "ends_at": "2026-10-20T18:00"}
    assert datetime.date.today()  # the clock is back


def test_record_edit_choosing_a_reason_justifies_and_a_deactivated_reason_is_kept(world, client, lea_record):
    one = world.one
    client.force_login(one.cpe)
    sick = services.reasons_for(one.establishment.pk).get(code="MAL")
    base = {"kind": "absence", "starts_at": "2026-10-19T08:00", "ends_at": "2026-10-19T12:00"}
    # A reason chosen, the state left as it was: the reason decides (Maladie justifies).
    assert client.post(edit_url(lea_record), {**base, "reason": sick.pk, "state": "unjustified"}).status_code == 302
    lea_record.refresh_from_db()
    assert (lea_record.reason_id, lea_record.state) == (sick.pk, State.JUSTIFIED)
    # The reason is deactivated later: the record's form still shows it and saves other changes.
    management.set_reason_active(reason=sick, by=one.cpe, active=False)
    page = text(client.get(edit_url(lea_record)))
    assert f'value="{sick.pk}" selected' in page
    response = client.post(edit_url(lea_record), {**base, "reason": sick.pk, "state": "justified",
                                                  "comment": "Vu avec la famille."})
    assert response.status_code == 302
    lea_record.refresh_from_db()
    assert (lea_record.reason_id, lea_record.comment) == (sick.pk, "Vu avec la famille.")
