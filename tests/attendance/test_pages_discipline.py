"""Discipline pages (/vie-scolaire/incidents/, /punitions/, /dispenses/, /regime-de-sortie/<id>/): reporting an
incident about pupils the actor may see, punishments of the kinds the actor may give (a teacher never a "blâme"),
set from an incident or alone, marked served or lifted, exemptions with their certificate, exit regimes; families
see theirs on the family page; lists filterable by class and pupil, audited when narrowed to one pupil; French
errors with nothing written; constant query counts."""

from __future__ import annotations

import datetime
import re

import pytest

from preau.attendance import services
from preau.attendance.models import Exemption, ExitRegime, Incident, Punishment
from preau.audit.models import AuditEvent
from preau.notifications.models import Notification

from .fixtures_family import TODAY, family_url, frozen_school, main, pdf_file, text

pytestmark = pytest.mark.django_db

INCIDENTS, PUNISHMENTS, EXEMPTIONS = "/vie-scolaire/incidents/", "/vie-scolaire/punitions/", "/vie-scolaire/dispenses/"
YESTERDAY = "2026-10-06T15:30"


@pytest.fixture
def one(world, settings, tmp_path):
    yield from frozen_school(world.one, settings, tmp_path)


def pupil_options(page: str) -> list[str]:
    """The pupils offered by a list's pupil filter."""
    select = re.search(r'<select name="eleve".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="(\d+)"', select)


def exit_url(pupil) -> str:
    return f"/vie-scolaire/regime-de-sortie/{pupil.pk}/"


def incident(school, *pupils, by=None, facts="Bousculade dans l'escalier."):
    return services.report_incident(establishment_id=school.establishment.pk, occurred_at=TODAY, facts=facts,
                                    pupils=list(pupils), by=by or school.cpe, place="Escalier B")


def punish(school, pupil, *, by=None, kind="detention", reason="Bavardages répétés."):
    return services.set_punishment(pupil=pupil, kind=kind, reason=reason, by=by or school.cpe,
                                   serve_on=TODAY + datetime.timedelta(days=2), place="Salle 12", work="Exercices")


# --- Incidents ----------------------------------------------------------------------------------------------------

def test_a_teacher_reports_an_incident_about_a_pupil_they_teach(one, client):
    client.force_login(one.teacher_b)
    form = text(client.get(f"{INCIDENTS}nouveau/"))
    assert f'<option value="{one.pupil_b.pk}">' in form  # only the pupils they may see
    assert f'<option value="{one.pupil_a.pk}">' not in form
    response = client.post(f"{INCIDENTS}nouveau/", {
        "occurred_at": YESTERDAY, "place": "Cour", "facts": "Insultes envers un camarade.",
        "pupils": [one.pupil_b.pk]})
    assert response.status_code == 302
    item = Incident.objects.get()
    assert item.reported_by == one.teacher_b and list(item.pupils.all()) == [one.pupil_b]
    assert item.occurred_at == datetime.datetime(2026, 10, 6, 13, 30, tzinfo=datetime.UTC)  # 15:30 in Paris
    page = text(client.get(INCIDENTS))
    assert "Insultes envers un camarade." in page and "Donner une punition à Léa Martin" in page


def test_invalid_incidents_answer_french_errors_and_write_nothing(one, client):
    client.force_login(one.teacher_b)
    cases = [
        ({"occurred_at": YESTERDAY, "facts": "Faits.", "pupils": [one.pupil_a.pk]}, "Choisissez des élèves de la"),
        ({"occurred_at": YESTERDAY, "facts": "", "pupils": [one.pupil_b.pk]}, "Décrivez les faits."),
        ({"occurred_at": "hier", "facts": "Faits.", "pupils": [one.pupil_b.pk]}, "Date et heure invalides."),
        ({"occurred_at": "2026-10-09T10:00", "facts": "Faits.", "pupils": [one.pupil_b.pk]}, "dans le futur"),
        ({"occurred_at": YESTERDAY, "facts": "Faits."}, "Choisissez au moins un élève."),
    ]
    for data, message in cases:
        response = client.post(f"{INCIDENTS}nouveau/", data)
        assert response.status_code == 400, data
        assert message in text(response), data
    assert not Incident.objects.exists()


