"""Teaching assignments: add and remove (teacher, subject, class or group)."""

import pytest

from preau.access import policy
from preau.directory.models import Service, TeachingAssignment

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def test_admin_assignments_add_class_teacher_then_sees_pupils(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("assignment_add", s.establishment.pk, s.teacher_a.pk), {
        "subject": s.subject.pk, "target": f"c{s.class_b.pk}", "is_main_teacher": "on"})
    assert response.status_code == 302
    assignment = TeachingAssignment.objects.get(teacher=s.teacher_a, school_class=s.class_b)
    assert assignment.is_main_teacher and assignment.school_year == s.year
    assert s.pupil_b.pk in set(policy.pupils_visible_to(policy.actor_for(s.teacher_a), Service.GRADES)
                               .values_list("pk", flat=True))


def test_admin_assignments_add_group(world, as_user):
    s = world.one
    as_user(s.ent_admin).post(admin_url("assignment_add", s.establishment.pk, s.teacher_b.pk), {
        "subject": s.subject.pk, "target": f"g{s.group.pk}"})
    assert TeachingAssignment.objects.filter(teacher=s.teacher_b, group=s.group, school_class=None).exists()


def test_admin_assignments_add_duplicate_message(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("assignment_add", s.establishment.pk, s.teacher_b.pk), {
        "subject": s.subject.pk, "target": f"c{s.class_b.pk}"}, follow=True)
    assert "Ce service d&#x27;enseignement existe déjà." in response.content.decode()
    assert TeachingAssignment.objects.filter(teacher=s.teacher_b).count() == 1


@pytest.mark.parametrize("field", ["subject", "target"])
def test_admin_assignments_add_other_establishment_objects_rejected(world, as_user, field):
    s, other = world.one, world.two
    data = {"subject": s.subject.pk, "target": f"c{s.class_a.pk}"}
    data[field] = other.subject.pk if field == "subject" else f"c{other.class_a.pk}"
    response = as_user(s.ent_admin).post(admin_url("assignment_add", s.establishment.pk, s.teacher_b.pk), data,
                                         follow=True)
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode() or "Choisissez une classe" in \
        response.content.decode()
    assert TeachingAssignment.objects.filter(teacher=s.teacher_b).count() == 1


def test_admin_assignments_add_to_non_teacher_refused(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("assignment_add", s.establishment.pk, s.head.pk), {
        "subject": s.subject.pk, "target": f"c{s.class_a.pk}"}, follow=True)
    assert "n&#x27;est pas enseignante" in response.content.decode()
    assert not TeachingAssignment.objects.filter(teacher=s.head).exists()


def test_admin_assignments_remove(world, as_user):
    s = world.one
    assignment = TeachingAssignment.objects.get(teacher=s.teacher_b)
    response = as_user(s.ent_admin).post(admin_url("assignment_remove", s.establishment.pk, s.teacher_b.pk,
                                                   assignment.pk))
    assert response.status_code == 302
    assert not TeachingAssignment.objects.filter(pk=assignment.pk).exists()


def test_admin_assignments_remove_other_teacher_assignment_404(world, as_user):
    s = world.one
    assignment = TeachingAssignment.objects.get(teacher=s.teacher_a)
    response = as_user(s.ent_admin).post(admin_url("assignment_remove", s.establishment.pk, s.teacher_b.pk,
                                                   assignment.pk))
    assert response.status_code == 404
    assert TeachingAssignment.objects.filter(pk=assignment.pk).exists()
