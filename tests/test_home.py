"""The home dashboard: only existing services, and where the person stands this year, in a few queries."""

import pytest
from django.urls import reverse

from preau.directory.models import TeachingAssignment

pytestmark = pytest.mark.django_db


def test_home_pupil_sees_own_class_and_main_teacher(world, client):
    s = world.one
    TeachingAssignment.objects.filter(teacher=s.teacher_b).update(is_main_teacher=True)
    client.force_login(s.pupil_b)
    page = client.get("/").content.decode()
    assert "Ma classe" in page and "5e B" in page
    assert s.teacher_b.last_name in page
    assert "Administration" not in page


def test_home_guardian_sees_current_child_and_switches(world, client):
    s = world.one
    from preau.directory.models import GuardianLink

    GuardianLink.objects.create(guardian=s.mother_b, pupil=s.pupil_a, relation="mother", contact_order=2)
    client.force_login(s.mother_b)
    page = client.get("/").content.decode()
    assert f"L&#x27;espace de {s.pupil_b.first_name}" in page or f"L'espace de {s.pupil_b.first_name}" in page
    assert 'data-testid="child-switcher"' in page
    client.post(reverse("core:switch_child"), {"child": s.pupil_a.pk, "next": "/"})
    page = client.get("/").content.decode()
    assert "5e A" in page and s.pupil_a.first_name in page


def test_home_guardian_cannot_switch_to_someone_elses_child(world, client):
    s = world.one
    client.force_login(s.mother_b)
    client.post(reverse("core:switch_child"), {"child": s.pupil_a.pk, "next": "/"})
    page = client.get("/").content.decode()
    assert s.pupil_a.full_name not in page


def test_home_teacher_lists_taught_classes_and_groups(world, client):
    s = world.one
    client.force_login(s.group_teacher)
    page = client.get("/").content.decode()
    assert "Mes classes et groupes" in page and "Latin 5e" in page


def test_home_ent_admin_sees_administration_summary_and_tile(world, client):
    client.force_login(world.one.ent_admin)
    page = client.get("/").content.decode()
    assert "Administration de l&#x27;établissement" in page or "Administration de l'établissement" in page
    assert reverse("directory_admin:home") in page


def test_home_lists_only_existing_services(world, client):
    client.force_login(world.one.pupil_b)
    page = client.get("/").content.decode()
    assert reverse("directory:home") in page and reverse("accounts:profile") in page
    assert reverse("directory_admin:home") not in page


def test_home_establishment_switcher_for_people_in_two_establishments(world, client):
    from preau.directory.testing import add_membership

    s, other = world.one, world.two
    add_membership(s.teacher_a, other.establishment, "teacher")
    client.force_login(s.teacher_a)
    page = client.get("/").content.decode()
    assert 'id="switch-establishment"' in page
    client.post(reverse("core:switch_establishment"), {"establishment": other.establishment.pk, "next": "/"})
    assert other.establishment.name in client.get("/").content.decode()
    # An establishment the person does not belong to is ignored.
    client.post(reverse("core:switch_establishment"), {"establishment": 999999, "next": "/"})
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("persona", ["pupil_b", "mother_b", "teacher_b", "head", "ent_admin"])
def test_home_query_count_is_bounded(world, client, django_assert_max_num_queries, persona):
    client.force_login(getattr(world.one, persona))
    client.get("/")  # warm the session's account-state cache
    # +1: the latest news (news/templatetags/news_tags.py latest_news, one query whatever the audience).
    with django_assert_max_num_queries(7):
        assert client.get("/").status_code == 200
