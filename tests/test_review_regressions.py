"""Regressions found by the code review: hostile input never gives a 5xx, NUL characters answer 400, and the
other defects fixed along the way. Runs on SQLite and on PostgreSQL (which rejects NUL in text)."""

from __future__ import annotations

from django.urls import reverse

HOSTILE = ["", "x" * 5000, "abc", "-1", "2026-02-30", "a\x00b", "99999999999999999999", "c99999999"]
# Every field name of the admin, accounts, annuaire and token forms, plus the GET parameters views read.
FIELDS = [
    "uai", "name", "kind", "address", "postal_code", "city", "period_scheme", "require_staff_2fa", "label", "start",
    "end", "make_current", "code", "level", "mef", "school_year", "classes", "pupils", "short_label", "first_name",
    "last_name", "email", "phone", "birth_date", "ine", "username", "role", "functions", "school_class", "relation",
    "legal_authority", "receives_correspondence", "contact_order", "denied_services", "guardian", "subject",
    "target", "is_main_teacher", "audience", "only_not_activated", "action", "p1-label", "p1-start", "p1-end",
    "p2-label", "p2-start", "p2-end", "p3-label", "p3-start", "p3-end", "format", "next", "establishment", "child",
    "password", "new_password1", "new_password2", "old_password", "title", "text", "confirm", "contact-language",
    "contact-email", "contact-phone", "expires_in_days", "q", "page", "statut", "classe", "annee", "enfant",
]


def test_switchers_post_relative_next_without_slash_redirects_not_500(world, client):
    s = world.one
    client.force_login(s.mother_b)
    response = client.post(reverse("core:switch_child"), {"child": s.pupil_b.pk, "next": "abc"})
    assert response.status_code == 302
    assert response["Location"] == "abc"
    response = client.post(reverse("core:switch_establishment"), {"establishment": "x", "next": "home"})
    assert response.status_code == 302
    assert response["Location"] == "home"  # a relative URL, not resolved as a URL pattern name


def test_switchers_post_external_next_ignored(world, client):
    client.force_login(world.one.mother_b)
    response = client.post(reverse("core:switch_child"), {"child": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_admin_group_create_post_huge_class_id_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:group_create", args=[s.establishment.pk])
    response = client.post(url, {"school_year": s.year.pk, "code": "BIG", "label": "Big", "kind": "other",
                                 "classes": ["99999999999999999999"]})
    assert response.status_code == 400
    assert not s.establishment.groups.filter(code="BIG").exists()


def test_admin_group_members_post_huge_pupil_id_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:group_detail", args=[s.establishment.pk, s.group.pk])
    response = client.post(url, {"pupils": [str(s.pupil_a.pk), "99999999999999999999"]})
    assert response.status_code == 400
    assert list(s.group.members.values_list("pupil_id", flat=True)) == [s.pupil_a.pk]

