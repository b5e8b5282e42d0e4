"""safety.check_send: every limit and switch of an establishment's messaging rules, holds of unusual sends."""

import datetime

import pytest

from preau.directory.models import Role
from preau.directory.testing import add_membership
from preau.messaging import safety
from preau.messaging.models import Message, MessagingRules

from .safety_helpers import (
    FIREFOX_LINUX,
    FIREFOX_LINUX_NEWER,
    SAFARI_IPHONE,
    actor,
    login_event,
    paris,
    request_from,
    sent_message,
)

pytestmark = pytest.mark.django_db

NOON = paris(2027, 1, 14, 12, 0)  # a Thursday in winter (UTC+1)


def check(user, establishment, count=1, *, attachments=False, request=None, now=NOON):
    return safety.check_send(actor=actor(user), establishment=establishment, recipient_count=count,
                             has_attachments=attachments, request=request, now=now)


def rules(establishment, **fields) -> MessagingRules:
    row, _ = MessagingRules.objects.update_or_create(establishment=establishment, defaults=fields)
    return row


# --- Rules and roles -------------------------------------------------------------------------------------------

def test_rules_for_gives_unsaved_defaults_then_the_saved_row(world):
    school = world.one.establishment
    defaults = safety.rules_for(school.pk)
    assert defaults.pk is None and defaults.pupil_max_recipients == 5 and defaults.quiet_hours
    saved = rules(school, pupil_max_recipients=2)
    assert safety.rules_for(school.pk).pk == saved.pk
    assert safety.rules_for(school.pk).pupil_max_recipients == 2
    assert safety.rules_for(world.two.establishment.pk).pk is None


def test_the_most_permissive_role_held_in_the_establishment_applies(world):
    one, two = world.one, world.two
    # A teacher of the school who is also the parent of a pupil there writes as a teacher (no quiet hours).
    add_membership(one.teacher_a, one.establishment, Role.GUARDIAN)
    assert safety.role_in(actor(one.teacher_a), one.establishment.pk) == Role.TEACHER
    night = paris(2027, 1, 14, 23, 30)
    assert check(one.teacher_a, one.establishment, 1, now=night).allowed
    # ...but in another establishment where they are only a parent, the parents' rules apply.
    add_membership(one.teacher_a, two.establishment, Role.GUARDIAN)
    verdict = check(one.teacher_a, two.establishment, 1, now=night)
    assert verdict.refused and verdict.role == Role.GUARDIAN
    # Staff beats teacher; an ENT admin writes as staff; a pupil who is also a guardian (adult pupil) as guardian.
    add_membership(one.teacher_b, one.establishment, Role.STAFF, ["librarian"])
    assert safety.role_in(actor(one.teacher_b), one.establishment.pk) == Role.STAFF
    assert safety.role_in(actor(one.ent_admin), one.establishment.pk) == Role.STAFF
    add_membership(one.pupil_a, one.establishment, Role.GUARDIAN)
    assert safety.role_in(actor(one.pupil_a), one.establishment.pk) == Role.GUARDIAN
    assert safety.role_in(actor(one.pupil_b), one.establishment.pk) == Role.PUPIL


def test_someone_without_a_role_in_the_establishment_is_refused(world):
    verdict = check(world.one.pupil_b, world.two.establishment, 1)
    assert verdict.refused and "établissement" in verdict.reason


# --- Switches --------------------------------------------------------------------------------------------------

def test_pausing_pupils_stops_pupils_only(world):
    one = world.one
    assert check(one.pupil_b, one.establishment, 1).allowed
    rules(one.establishment, pupils_paused=True)
    verdict = check(one.pupil_b, one.establishment, 1)
    assert verdict.refused and "suspendue" in verdict.reason
    assert check(one.mother_b, one.establishment, 1).allowed
    assert check(one.teacher_b, one.establishment, 1).allowed


