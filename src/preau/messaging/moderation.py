"""Moderation of messaging (writes): recall, report, hide, held sends, blocked conversations, the rules.

Who may do what is asked of the access policy ("Messaging moderation" section): a sender recalls their own
message (teachers and staff only, within PREAU_MESSAGING_RECALL_DAYS); any recipient holding a copy reports it; the
moderators of the message's establishment (ENT admins, head, deputy, director, CPE, vie scolaire) hide it from
every inbox, release or refuse a held send, block a conversation; ENT admins and the leadership set the rules.
Every action is one transaction, audited with who, what, the establishment and the client's address. Errors are
`MessagingError` with a French message; an object the person may not act on is Http404. See
docs/messaging-safety.md.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.audit.services import record
from preau.directory.models import Role

from . import safety
from .errors import MessagingError
from .models import Conversation, Delivery, Message, MessagingRules, Report

Action = AuditEvent.Action
REPORT_REASON_MAX = 2000
DECISION_REASON_MAX = 500
BLOCK_REASON_MAX = Conversation._meta.get_field("blocked_reason").max_length
RECALLABLE_STATES = {Message.State.QUEUED, Message.State.DELIVERED, Message.State.HELD}
# Roles whose messages may be recalled by their sender (pupils and families cannot unsay what they wrote).
RECALLING_ROLES = {Role.TEACHER, Role.STAFF}

# The rules' editable fields, and how each is checked.
RULE_FIELDS = [
    "pupils_write_to_pupils", "guardians_write_to_guardians", "pupils_write_to_staff", "guardians_write_to_staff",
    "pupil_max_recipients", "guardian_max_recipients", "teacher_max_recipients", "staff_max_recipients",
    "pupil_max_per_hour", "guardian_max_per_hour", "teacher_max_per_hour", "staff_max_per_hour",
    "pupils_paused", "quiet_hours", "quiet_start", "quiet_end", "attachments_off_roles",
    "hold_recipients_above", "hold_new_device",
]
MAX_LIMIT = 1_000_000


def _clean_text(value, limit: int, what: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise MessagingError(_("%(what)s est trop long (%(limit)d caractères au plus).")
                             % {"what": what, "limit": limit})
    return text


def _target(message: Message) -> str:
    return f"messaging.message:{message.pk}"


def _services():
    """msg's services (withdraw, enqueue_delivery), imported when used: they import this app's safety checks."""
    from . import services

    return services


def mailbox_url(name: str = "inbox", *args) -> str:
    """The path of a mailbox page (namespace "messaging"), or "" where the mailbox pages are not installed."""
    try:
        return reverse(f"messaging:{name}", args=args)
    except NoReverseMatch:
        return ""


def _lock(model, pk):
    return model.objects.select_for_update().get(pk=pk)


# --- Recall (the sender) ---------------------------------------------------------------------------------------

def recall_refusal(actor: policy.Actor, message: Message, now: datetime.datetime | None = None) -> str:
    """Why the actor may not recall this message of theirs ("" when they may). No query."""
    if message.sender_id != actor.id:
        return _("Seul l'expéditeur d'un message peut le rappeler.")
    if message.state == Message.State.RECALLED:
        return _("Ce message a déjà été rappelé.")
    if message.state == Message.State.REFUSED:
        return _("Ce message a été refusé par la modération : il n'a été distribué à personne.")
    if message.state not in RECALLABLE_STATES or message.sent_at is None:
        return _("Ce message n'a pas été envoyé.")
    if safety.role_in(actor, message.establishment_id) not in RECALLING_ROLES:
        return _("Seuls les messages des professeurs et des personnels peuvent être rappelés.")
    days = settings.PREAU_MESSAGING_RECALL_DAYS
    if (now or timezone.now()) - message.sent_at > datetime.timedelta(days=days):
        return _("Un message ne peut être rappelé que dans les %(days)d jours qui suivent son envoi.") % {"days": days}
    return ""


def can_recall(actor: policy.Actor | None, message: Message) -> bool:
    """Whether to offer "Rappeler" to the actor on this message (no query)."""
    return actor is not None and not recall_refusal(actor, message)


@transaction.atomic
def recall_message(*, actor: policy.Actor, message_id, request=None) -> Message:
    """Withdraw a message the actor sent from every recipient's mailbox (their unread counts corrected)."""
    message = _lock(Message, policy.access_own_sent_message(actor, message_id).pk)
    refusal = recall_refusal(actor, message)
    if refusal:
        raise MessagingError(refusal)
    previous = message.state
    withdrawn = _services().withdraw(message)  # sets state "recalled" and recalled_at
    record(Action.MESSAGE_RECALLED, actor=actor.user, subject=actor.user, request=request,
           establishment_id=message.establishment_id, target=_target(message),
           recipients=message.recipient_count, copies_withdrawn=withdrawn, previous_state=previous)
    return message


# --- Reports (recipients) --------------------------------------------------------------------------------------