def test_incidents_are_read_by_vie_scolaire_and_their_reporter_only(one, world, client):
    incident(one, one.pupil_b, by=one.teacher_b, facts="Fait signalé par Mr B.")
    incident(one, one.pupil_a, by=one.teacher_a, facts="Fait signalé par Mr A.")
    client.force_login(one.cpe)
    page = text(client.get(INCIDENTS))
    assert "Fait signalé par Mr B." in page and "Fait signalé par Mr A." in page
    client.force_login(one.teacher_b)
    page = text(client.get(INCIDENTS))
    assert "Fait signalé par Mr B." in page and "Fait signalé par Mr A." not in page
    client.force_login(world.two.cpe)
    assert "Fait signalé" not in text(client.get(INCIDENTS))
    for user in (one.mother_b, one.pupil_b):
        client.force_login(user)
        response = client.get(INCIDENTS)
        assert response.status_code == 302 and response.url == "/vie-scolaire/famille/"
    client.force_login(one.ent_admin)
    assert client.get(INCIDENTS).status_code == 404


# --- Punishments --------------------------------------------------------------------------------------------------

def test_a_teacher_cannot_give_a_reprimand(one, client):
    client.force_login(one.teacher_b)
    form = text(client.get(f"{PUNISHMENTS}nouvelle/?eleve={one.pupil_b.pk}"))
    assert "Retenue" in form and "Blâme" not in form and "Avertissement" not in form
    response = client.post(f"{PUNISHMENTS}nouvelle/", {"pupil": one.pupil_b.pk, "kind": "reprimand",
                                                       "reason": "Insolence."})
    assert response.status_code == 400
    assert "Vous ne pouvez pas donner ce type de punition." in text(response)
    assert not Punishment.objects.exists()


def test_the_head_gives_a_reprimand_and_the_family_sees_it(one, client, django_capture_on_commit_callbacks):
    client.force_login(one.head)
    assert "Blâme" in text(client.get(f"{PUNISHMENTS}nouvelle/"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{PUNISHMENTS}nouvelle/", {"pupil": one.pupil_b.pk, "kind": "reprimand",
                                                           "reason": "Violences répétées."})
    assert response.status_code == 302
    item = Punishment.objects.get()
    assert item.kind == "reprimand" and item.set_by == one.head
    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b)))
    assert "Blâme" in page and "Violences répétées." in page and one.head.full_name in page
    client.force_login(one.pupil_b)  # the pupil sees it too, on their own page
    page = main(client.get("/vie-scolaire/famille/"))
    assert "Blâme" in page and "Violences répétées." in page
    client.force_login(one.guardian_a)
    assert "Violences répétées." not in main(client.get("/vie-scolaire/famille/"))


def test_a_punishment_from_an_incident_then_served(one, client):
    item = incident(one, one.pupil_b, one.pupil_b2, by=one.teacher_b)
    client.force_login(one.teacher_b)
    form = text(client.get(f"{PUNISHMENTS}nouvelle/?incident={item.pk}&eleve={one.pupil_b.pk}"))
    assert "Bousculade dans l'escalier." in form and f'<option value="{one.pupil_b2.pk}">' in form
    assert f'<option value="{one.pupil_a.pk}"' not in form
    response = client.post(f"{PUNISHMENTS}nouvelle/", {
        "incident": item.pk, "pupil": one.pupil_b.pk, "kind": "detention", "reason": "Bousculade.",
        "serve_on": "2026-10-09T16:00", "duration_minutes": "60", "place": "Salle 12", "work": "Rédaction"})
    assert response.status_code == 302
    punishment = Punishment.objects.get()
    assert punishment.incident == item and punishment.place == "Salle 12" and punishment.duration_minutes == 60

    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b)))
    assert "Retenue" in page and "Salle 12" in page and "Rédaction" in page and "À effectuer" in page
    assert "vendredi 9 octobre 2026 à 16:00" in page and one.teacher_b.full_name in page

    client.force_login(one.teacher_a)  # does not teach Léa: the punishment does not exist for them
    assert client.post(f"{PUNISHMENTS}{punishment.pk}/etat/", {"action": "served"}).status_code == 404
    client.force_login(one.teacher_b)
    response = client.post(f"{PUNISHMENTS}{punishment.pk}/etat/", {"action": "served"})
    assert response.status_code == 302
    punishment.refresh_from_db()
    assert punishment.served and not punishment.cancelled


