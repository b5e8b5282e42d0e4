"""The family page and the justification workflow through the pages (/vie-scolaire/famille/, /justifications/):
a guardian justifies with a document, vie scolaire accepts or refuses, the family sees the outcome; who sees which
child (404 for another family's child, nothing for a child whose link denies ATTENDANCE), who may justify (legal
authority; never the pupil), the document's download rights and headers, French errors with nothing written."""

from __future__ import annotations

import pytest

from preau.attendance.models import AttendanceRecord, Justification
from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink

from .fixtures_family import (
    QUEUE_URL,
    absence,
    document_url,
    fake_pdf_html,
    family_url,
    frozen_school,
    justification_url,
    justify_url,
    main,
    pdf_file,
    reason,
    text,
)

pytestmark = pytest.mark.django_db

State = AttendanceRecord.State


@pytest.fixture
def one(world, settings, tmp_path):
    yield from frozen_school(world.one, settings, tmp_path)


@pytest.fixture
def lea_absent(one):
    """Léa (pupil_b) absent Monday morning, and late on Tuesday; unjustified."""
    first = absence(one, one.pupil_b, start=8, end=10)
    late = absence(one, one.pupil_b, day=first.starts_at.date().replace(day=6), start=8, end=9, kind="late")
    return first, late


def justify(client, pupil, records, *, code="MAL", comment="Grippe, certificat joint.", document=None, school):
    data = {"records": [r.pk for r in records], "reason": reason(school, code).pk, "comment": comment}
    if document is not None:
        data["document"] = document
    return client.post(justify_url(pupil), data)


# --- The workflow ---------------------------------------------------------------------------------------------

def test_guardian_justifies_with_a_pdf_vie_scolaire_accepts_and_the_family_sees_it(one, lea_absent, client):
    first, late = lea_absent
    client.force_login(one.mother_b)
    page = text(client.get("/vie-scolaire/famille/"))
    assert "Absences et vie scolaire de Léa Martin" in page
    assert "Non justifiée" in page and "Justifier des absences" in page

    form = text(client.get(f"{justify_url(one.pupil_b)}?absence={first.pk}"))
    assert "Maladie" in form and "Sans motif" not in form  # the reasons offered to families only
    assert f'value="{first.pk}"' in form and "checked" in form

    response = justify(client, one.pupil_b, [first, late], document=pdf_file("certificat.pdf"), school=one)
    assert response.status_code == 302 and response.url == family_url(one.pupil_b)
    item = Justification.objects.get()
    assert item.state == Justification.State.PENDING and item.submitted_by == one.mother_b
    assert item.document_name == "certificat.pdf" and item.comment == "Grippe, certificat joint."
    assert set(item.records.values_list("pk", flat=True)) == {first.pk, late.pk}
    first.refresh_from_db()
    assert first.state == State.PENDING
    page = text(client.get(family_url(one.pupil_b)))
    assert "À examiner" in page and "Justification envoyée" in page

    client.force_login(one.cpe)
    queue = text(client.get(QUEUE_URL))
    assert "Léa Martin" in queue and "5e B" in queue and "Grippe, certificat joint." in queue
    assert document_url(item) in queue and "Maladie" in queue
    download = client.get(document_url(item))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")

    response = client.post(justification_url(item), {"decision": "accept", "comment": ""})
    assert response.status_code == 302 and response.url == QUEUE_URL
    item.refresh_from_db()
    assert item.state == Justification.State.ACCEPTED and item.decided_by == one.cpe
    assert set(AttendanceRecord.objects.filter(pupil=one.pupil_b).values_list("state", flat=True)) == {
        State.JUSTIFIED}
    assert "Aucune justification à examiner." in text(client.get(QUEUE_URL))

    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b)))
    assert "Justifiée" in page and "Acceptée" in page and "Non justifiée" not in page
    assert "Justifier des absences" not in page


