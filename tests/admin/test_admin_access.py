"""Who reaches the administration: the cross-role, cross-establishment battery over every admin URL."""

import re

import pytest
from django.urls import reverse

from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, Membership

from .conftest import admin_url, school_urls

pytestmark = pytest.mark.django_db

NON_ADMINS = ["pupil_b", "mother_b", "teacher_b", "head", "cpe", "secretary"]


def _call(client, method, url):
    return client.get(url) if method == "get" else client.post(url, {})


def test_admin_home_anonymous_redirects_to_login(client):
    response = client.get(admin_url("home"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_admin_home_non_admin_403(world, as_user, persona):
    client = as_user(getattr(world.one, persona))
    assert client.get(admin_url("home")).status_code == 403
    assert client.get(admin_url("establishment_list")).status_code == 403


@pytest.mark.parametrize("persona", ["pupil_b", "mother_b", "teacher_b", "head"])
def test_admin_every_screen_non_admin_403_and_nothing_written(world, as_user, persona):
    client = as_user(getattr(world.one, persona))
    links_before = GuardianLink.objects.count()
    memberships_before = Membership.objects.count()
    for method, url in school_urls(world.one):
        assert _call(client, method, url).status_code == 403, url
    assert GuardianLink.objects.count() == links_before
    assert Membership.objects.count() == memberships_before
    assert not AuditEvent.objects.exists()


def test_admin_every_screen_ent_admin_other_establishment_404(world, as_user):
    client = as_user(world.two.ent_admin)
    links_before = GuardianLink.objects.count()
    for method, url in school_urls(world.one):
        assert _call(client, method, url).status_code == 404, url
    assert GuardianLink.objects.count() == links_before
    assert not AuditEvent.objects.exists()


def test_admin_objects_of_other_establishment_under_own_url_404(world, as_user):
    """Mixing one's own establishment id with another establishment's object ids answers 404."""
    client = as_user(world.one.ent_admin)
    e = world.one.establishment.pk
    other = world.two
    link = GuardianLink.objects.get(guardian=other.mother_b, pupil=other.pupil_b)
    for url in [admin_url("class_detail", e, other.class_b.pk), admin_url("group_detail", e, other.group.pk),
                admin_url("person_detail", e, other.pupil_b.pk), admin_url("year_detail", e, other.year.pk),
                admin_url("guardian_link_edit", e, world.one.pupil_b.pk, link.pk),
                admin_url("person_detail", e, world.global_admin.pk)]:
        assert client.get(url).status_code == 404, url


def test_admin_get_screens_ent_admin_own_establishment_200(world, as_user):
    client = as_user(world.one.ent_admin)
    for method, url in school_urls(world.one):
        if method == "get":
            response = client.get(url)
            assert response.status_code == 200, url
            body = response.content.decode()
            assert world.two.establishment.name not in body, url
            # The strict CSP forbids inline scripts and styles (scripts come from files: <script src>).
            assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", body)), url
            assert " style=" not in body, url
            # One page title, every table header scoped.
            assert body.count("<h1") == 1, url
            assert body.count("<th>") == 0, url


def test_admin_get_screens_global_admin_any_establishment_200(world, as_user):
    client = as_user(world.global_admin)
    for method, url in school_urls(world.two):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_admin_home_ent_admin_lists_own_establishment_sections(world, as_user):
    response = as_user(world.one.ent_admin).get(admin_url("home"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Collège Jean Moulin" in body and "Collège Victor Hugo" not in body
    for name in ["person_list", "class_list", "group_list", "year_list", "subject_list"]:
        assert admin_url(name, world.one.establishment.pk) in body


def test_admin_home_tile_shown_to_admins_only(world, as_user):
    assert admin_url("home") in as_user(world.one.ent_admin).get("/").content.decode()
    assert admin_url("home") not in as_user(world.one.teacher_b).get("/").content.decode()
