"""Charters of use: publication by ENT admins, acceptance on login and again on each new version."""

import pytest
from django.core.exceptions import PermissionDenied

from preau.accounts import services
from preau.accounts.models import Charter, CharterAcceptance
from preau.audit.models import AuditEvent

from .helpers import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    def _publish(world, text_="Règle 1 : respecter les autres.", school=None):
        school = school or world.one
        with django_capture_on_commit_callbacks(execute=True):
            return services.charter_publish(actor=school.ent_admin, establishment=school.establishment, text=text_)

    return _publish


def test_charter_pending_pupil_redirected_to_accept_then_back(client, world, login, publish):
    charter = publish(world)
    login(world.one.pupil_b)
    response = client.get("/annuaire/")
    assert response.status_code == 302
    assert response["Location"] == "/compte/charte/?next=%2Fannuaire%2F"
    page = client.get(response["Location"])
    assert "Règle 1 : respecter les autres." in text(page)
    # Submitting without ticking the box is refused with a French message.
    refused = client.post("/compte/charte/?next=/annuaire/", {"next": "/annuaire/"})
    assert "Vous devez accepter la charte" in text(refused)
    accepted = client.post("/compte/charte/", {"next": "/annuaire/", f"charter_{charter.pk}": "on"})
    assert accepted["Location"] == "/annuaire/"
    assert CharterAcceptance.objects.filter(user=world.one.pupil_b, charter=charter).exists()
    assert AuditEvent.objects.filter(action="charter_accepted", subject=world.one.pupil_b,
                                     establishment_id=world.one.establishment.pk).exists()
    assert client.get("/").status_code == 200


def test_charter_new_version_requires_acceptance_again(client, world, login, publish):
    first = publish(world)
    login(world.one.teacher_a)
    client.post("/compte/charte/", {f"charter_{first.pk}": "on"})
    assert client.get("/").status_code == 200
    second = publish(world, "Règle 1 bis : version révisée.")
    assert second.version == 2
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/compte/charte/")
    assert "version révisée" in text(client.get("/compte/charte/"))
    client.post("/compte/charte/", {f"charter_{second.pk}": "on"})
    assert client.get("/").status_code == 200


def test_charter_other_establishment_does_not_concern_people_here(client, world, login, publish):
    publish(world, school=world.two)
    login(world.one.pupil_b)
    assert client.get("/").status_code == 200


def test_charter_person_in_two_establishments_accepts_both(client, world, login, publish):
    from preau.directory.testing import add_membership

    teacher = world.one.teacher_a
    add_membership(teacher, world.two.establishment, "teacher")
    c1, c2 = publish(world), publish(world, school=world.two)
    login(teacher)
    page = text(client.get("/compte/charte/"))
    assert "Collège Jean Moulin" in page and "Collège Victor Hugo" in page
    client.post("/compte/charte/", {f"charter_{c1.pk}": "on"})  # only one ticked: refused
    assert not CharterAcceptance.objects.filter(user=teacher).exists()
    client.post("/compte/charte/", {f"charter_{c1.pk}": "on", f"charter_{c2.pk}": "on"})
    assert CharterAcceptance.objects.filter(user=teacher).count() == 2


def test_charter_pending_api_request_gets_json_403(client, world, login, publish):
    publish(world)
    login(world.one.pupil_b)
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    body = response.json()
    assert body["pending_step"] == "charter"
    assert "charte" in body["detail"]


def test_charter_pending_logout_and_static_still_reachable(client, world, login, publish):
    publish(world)
    login(world.one.pupil_b)
    assert client.get("/healthz").status_code == 200
    assert client.post("/compte/deconnexion/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_charter_publish_admin_page_ent_admin(client, world, login):
    login(world.one.ent_admin)
    listing = client.get("/compte/administration/chartes/")
    assert listing.status_code == 200
    assert "Collège Jean Moulin" in text(listing) and "Collège Victor Hugo" not in text(listing)
    url = f"/compte/administration/chartes/{world.one.establishment.pk}/"
    refused = client.post(url, {"text": "Texte", "title": ""})
    assert "Cochez cette case" in text(refused)
    assert not Charter.objects.exists()
    response = client.post(url, {"text": "Article premier : bienveillance.", "title": "", "confirm": "on"})
    assert response.status_code == 302
    charter = Charter.objects.get()
    assert (charter.version, charter.title, charter.published_by) == (1, "Charte d'utilisation de l'ENT",
                                                                       world.one.ent_admin)
    assert AuditEvent.objects.filter(action="charter_published", actor=world.one.ent_admin).exists()
    # The admin, too, must now accept it before going on.
    assert client.get("/").status_code == 302


def test_charter_admin_page_other_establishment_404(client, world, login):
    login(world.one.ent_admin)
    assert client.get(f"/compte/administration/chartes/{world.two.establishment.pk}/").status_code == 404
    assert client.get("/compte/administration/chartes/999999/").status_code == 404


def test_charter_admin_page_teacher_403(client, world, login):
    login(world.one.teacher_a)
    assert client.get("/compte/administration/chartes/").status_code == 403
    assert client.get(f"/compte/administration/chartes/{world.one.establishment.pk}/").status_code == 403


def test_charter_publish_service_other_establishment_permission_denied(world):
    with pytest.raises(PermissionDenied):
        services.charter_publish(actor=world.two.ent_admin, establishment=world.one.establishment, text="x")


def test_charter_detail_readable_by_member_not_by_other_school(client, world, login, publish):
    charter = publish(world)
    login(world.one.pupil_b)
    client.post("/compte/charte/", {f"charter_{charter.pk}": "on"})
    assert client.get(f"/compte/chartes/{charter.pk}/").status_code == 200
    profile = text(client.get("/compte/profil/"))
    assert "Chartes acceptées" in profile and f"/compte/chartes/{charter.pk}/" in profile
    client.post("/compte/deconnexion/")
    login(world.two.pupil_b)
    assert client.get(f"/compte/chartes/{charter.pk}/").status_code == 404


def test_charter_state_remembered_in_session_no_queries_after_first_check(client, world, login,
                                                                         django_assert_max_num_queries, publish):
    publish(world)
    user = world.one.pupil_b
    login(user)
    client.post("/compte/charte/", {f"charter_{Charter.objects.get().pk}": "on"})
    client.get("/compte/profil/")  # computes and remembers "nothing pending"
    from preau.accounts.middleware import current_step

    request = client.get("/compte/profil/").wsgi_request
    with django_assert_max_num_queries(0):
        assert current_step(request) is None


def test_account_state_first_check_costs_at_most_three_small_queries(client, world, login, publish,
                                                                     django_assert_max_num_queries):
    from preau.accounts.middleware import current_step

    publish(world)
    login(world.one.teacher_a)
    request = client.get("/compte/charte/").wsgi_request  # a step page: the middleware checks nothing
    request.session.pop("preau_account_state", None)
    with django_assert_max_num_queries(3):
        assert current_step(request) == "charter"