def test_refusal_needs_a_reason_then_the_family_sees_it_and_may_justify_again(one, lea_absent, client):
    first, _late = lea_absent
    client.force_login(one.mother_b)
    justify(client, one.pupil_b, [first], school=one)
    item = Justification.objects.get()

    client.force_login(one.cpe)
    response = client.post(justification_url(item), {"decision": "refuse", "comment": "  "})
    assert response.status_code == 400
    assert "Expliquez à la famille pourquoi la justification est refusée." in text(response)
    item.refresh_from_db()
    assert item.state == Justification.State.PENDING

    response = client.post(justification_url(item), {"decision": "refuse", "comment": "Certificat illisible."})
    assert response.status_code == 302
    item.refresh_from_db()
    first.refresh_from_db()
    assert item.state == Justification.State.REFUSED and first.state == State.REFUSED
    assert "Certificat illisible." in text(client.get(f"{QUEUE_URL}?etat=refusees"))

    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b)))
    assert "Refusée" in page and "Certificat illisible." in page
    assert f"?absence={first.pk}" in page  # a refused record can be justified again
    assert justify(client, one.pupil_b, [first], code="RDV", school=one).status_code == 302
    first.refresh_from_db()
    assert first.state == State.PENDING


def test_a_decided_justification_cannot_be_decided_twice(one, lea_absent, client):
    client.force_login(one.mother_b)
    justify(client, one.pupil_b, [lea_absent[0]], school=one)
    item = Justification.objects.get()
    client.force_login(one.cpe)
    client.post(justification_url(item), {"decision": "accept"})
    response = client.post(justification_url(item), {"decision": "refuse", "comment": "Non."})
    assert response.status_code == 400 and "déjà été examinée" in text(response)
    item.refresh_from_db()
    assert item.state == Justification.State.ACCEPTED


# --- Who sees which child -------------------------------------------------------------------------------------

def test_a_guardian_never_sees_another_familys_child(one, world, lea_absent, client):
    absence(one, one.pupil_a)
    client.force_login(one.guardian_a)
    for url in (family_url(one.pupil_b), justify_url(one.pupil_b), family_url(world.two.pupil_b)):
        assert client.get(url).status_code == 404, url
    response = client.post(justify_url(one.pupil_b), {"records": [lea_absent[0].pk], "reason": reason(one).pk})
    assert response.status_code == 404
    page = main(client.get("/vie-scolaire/famille/"))
    assert one.pupil_b.full_name not in page and one.pupil_a.full_name in page
    assert not Justification.objects.exists()


def test_a_child_whose_link_denies_attendance_is_neither_listed_nor_reachable(one, lea_absent, client):
    client.force_login(one.father_b)
    justify(client, one.pupil_b, [lea_absent[0]], document=pdf_file(), school=one)
    item = Justification.objects.get()
    GuardianLink.objects.filter(guardian=one.mother_b).update(denied_services=["attendance"])
    client.force_login(one.mother_b)
    assert client.get(document_url(item)).status_code == 404
    page = main(client.get("/vie-scolaire/famille/"))
    assert one.pupil_b.full_name not in page and "Aucun élève" in page
    assert client.get(family_url(one.pupil_b)).status_code == 404
    assert client.get(justify_url(one.pupil_b)).status_code == 404
    home = text(client.get("/"))
    assert "Absences et vie scolaire" in home  # the tile stays (a guardian's role), the page names nobody


def test_a_guardian_of_two_children_switches_between_them(one, lea_absent, client):
    GuardianLink.objects.create(guardian=one.mother_b, pupil=one.pupil_b2, relation="mother", contact_order=2)
    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b2)))
    assert one.pupil_b2.full_name in page and f'href="{family_url(one.pupil_b)}"' in page
    assert "Aucune absence ni aucun retard sur la période." in page


def test_father_b_has_legal_authority_and_justifies(one, lea_absent, client):
    assert GuardianLink.objects.get(guardian=one.father_b).legal_authority  # grades denied, attendance allowed
    client.force_login(one.father_b)
    assert "Justifier des absences" in text(client.get(family_url(one.pupil_b)))
    assert justify(client, one.pupil_b, [lea_absent[0]], school=one).status_code == 302
    assert Justification.objects.get().submitted_by == one.father_b


def test_a_guardian_without_legal_authority_sees_but_cannot_justify(one, lea_absent, client):
    GuardianLink.objects.filter(guardian=one.father_b).update(legal_authority=False)
    client.force_login(one.father_b)
    page = text(client.get(family_url(one.pupil_b)))
    assert "Non justifiée" in page and "Justifier" not in page
    assert client.get(justify_url(one.pupil_b)).status_code == 403
    assert justify(client, one.pupil_b, [lea_absent[0]], school=one).status_code == 403
    assert not Justification.objects.exists()


