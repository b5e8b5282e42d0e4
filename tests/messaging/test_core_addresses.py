"""Recipient resolution: who a directory address reaches, each person once, set-based."""

import pytest

from preau.directory.models import GuardianLink, Membership, Role, SchoolYear, TeachingAssignment
from preau.directory.testing import SchoolClassFactory, make_guardian, make_pupil, make_teacher
from preau.messaging import addresses

from .core_helpers import address, copies, person, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture


def reach(one, *items, sender=None):
    return set(addresses.resolve(list(items), establishment_id=one.establishment.pk,
                                 sender_id=sender.pk if sender else None))


def test_guardian_of_two_children_in_the_class_gets_one_copy(school, django_capture_on_commit_callbacks):
    one = school
    both = make_guardian(one.establishment, one.pupil_b, one.pupil_b2, username="parent_of_two")
    found = addresses.resolve([address("class_guardians", one.class_b.pk)], establishment_id=one.establishment.pk)
    assert sorted(found) == sorted([one.mother_b.pk, one.father_b.pk, both.pk])
    assert found.count() == 3  # a set: the guardian of two pupils counted once
    message = send(django_capture_on_commit_callbacks, one.teacher_b, [address("class_guardians", one.class_b.pk)],
                   cc=[person(both)])
    message.refresh_from_db()
    assert message.state == "delivered" and message.recipient_count == 3
    assert copies(message) == {one.teacher_b.pk: "sender", one.mother_b.pk: "to", one.father_b.pk: "to",
                               both.pk: "to"}


def test_guardians_whose_link_denies_messaging_are_not_reached(school):
    one = school
    GuardianLink.objects.filter(guardian=one.father_b).update(denied_services=["grades", "messaging"])
    assert reach(one, address("class_guardians", one.class_b.pk)) == {one.mother_b.pk}
    assert reach(one, address("establishment_guardians", one.establishment.pk)) == {one.mother_b.pk,
                                                                                     one.guardian_a.pk}
    # Not by name either.
    assert reach(one, person(one.father_b)) == set()
    # A guardian denied grades only is reached.
    GuardianLink.objects.filter(guardian=one.father_b).update(denied_services=["grades"])
    assert one.father_b.pk in reach(one, address("class_guardians", one.class_b.pk))


def test_contact_people_without_authority_nor_correspondence_are_not_reached(school):
    one = school
    GuardianLink.objects.filter(guardian=one.father_b).update(legal_authority=False, receives_correspondence=False)
    assert reach(one, address("class_guardians", one.class_b.pk)) == {one.mother_b.pk}
    GuardianLink.objects.filter(guardian=one.father_b).update(legal_authority=False, receives_correspondence=True)
    assert reach(one, address("class_guardians", one.class_b.pk)) == {one.mother_b.pk, one.father_b.pk}


def test_inactive_people_and_memberships_are_not_reached(school):
    one = school
    one.pupil_b2.is_active = False
    one.pupil_b2.save(update_fields=["is_active"])
    assert reach(one, address("class_pupils", one.class_b.pk)) == {one.pupil_b.pk}
    # A guardian whose own membership ended.
    Membership.objects.filter(user=one.father_b).update(is_active=False)
    assert reach(one, address("class_guardians", one.class_b.pk)) == {one.mother_b.pk}
    # The guardians of a pupil who left the establishment.
    Membership.objects.filter(user=one.pupil_b).update(is_active=False)
    assert reach(one, address("class_guardians", one.class_b.pk)) == set()
    assert reach(one, address("class_pupils", one.class_b.pk)) == set()
    # A deactivated teacher account.
    one.teacher_b.is_active = False
    one.teacher_b.save(update_fields=["is_active"])
    assert one.teacher_b.pk not in reach(one, address("establishment_teachers", one.establishment.pk))


def test_teachers_of_a_class_include_teachers_of_its_groups_this_year_only(school):
    one = school
    # The Latin group is attached to 5e A and 5e B: its teacher teaches pupils of both.
    assert reach(one, address("class_teachers", one.class_b.pk)) == {one.teacher_b.pk, one.group_teacher.pk}
    assert reach(one, address("class_teachers", one.class_a.pk)) == {one.teacher_a.pk, one.group_teacher.pk}
    assert reach(one, address("group_teachers", one.group.pk)) == {one.group_teacher.pk}
    # A class of a past school year reaches nobody, and its teachers are not this year's class's.
    past = SchoolYear.objects.create(establishment=one.establishment, label="2025-2026", start="2025-09-01",
                                     end="2026-07-04", is_current=False)
    old_class = SchoolClassFactory(school_year=past, code="OLD5B", label="5e B 2025")
    former = make_teacher(one.establishment, one.subject, old_class, username="former")
    assert reach(one, address("class_teachers", old_class.pk)) == set()
    assert former.pk not in reach(one, address("class_teachers", one.class_b.pk))
    assert reach(one, address("class_pupils", old_class.pk)) == set()
    TeachingAssignment.objects.filter(teacher=one.teacher_b).update(school_year=past)
    assert reach(one, address("class_teachers", one.class_b.pk)) == {one.group_teacher.pk}


