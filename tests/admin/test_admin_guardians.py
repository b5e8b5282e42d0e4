"""Guardian links: add, edit, remove, with per-child rights — audited, and seen at once by the policy."""

import pytest

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, Service
from preau.directory.testing import make_guardian

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def _link_data(**overrides):
    data = {"relation": "tutor", "legal_authority": "on", "receives_correspondence": "on", "contact_order": 3}
    data.update(overrides)
    return data


def test_admin_guardians_add_link_with_denied_service(world, as_user):
    s = world.one
    carer = make_guardian(s.establishment, username="carer_b", relation="carer")
    response = as_user(s.ent_admin).post(admin_url("guardian_link_add", s.establishment.pk, s.pupil_b.pk),
                                         _link_data(guardian="CARER_B", relation="carer", legal_authority="",
                                                    denied_services=["grades", "report_cards"]))
    assert response.status_code == 302
    link = GuardianLink.objects.get(guardian=carer, pupil=s.pupil_b)
    assert link.relation == "carer" and not link.legal_authority and link.contact_order == 3
    assert link.denied_services == ["grades", "report_cards"]
    event = AuditEvent.objects.get(action="guardian_link_changed")
    assert event.subject == s.pupil_b and event.actor == s.ent_admin and event.details["change"] == "created"
    actor = policy.actor_for(carer)
    assert policy.can_read_school_data(actor, s.pupil_b, Service.HOMEWORK)
    assert not policy.can_read_school_data(actor, s.pupil_b, Service.GRADES)


def test_admin_guardians_add_unknown_login_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("guardian_link_add", s.establishment.pk, s.pupil_b.pk),
                                         _link_data(guardian="personne"))
    assert response.status_code == 400
    assert "Aucun responsable légal de l&#x27;établissement n&#x27;a cet identifiant." in response.content.decode()


def test_admin_guardians_add_guardian_of_other_establishment_refused(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("guardian_link_add", s.establishment.pk, s.pupil_b.pk),
                                         _link_data(guardian=world.two.mother_b.username))
    assert response.status_code == 400
    assert not GuardianLink.objects.filter(guardian=world.two.mother_b, pupil=s.pupil_b).exists()


def test_admin_guardians_add_teacher_login_refused(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("guardian_link_add", s.establishment.pk, s.pupil_b.pk),
                                         _link_data(guardian=s.teacher_b.username))
    assert response.status_code == 400
    assert not GuardianLink.objects.filter(guardian=s.teacher_b).exists()


def test_admin_guardians_add_existing_link_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("guardian_link_add", s.establishment.pk, s.pupil_b.pk),
                                         _link_data(guardian=s.mother_b.username))
    assert response.status_code == 400
    assert "Ce lien existe déjà." in response.content.decode()
    assert GuardianLink.objects.filter(pupil=s.pupil_b).count() == 2


def test_admin_guardians_add_unknown_service_rejected(world, as_user):
    s = world.one
    make_guardian(s.establishment, username="carer_b")
    response = as_user(s.ent_admin).post(admin_url("guardian_link_add", s.establishment.pk, s.pupil_b.pk),
                                         _link_data(guardian="carer_b", denied_services=["everything"]))
    assert response.status_code == 400
    assert not GuardianLink.objects.filter(guardian__username="carer_b").exists()


def test_admin_guardians_add_for_non_pupil_404(world, as_user):
    s = world.one
    url = admin_url("guardian_link_add", s.establishment.pk, s.teacher_b.pk)
    assert as_user(s.ent_admin).get(url).status_code == 404


def test_admin_guardians_edit_deny_grades_audited(world, as_user):
    s = world.one
    link = GuardianLink.objects.get(guardian=s.mother_b, pupil=s.pupil_b)
    response = as_user(s.ent_admin).post(admin_url("guardian_link_edit", s.establishment.pk, s.pupil_b.pk, link.pk),
                                         _link_data(relation="mother", receives_correspondence="",
                                                    contact_order=1, denied_services=["grades"]))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.denied_services == ["grades"] and not link.receives_correspondence
    event = AuditEvent.objects.get(action="guardian_link_changed")
    assert event.details["before"]["denied_services"] == [] and event.details["after"]["denied_services"] == [
        "grades"]
    assert not policy.can_read_school_data(policy.actor_for(s.mother_b), s.pupil_b, Service.GRADES)