def test_a_pupil_sees_their_own_page_but_cannot_justify(one, lea_absent, client):
    client.force_login(one.pupil_b)
    page = text(client.get("/vie-scolaire/famille/"))
    assert "Mes absences et ma vie scolaire" in page and "Non justifiée" in page
    assert "Justifier" not in page
    assert client.get(justify_url(one.pupil_b)).status_code == 403
    assert justify(client, one.pupil_b, [lea_absent[0]], school=one).status_code == 403
    assert client.get(family_url(one.pupil_b2)).status_code == 404
    assert not Justification.objects.exists()


def test_the_queue_is_vie_scolaires(one, world, lea_absent, client):
    client.force_login(one.mother_b)
    justify(client, one.pupil_b, [lea_absent[0]], school=one)
    item = Justification.objects.get()
    for user in (one.mother_b, one.teacher_b, one.nurse, one.pupil_b):
        client.force_login(user)
        assert client.get(QUEUE_URL).status_code == 404, user.username
    for user in (one.mother_b, one.teacher_b, world.two.cpe):
        client.force_login(user)
        assert client.get(justification_url(item)).status_code == 404, user.username
        assert client.post(justification_url(item), {"decision": "accept"}).status_code == 404
    client.force_login(world.two.cpe)
    assert 'id="justification-' not in text(client.get(QUEUE_URL))
    item.refresh_from_db()
    assert item.state == Justification.State.PENDING


# --- The document -------------------------------------------------------------------------------------------

def test_document_download_rights_headers_and_audit(one, world, lea_absent, client):
    client.force_login(one.mother_b)
    justify(client, one.pupil_b, [lea_absent[0]], document=pdf_file(), school=one)
    item = Justification.objects.get()
    for user in (one.guardian_a, one.teacher_a, one.nurse, world.two.cpe, world.two.mother_b, one.pupil_a):
        client.force_login(user)
        assert client.get(document_url(item)).status_code == 404, user.username
    for user in (one.mother_b, one.father_b, one.pupil_b, one.cpe):
        client.force_login(user)
        response = client.get(document_url(item))
        assert response.status_code == 200, user.username
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "application/pdf"
        assert "no-store" in response["Cache-Control"]
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ, subject=one.pupil_b)
    assert list(reads.values_list("actor__username", flat=True)) == [one.cpe.username]


def test_a_page_posing_as_a_pdf_is_refused_in_french_and_nothing_is_written(one, lea_absent, client):
    client.force_login(one.mother_b)
    response = justify(client, one.pupil_b, [lea_absent[0]], document=fake_pdf_html(), school=one)
    assert response.status_code == 400
    assert "doit être un PDF ou une image JPEG ou PNG" in text(response)
    assert not Justification.objects.exists()
    lea_absent[0].refresh_from_db()
    assert lea_absent[0].state == State.UNJUSTIFIED


def test_a_too_heavy_document_is_refused(one, lea_absent, client):
    client.force_login(one.mother_b)
    response = justify(client, one.pupil_b, [lea_absent[0]], document=pdf_file(size=5 * 1024 * 1024 + 1),
                       school=one)
    assert response.status_code == 400 and "trop lourd" in text(response)
    assert not Justification.objects.exists()


# --- Invalid input --------------------------------------------------------------------------------------------

def test_invalid_justifications_answer_french_errors_and_write_nothing(one, lea_absent, client):
    other = absence(one, one.pupil_a)
    client.force_login(one.mother_b)
    cases = [
        ({"reason": reason(one).pk}, "Choisissez au moins une absence ou un retard."),
        ({"records": [lea_absent[0].pk]}, "Choisissez un motif."),
        ({"records": [lea_absent[0].pk], "reason": reason(one, "SM").pk}, "Choisissez un motif de la liste."),
        ({"records": [other.pk], "reason": reason(one).pk}, "Cette absence ne peut pas être justifiée."),
        ({"records": ["abc"], "reason": reason(one).pk}, "Cette absence ne peut pas être justifiée."),
        ({"records": [lea_absent[0].pk], "reason": reason(one).pk, "comment": "x" * 2001}, "2000"),
    ]
    for data, message in cases:
        response = client.post(justify_url(one.pupil_b), data)
        assert response.status_code == 400, data
        assert message in text(response), data
    assert not Justification.objects.exists()
    assert set(AttendanceRecord.objects.values_list("state", flat=True)) == {State.UNJUSTIFIED}


