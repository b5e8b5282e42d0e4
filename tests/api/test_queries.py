"""A handful of queries per request, whatever the number of rows (bigger world: 4 classes of 30, families)."""

import pytest
from django.test import Client

from preau.directory.models import GroupMembership, TeachingGroup
from preau.directory.testing import SchoolClassFactory, SubjectFactory, make_guardian, make_pupil, make_teacher

from .conftest import API, make_token

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8
LIST_URLS = ["/me", "/establishments", "/classes", "/groups", "/people?limit=200", "/people?role=pupil&q=a",
             "/subjects", "/tokens"]


@pytest.fixture
def big_world(world):
    s = world.one
    subjects = [SubjectFactory(establishment=s.establishment) for _ in range(8)]
    for index in range(4):
        school_class = SchoolClassFactory(school_year=s.year, code=f"4{index}", label=f"4e {index}", level="4e")
        group = TeachingGroup.objects.create(school_year=s.year, establishment=s.establishment, code=f"G{index}",
                                             label=f"Groupe {index}")
        group.classes.set([school_class, s.class_a])
        for _ in range(30):
            pupil = make_pupil(school_class)
            make_guardian(s.establishment, pupil)
            make_guardian(s.establishment, pupil, relation="father")
            GroupMembership.objects.create(pupil=pupil, group=group)
        for subject in subjects[:4]:
            make_teacher(s.establishment, subject, school_class, group)
    world.extras["big_class"] = school_class
    return world


def personas(w):
    s = w.one
    return {"pupil": s.pupil_b, "guardian": s.mother_b, "teacher": s.teacher_b, "head": s.head,
            "ent_admin": s.ent_admin, "global_admin": w.global_admin}


@pytest.mark.parametrize("persona", ["pupil", "guardian", "teacher", "head", "ent_admin", "global_admin"])
def test_api_lists_have_bounded_queries(big_world, as_user, django_assert_max_num_queries, persona):
    client = as_user(personas(big_world)[persona])
    client.get(f"{API}/me")  # warm the session, as a real client would be
    for url in LIST_URLS:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(f"{API}{url}")
        assert response.status_code == 200, url


@pytest.mark.parametrize("persona", ["head", "global_admin", "teacher"])
def test_api_details_have_bounded_queries(big_world, as_user, django_assert_max_num_queries, persona):
    client = as_user(personas(big_world)[persona])
    big = big_world.extras["big_class"]
    people = client.get(f"{API}/people?limit=200").json()
    assert people["count"] > 200
    client.get(f"{API}/me")
    for url in [f"/classes/{big.pk}", f"/classes/{big.pk}/members", f"/people/{big_world.one.pupil_b.pk}",
                f"/establishments/{big_world.one.establishment.pk}", f"/groups/{big_world.one.group.pk}"]:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(f"{API}{url}")
        assert response.status_code == 200, url
    members = client.get(f"{API}/classes/{big.pk}/members").json()
    assert len(members["pupils"]) == 30 and len(members["teachers"]) == 4


def test_api_token_requests_have_bounded_queries(big_world, django_assert_max_num_queries):
    _token, clear = make_token(big_world.one.head)
    client = Client(headers={"Authorization": f"Bearer {clear}"})
    client.get(f"{API}/me")
    for url in LIST_URLS:
        with django_assert_max_num_queries(MAX_QUERIES):
            assert client.get(f"{API}{url}").status_code == 200
