"""Who may write to whom (the establishment's MessagingRules), replies inside a conversation, and bcc privacy."""

import pytest
from django.http import Http404
from django.utils import timezone

from preau.access import policy
from preau.directory.models import GuardianLink
from preau.messaging import selectors, services
from preau.messaging.models import Conversation, Delivery, Message
from preau.messaging.services import MessagingError, MessagingRefused

from .core_helpers import actor, address, copies, inbox_owners, person, rules, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture


def may(user, establishment, item) -> bool:
    return policy.can_address(actor(user), establishment.pk, item)


def test_pupils_write_to_their_teachers_and_staff_only(school, world):
    one, e = school, school.establishment
    pupil = one.pupil_b
    assert may(pupil, e, person(one.teacher_b))  # teaches 5e B
    assert may(pupil, e, person(one.head)) and may(pupil, e, person(one.nurse))
    assert not may(pupil, e, person(one.teacher_a))  # teaches 5e A only
    assert not may(pupil, e, person(one.group_teacher))  # Latin: pupil_b is not in the group
    assert may(actor(one.pupil_a).user, e, person(one.group_teacher))  # pupil_a is
    assert not may(pupil, e, person(one.pupil_b2))  # classmates: off by default
    assert not may(pupil, e, person(one.mother_b))
    assert not may(pupil, e, person(one.ent_admin))
    for kind in ("class_pupils", "class_teachers", "class_guardians"):
        assert not may(pupil, e, address(kind, one.class_b.pk))  # never groups
    assert not may(pupil, e, address("establishment_staff", e.pk))
    assert not may(pupil, world.two.establishment, person(world.two.teacher_b))


def test_pupils_rules_switches(school):
    one, e = school, school.establishment
    rules(e, pupils_write_to_pupils=True)
    assert may(one.pupil_b, e, person(one.pupil_b2))
    assert not may(one.pupil_b, e, person(one.pupil_a))  # another class
    assert not may(one.pupil_b, e, address("class_pupils", one.class_b.pk))
    rules(e, pupils_write_to_staff=False, pupils_write_to_pupils=False)
    assert not may(one.pupil_b, e, person(one.teacher_b))
    assert not may(one.pupil_b, e, person(one.head))


def test_guardians_write_to_their_childrens_teachers_and_staff(school):
    one, e = school, school.establishment
    mother = one.mother_b
    assert may(mother, e, person(one.teacher_b)) and may(mother, e, person(one.cpe))
    assert not may(mother, e, person(one.teacher_a))
    assert not may(mother, e, person(one.guardian_a)) and not may(mother, e, person(one.father_b))
    assert not may(mother, e, person(one.pupil_b2))
    assert not may(mother, e, address("class_teachers", one.class_b.pk))
    rules(e, guardians_write_to_guardians=True)
    assert may(mother, e, person(one.father_b))  # guardian of a pupil of the child's class
    assert not may(mother, e, person(one.guardian_a))  # 5e A
    assert not may(mother, e, address("class_guardians", one.class_b.pk))
    rules(e, guardians_write_to_staff=False)
    assert not may(mother, e, person(one.teacher_b))


def test_a_guardian_denied_messaging_for_their_child_does_not_write(school):
    one, e = school, school.establishment
    GuardianLink.objects.filter(guardian=one.father_b).update(denied_services=["messaging"])
    father = actor(one.father_b)
    assert policy.messaging_establishments(father) == []
    assert not policy.can_address(father, e.pk, person(one.teacher_b))
    assert [x.pk for x in policy.messaging_establishments(actor(one.mother_b))] == [e.pk]


def test_teachers_and_staff_write_to_anyone_of_their_establishment(school, world):
    one, e = school, school.establishment
    teacher = one.teacher_a
    for target in (one.guardian_a, one.mother_b, one.pupil_b, one.head, one.ent_admin):
        assert may(teacher, e, person(target))
    for kind in ("class_guardians", "class_pupils", "class_teachers"):
        assert may(teacher, e, address(kind, one.class_b.pk))
    assert may(teacher, e, address("group_guardians", one.group.pk))
    assert may(teacher, e, address("establishment_staff", e.pk))
    assert may(teacher, e, address("my_classes_guardians", e.pk))
    assert not may(teacher, e, address("establishment_pupils", e.pk))  # staff only
    assert not may(teacher, e, address("establishment_guardians", e.pk))
    assert not may(teacher, e, person(world.two.pupil_b))
    assert not may(teacher, e, address("class_guardians", world.two.class_b.pk))
    assert not may(teacher, world.two.establishment, person(world.two.teacher_b))
    nurse = one.nurse
    assert may(nurse, e, address("establishment_pupils", e.pk))
    assert may(nurse, e, address("establishment_guardians", e.pk))
    assert not may(nurse, e, address("my_classes_pupils", e.pk))  # teaches nothing
    assert not may(nurse, e, address("establishment_staff", world.two.establishment.pk))