def test_group_and_establishment_addresses(school, world):
    one = school
    assert reach(one, address("group_pupils", one.group.pk)) == {one.pupil_a.pk}
    assert reach(one, address("group_guardians", one.group.pk)) == {one.guardian_a.pk}
    staff = {one.teacher_a.pk, one.teacher_b.pk, one.group_teacher.pk, one.head.pk, one.cpe.pk, one.secretary.pk,
             one.nurse.pk}
    assert reach(one, address("establishment_staff", one.establishment.pk)) == staff  # not the ENT admin
    assert reach(one, address("establishment_teachers", one.establishment.pk)) == {
        one.teacher_a.pk, one.teacher_b.pk, one.group_teacher.pk}
    assert reach(one, address("establishment_pupils", one.establishment.pk)) == {
        one.pupil_a.pk, one.pupil_b.pk, one.pupil_b2.pk}
    # Another establishment's id in an establishment-wide address reaches nobody.
    assert reach(one, address("establishment_staff", world.two.establishment.pk)) == set()
    # A class of another establishment, a person of another establishment: nobody.
    assert reach(one, address("class_pupils", world.two.class_b.pk)) == set()
    assert reach(one, person(world.two.teacher_b)) == set()


def test_my_classes_are_the_senders_own_pupils(school):
    one = school
    assert reach(one, address("my_classes_pupils", one.establishment.pk), sender=one.teacher_a) == {one.pupil_a.pk}
    assert reach(one, address("my_classes_guardians", one.establishment.pk), sender=one.teacher_b) == {
        one.mother_b.pk, one.father_b.pk}
    assert reach(one, address("my_classes_pupils", one.establishment.pk), sender=one.group_teacher) == {
        one.pupil_a.pk}
    assert reach(one, address("my_classes_pupils", one.establishment.pk), sender=one.head) == set()
    assert reach(one, address("my_classes_pupils", one.establishment.pk)) == set()  # no sender: nobody


def test_several_addresses_are_one_set(school):
    one = school
    late = make_pupil(one.class_b, username="late_pupil")
    found = addresses.resolve([address("class_pupils", one.class_b.pk), person(one.pupil_b),
                               address("establishment_pupils", one.establishment.pk)],
                              establishment_id=one.establishment.pk)
    assert sorted(found) == sorted([one.pupil_a.pk, one.pupil_b.pk, one.pupil_b2.pk, late.pk])
    assert Membership.objects.filter(user=late, role=Role.PUPIL).exists()


def test_one_copy_per_person_in_the_first_list_that_names_them(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)],
                   cc=[address("class_guardians", one.class_b.pk), person(one.head)],
                   bcc=[person(one.mother_b), person(one.cpe)])
    assert copies(message) == {one.head.pk: "sender", one.mother_b.pk: "to", one.father_b.pk: "cc",
                               one.cpe.pk: "bcc"}
    message.refresh_from_db()
    assert message.recipient_count == 3


def test_labels(school, world):
    one = school
    assert addresses.label(address("class_guardians", one.class_b.pk)) == "Responsables de 5e B"
    assert addresses.label(address("group_teachers", one.group.pk)) == "Professeurs du groupe Latin 5e"
    assert addresses.label(address("establishment_staff", one.establishment.pk)) == (
        "Tous les personnels de Collège Jean Moulin")
    assert addresses.label(person(one.pupil_b)) == "Léa Martin"
    assert addresses.label(address("my_classes_guardians", one.establishment.pk)) == (
        "Les responsables des élèves de mes classes")
    # As the recipients read it, once sent: the sender is named.
    assert addresses.labels([address("my_classes_pupils", one.establishment.pk)], sender_name="Agnès Ndiaye") == [
        "Les élèves de ses classes (Agnès Ndiaye)"]
    assert addresses.label(address("class_pupils", 10**12)) == "(supprimé)"
    with pytest.raises(addresses.AddressError):
        addresses.normalise({"type": "everyone", "id": 1})
    with pytest.raises(addresses.AddressError):
        addresses.normalise({"type": "person", "id": "abc"})
    with pytest.raises(addresses.AddressError):
        addresses.normalise({"type": "person", "id": True})