def test_vie_scolaire_lifts_a_punishment_a_detention_needs_a_date(one, client, django_capture_on_commit_callbacks):
    punishment = punish(one, one.pupil_b, by=one.teacher_b)
    client.force_login(one.cpe)
    response = client.post(f"{PUNISHMENTS}{punishment.pk}/etat/", {"action": "cancel", "comment": "x" * 501})
    assert response.status_code == 302
    punishment.refresh_from_db()
    assert not punishment.cancelled
    assert "500 caractères au plus" in text(client.get(response.url))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{PUNISHMENTS}{punishment.pk}/etat/", {"action": "cancel",
                                                                        "comment": "Excuses présentées."})
    assert response.status_code == 302
    punishment.refresh_from_db()
    assert punishment.cancelled
    assert Notification.objects.filter(recipient=one.mother_b, body="Excuses présentées.").exists()
    client.force_login(one.mother_b)
    assert "Levée" in text(client.get(family_url(one.pupil_b)))
    client.force_login(one.cpe)
    response = client.post(f"{PUNISHMENTS}nouvelle/", {"pupil": one.pupil_b.pk, "kind": "detention",
                                                       "reason": "Retards."})
    assert response.status_code == 400 and "Indiquez quand la punition doit être effectuée." in text(response)
    assert Punishment.objects.count() == 1


def test_punishment_lists_filter_by_class_and_pupil_and_audit_the_pupil(one, client):
    punish(one, one.pupil_a, reason="Motif de A.")
    punish(one, one.pupil_b, reason="Motif de Léa.")
    client.force_login(one.cpe)
    page = text(client.get(PUNISHMENTS))
    assert pupil_options(page) == [] and "Choisissez d'abord une classe." in page
    page = text(client.get(f"{PUNISHMENTS}?classe={one.class_a.pk}"))
    assert "Motif de A." in page and "Motif de Léa." not in page
    assert pupil_options(page) == [str(one.pupil_a.pk)]
    # every pupil shown is a sensitive read (review H3): both on the whole list, A on 5e A's
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ)
    assert sorted(reads.values_list("subject_id", flat=True)) == sorted([one.pupil_a.pk, one.pupil_b.pk,
                                                                         one.pupil_a.pk])
    reads.delete()
    page = text(client.get(f"{PUNISHMENTS}?eleve={one.pupil_b.pk}"))
    assert "Motif de Léa." in page and "Motif de A." not in page
    read = AuditEvent.objects.get(action=AuditEvent.Action.SENSITIVE_READ)
    assert read.actor == one.cpe and read.subject == one.pupil_b
    page = text(client.get(f"{PUNISHMENTS}?eleve=abc&classe=999999"))  # unknown filters are ignored
    assert "Motif de A." in page and "Motif de Léa." in page
    client.force_login(one.teacher_b)
    page = text(client.get(PUNISHMENTS))
    assert "Motif de Léa." in page and "Motif de A." not in page


# --- Exemptions and exit regimes ------------------------------------------------------------------------------