# --- The home tile and query counts ------------------------------------------------------------------------------

def test_family_tile_for_pupils_and_guardians_only(one, client):
    for user in (one.pupil_b, one.mother_b):
        client.force_login(user)
        assert 'href="/vie-scolaire/famille/"' in text(client.get("/")), user.username
    for user in (one.teacher_b, one.cpe):
        client.force_login(user)
        assert 'href="/vie-scolaire/famille/"' not in text(client.get("/")), user.username


def _fill(school, pupil, count):
    from datetime import timedelta

    from .fixtures_family import MONDAY

    for i in range(count):
        absence(school, pupil, day=MONDAY - timedelta(days=7 * (i // 2) + 1 + i % 2), start=8, end=9)


def test_family_page_constant_queries(one, client, django_assert_max_num_queries):
    from preau.attendance import services

    client.force_login(one.mother_b)
    _fill(one, one.pupil_b, 2)
    first = AttendanceRecord.objects.filter(pupil=one.pupil_b).first()
    services.submit_justification(pupil=one.pupil_b, records=[first], reason=reason(one), by=one.mother_b)
    services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason="Oubli", by=one.cpe)
    client.get(family_url(one.pupil_b))
    with django_assert_max_num_queries(20) as few:
        client.get(family_url(one.pupil_b))
    _fill(one, one.pupil_b, 12)
    records = list(AttendanceRecord.objects.filter(pupil=one.pupil_b, state="unjustified")[:6])
    for pair in (records[:3], records[3:6]):
        services.submit_justification(pupil=one.pupil_b, records=pair, reason=reason(one), by=one.mother_b,
                                      comment="", document=pdf_file())
    for i in range(4):
        services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason=f"Oubli {i}", by=one.cpe)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(family_url(one.pupil_b))
    assert response.status_code == 200 and text(response).count("Devoir supplémentaire") == 5
    assert len(many.captured_queries) == len(few.captured_queries)


def test_queue_constant_queries(one, client, django_assert_max_num_queries):
    from preau.attendance import services

    _fill(one, one.pupil_b, 10)
    _fill(one, one.pupil_b2, 10)
    records = list(AttendanceRecord.objects.order_by("pk"))
    client.force_login(one.cpe)
    services.submit_justification(pupil=one.pupil_b, records=records[:1], reason=reason(one), by=one.mother_b)
    client.get(QUEUE_URL)
    with django_assert_max_num_queries(20) as few:
        client.get(QUEUE_URL)
    guardian = one.mother_b
    for record in records[1:10]:
        services.submit_justification(pupil=one.pupil_b, records=[record], reason=reason(one), by=guardian,
                                      document=pdf_file())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(QUEUE_URL)
    assert text(response).count('<article class="card att-item" id="justification-') == 10


def test_the_page_shows_the_chosen_periods_records_and_half_day_counts(one, lea_absent, client):
    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b)))  # today is in the first trimester
    assert 'value="1" selected' in page
    assert 'data-testid="count-absent">1<' in page and 'data-testid="count-unjustified">1<' in page
    assert 'data-testid="count-late">1<' in page
    page = text(client.get(f"{family_url(one.pupil_b)}?periode=2"))
    assert 'value="2" selected' in page and "Aucune absence ni aucun retard sur la période." in page
    assert 'data-testid="count-absent">0<' in page


def test_documents_are_never_served_as_a_page(one, lea_absent, client):
    """Whatever a stored file or its shown name claims, the download is an attachment of the checked type (PDF,
    PNG, JPEG) or an opaque octet stream — never HTML or SVG the browser would render."""
    from django.core.files.base import ContentFile

    client.force_login(one.mother_b)
    justify(client, one.pupil_b, [lea_absent[0]], document=pdf_file("page.html"), school=one)
    item = Justification.objects.get()
    response = client.get(document_url(item))
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="page.html.pdf"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")

    # A file stored by other means (an import, an older version) with a dangerous type.
    item.document.save("ancien.svg", ContentFile(b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>'))
    Justification.objects.filter(pk=item.pk).update(document_name="image.svg")
    response = client.get(document_url(item))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