@transaction.atomic
def report_message(*, actor: policy.Actor, message_id, reason: str = "", request=None) -> Report:
    """Report a message one holds a copy of to the moderators of its establishment (once per person)."""
    reason = _clean_text(reason, REPORT_REASON_MAX, _("Le motif"))
    delivery = _own_copy(actor, message_id)
    if delivery.role == Delivery.Role.SENDER:
        raise MessagingError(_("Vous ne pouvez pas signaler un message que vous avez envoyé."))
    message = delivery.message
    if Report.objects.filter(message_id=message.pk, reporter_id=actor.id).exists():
        raise MessagingError(_("Vous avez déjà signalé ce message : l'établissement l'examinera."))
    try:
        with transaction.atomic():
            report = Report.objects.create(message=message, reporter=actor.user, reason=reason,
                                           establishment_id=message.establishment_id)
    except IntegrityError:  # a double submission racing the check above
        raise MessagingError(_("Vous avez déjà signalé ce message : l'établissement l'examinera.")) from None
    record(Action.MESSAGE_REPORTED, actor=actor.user, subject=message.sender, request=request,
           establishment_id=message.establishment_id, target=_target(message), report=report.pk,
           outcome=Report.Outcome.PENDING)
    safety.notify_moderators(establishment_id=message.establishment_id, source=f"messaging.report:{report.pk}",
                             title=_("Message signalé : %(subject)s") % {"subject": message.subject},
                             body=reason[:300])
    return report


def _own_copy(actor: policy.Actor, message_id) -> Delivery:
    """The actor's own copy of the message (not withdrawn, not deleted), or Http404."""
    from . import selectors

    return selectors.access_delivery(actor, message_id)


@transaction.atomic
def hide_message(*, actor: policy.Actor, message_id, request=None) -> Message:
    """Hide a message from every recipient's mailbox at once and close its pending reports (moderators)."""
    message = _lock(Message, policy.access_moderated_message(actor, message_id).pk)
    if message.hidden_at is not None:
        raise MessagingError(_("Ce message est déjà masqué dans toutes les boîtes."))
    withdrawn = _services().withdraw(message, hidden_by=actor.user)  # sets hidden_at and hidden_by
    closed = Report.objects.filter(message_id=message.pk, outcome=Report.Outcome.PENDING).update(
        outcome=Report.Outcome.HIDDEN, handled_at=message.hidden_at, handled_by=actor.user)
    record(Action.MESSAGE_HIDDEN, actor=actor.user, subject=message.sender, request=request,
           establishment_id=message.establishment_id, target=_target(message),
           recipients=message.recipient_count, copies_withdrawn=withdrawn, reports_closed=closed)
    return message


@transaction.atomic
def dismiss_report(*, actor: policy.Actor, report_id, request=None) -> Report:
    """Close a report without hiding the message (moderators). Audited as a MESSAGE_REPORTED event whose
    outcome is "dismissed"."""
    report = _lock(Report, policy.access_report(actor, report_id).pk)
    if report.outcome != Report.Outcome.PENDING:
        raise MessagingError(_("Ce signalement a déjà été traité."))
    report.outcome = Report.Outcome.DISMISSED
    report.handled_at = timezone.now()
    report.handled_by = actor.user
    report.save(update_fields=["outcome", "handled_at", "handled_by"])
    record(Action.MESSAGE_REPORTED, actor=actor.user, subject=report.reporter, request=request,
           establishment_id=report.establishment_id, target=f"messaging.message:{report.message_id}",
           report=report.pk, outcome=Report.Outcome.DISMISSED)
    return report


# --- Conversations ---------------------------------------------------------------------------------------------

@transaction.atomic
def block_conversation(*, actor: policy.Actor, conversation_id, reason: str = "", request=None) -> Conversation:
    """Nobody may reply in the conversation any more (moderators)."""
    reason = _clean_text(reason, BLOCK_REASON_MAX, _("Le motif"))
    conversation = _lock(Conversation, policy.access_moderated_conversation(actor, conversation_id).pk)
    if conversation.blocked_at is not None:
        raise MessagingError(_("Cette conversation est déjà bloquée."))
    conversation.blocked_at = timezone.now()
    conversation.blocked_by = actor.user
    conversation.blocked_reason = reason
    conversation.save(update_fields=["blocked_at", "blocked_by", "blocked_reason"])
    record(Action.CONVERSATION_BLOCKED, actor=actor.user, request=request,
           establishment_id=conversation.establishment_id, target=f"messaging.conversation:{conversation.pk}",
           reason=reason)
    return conversation


@transaction.atomic
def unblock_conversation(*, actor: policy.Actor, conversation_id, request=None) -> Conversation:
    conversation = _lock(Conversation, policy.access_moderated_conversation(actor, conversation_id).pk)
    if conversation.blocked_at is None:
        raise MessagingError(_("Cette conversation n'est pas bloquée."))
    conversation.blocked_at = None
    conversation.blocked_by = None
    conversation.blocked_reason = ""
    conversation.save(update_fields=["blocked_at", "blocked_by", "blocked_reason"])
    record(Action.CONVERSATION_UNBLOCKED, actor=actor.user, request=request,
           establishment_id=conversation.establishment_id, target=f"messaging.conversation:{conversation.pk}")
    return conversation


