"""The access matrix through the HTTP layer: every role against every kind of target, on both faces.

For each persona of the world (two establishments, two classes each, several families), every person and every
class of the world is requested through the HTML directory and the JSON API. Both faces must agree with each
other and with the policy, and the canonical cases (own, own child, other family, other class, other
establishment) must give the documented answer: 200, or 404 exactly like a missing object; 403 for screens a
role can never use; login/401 for anonymous visitors.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import SchoolClass

pytestmark = pytest.mark.django_db

PERSONAS = {
    "pupil": lambda w: w.one.pupil_b,
    "guardian": lambda w: w.one.mother_b,
    "restricted_guardian": lambda w: w.one.father_b,
    "teacher": lambda w: w.one.teacher_b,
    "group_teacher": lambda w: w.one.group_teacher,
    "head": lambda w: w.one.head,
    "cpe": lambda w: w.one.cpe,
    "secretary": lambda w: w.one.secretary,
    "nurse": lambda w: w.one.nurse,
    "ent_admin": lambda w: w.one.ent_admin,
    "global_admin": lambda w: w.global_admin,
}

# Canonical person targets, seen from each persona: "own" is the pupil herself (for the pupil) or the persona's
# child (for guardians) or the persona's own pupil (for Léa's teacher).
TARGETS = {
    "own": lambda w: w.one.pupil_b,
    "other_family_same_class": lambda w: w.one.pupil_b2,
    "other_class": lambda w: w.one.pupil_a,
    "other_family_guardian": lambda w: w.one.guardian_a,
    "other_establishment_pupil": lambda w: w.two.pupil_b,
    "other_establishment_guardian": lambda w: w.two.mother_b,
}
Y, N = 200, 404
EXPECTED_PERSON_CARD = {
    #                     own other_fam other_class other_guard other_est_pupil other_est_guardian
    "pupil":               (Y, Y, N, N, N, N),
    "guardian":            (Y, N, N, N, N, N),
    "restricted_guardian": (Y, N, N, N, N, N),
    "teacher":             (Y, Y, Y, Y, N, N),
    "group_teacher":       (Y, Y, Y, Y, N, N),
    "head":                (Y, Y, Y, Y, N, N),
    "cpe":                 (Y, Y, Y, Y, N, N),
    "secretary":           (Y, Y, Y, Y, N, N),
    "nurse":               (Y, Y, Y, Y, N, N),
    "ent_admin":           (Y, Y, Y, Y, N, N),
    "global_admin":        (Y, Y, Y, Y, Y, Y),
}
CASES = [(persona, target, status) for persona, statuses in EXPECTED_PERSON_CARD.items()
         for target, status in zip(TARGETS, statuses, strict=True)]


def without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("persona", "target", "status"), CASES)
def test_person_card_matrix_html_and_api(world, persona, target, status):
    client = client_for(PERSONAS[persona](world))
    person = TARGETS[target](world)
    html = client.get(reverse("directory:person_card", args=[person.pk]))
    api = client.get(f"/api/v1/people/{person.pk}")
    assert (html.status_code, api.status_code) == (status, status)
    if status == 200:
        assert person.last_name in html.content.decode()
        assert api.json()["id"] == person.pk


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_person_answers_the_same_on_both_faces_as_the_policy(world, persona):
    """Generated over every person of the world: no face shows someone the policy hides, or hides what it shows."""
    user = PERSONAS[persona](world)
    client = client_for(user)
    visible = set(policy.people_visible_to(policy.actor_for(user)).values_list("pk", flat=True))
    for person in User.objects.all():
        expected = 200 if person.pk in visible else 404
        html = client.get(reverse("directory:person_card", args=[person.pk])).status_code
        api = client.get(f"/api/v1/people/{person.pk}").status_code
        assert (html, api) == (expected, expected), f"{persona} → {person.username}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_class_answers_the_same_on_both_faces_as_the_policy(world, persona):
    user = PERSONAS[persona](world)
    client = client_for(user)
    actor = policy.actor_for(user)
    visible = set(policy.classes_visible_to(actor).values_list("pk", flat=True))
    for school_class in SchoolClass.objects.all():
        expected = 200 if school_class.pk in visible else 404
        html = client.get(reverse("directory:class_detail", args=[school_class.pk])).status_code
        api = client.get(f"/api/v1/classes/{school_class.pk}").status_code
        assert (html, api) == (expected, expected), f"{persona} → {school_class.code}"
        if expected == 200:
            members_visible = policy.can_list_class_members(actor, school_class)
            members = client.get(f"/api/v1/classes/{school_class.pk}/members").status_code
            assert members == (200 if members_visible else 404), f"{persona} → members of {school_class.code}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_missing_objects_answer_exactly_like_forbidden_ones(world, persona):
    client = client_for(PERSONAS[persona](world))
    missing = User.objects.order_by("-pk").first().pk + 1000
    forbidden_html = client.get(reverse("directory:person_card", args=[world.two.pupil_b.pk]))
    missing_html = client.get(reverse("directory:person_card", args=[missing]))
    forbidden_api = client.get(f"/api/v1/people/{world.two.pupil_b.pk}")
    missing_api = client.get(f"/api/v1/people/{missing}")
    if persona == "global_admin":
        assert forbidden_html.status_code == 200
        return
    assert forbidden_html.status_code == missing_html.status_code == 404
    assert without_csrf(forbidden_html.content) == without_csrf(missing_html.content)
    assert forbidden_api.status_code == missing_api.status_code == 404
    assert forbidden_api.json() == missing_api.json()


ADMIN_EXPECTED = {
    # persona: status of the administration's person page, for a pupil of establishment one / of establishment two
    "pupil": (403, 403), "guardian": (403, 403), "restricted_guardian": (403, 403), "teacher": (403, 403),
    "group_teacher": (403, 403), "head": (403, 403), "cpe": (403, 403), "secretary": (403, 403),
    "nurse": (403, 403), "ent_admin": (200, 404), "global_admin": (200, 200),
}


@pytest.mark.parametrize(("persona", "statuses"), ADMIN_EXPECTED.items())
def test_administration_person_page_matrix(world, persona, statuses):
    client = client_for(PERSONAS[persona](world))
    got = []
    for school in (world.one, world.two):
        url = reverse("directory_admin:person_detail", args=[school.establishment.pk, school.pupil_b.pk])
        got.append(client.get(url).status_code)
    assert tuple(got) == statuses


def test_ent_admin_cannot_reach_other_establishment_person_through_own_establishment_url(world):
    client = client_for(world.one.ent_admin)
    url = reverse("directory_admin:person_detail", args=[world.one.establishment.pk, world.two.pupil_b.pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/", "/annuaire/", "/admin/", "/compte/profil/"])
def test_anonymous_pages_redirect_to_login(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("url", ["/api/v1/me", "/api/v1/people", "/api/v1/classes", "/api/v1/establishments"])
def test_anonymous_api_answers_401_json(db, url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response.json()["detail"]