def test_ent_admins_write_to_teachers_and_staff_only(school, world):
    one, e = school, school.establishment
    admin = one.ent_admin
    assert may(admin, e, person(one.teacher_b)) and may(admin, e, person(one.head))
    assert may(admin, e, address("establishment_staff", e.pk))
    assert not may(admin, e, person(one.pupil_b)) and not may(admin, e, person(one.mother_b))
    assert not may(admin, e, address("class_guardians", one.class_b.pk))
    # The global administrator holds no membership: no messaging.
    assert policy.messaging_establishments(actor(world.global_admin)) == []
    assert not may(world.global_admin, e, person(one.head))


def test_malformed_addresses_are_refused(school):
    one, e = school, school.establishment
    assert not may(one.head, e, {"type": "everyone", "id": e.pk})
    assert not may(one.head, e, {"type": "person"})
    assert not may(one.head, e, "person:1")


def test_a_refused_address_refuses_the_send_and_writes_nothing(school, django_capture_on_commit_callbacks):
    one = school
    with pytest.raises(MessagingRefused) as refused:
        send(django_capture_on_commit_callbacks, one.pupil_b, [person(one.teacher_b), person(one.pupil_a)])
    assert str(refused.value) == f"Vous ne pouvez pas écrire à : {one.pupil_a.full_name}."
    assert not Message.objects.exists() and not Conversation.objects.exists()
    with pytest.raises(MessagingError, match="Ajoutez au moins un destinataire"):
        send(django_capture_on_commit_callbacks, one.head, [])
    with pytest.raises(MessagingError, match="Indiquez l'objet"):
        send(django_capture_on_commit_callbacks, one.head, [person(one.cpe)], subject="  ")
    with pytest.raises(MessagingError, match="ne désignent personne"):
        send(django_capture_on_commit_callbacks, one.head, [person(one.head)])  # oneself only
    assert not Message.objects.exists()


# --- Replies ----------------------------------------------------------------------------------------------------

def test_replies_are_allowed_inside_a_conversation_whatever_the_rules(school, django_capture_on_commit_callbacks):
    one, e = school, school.establishment
    rules(e, pupils_write_to_staff=False)
    first = send(django_capture_on_commit_callbacks, one.cpe, [person(one.pupil_b)], subject="Retard")
    pupil = actor(one.pupil_b)
    assert not policy.can_address(pupil, e.pk, person(one.cpe))
    assert policy.can_reply(pupil, first)
    with django_capture_on_commit_callbacks(execute=True):
        answer = services.reply(actor=pupil, message_id=first.pk, body="Pardon, le bus était en retard.")
    assert answer.subject == "RE : Retard" and answer.conversation_id == first.conversation_id
    assert answer.kind == "reply" and answer.parent_id == first.pk
    assert inbox_owners(answer) == {one.cpe.pk}
    # A new message to the same person is still refused.
    with pytest.raises(MessagingRefused):
        send(django_capture_on_commit_callbacks, one.pupil_b, [person(one.cpe)])
    # The CPE sees both messages in the thread, oldest first.
    cpe = actor(one.cpe)
    items = selectors.thread(cpe, selectors.access_delivery(cpe, answer.pk))
    assert [d.message_id for d in items] == [first.pk, answer.pk]
    with django_capture_on_commit_callbacks(execute=True):
        again = services.reply(actor=cpe, message_id=answer.pk, body="Merci.")
    assert again.subject == "RE : Retard" and inbox_owners(again) == {one.pupil_b.pk}


def test_only_people_holding_a_copy_reply_and_never_in_a_blocked_conversation(school,
                                                                              django_capture_on_commit_callbacks):
    one = school
    first = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)])
    with pytest.raises(Http404):
        services.reply(actor=actor(one.father_b), message_id=first.pk, body="Je ne l'ai pas reçu")
    assert not policy.can_reply(actor(one.father_b), first)
    Conversation.objects.filter(pk=first.conversation_id).update(blocked_at=timezone.now(), blocked_by=one.head)
    first.refresh_from_db()
    assert not policy.can_reply(actor(one.mother_b), first)
    with pytest.raises(MessagingRefused, match="fermée"):
        services.reply(actor=actor(one.mother_b), message_id=first.pk, body="Réponse")
    with pytest.raises(MessagingRefused, match="fermée"):
        services.forward(actor=actor(one.teacher_b), message_id=first.pk, addresses={"to": [person(one.head)]})
    assert Message.objects.count() == 1


