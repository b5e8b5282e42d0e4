"""The annuaire (/annuaire/): what pupils, guardians, teachers and staff can and cannot see."""

import pytest
from django.urls import reverse

from preau.audit.models import AuditEvent
from preau.directory.testing import make_pupil

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"directory:{name}", args=args)


def test_directory_home_anonymous_redirects(client):
    assert client.get(url("home")).status_code == 302


def test_directory_home_pupil_sees_own_class_and_groups_only(world, as_user):
    s = world.one
    response = as_user(s.pupil_a).get(url("home"))
    assert [c.pk for c in response.context["classes"]] == [s.class_a.pk]
    assert [g.pk for g in response.context["groups"]] == [s.group.pk]
    body = response.content.decode()
    assert "5e B" not in body and "Collège Victor Hugo" not in body


def test_directory_home_guardian_sees_children_and_their_class(world, as_user):
    s = world.one
    response = as_user(s.mother_b).get(url("home"))
    assert [c.pk for c in response.context["classes"]] == [s.class_b.pk]
    body = response.content.decode()
    assert "Mes enfants" in body and url("person_card", s.pupil_b.pk) in body


def test_directory_home_teacher_sees_all_classes_of_establishment(world, as_user):
    s = world.one
    response = as_user(s.teacher_b).get(url("home"))
    assert {c.pk for c in response.context["classes"]} == {s.class_a.pk, s.class_b.pk}
    assert "Mes enfants" not in response.content.decode()


def test_directory_class_pupil_lists_classmates(world, as_user):
    s = world.one
    response = as_user(s.pupil_b).get(url("class_detail", s.class_b.pk))
    assert response.status_code == 200
    assert {p.pk for p in response.context["pupils"]} == {s.pupil_b.pk, s.pupil_b2.pk}
    assert s.teacher_b.last_name in response.content.decode()


def test_directory_class_pupil_other_class_404(world, as_user):
    s = world.one
    assert as_user(s.pupil_b).get(url("class_detail", s.class_a.pk)).status_code == 404


def test_directory_class_guardian_sees_class_but_not_its_members(world, as_user):
    s = world.one
    response = as_user(s.mother_b).get(url("class_detail", s.class_b.pk))
    assert response.status_code == 200
    assert not response.context["can_list"]
    body = response.content.decode()
    # Neither the other pupil's name nor a link to their card (the full name: a last name alone can be shared by
    # someone else the page shows, the factories draw names at random).
    assert s.pupil_b2.full_name not in body and url("person_card", s.pupil_b2.pk) not in body
    assert "n'est pas consultable" in body
    assert s.teacher_b.last_name in body  # the teaching team is visible to families


def test_directory_class_teacher_lists_members_other_establishment_404(world, as_user):
    s = world.one
    client = as_user(s.teacher_a)
    response = client.get(url("class_detail", s.class_b.pk))
    assert {p.pk for p in response.context["pupils"]} == {s.pupil_b.pk, s.pupil_b2.pk}
    assert client.get(url("class_detail", world.two.class_b.pk)).status_code == 404
    assert client.get(url("class_detail", 999999)).status_code == 404


def test_directory_group_member_pupil_and_teacher(world, as_user):
    s = world.one
    response = as_user(s.pupil_a).get(url("group_detail", s.group.pk))
    assert response.status_code == 200
    assert [p.pk for p in response.context["pupils"]] == [s.pupil_a.pk]
    assert as_user(s.pupil_b).get(url("group_detail", s.group.pk)).status_code == 404
    assert as_user(s.group_teacher).get(url("group_detail", world.two.group.pk)).status_code == 404


def test_directory_card_pupil_sees_teacher_without_contact_details(world, as_user):
    s = world.one
    response = as_user(s.pupil_b).get(url("person_card", s.teacher_b.pk))
    assert response.status_code == 200
    assert not response.context["show_contact"]
    body = response.content.decode()
    assert s.teacher_b.email not in body and "Mathématiques" in body
    assert not AuditEvent.objects.exists()


def test_directory_card_pupil_other_class_pupil_and_guardians_404(world, as_user):
    s = world.one
    client = as_user(s.pupil_b)
    for person in (s.pupil_a, s.mother_b, s.guardian_a, world.two.teacher_b):
        assert client.get(url("person_card", person.pk)).status_code == 404


def test_directory_card_guardian_reads_own_child_contact_not_audited(world, as_user):
    s = world.one
    response = as_user(s.mother_b).get(url("person_card", s.pupil_b.pk))
    assert response.context["show_contact"]
    assert s.pupil_b.email in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_directory_card_guardian_other_pupil_404(world, as_user):
    s = world.one
    assert as_user(s.mother_b).get(url("person_card", s.pupil_b2.pk)).status_code == 404