def test_admin_guardians_edit_bad_contact_order_french_error(world, as_user):
    s = world.one
    link = GuardianLink.objects.get(guardian=s.mother_b, pupil=s.pupil_b)
    response = as_user(s.ent_admin).post(admin_url("guardian_link_edit", s.establishment.pk, s.pupil_b.pk, link.pk),
                                         _link_data(relation="mother", contact_order="zéro"))
    assert response.status_code == 400
    assert "Saisissez un nombre entier." in response.content.decode()


def test_admin_guardians_edit_link_of_other_pupil_404(world, as_user):
    s = world.one
    link_a = GuardianLink.objects.get(guardian=s.guardian_a, pupil=s.pupil_a)
    url = admin_url("guardian_link_edit", s.establishment.pk, s.pupil_b.pk, link_a.pk)
    assert as_user(s.ent_admin).get(url).status_code == 404


def test_admin_guardians_remove_audited(world, as_user):
    s = world.one
    link = GuardianLink.objects.get(guardian=s.father_b, pupil=s.pupil_b)
    response = as_user(s.ent_admin).post(admin_url("guardian_link_remove", s.establishment.pk, s.pupil_b.pk,
                                                   link.pk))
    assert response.status_code == 302
    assert not GuardianLink.objects.filter(pk=link.pk).exists()
    event = AuditEvent.objects.get(action="guardian_link_changed")
    assert event.details["change"] == "deleted" and event.details["guardian"] == s.father_b.pk
    assert s.pupil_b.pk not in policy.actor_for(s.father_b).child_ids()


def test_admin_guardians_remove_get_not_allowed(world, as_user):
    s = world.one
    link = GuardianLink.objects.get(guardian=s.father_b, pupil=s.pupil_b)
    url = admin_url("guardian_link_remove", s.establishment.pk, s.pupil_b.pk, link.pk)
    assert as_user(s.ent_admin).get(url).status_code == 405
    assert GuardianLink.objects.filter(pk=link.pk).exists()


def test_admin_guardians_create_new_guardian_from_pupil_page_links_them(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    url = admin_url("person_create", s.establishment.pk) + f"?enfant={s.pupil_b.pk}"
    assert client.get(url).context["form"]["role"].value() == "guardian"
    response = client.post(url, {"first_name": "Marc", "last_name": "Beau-Père", "role": "guardian"})
    link = GuardianLink.objects.get(guardian__last_name="Beau-Père", pupil=s.pupil_b)
    assert response["Location"] == admin_url("guardian_link_edit", s.establishment.pk, s.pupil_b.pk, link.pk)
    assert link.contact_order == 3 and link.relation == "other"
    assert AuditEvent.objects.filter(action="guardian_link_changed", subject=s.pupil_b).exists()


def test_admin_guardians_create_from_pupil_of_other_establishment_404(world, as_user):
    s = world.one
    url = admin_url("person_create", s.establishment.pk) + f"?enfant={world.two.pupil_b.pk}"
    response = as_user(s.ent_admin).post(url, {"first_name": "Marc", "last_name": "Intrus", "role": "guardian"})
    assert response.status_code == 404
    assert not GuardianLink.objects.filter(guardian__last_name="Intrus").exists()


def test_admin_guardians_create_from_non_pupil_rolls_back(world, as_user):
    s = world.one
    url = admin_url("person_create", s.establishment.pk) + f"?enfant={s.teacher_b.pk}"
    response = as_user(s.ent_admin).post(url, {"first_name": "Marc", "last_name": "Orphelin", "role": "guardian"})
    assert response.status_code == 400
    assert "n&#x27;est pas élève" in response.content.decode()
    from preau.accounts.models import User
    assert not User.objects.filter(last_name="Orphelin").exists()
