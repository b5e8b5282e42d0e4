"""The "Messaging moderation" section of the access policy: who moderates which establishment, who sets its rules."""

import pytest
from django.http import Http404

from preau.access import policy
from preau.directory.models import StaffFunction
from preau.directory.testing import make_staff
from preau.messaging.models import Message, Report

from .safety_helpers import actor, sent_message

pytestmark = pytest.mark.django_db


def test_who_moderates_an_establishment(world):
    one, two = world.one, world.two
    vie_scolaire = make_staff(one.establishment, StaffFunction.VIE_SCOLAIRE)
    deputy = make_staff(one.establishment, StaffFunction.DEPUTY)
    for person in (one.head, deputy, one.cpe, vie_scolaire, one.ent_admin, world.global_admin):
        assert policy.can_moderate(actor(person), one.establishment.pk), person
        assert policy.is_messaging_moderator(actor(person))
    for person in (one.teacher_a, one.secretary, one.nurse, one.pupil_b, one.mother_b, two.cpe, two.head):
        assert not policy.can_moderate(actor(person), one.establishment.pk), person
    for person in (one.teacher_a, one.secretary, one.nurse, one.pupil_b, one.mother_b):
        assert not policy.is_messaging_moderator(actor(person))
    assert not policy.can_moderate(None, one.establishment.pk)
    assert not policy.can_moderate(actor(one.cpe), None)


def test_who_sets_the_rules(world):
    one = world.one
    for person in (one.head, one.ent_admin, world.global_admin):
        assert policy.can_manage_messaging_rules(actor(person), one.establishment.pk)
    for person in (one.cpe, one.teacher_a, one.secretary, one.pupil_b, world.two.head):
        assert not policy.can_manage_messaging_rules(actor(person), one.establishment.pk)
    assert list(policy.messaging_rules_establishments(actor(one.head))) == [one.establishment]
    assert not policy.messaging_rules_establishments(actor(one.cpe)).exists()


def test_held_messages_and_reports_are_scoped_to_moderated_establishments(world):
    one, two = world.one, world.two
    held_one = sent_message(one.pupil_b, one.establishment, state=Message.State.HELD)
    held_two = sent_message(two.pupil_b, two.establishment, state=Message.State.HELD)
    sent_message(one.pupil_b, one.establishment)  # delivered: not in the held queue
    report_one = Report.objects.create(message=sent_message(one.pupil_a, one.establishment), reporter=one.pupil_b,
                                       establishment=one.establishment)
    report_two = Report.objects.create(message=sent_message(two.pupil_a, two.establishment), reporter=two.pupil_b,
                                       establishment=two.establishment)
    assert list(policy.held_messages_visible_to(actor(one.cpe))) == [held_one]
    assert list(policy.reports_visible_to(actor(one.cpe))) == [report_one]
    assert set(policy.held_messages_visible_to(actor(world.global_admin))) == {held_one, held_two}
    assert set(policy.reports_visible_to(actor(world.global_admin))) == {report_one, report_two}
    for person in (one.teacher_a, one.pupil_b, one.secretary):
        assert not policy.held_messages_visible_to(actor(person)).exists()
        assert not policy.reports_visible_to(actor(person)).exists()
    assert not policy.reports_visible_to(None).exists()


def test_access_answers_404_outside_the_moderated_establishments(world):
    one, two = world.one, world.two
    message = sent_message(one.pupil_a, one.establishment)
    report = Report.objects.create(message=message, reporter=one.pupil_b, establishment=one.establishment)
    assert policy.access_moderated_message(actor(one.cpe), message.pk) == message
    assert policy.access_report(actor(one.cpe), report.pk) == report
    assert policy.access_moderated_conversation(actor(one.cpe), message.conversation_id) == message.conversation
    for person in (two.cpe, one.teacher_a):
        with pytest.raises(Http404):
            policy.access_moderated_message(actor(person), message.pk)
        with pytest.raises(Http404):
            policy.access_report(actor(person), report.pk)
        with pytest.raises(Http404):
            policy.access_moderated_conversation(actor(person), message.conversation_id)
    for bad in ("x", None, 2**70):
        with pytest.raises(Http404):
            policy.access_moderated_message(actor(one.cpe), bad)
    # Drafts are nobody's business but their author's.
    draft = sent_message(one.pupil_a, one.establishment, state=Message.State.DRAFT)
    with pytest.raises(Http404):
        policy.access_moderated_message(actor(one.cpe), draft.pk)


def test_own_sent_message(world):
    one = world.one
    message = sent_message(one.teacher_b, one.establishment)
    assert policy.access_own_sent_message(actor(one.teacher_b), message.pk) == message
    for person in (one.teacher_a, one.head):
        with pytest.raises(Http404):
            policy.access_own_sent_message(actor(person), message.pk)
    with pytest.raises(Http404):
        policy.access_own_sent_message(None, message.pk)
