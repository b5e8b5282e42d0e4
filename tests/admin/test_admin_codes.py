"""Activation codes (one person, a whole class as printable PDF sheets) and password reset by an admin."""

import io

import pytest
from django.test import RequestFactory

from preau.accounts import services as account_services
from preau.accounts.models import ActivationCode
from preau.audit.models import AuditEvent
from preau.directory.testing import make_pupil

from .conftest import admin_url

pytestmark = pytest.mark.django_db
pytest.importorskip("preau.accounts.activation_sheets")


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _code_works(user, code) -> bool:
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    try:
        account_services.activation_code_check(request=request, username=user.username, code=code)
    except Exception:  # noqa: BLE001 - AccountError: the code does not work
        return False
    return True


def test_admin_codes_person_shown_once(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_activation_code", s.establishment.pk, s.pupil_b.pk),
                                         {"format": "screen"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    code = response.context["code"]
    assert code in response.content.decode()
    assert _code_works(s.pupil_b, code)
    assert AuditEvent.objects.filter(action="activation_code_issued", subject=s.pupil_b, actor=s.ent_admin).exists()


def test_admin_codes_person_pdf(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_activation_code", s.establishment.pk, s.mother_b.pk),
                                         {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    assert s.mother_b.username in _pdf_text(response.content)
    assert ActivationCode.objects.filter(user=s.mother_b).count() == 1


def test_admin_codes_person_get_not_allowed(world, as_user):
    s = world.one
    url = admin_url("person_activation_code", s.establishment.pk, s.pupil_b.pk)
    assert as_user(s.ent_admin).get(url).status_code == 405
    assert not ActivationCode.objects.exists()


def test_admin_codes_class_pupils_and_guardians_pdf(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("class_codes", s.establishment.pk, s.class_b.pk),
                                         {"audience": ["pupils", "guardians"]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    holders = set(ActivationCode.objects.values_list("user_id", flat=True))
    assert holders == {s.pupil_b.pk, s.pupil_b2.pk, s.mother_b.pk, s.father_b.pk}
    text = _pdf_text(response.content)
    for person in (s.pupil_b, s.pupil_b2, s.mother_b, s.father_b):
        assert person.username in text
    assert s.pupil_a.username not in text


def test_admin_codes_class_only_not_activated(world, as_user):
    s = world.one
    newcomer = make_pupil(s.class_b, activated_at=None)
    response = as_user(s.ent_admin).post(admin_url("class_codes", s.establishment.pk, s.class_b.pk),
                                         {"audience": ["pupils"], "only_not_activated": "on"})
    assert response.status_code == 200
    assert set(ActivationCode.objects.values_list("user_id", flat=True)) == {newcomer.pk}


def test_admin_codes_class_nobody_left_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("class_codes", s.establishment.pk, s.class_b.pk),
                                         {"audience": ["pupils"], "only_not_activated": "on"})
    assert response.status_code == 400
    assert "Aucun compte ne correspond" in response.content.decode()
    assert not ActivationCode.objects.exists()


def test_admin_codes_class_no_audience_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("class_codes", s.establishment.pk, s.class_b.pk), {})
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in response.content.decode()


def test_admin_codes_class_other_establishment_404(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("class_codes", s.establishment.pk, world.two.class_b.pk),
                                         {"audience": ["pupils"]})
    assert response.status_code == 404
    assert not ActivationCode.objects.exists()


def test_admin_password_reset_shows_new_code_once(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_password_reset", s.establishment.pk, s.teacher_b.pk))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert _code_works(s.teacher_b, response.context["code"])
    assert AuditEvent.objects.filter(action="password_reset_by_admin", subject=s.teacher_b).exists()


def test_admin_password_reset_teacher_403(world, as_user):
    s = world.one
    response = as_user(s.teacher_b).post(admin_url("person_password_reset", s.establishment.pk, s.pupil_b.pk))
    assert response.status_code == 403
    assert not ActivationCode.objects.exists()


def test_admin_password_reset_other_establishment_404(world, as_user):
    s = world.one
    response = as_user(world.two.ent_admin).post(admin_url("person_password_reset", s.establishment.pk,
                                                           s.pupil_b.pk))
    assert response.status_code == 404
    assert not ActivationCode.objects.exists()