@pytest.mark.parametrize(("moment", "quiet"), [
    (paris(2027, 1, 14, 20, 59), False),
    (paris(2027, 1, 14, 21, 0), True),
    (paris(2027, 1, 14, 23, 59), True),
    (paris(2027, 1, 15, 0, 0), True),
    (paris(2027, 1, 15, 6, 59), True),
    (paris(2027, 1, 15, 7, 0), False),
    (paris(2027, 7, 15, 6, 30), True),  # summer time (UTC+2): still read in Paris
    # 20:30 UTC in winter is 21:30 in Paris: quiet, whatever the time zone the moment is given in.
    (datetime.datetime(2027, 1, 14, 20, 30, tzinfo=datetime.UTC), True),
    (datetime.datetime(2027, 7, 14, 18, 30, tzinfo=datetime.UTC), False),  # 20:30 in Paris in summer
])
def test_quiet_hours_across_midnight_for_pupils_and_guardians(world, moment, quiet):
    one = world.one
    for person in (one.pupil_b, one.mother_b):
        verdict = check(person, one.establishment, 1, now=moment)
        assert verdict.refused is quiet, (person, moment)
        if quiet:
            assert "de 21 h 00 à 7 h 00" in verdict.reason
    # Teachers and staff are never in quiet hours.
    assert check(one.teacher_b, one.establishment, 1, now=moment).allowed
    assert check(one.secretary, one.establishment, 1, now=moment).allowed


def test_quiet_hours_window_within_a_day_and_switched_off(world):
    one = world.one
    rules(one.establishment, quiet_start=datetime.time(12, 0), quiet_end=datetime.time(14, 0))
    assert check(one.pupil_b, one.establishment, 1, now=paris(2027, 1, 14, 13, 0)).refused
    assert check(one.pupil_b, one.establishment, 1, now=paris(2027, 1, 14, 14, 0)).allowed
    assert check(one.pupil_b, one.establishment, 1, now=paris(2027, 1, 14, 23, 0)).allowed
    rules(one.establishment, quiet_hours=False, quiet_start=datetime.time(21, 0), quiet_end=datetime.time(7, 0))
    assert check(one.pupil_b, one.establishment, 1, now=paris(2027, 1, 14, 23, 0)).allowed
    # Equal start and end: no night at all.
    rules(one.establishment, quiet_hours=True, quiet_start=datetime.time(8, 0), quiet_end=datetime.time(8, 0))
    assert check(one.pupil_b, one.establishment, 1, now=paris(2027, 1, 14, 8, 0)).allowed


def test_attachments_off_for_listed_roles(world):
    one = world.one
    assert check(one.pupil_b, one.establishment, 1, attachments=True).allowed
    rules(one.establishment, attachments_off_roles=["pupil", "guardian"])
    verdict = check(one.pupil_b, one.establishment, 1, attachments=True)
    assert verdict.refused and "pièces jointes" in verdict.reason
    assert check(one.mother_b, one.establishment, 1, attachments=True).refused
    assert check(one.pupil_b, one.establishment, 1, attachments=False).allowed
    assert check(one.teacher_b, one.establishment, 1, attachments=True).allowed


# --- Limits ----------------------------------------------------------------------------------------------------

def test_recipient_limit_per_role(world):
    one = world.one
    verdict = check(one.pupil_b, one.establishment, 6)
    assert verdict.refused and "plus de 5 destinataires" in verdict.reason and "en a 6" in verdict.reason
    assert check(one.mother_b, one.establishment, 6).refused
    assert check(one.pupil_b, one.establishment, 5).held  # within the limit, above the hold threshold (3)
    rules(one.establishment, teacher_max_recipients=40, pupil_max_recipients=0, hold_recipients_above=10)
    assert check(one.teacher_b, one.establishment, 41).refused
    assert check(one.teacher_b, one.establishment, 20).allowed
    assert check(one.pupil_b, one.establishment, 10).allowed
    assert check(one.pupil_b, one.establishment, 300).held  # no limit: the hold threshold still applies
    # 0 means no limit: staff writes to the whole school.
    assert check(one.head, one.establishment, 1800).allowed


