"""Classes: list (search, pagination, bounded queries), create, edit, delete when empty, detail."""

import pytest

from preau.directory.models import Mef, SchoolClass
from preau.directory.testing import SchoolClassFactory, make_pupil

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def test_admin_classes_list_ent_admin_shows_counts(world, as_user):
    response = as_user(world.one.ent_admin).get(admin_url("class_list", world.one.establishment.pk))
    rows = {c.code: c for c in response.context["page"]}
    assert set(rows) == {"5A", "5B"}
    assert rows["5B"].pupil_count == 2 and rows["5B"].teacher_count == 1


def test_admin_classes_list_search_by_code(world, as_user):
    response = as_user(world.one.ent_admin).get(admin_url("class_list", world.one.establishment.pk), {"q": "5b"})
    assert [c.code for c in response.context["page"]] == ["5B"]


def test_admin_classes_list_many_rows_bounded_queries(world, as_user, django_assert_max_num_queries):
    for _ in range(120):
        school_class = SchoolClassFactory(school_year=world.one.year)
        make_pupil(school_class)
    client = as_user(world.one.ent_admin)
    with django_assert_max_num_queries(15):
        response = client.get(admin_url("class_list", world.one.establishment.pk))
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].paginator.count == 122


def test_admin_classes_create_success_with_mef(world, as_user):
    mef = Mef.objects.create(code="10010012110", label="6EME")
    e = world.one.establishment
    response = as_user(world.one.ent_admin).post(admin_url("class_create", e.pk), {
        "school_year": world.one.year.pk, "code": "6C", "label": "6e C", "level": "6e", "mef": mef.pk})
    created = SchoolClass.objects.get(establishment=e, code="6C")
    assert response.status_code == 302 and created.mef == mef and created.school_year == world.one.year


def test_admin_classes_create_duplicate_code_french_error(world, as_user):
    e = world.one.establishment
    response = as_user(world.one.ent_admin).post(admin_url("class_create", e.pk), {
        "school_year": world.one.year.pk, "code": "5B", "label": "Doublon"})
    assert response.status_code == 400
    assert "Une classe porte déjà ce code pour cette année scolaire." in response.content.decode()
    assert not SchoolClass.objects.filter(label="Doublon").exists()


def test_admin_classes_create_year_of_other_establishment_rejected(world, as_user):
    e = world.one.establishment
    response = as_user(world.one.ent_admin).post(admin_url("class_create", e.pk), {
        "school_year": world.two.year.pk, "code": "X1", "label": "Intrus"})
    assert response.status_code == 400
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not SchoolClass.objects.filter(code="X1").exists()


def test_admin_classes_edit_success(world, as_user):
    c = world.one.class_b
    response = as_user(world.one.ent_admin).post(admin_url("class_edit", c.establishment_id, c.pk), {
        "code": "5B", "label": "5e B (bilangue)", "level": "5e"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.label == "5e B (bilangue)"


def test_admin_classes_edit_to_existing_code_french_error(world, as_user):
    c = world.one.class_b
    response = as_user(world.one.ent_admin).post(admin_url("class_edit", c.establishment_id, c.pk), {
        "code": "5A", "label": "5e B"})
    assert response.status_code == 400
    c.refresh_from_db()
    assert c.code == "5B"


def test_admin_classes_delete_empty_success(world, as_user):
    empty = SchoolClassFactory(school_year=world.one.year, code="4Z")
    response = as_user(world.one.ent_admin).post(admin_url("class_delete", empty.establishment_id, empty.pk))
    assert response.status_code == 302
    assert not SchoolClass.objects.filter(pk=empty.pk).exists()


def test_admin_classes_delete_with_pupils_refused(world, as_user):
    c = world.one.class_b
    client = as_user(world.one.ent_admin)
    response = client.post(admin_url("class_delete", c.establishment_id, c.pk), follow=True)
    assert SchoolClass.objects.filter(pk=c.pk).exists()
    assert "ne peut pas être supprimée" in response.content.decode()


def test_admin_classes_detail_lists_pupils_and_teachers(world, as_user):
    s = world.one
    body = as_user(s.ent_admin).get(admin_url("class_detail", s.establishment.pk, s.class_b.pk)).content.decode()
    assert "Martin Léa" in body and s.pupil_b2.last_name in body
    assert s.teacher_b.last_name in body and "Mathématiques" in body
    assert s.pupil_a.username not in body
