"""Groups: kinds, classes spanned, pupils; list, create, edit, delete when empty."""

import pytest

from preau.directory.models import GroupMembership, TeachingGroup

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def test_admin_groups_create_spanning_classes(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("group_create", s.establishment.pk), {
        "school_year": s.year.pk, "code": "ALL2", "label": "Allemand LV2", "kind": "language",
        "classes": [s.class_a.pk, s.class_b.pk]})
    group = TeachingGroup.objects.get(code="ALL2")
    assert response.status_code == 302
    assert set(group.classes.all()) == {s.class_a, s.class_b} and group.kind == "language"


def test_admin_groups_create_class_of_other_establishment_rejected(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("group_create", s.establishment.pk), {
        "school_year": s.year.pk, "code": "ALL2", "label": "Allemand", "kind": "language",
        "classes": [world.two.class_a.pk]})
    assert response.status_code == 400
    assert not TeachingGroup.objects.filter(code="ALL2").exists()


def test_admin_groups_create_duplicate_code_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("group_create", s.establishment.pk), {
        "school_year": s.year.pk, "code": s.group.code, "label": "Latin bis", "kind": "option"})
    assert response.status_code == 400
    assert "Un groupe porte déjà ce code pour cette année scolaire." in response.content.decode()


def test_admin_groups_edit_success(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("group_edit", s.establishment.pk, s.group.pk), {
        "code": s.group.code, "label": "Latin (5e)", "kind": "option", "classes": [s.class_a.pk]})
    assert response.status_code == 302
    s.group.refresh_from_db()
    assert s.group.label == "Latin (5e)" and list(s.group.classes.all()) == [s.class_a]


def test_admin_groups_members_set(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("group_detail", s.establishment.pk, s.group.pk), {
        "pupils": [s.pupil_b.pk, s.pupil_b2.pk]})
    assert response.status_code == 302
    assert set(GroupMembership.objects.filter(group=s.group).values_list("pupil_id", flat=True)) == {
        s.pupil_b.pk, s.pupil_b2.pk}


def test_admin_groups_members_pupil_of_other_establishment_rejected(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("group_detail", s.establishment.pk, s.group.pk), {
        "pupils": [world.two.pupil_b.pk]})
    assert response.status_code == 400
    assert not GroupMembership.objects.filter(pupil=world.two.pupil_b, group=s.group).exists()


def test_admin_groups_delete_with_members_refused_then_empty_deleted(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    url = admin_url("group_delete", s.establishment.pk, s.group.pk)
    client.post(url)
    assert TeachingGroup.objects.filter(pk=s.group.pk).exists()
    empty = TeachingGroup.objects.create(school_year=s.year, establishment=s.establishment, code="VIDE", label="Vide")
    assert client.post(admin_url("group_delete", s.establishment.pk, empty.pk)).status_code == 302
    assert not TeachingGroup.objects.filter(pk=empty.pk).exists()


def test_admin_groups_list_many_rows_bounded_queries(world, as_user, django_assert_max_num_queries):
    s = world.one
    for index in range(80):
        group = TeachingGroup.objects.create(school_year=s.year, establishment=s.establishment, code=f"G{index:03d}",
                                             label=f"Groupe {index}")
        group.classes.set([s.class_a, s.class_b])
    client = as_user(s.ent_admin)
    with django_assert_max_num_queries(15):
        response = client.get(admin_url("group_list", s.establishment.pk))
    assert len(response.context["page"].object_list) == 50
    body = response.content.decode()
    assert "5e A, 5e B" in body
    assert [g.code for g in client.get(admin_url("group_list", s.establishment.pk), {"q": "G079"}
                                       ).context["page"]] == ["G079"]
