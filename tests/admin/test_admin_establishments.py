"""Establishments: list, create (global admin only), edit."""

import pytest

from preau.audit.models import AuditEvent
from preau.directory.models import Establishment
from preau.directory.testing import EstablishmentFactory, make_ent_admin

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def _data(**overrides):
    data = {"uai": "0690099Z", "name": "Lycée Lumière", "kind": "lycee", "address": "50 cours Gambetta",
            "postal_code": "69007", "city": "Lyon", "period_scheme": "semesters"}
    data.update(overrides)
    return data


def test_admin_establishments_create_global_admin_success(world, as_user):
    response = as_user(world.global_admin).post(admin_url("establishment_create"), _data(uai="0690099z"))
    created = Establishment.objects.get(uai="0690099Z")
    assert response.status_code == 302
    assert response["Location"] == admin_url("establishment_detail", created.pk)
    assert created.period_scheme == "semesters" and created.kind == "lycee"


def test_admin_establishments_create_ent_admin_403(world, as_user):
    client = as_user(world.one.ent_admin)
    assert client.get(admin_url("establishment_create")).status_code == 403
    assert client.post(admin_url("establishment_create"), _data()).status_code == 403
    assert not Establishment.objects.filter(uai="0690099Z").exists()


def test_admin_establishments_create_duplicate_uai_french_error(world, as_user):
    response = as_user(world.global_admin).post(admin_url("establishment_create"), _data(uai="0690001A"))
    assert response.status_code == 400
    assert "Un établissement porte déjà ce code UAI." in response.content.decode()
    assert Establishment.objects.count() == 2


def test_admin_establishments_create_malformed_uai_french_error(world, as_user):
    response = as_user(world.global_admin).post(admin_url("establishment_create"), _data(uai="12AB"))
    assert response.status_code == 400
    assert "7 chiffres suivis d&#x27;une lettre" in response.content.decode()


def test_admin_establishments_create_missing_name_french_error(world, as_user):
    response = as_user(world.global_admin).post(admin_url("establishment_create"), _data(name=""))
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in response.content.decode()
    # The error is linked to its field for assistive technologies.
    assert 'aria-describedby="id_name_error"' in response.content.decode()


def test_admin_establishments_edit_ent_admin_success(world, as_user):
    establishment = world.one.establishment
    data = _data(uai=establishment.uai, name="Collège Jean Moulin (Lyon 8e)", kind="college",
                 require_staff_2fa="on", period_scheme="trimesters")
    response = as_user(world.one.ent_admin).post(admin_url("establishment_edit", establishment.pk), data)
    assert response.status_code == 302
    establishment.refresh_from_db()
    assert establishment.name == "Collège Jean Moulin (Lyon 8e)" and establishment.require_staff_2fa
    event = AuditEvent.objects.get(target="directory.establishment")
    assert event.actor == world.one.ent_admin and "require_staff_2fa" in event.details["fields"]


def test_admin_establishments_edit_duplicate_uai_unchanged(world, as_user):
    establishment = world.one.establishment
    response = as_user(world.one.ent_admin).post(admin_url("establishment_edit", establishment.pk),
                                                 _data(uai=world.two.establishment.uai))
    assert response.status_code == 400
    assert "Un établissement porte déjà ce code UAI." in response.content.decode()
    establishment.refresh_from_db()
    assert establishment.uai == "0690001A" and establishment.name == "Collège Jean Moulin"


def test_admin_establishments_edit_ent_admin_other_establishment_404(world, as_user):
    response = as_user(world.one.ent_admin).post(admin_url("establishment_edit", world.two.establishment.pk),
                                                 _data(uai=world.two.establishment.uai))
    assert response.status_code == 404
    world.two.establishment.refresh_from_db()
    assert world.two.establishment.name == "Collège Victor Hugo"


def test_admin_establishments_list_ent_admin_sees_own_only(world, as_user):
    admin = world.one.ent_admin
    body = as_user(admin).get(admin_url("establishment_list")).content.decode()
    assert "Collège Jean Moulin" in body and "Collège Victor Hugo" not in body


def test_admin_establishments_list_ent_admin_of_two_sees_both(world, as_user):
    admin = make_ent_admin(world.one.establishment)
    from preau.directory.testing import add_membership
    add_membership(admin, world.two.establishment, "ent_admin")
    body = as_user(admin).get(admin_url("establishment_list")).content.decode()
    assert "Collège Jean Moulin" in body and "Collège Victor Hugo" in body


def test_admin_establishments_list_search_by_uai_and_name(world, as_user):
    client = as_user(world.global_admin)
    body = client.get(admin_url("establishment_list"), {"q": "0690002"}).content.decode()
    assert "Collège Victor Hugo" in body and "Collège Jean Moulin" not in body
    body = client.get(admin_url("establishment_list"), {"q": "moulin"}).content.decode()
    assert "Collège Jean Moulin" in body and "Collège Victor Hugo" not in body


def test_admin_establishments_list_global_admin_paginated_bounded_queries(world, as_user,
                                                                           django_assert_max_num_queries):
    EstablishmentFactory.create_batch(120)
    client = as_user(world.global_admin)
    with django_assert_max_num_queries(15):
        response = client.get(admin_url("establishment_list"))
    assert response.status_code == 200
    assert response.context["page"].paginator.num_pages == 3
    assert len(response.context["page"].object_list) == 50
    page3 = client.get(admin_url("establishment_list"), {"page": 3})
    assert len(page3.context["page"].object_list) == 22
    assert client.get(admin_url("establishment_list"), {"page": "abc"}).status_code == 200


def test_admin_establishments_deactivate_global_admin_only(world, as_user):
    e = world.two.establishment
    assert as_user(world.two.ent_admin).post(admin_url("establishment_deactivate", e.pk)).status_code == 403
    e.refresh_from_db()
    assert e.is_active
    client = as_user(world.global_admin)
    assert client.post(admin_url("establishment_deactivate", e.pk)).status_code == 302
    e.refresh_from_db()
    assert not e.is_active
    # Its people lose their roles there (the policy ignores inactive establishments).
    from preau.access import policy
    assert policy.actor_for(world.two.teacher_b).establishment_ids() == set()
    client.post(admin_url("establishment_reactivate", e.pk))
    e.refresh_from_db()
    assert e.is_active