def test_hourly_rate_counts_the_last_hour_only(world):
    one = world.one
    for minutes in range(1, 10):
        sent_message(one.mother_b, one.establishment, sent_at=NOON - datetime.timedelta(minutes=minutes))
    sent_message(one.mother_b, one.establishment, sent_at=NOON - datetime.timedelta(minutes=61))
    assert check(one.mother_b, one.establishment, 1).allowed  # 9 in the last hour, the limit is 10
    sent_message(one.mother_b, one.establishment, sent_at=NOON - datetime.timedelta(minutes=30),
                 state=Message.State.HELD)
    verdict = check(one.mother_b, one.establishment, 1)
    assert verdict.refused and "10 messages dans l'heure" in verdict.reason
    # An hour later the oldest ones no longer count.
    assert check(one.mother_b, one.establishment, 1, now=NOON + datetime.timedelta(minutes=50)).allowed
    # Staff have no hourly limit by default; a limit of 0 is none.
    for _ in range(3):
        sent_message(one.head, one.establishment, sent_at=NOON - datetime.timedelta(minutes=1))
    rules(one.establishment, staff_max_per_hour=3)
    assert check(one.head, one.establishment, 1).refused
    rules(one.establishment, staff_max_per_hour=0)
    assert check(one.head, one.establishment, 1).allowed


# --- Holds -----------------------------------------------------------------------------------------------------

def test_pupils_and_guardians_writing_to_more_than_the_threshold_are_held(world):
    one = world.one
    assert check(one.pupil_b, one.establishment, 3).allowed
    verdict = check(one.pupil_b, one.establishment, 4)
    assert verdict.held and "4 destinataires" in verdict.reason and "un élève" in verdict.reason
    assert check(one.father_b, one.establishment, 4).held
    assert check(one.teacher_b, one.establishment, 4).allowed


def test_a_send_much_larger_than_usual_is_held_for_teachers_too(world):
    one = world.one
    teacher = one.teacher_b
    # No history: up to 20 recipients is ordinary, more is unusual.
    assert check(teacher, one.establishment, 20).allowed
    verdict = check(teacher, one.establishment, 21)
    assert verdict.held and "inhabituel" in verdict.reason and "au plus 0" in verdict.reason
    sent_message(teacher, one.establishment, recipients=28, sent_at=NOON - datetime.timedelta(days=20))
    assert check(teacher, one.establishment, 84).allowed  # 3 x 28
    verdict = check(teacher, one.establishment, 85)
    assert verdict.held and "au plus 28" in verdict.reason
    # Sends older than the history window, and held or refused sends, are not the person's usual size.
    sent_message(teacher, one.establishment, recipients=500, sent_at=NOON - datetime.timedelta(days=91))
    sent_message(teacher, one.establishment, recipients=500, sent_at=NOON - datetime.timedelta(days=1),
                 state=Message.State.REFUSED)
    sent_message(teacher, one.establishment, recipients=500, sent_at=NOON - datetime.timedelta(days=1),
                 state=Message.State.HELD)
    assert check(teacher, one.establishment, 85).held
    # Non-leadership staff too (a secretary's stolen account writing to every family).
    assert check(one.secretary, one.establishment, 1800).held


def test_a_teacher_writing_to_the_classes_they_teach_is_never_unusual_by_size(world):
    one = world.one
    teacher = one.teacher_b  # teaches 5e B, no history at all
    own = [{"type": "class_guardians", "id": one.class_b.pk}, {"type": "person", "id": one.head.pk}]

    def send(addresses):
        return safety.check_send(actor=actor(teacher), establishment=one.establishment, recipient_count=60,
                                 has_attachments=False, now=NOON, addresses=addresses)

    # A first message to their class's families (however many) goes out...
    assert send(own).allowed
    assert send([{"type": "my_classes_guardians", "id": one.establishment.pk}]).allowed
    # ...one reaching a class they don't teach, or the whole establishment, is held as unusual.
    assert send([*own, {"type": "class_guardians", "id": one.class_a.pk}]).held
    assert send([{"type": "establishment_guardians", "id": one.establishment.pk}]).held
    # Without the addresses (the check cannot tell), the size rule applies.
    assert send(None).held


def test_moderators_are_never_held(world):
    one = world.one
    for person in (one.head, one.cpe, one.ent_admin):
        assert check(person, one.establishment, 1800, request=request_from(SAFARI_IPHONE)).allowed