# --- Held sends ------------------------------------------------------------------------------------------------

def _held(actor: policy.Actor, message_id) -> Message:
    message = _lock(Message, policy.access_moderated_message(actor, message_id).pk)
    if message.state != Message.State.HELD:
        raise MessagingError(_("Ce message n'est plus en attente de vérification."))
    return message


@transaction.atomic
def release_held(*, actor: policy.Actor, message_id, request=None) -> Message:
    """Let a held send go out: it is queued and delivered by the background task (moderators)."""
    message = _held(actor, message_id)
    message.state = Message.State.QUEUED
    message.reviewed_at = timezone.now()
    message.reviewed_by = actor.user
    message.save(update_fields=["state", "reviewed_at", "reviewed_by", "updated_at"])
    _services().enqueue_delivery(message)
    record(Action.MESSAGE_RELEASED, actor=actor.user, subject=message.sender, request=request,
           establishment_id=message.establishment_id, target=_target(message),
           recipients=message.recipient_count, held_reason=message.held_reason)
    return message


@transaction.atomic
def refuse_held(*, actor: policy.Actor, message_id, reason: str = "", request=None) -> Message:
    """Refuse a held send: it is delivered to nobody, and its sender is told (moderators)."""
    from preau.notifications.services import notify

    reason = _clean_text(reason, DECISION_REASON_MAX, _("Le motif"))
    message = _held(actor, message_id)
    message.state = Message.State.REFUSED
    message.reviewed_at = timezone.now()
    message.reviewed_by = actor.user
    message.save(update_fields=["state", "reviewed_at", "reviewed_by", "updated_at"])
    record(Action.MESSAGE_REFUSED, actor=actor.user, subject=message.sender, request=request,
           establishment_id=message.establishment_id, target=_target(message),
           recipients=message.recipient_count, held_reason=message.held_reason, reason=reason)
    body = reason or _("L'établissement a vérifié ce message et ne l'a pas distribué.")
    notify(recipient_ids=[message.sender_id], kind="message", source=f"messaging.refused:{message.pk}",
           title=_("Votre message « %(subject)s » n'a pas été distribué") % {"subject": message.subject},
           body=body, url=mailbox_url("thread", message.pk),
           establishment_id=message.establishment_id)
    return message


# --- Rules -----------------------------------------------------------------------------------------------------

def _check_rule_values(values: dict) -> None:
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown messaging rules fields: {sorted(unknown)}")
    for name, value in values.items():
        field = MessagingRules._meta.get_field(name)
        kind = field.get_internal_type()
        if kind == "BooleanField" and not isinstance(value, bool):
            raise MessagingError(_("« %(field)s » doit être oui ou non.") % {"field": field.verbose_name})
        if kind == "PositiveIntegerField" and (isinstance(value, bool) or not isinstance(value, int)
                                               or not 0 <= value <= MAX_LIMIT):
            raise MessagingError(_("« %(field)s » doit être un nombre entier entre 0 et %(max)d.")
                                 % {"field": field.verbose_name, "max": MAX_LIMIT})
        if kind == "TimeField" and not isinstance(value, datetime.time):
            raise MessagingError(_("« %(field)s » doit être une heure.") % {"field": field.verbose_name})
    roles = values.get("attachments_off_roles")
    if roles is not None and (not isinstance(roles, list | tuple)
                              or not set(roles) <= set(safety.LIMITED_ROLES)):
        raise MessagingError(_("Les rôles sans pièces jointes sont à choisir parmi : élèves, responsables, "
                               "professeurs, personnels."))


def _jsonable(value):
    return value.strftime("%H:%M") if isinstance(value, datetime.time) else value


@transaction.atomic
def update_rules(*, actor: policy.Actor, establishment_id: int, request=None, **fields) -> MessagingRules:
    """Change some of an establishment's messaging rules (ENT admins and leadership); audited with the changes."""
    if not policy.can_manage_messaging_rules(actor, establishment_id) or not policy.messaging_rules_establishments(
            actor).filter(pk=establishment_id).exists():
        from django.http import Http404

        raise Http404
    _check_rule_values(fields)
    if "attachments_off_roles" in fields:  # stored in a fixed order, without duplicates
        fields["attachments_off_roles"] = [r for r in safety.LIMITED_ROLES if r in fields["attachments_off_roles"]]
    MessagingRules.objects.get_or_create(establishment_id=establishment_id)
    rules = MessagingRules.objects.select_for_update().get(establishment_id=establishment_id)
    changes = {}
    for name, value in fields.items():
        old = getattr(rules, name)
        if old != value:
            changes[name] = [_jsonable(old), _jsonable(value)]
            setattr(rules, name, value)
    if changes:
        rules.updated_by = actor.user
        rules.save()
        record(Action.MESSAGING_RULES_CHANGED, actor=actor.user, request=request, establishment_id=establishment_id,
               target="messaging.rules", changes=changes)
    return rules