def test_vie_scolaire_records_an_exemption_with_its_certificate(one, world, client):
    client.force_login(one.cpe)
    response = client.post(f"{EXEMPTIONS}nouvelle/", {
        "pupil": one.pupil_b.pk, "subject": one.subject.pk, "first_day": "2026-10-07", "last_day": "2026-10-30",
        "comment": "Entorse", "document": pdf_file("certificat-medical.pdf")})
    assert response.status_code == 302
    item = Exemption.objects.get()
    assert not item.must_attend and item.document_name == "certificat-medical.pdf"
    download_url = f"{EXEMPTIONS}{item.pk}/certificat/"
    assert download_url in text(client.get(EXEMPTIONS))

    client.force_login(one.mother_b)
    page = text(client.get(family_url(one.pupil_b)))
    assert "Dispense de Mathématiques" in page and "Entorse" in page and download_url in page
    response = client.get(download_url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"

    client.force_login(one.teacher_b)  # sees that Léa is exempted, not why (review H1)
    page = text(client.get(EXEMPTIONS))
    assert "Dispense de Mathématiques" in page and "Entorse" not in page and download_url not in page
    assert client.get(download_url).status_code == 404
    for user in (one.teacher_a, one.guardian_a, world.two.cpe):
        client.force_login(user)
        assert client.get(download_url).status_code == 404, user.username
    client.force_login(one.teacher_b)
    assert client.get(f"{EXEMPTIONS}nouvelle/").status_code == 404
    client.force_login(one.nurse)  # records exemptions, reads no other attendance data
    page = text(client.get(f"{EXEMPTIONS}?eleve={one.pupil_b.pk}"))
    assert "Entorse" in page and f'<option value="{one.pupil_b.pk}" selected>' in page
    assert client.get(download_url).status_code == 200


def test_invalid_exemptions_answer_french_errors_and_write_nothing(one, client):
    client.force_login(one.nurse)
    base = {"pupil": one.pupil_b.pk, "first_day": "2026-10-07", "last_day": "2026-10-30"}
    cases = [
        ({**base, "last_day": "2026-10-01"}, "Le dernier jour ne peut pas précéder le premier."),
        ({**base, "first_day": ""}, "Indiquez le premier jour."),
        ({**base, "pupil": ""}, "Choisissez un élève."),
        ({**base, "document": pdf_file(size=6 * 1024 * 1024)}, "trop lourd"),
    ]
    for data, message in cases:
        response = client.post(f"{EXEMPTIONS}nouvelle/", data)
        assert response.status_code == 400, data
        assert message in text(response), (data, text(response)[text(response).index("<main"):][:3000])
    assert not Exemption.objects.exists()


def test_exit_regime_set_by_vie_scolaire_seen_by_the_family(one, client):
    client.force_login(one.cpe)
    assert client.get(exit_url(one.pupil_b)).status_code == 200
    response = client.post(exit_url(one.pupil_b), {"regime": "externe", "may_leave_at_lunch": "on",
                                                   "comment": "Rentre déjeuner"})
    assert response.status_code == 302
    row = ExitRegime.objects.get()
    assert row.regime == "externe" and row.may_leave_at_lunch and not row.may_leave_when_no_course
    assert client.post(exit_url(one.pupil_b), {"regime": "pensionnaire"}).status_code == 400
    client.force_login(one.mother_b)
    page = main(client.get(family_url(one.pupil_b)))
    assert "Externe" in page and "Rentre déjeuner" in page
    assert client.get(exit_url(one.pupil_b)).status_code == 404
    client.force_login(one.teacher_b)
    assert client.get(exit_url(one.pupil_b)).status_code == 404
    client.force_login(one.teacher_a)
    assert client.get(exit_url(one.pupil_b)).status_code == 404


# --- Query counts -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [INCIDENTS, PUNISHMENTS, EXEMPTIONS])
def test_lists_constant_queries(one, client, url, django_assert_max_num_queries):
    def fill(n):
        for i in range(n):
            pupil = (one.pupil_a, one.pupil_b, one.pupil_b2)[i % 3]
            incident(one, pupil, facts=f"Fait {i}")
            punish(one, pupil, reason=f"Motif {i}")
            services.record_exemption(pupil=pupil, first_day=datetime.date(2026, 10, 1),
                                      last_day=datetime.date(2026, 10, 20), by=one.cpe, subject=one.subject)

    fill(2)
    client.force_login(one.cpe)
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    fill(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
