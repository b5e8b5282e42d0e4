"""Every persona of both establishments against a class event: the event page, the API detail, the edit page and
the API update, with the same answer through HTML and JSON (404 for the unseen and for those who may not manage)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from preau.directory.models import StaffFunction
from preau.directory.testing import make_staff

from .fixtures_agenda import add_event

pytestmark = pytest.mark.django_db

PERSONAS = ["pupil_a", "pupil_b", "pupil_b2", "mother_b", "father_b", "guardian_a", "teacher_a", "teacher_b",
            "group_teacher", "head", "cpe", "secretary", "nurse", "ent_admin", "vie_scolaire"]
READERS = {"pupil_b", "pupil_b2", "mother_b", "father_b", "teacher_b", "head", "cpe", "secretary", "nurse",
           "ent_admin", "vie_scolaire"}
MANAGERS = {"teacher_b", "head", "cpe", "secretary", "ent_admin", "vie_scolaire"}


def person(world, school, name):
    if name == "vie_scolaire":
        key = f"vs_{school.establishment.pk}"
        if key not in world.extras:
            world.extras[key] = make_staff(school.establishment, StaffFunction.VIE_SCOLAIRE,
                                           username=f"vs{school.establishment.pk}")
        return world.extras[key]
    return getattr(school, name)


@pytest.fixture
def trip(world):
    one = world.one
    return add_event(one.teacher_b, one, title="Sortie 5e B", classes=[one.class_b])


@pytest.mark.parametrize("name", PERSONAS)
def test_matrix_one_class_event(world, trip, name):
    for school, same in ((world.one, True), (world.two, False)):
        user = person(world, school, name)
        client = Client()
        client.force_login(user)
        reads = same and name in READERS
        manages = same and name in MANAGERS
        assert client.get(f"/agenda/{trip.pk}/").status_code == (200 if reads else 404), (name, same)
        assert client.get(f"/api/v1/agenda/{trip.pk}").status_code == (200 if reads else 404), (name, same)
        if reads:
            assert client.get(f"/api/v1/agenda/{trip.pk}").json()["can_manage"] is manages
        assert client.get(f"/agenda/{trip.pk}/modifier/").status_code == (200 if manages else 404), (name, same)
        body = {"title": "Sortie 5e B", "starts_at": trip.starts_at.isoformat(), "classes": [world.one.class_b.pk]}
        update = client.put(f"/api/v1/agenda/{trip.pk}", json.dumps(body), content_type="application/json")
        assert update.status_code == (200 if manages else 404), (name, same, update.content)


def test_matrix_global_admin_reads_and_manages(world, trip):
    client = Client()
    client.force_login(world.global_admin)
    assert client.get(f"/agenda/{trip.pk}/").status_code == 200
    assert client.get(f"/agenda/{trip.pk}/modifier/").status_code == 200