def test_reply_all_of_a_family_never_reaches_the_class(school, django_capture_on_commit_callbacks):
    one = school
    first = send(django_capture_on_commit_callbacks, one.teacher_b, [address("class_guardians", one.class_b.pk)],
                 cc=[person(one.cpe)])
    assert inbox_owners(first) == {one.mother_b.pk, one.father_b.pk, one.cpe.pk}
    with django_capture_on_commit_callbacks(execute=True):
        answer = services.reply(actor=actor(one.mother_b), message_id=first.pk, body="Bien reçu", reply_all=True)
    # The teacher and the CPE named in copy; not the other families of the class.
    assert inbox_owners(answer) == {one.teacher_b.pk, one.cpe.pk}
    assert answer.addresses == {"to": [person(one.teacher_b)], "cc": [person(one.cpe)], "bcc": []}
    # The teacher's own reply-all goes back to the class's families (he may write to them).
    with django_capture_on_commit_callbacks(execute=True):
        back = services.reply(actor=actor(one.teacher_b), message_id=answer.pk, body="Parfait", reply_all=True)
    assert inbox_owners(back) == {one.mother_b.pk, one.cpe.pk}


# --- Bcc privacy ------------------------------------------------------------------------------------------------

def test_bcc_recipients_are_known_to_the_sender_only(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)], cc=[person(one.cpe)],
                   bcc=[person(one.father_b), person(one.nurse)], subject="Convocation")
    assert "bcc" not in message.address_labels
    assert copies(message)[one.father_b.pk] == "bcc"
    mother = selectors.shown_addresses(actor(one.mother_b), message)
    assert mother == {"to": [one.mother_b.full_name], "cc": [one.cpe.full_name], "bcc": []}
    father = actor(one.father_b)
    assert selectors.shown_addresses(father, selectors.access_delivery(father, message.pk).message)["bcc"] == [
        one.father_b.full_name]
    assert selectors.shown_addresses(actor(one.nurse), message)["bcc"] == [one.nurse.full_name]
    assert selectors.shown_addresses(actor(one.head), message)["bcc"] == [one.father_b.full_name,
                                                                         one.nurse.full_name]
    # A bcc recipient's reply-all reaches the sender, "to" and "cc" — never the other bcc recipient.
    with django_capture_on_commit_callbacks(execute=True):
        answer = services.reply(actor=father, message_id=message.pk, body="Je viendrai aussi", reply_all=True)
    assert inbox_owners(answer) == {one.head.pk, one.mother_b.pk, one.cpe.pk}
    assert one.nurse.pk not in inbox_owners(answer)
    # A "to" recipient's reply-all does not reach the bcc either.
    with django_capture_on_commit_callbacks(execute=True):
        other = services.reply(actor=actor(one.mother_b), message_id=message.pk, body="Merci", reply_all=True)
    assert inbox_owners(other) == {one.head.pk, one.cpe.pk}
    # The sender's read receipts list the bcc recipients (families): only the sender sees them.
    receipts = selectors.read_receipts(actor(one.head), message.pk)
    assert {r.person.pk for r in receipts.items} == {one.mother_b.pk, one.cpe.pk, one.father_b.pk, one.nurse.pk}
    with pytest.raises(Http404):
        selectors.read_receipts(actor(one.mother_b), message.pk)


def test_deliveries_visible_to_is_the_actors_own_copies(school, django_capture_on_commit_callbacks):
    one = school
    message = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)])
    assert list(policy.deliveries_visible_to(actor(one.mother_b)).values_list("message_id", flat=True)) == [
        message.pk]
    assert not policy.deliveries_visible_to(actor(one.father_b)).exists()
    assert not policy.deliveries_visible_to(None).exists()
    Delivery.objects.filter(message=message, owner=one.mother_b).update(withdrawn_at=timezone.now())
    assert not policy.deliveries_visible_to(actor(one.mother_b)).exists()
    with pytest.raises(Http404):
        selectors.access_delivery(actor(one.mother_b), message.pk)
