"""GET /me: identity, roles per establishment, children for guardians, current school year."""

import pytest
from django.test import Client

from preau.directory.models import Role
from preau.directory.testing import add_membership, make_guardian, make_pupil

from .conftest import API, make_token

pytestmark = pytest.mark.django_db


def me(as_user, user):
    response = as_user(user).get(f"{API}/me")
    assert response.status_code == 200
    return response.json()


def test_api_me_pupil(world, as_user):
    s = world.one
    body = me(as_user, s.pupil_b)
    assert (body["first_name"], body["last_name"]) == ("Léa", "Martin")
    assert body["roles"] == [{"establishment_id": s.establishment.pk, "uai": "0690001A",
                              "establishment_name": "Collège Jean Moulin", "role": "pupil", "role_label": "Élève",
                              "functions": []}]
    assert body["children"] == []
    assert body["school_year"]["label"] == "2026-2027" and body["school_year"]["is_current"] is True
    assert body["current_establishment_id"] == s.establishment.pk
    assert not body["is_global_admin"]


def test_api_me_guardian_lists_children_with_class(world, as_user):
    s = world.one
    body = me(as_user, s.mother_b)
    assert body["children"] == [{
        "id": s.pupil_b.pk, "first_name": "Léa", "last_name": "Martin", "relation": "mother",
        "school_class": {"id": s.class_b.pk, "code": s.class_b.code, "label": "5e B"},
        "establishment_id": s.establishment.pk, "denied_services": [],
    }]


def test_api_me_restricted_guardian_sees_denied_services(world, as_user):
    body = me(as_user, world.one.father_b)
    assert body["children"][0]["id"] == world.one.pupil_b.pk
    assert body["children"][0]["denied_services"] == ["grades"]


def test_api_me_guardian_of_two_children_in_two_establishments(world, as_user):
    s, t = world.one, world.two
    guardian = make_guardian(s.establishment, s.pupil_a)
    from preau.directory.models import GuardianLink

    add_membership(guardian, t.establishment, Role.GUARDIAN)
    GuardianLink.objects.create(guardian=guardian, pupil=t.pupil_b, contact_order=2)
    body = me(as_user, guardian)
    assert [(c["id"], c["school_class"]["id"]) for c in body["children"]] == [
        (s.pupil_a.pk, s.class_a.pk), (t.pupil_b.pk, t.class_b.pk)]
    assert {e["id"] for e in body["establishments"]} == {s.establishment.pk, t.establishment.pk}
    assert all(e["school_year"]["label"] == "2026-2027" for e in body["establishments"])


def test_api_me_child_without_current_class(world, as_user):
    s = world.one
    pupil = make_pupil(s.class_a)
    pupil.class_enrolments.all().delete()
    guardian = make_guardian(s.establishment, pupil)
    body = me(as_user, guardian)
    assert body["children"][0]["school_class"] is None and body["children"][0]["establishment_id"] is None


def test_api_me_head_has_functions(world, as_user):
    body = me(as_user, world.one.head)
    assert body["roles"][0]["role"] == "staff" and body["roles"][0]["functions"] == ["head"]


def test_api_me_teacher_in_two_establishments(world, as_user):
    s = world.one
    add_membership(s.teacher_a, world.two.establishment, Role.TEACHER)
    body = me(as_user, s.teacher_a)
    assert sorted(r["uai"] for r in body["roles"]) == ["0690001A", "0690002B"]


def test_api_me_global_admin_without_membership(world, as_user):
    body = me(as_user, world.global_admin)
    assert body["is_global_admin"] and body["roles"] == [] and body["school_year"] is None
    assert body["current_establishment_id"] is None


def test_api_me_ent_admin(world, as_user):
    body = me(as_user, world.one.ent_admin)
    assert [r["role"] for r in body["roles"]] == ["ent_admin"]


def test_api_me_with_token(world):
    _token, clear = make_token(world.one.cpe)
    body = Client().get(f"{API}/me", headers={"Authorization": f"Bearer {clear}"}).json()
    assert body["auth"] == "token" and body["roles"][0]["functions"] == ["cpe"]