def test_a_send_from_a_new_device_to_several_people_is_held(world):
    one = world.one
    teacher = one.teacher_b
    login_event(teacher, FIREFOX_LINUX, NOON - datetime.timedelta(days=3))
    assert check(teacher, one.establishment, 4, request=request_from(FIREFOX_LINUX)).allowed
    # A browser update is the same device.
    assert check(teacher, one.establishment, 4, request=request_from(FIREFOX_LINUX_NEWER)).allowed
    # A phone never used before: held when the send reaches more than hold_recipients_above (3) people.
    verdict = check(teacher, one.establishment, 4, request=request_from(SAFARI_IPHONE))
    assert verdict.held and "appareil" in verdict.reason
    assert check(teacher, one.establishment, 3, request=request_from(SAFARI_IPHONE)).allowed
    # The login of the session that sends (an hour ago) does not make the device known...
    login_event(teacher, SAFARI_IPHONE, NOON - datetime.timedelta(hours=1))
    assert check(teacher, one.establishment, 4, request=request_from(SAFARI_IPHONE)).held
    # ...nor a send from it that moderation held...
    iphone = safety.device_id(request_from(SAFARI_IPHONE))
    sent_message(teacher, one.establishment, recipients=4, sent_at=NOON - datetime.timedelta(hours=1),
                 state=Message.State.HELD, device=iphone)
    assert check(teacher, one.establishment, 4, request=request_from(SAFARI_IPHONE)).held
    # ...but a send from it that went out (released, or earlier) does; and a login more than a day ago does.
    sent_message(teacher, one.establishment, recipients=4, sent_at=NOON - datetime.timedelta(minutes=30),
                 state=Message.State.DELIVERED, device=iphone)
    assert check(teacher, one.establishment, 4, request=request_from(SAFARI_IPHONE)).allowed
    login_event(one.mother_b, SAFARI_IPHONE, NOON - datetime.timedelta(hours=25))
    assert check(one.mother_b, one.establishment, 2, request=request_from(SAFARI_IPHONE)).allowed
    # A family's small send from a new device is ordinary (more than 3 people is held anyway, check 6).
    assert check(one.mother_b, one.establishment, 2, request=request_from(FIREFOX_LINUX)).allowed


def test_a_person_without_any_history_has_no_new_device(world):
    one = world.one
    # No earlier login, no message that went out: nothing to compare the device with (a new account, September).
    assert check(one.teacher_b, one.establishment, 4, request=request_from(SAFARI_IPHONE)).allowed
    # Once they have a history elsewhere, an unseen device holds a large send.
    login_event(one.teacher_b, FIREFOX_LINUX, NOON - datetime.timedelta(days=3))
    assert check(one.teacher_b, one.establishment, 4, request=request_from(SAFARI_IPHONE)).held


def test_new_device_hold_can_be_switched_off(world):
    one = world.one
    login_event(one.teacher_b, FIREFOX_LINUX, NOON - datetime.timedelta(days=3))
    assert check(one.teacher_b, one.establishment, 4, request=request_from(SAFARI_IPHONE)).held
    rules(one.establishment, hold_new_device=False)
    assert check(one.teacher_b, one.establishment, 4, request=request_from(SAFARI_IPHONE)).allowed


def test_device_id_is_stable_and_versionless():
    assert safety.device_id_for_user_agent(FIREFOX_LINUX) == safety.device_id_for_user_agent(FIREFOX_LINUX_NEWER)
    assert safety.device_id_for_user_agent(FIREFOX_LINUX) != safety.device_id_for_user_agent(SAFARI_IPHONE)
    assert len(safety.device_id(request_from(FIREFOX_LINUX))) == 32
    assert safety.device_id(None) == ""


def test_refusals_come_before_holds_and_the_checks_cost_a_few_queries(world, django_assert_max_num_queries):
    one = world.one
    rules(one.establishment, pupils_paused=True)
    person = actor(one.pupil_b)
    person.memberships  # noqa: B018 - loaded once per request by the middleware
    with django_assert_max_num_queries(1):
        verdict = safety.check_send(actor=person, establishment=one.establishment, recipient_count=50,
                                    has_attachments=False, now=NOON)
    assert verdict.refused and "suspendue" in verdict.reason
    teacher = actor(one.teacher_b)
    teacher.memberships  # noqa: B018
    login_event(one.teacher_b, FIREFOX_LINUX, NOON - datetime.timedelta(days=3))
    with django_assert_max_num_queries(4):
        verdict = safety.check_send(actor=teacher, establishment=one.establishment, recipient_count=12,
                                    has_attachments=True, request=request_from(FIREFOX_LINUX), now=NOON)
    assert verdict.allowed