def test_directory_card_teacher_sees_pupil_without_contact(world, as_user):
    s = world.one
    response = as_user(s.teacher_a).get(url("person_card", s.pupil_b.pk))
    assert response.status_code == 200 and not response.context["show_contact"]
    assert s.pupil_b.email not in response.content.decode()
    assert "5e B" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_directory_card_cpe_reads_contact_audited(world, as_user):
    s = world.one
    response = as_user(s.cpe).get(url("person_card", s.pupil_b.pk))
    assert response.context["show_contact"]
    assert s.pupil_b.email in response.content.decode()
    event = AuditEvent.objects.get(action="sensitive_read")
    assert (event.actor, event.subject, event.target) == (s.cpe, s.pupil_b, "directory.contact")


def test_directory_card_own_card_contact_not_audited(world, as_user):
    s = world.one
    response = as_user(s.teacher_b).get(url("person_card", s.teacher_b.pk))
    assert response.context["show_contact"]
    assert not AuditEvent.objects.exists()


def test_directory_card_staff_other_establishment_404(world, as_user):
    s = world.one
    assert as_user(s.cpe).get(url("person_card", world.two.pupil_b.pk)).status_code == 404
    assert not AuditEvent.objects.exists()


def test_directory_search_teacher_finds_by_name(world, as_user):
    s = world.one
    response = as_user(s.teacher_a).get(url("person_list"), {"q": "léa mar"})
    assert [p.pk for p in response.context["page"]] == [s.pupil_b.pk]


def test_directory_search_never_crosses_establishments(world, as_user):
    s = world.one
    client = as_user(s.head)
    assert list(client.get(url("person_list"), {"q": world.two.pupil_b.username}).context["page"]) == []
    everyone = {p.pk for p in client.get(url("person_list")).context["page"].paginator.object_list}
    assert s.mother_b.pk in everyone and world.two.mother_b.pk not in everyone


def test_directory_search_pupil_sees_classmates_and_staff_only(world, as_user):
    s = world.one
    seen = {p.pk for p in as_user(s.pupil_b).get(url("person_list")).context["page"].paginator.object_list}
    assert {s.pupil_b.pk, s.pupil_b2.pk, s.teacher_a.pk, s.head.pk} <= seen
    assert not seen & {s.pupil_a.pk, s.mother_b.pk, s.father_b.pk, s.guardian_a.pk}


def test_directory_search_role_filter(world, as_user):
    s = world.one
    response = as_user(s.teacher_a).get(url("person_list"), {"role": "teacher"})
    assert {p.pk for p in response.context["page"]} == {s.teacher_a.pk, s.teacher_b.pk, s.group_teacher.pk}


def test_directory_search_paginated_bounded_queries(world, as_user, django_assert_max_num_queries):
    s = world.one
    for _ in range(70):
        make_pupil(s.class_a)
    client = as_user(s.teacher_a)
    with django_assert_max_num_queries(15):
        response = client.get(url("person_list"), {"role": "pupil"})
    page = response.context["page"]
    assert page.paginator.count == 73 and len(page.object_list) == 50
    assert "5e A" in response.content.decode()
    page2 = client.get(url("person_list"), {"role": "pupil", "page": 2}).context["page"]
    assert len(page2.object_list) == 23
    assert not {p.pk for p in page.object_list} & {p.pk for p in page2.object_list}


def test_directory_class_page_many_pupils_bounded_queries(world, as_user, django_assert_max_num_queries):
    s = world.one
    for _ in range(60):
        make_pupil(s.class_a)
    client = as_user(s.teacher_a)
    with django_assert_max_num_queries(15):
        response = client.get(url("class_detail", s.class_a.pk))
    assert len(response.context["pupils"]) == 61


def test_directory_home_teacher_of_two_establishments_follows_the_switcher(world, as_user):
    from preau.directory.testing import add_membership

    s = world.one
    add_membership(s.teacher_b, world.two.establishment, "teacher")
    client = as_user(s.teacher_b)
    first = {c.pk for c in client.get(url("home")).context["classes"]}
    client.post(reverse("core:switch_establishment"), {"establishment": world.two.establishment.pk})
    second = {c.pk for c in client.get(url("home")).context["classes"]}
    assert first == {s.class_a.pk, s.class_b.pk}  # establishments come in name order: Jean Moulin first
    assert second == {world.two.class_a.pk, world.two.class_b.pk}


def test_directory_home_global_admin_uses_search(world, as_user):
    client = as_user(world.global_admin)
    response = client.get(url("home"))
    assert response.status_code == 200 and list(response.context["classes"]) == []
    found = client.get(url("person_list"), {"q": world.two.pupil_b.username}).context["page"]
    assert world.two.pupil_b.pk in [p.pk for p in found]
