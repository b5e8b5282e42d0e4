"""Messaging moderation and abuse resistance, as JSON (/api/v1/messaging/moderation/...): an establishment's rules,
held sends (release, refuse), reports (list, hide the message from every inbox, dismiss), reporting and recalling
a message, blocking a conversation.

The same services as the pages (`preau.messaging.moderation`). A person who moderates no establishment gets 403 on
the moderators' lists; an object the caller may not act on answers 404, like a missing one; a refused action
(already handled, too late to recall...) answers 400 with its French reason. See docs/messaging-safety.md.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from ninja import Field, Query, Router, Schema, Status

from preau.access import policy
from preau.messaging import moderation, moderation_selectors, safety
from preau.messaging.errors import MessagingError
from preau.messaging.models import Report

from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses
from ..schemas import MAX_DB_INT, PageParams, PersonRef, page_of, paginate

router = Router(tags=["messagerie : modération"])

FilterId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Limit = Annotated[int, Field(ge=0, le=moderation.MAX_LIMIT)]
RoleName = Literal["pupil", "guardian", "teacher", "staff"]
OutcomeName = Literal[tuple(Report.Outcome.values)]  # type: ignore[valid-type]


# --- Schemas ---------------------------------------------------------------------------------------------------

class RulesFields(Schema):
    pupils_write_to_pupils: bool
    guardians_write_to_guardians: bool
    pupils_write_to_staff: bool
    guardians_write_to_staff: bool
    pupil_max_recipients: int = Field(description="Destinataires au plus par message (élèves) ; 0 : pas de limite.")
    guardian_max_recipients: int
    teacher_max_recipients: int
    staff_max_recipients: int
    pupil_max_per_hour: int = Field(description="Messages au plus par heure (élèves) ; 0 : pas de limite.")
    guardian_max_per_hour: int
    teacher_max_per_hour: int
    staff_max_per_hour: int
    pupils_paused: bool = Field(description="Messagerie des élèves suspendue.")
    quiet_hours: bool = Field(description="Pas d'envoi la nuit pour les élèves et les responsables.")
    quiet_start: datetime.time = Field(description="Début de la nuit (heure de Paris).")
    quiet_end: datetime.time = Field(description="Fin de la nuit (heure de Paris) ; la nuit peut passer minuit.")
    attachments_off_roles: list[RoleName] = Field(description="Rôles qui ne peuvent pas joindre de fichiers.")
    hold_recipients_above: int = Field(description="Un envoi d'un élève ou d'un responsable à plus de "
                                                   "destinataires est retenu pour vérification.")
    hold_new_device: bool = Field(description="Retenir les envois à plusieurs personnes depuis un nouvel appareil.")


class RulesOut(RulesFields):
    establishment_id: int
    updated_at: datetime.datetime | None


class RulesIn(Schema):
    """Only the fields given change; the others keep their value."""

    pupils_write_to_pupils: bool | None = None
    guardians_write_to_guardians: bool | None = None
    pupils_write_to_staff: bool | None = None
    guardians_write_to_staff: bool | None = None
    pupil_max_recipients: Limit | None = None
    guardian_max_recipients: Limit | None = None
    teacher_max_recipients: Limit | None = None
    staff_max_recipients: Limit | None = None
    pupil_max_per_hour: Limit | None = None
    guardian_max_per_hour: Limit | None = None
    teacher_max_per_hour: Limit | None = None
    staff_max_per_hour: Limit | None = None
    pupils_paused: bool | None = None
    quiet_hours: bool | None = None
    quiet_start: datetime.time | None = None
    quiet_end: datetime.time | None = None
    attachments_off_roles: list[RoleName] | None = None
    hold_recipients_above: Limit | None = None
    hold_new_device: bool | None = None


class SenderOut(PersonRef):
    pass


class HeldMessageOut(Schema):
    id: int
    establishment_id: int | None
    conversation_id: int
    subject: str
    body_text: str = Field(description="Le texte du message, sans mise en forme.")
    sender: SenderOut
    sent_at: datetime.datetime | None
    recipient_count: int
    address_labels: dict = Field(description="Les adresses telles que l'expéditeur les a choisies "
                                             "(« to », « cc », « bcc »).")
    held_reason: str
    sender_ip: str | None
    sender_device: str = Field(description="Empreinte de l'appareil (navigateur et système) de l'envoi.")
    attachment_count: int


class ReportedMessageOut(Schema):
    id: int
    conversation_id: int
    conversation_blocked: bool
    subject: str
    body_text: str
    sender: SenderOut
    sent_at: datetime.datetime | None
    recipient_count: int
    hidden_at: datetime.datetime | None


class ReportOut(Schema):
    id: int
    establishment_id: int | None
    created_at: datetime.datetime
    reason: str
    outcome: OutcomeName
    handled_at: datetime.datetime | None
    reporter: PersonRef
    message: ReportedMessageOut


class ReportCreated(Schema):
    id: int
    message_id: int
    created_at: datetime.datetime
    outcome: OutcomeName


class MessageStateOut(Schema):
    id: int
    state: str
    recalled_at: datetime.datetime | None
    hidden_at: datetime.datetime | None
    reviewed_at: datetime.datetime | None


class ConversationOut(Schema):
    id: int
    subject: str
    blocked_at: datetime.datetime | None
    blocked_reason: str


class ReasonIn(Schema):
    reason: str = Field("", max_length=moderation.REPORT_REASON_MAX)


class DecisionIn(Schema):
    reason: str = Field("", max_length=moderation.DECISION_REASON_MAX,
                        description="Motif transmis à l'expéditeur (facultatif).")


class BlockIn(Schema):
    reason: str = Field("", max_length=moderation.BLOCK_REASON_MAX)


class ModerationFilter(PageParams):
    establishment_id: FilterId | None = Field(None, description="Un seul des établissements modérés.")


class ReportFilter(ModerationFilter):
    outcome: OutcomeName = Field(Report.Outcome.PENDING, description="Signalements à traiter (par défaut), "
                                                                     "masqués ou classés.")


HeldPage = page_of(HeldMessageOut, "HeldMessagePage")
ReportPage = page_of(ReportOut, "ReportPage")


# --- Serialisers -------------------------------------------------------------------------------------------------

def _person(user) -> dict:
    return {"id": user.pk, "first_name": user.first_name, "last_name": user.last_name}


def _rules_out(rules) -> dict:
    return {"establishment_id": rules.establishment_id, "updated_at": rules.updated_at,
            **{name: getattr(rules, name) for name in moderation.RULE_FIELDS}}


def _held_out(message) -> dict:
    return {"id": message.pk, "establishment_id": message.establishment_id,
            "conversation_id": message.conversation_id, "subject": message.subject, "body_text": message.body_text,
            "sender": _person(message.sender), "sent_at": message.sent_at,
            "recipient_count": message.recipient_count, "address_labels": message.address_labels or {},
            "held_reason": message.held_reason, "sender_ip": message.sender_ip,
            "sender_device": message.sender_device, "attachment_count": message.attachment_count}


def _report_out(report) -> dict:
    message = report.message
    return {"id": report.pk, "establishment_id": report.establishment_id, "created_at": report.created_at,
            "reason": report.reason, "outcome": report.outcome, "handled_at": report.handled_at,
            "reporter": _person(report.reporter),
            "message": {"id": message.pk, "conversation_id": message.conversation_id,
                        "conversation_blocked": message.conversation.blocked_at is not None,
                        "subject": message.subject, "body_text": message.body_text,
                        "sender": _person(message.sender), "sent_at": message.sent_at,
                        "recipient_count": message.recipient_count, "hidden_at": message.hidden_at}}


def _state_out(message) -> dict:
    return {"id": message.pk, "state": message.state, "recalled_at": message.recalled_at,
            "hidden_at": message.hidden_at, "reviewed_at": message.reviewed_at}


def _conversation_out(conversation) -> dict:
    return {"id": conversation.pk, "subject": conversation.subject, "blocked_at": conversation.blocked_at,
            "blocked_reason": conversation.blocked_reason}


def _call(action):
    try:
        return action()
    except MessagingError as error:
        raise api_error(400, str(error)) from None


def _moderator(request) -> None:
    if not policy.is_messaging_moderator(request.actor):
        raise PermissionDenied


def _chosen(request, establishment_id):
    if establishment_id is None:
        return None
    establishment = policy.moderated_establishments(request.actor).filter(pk=establishment_id).first()
    if establishment is None:
        raise api_error(404, "Cet établissement n'existe pas, ou vous n'en modérez pas la messagerie.")
    return establishment


# --- Rules -----------------------------------------------------------------------------------------------------

def _rules_establishment(request, establishment_id: int) -> int:
    if not policy.messaging_rules_establishments(request.actor).exists():
        raise PermissionDenied
    if not policy.messaging_rules_establishments(request.actor).filter(pk=establishment_id).exists():
        raise api_error(404, "Cet établissement n'existe pas, ou vous n'en réglez pas la messagerie.")
    return establishment_id


@router.get("/messaging/moderation/rules/{establishment_id}", response=responses(RulesOut, NOT_FOUND, FORBIDDEN),
            summary="Les règles de la messagerie d'un établissement")
def get_rules(request, establishment_id: int):
    """For its ENT admins and its leadership (head, deputy, director): who may write to whom, the limits per role,
    the switches. Defaults apply while the establishment has never changed them."""
    return _rules_out(safety.rules_for(_rules_establishment(request, establishment_id)))


@router.put("/messaging/moderation/rules/{establishment_id}",
            response=responses(RulesOut, NOT_FOUND, FORBIDDEN, BAD_REQUEST),
            summary="Changer les règles de la messagerie d'un établissement")
def put_rules(request, establishment_id: int, data: RulesIn):
    """Only the fields given change (the others keep their value); the change is audited with the old and new
    values."""
    _rules_establishment(request, establishment_id)
    fields = {name: value for name, value in data.dict().items() if value is not None}
    rules = _call(lambda: moderation.update_rules(actor=request.actor, establishment_id=establishment_id,
                                                  request=request, **fields))
    return _rules_out(rules)


# --- Held sends ------------------------------------------------------------------------------------------------

@router.get("/messaging/moderation/held", response=responses(HeldPage, FORBIDDEN, NOT_FOUND),
            summary="Envois retenus pour vérification")
def list_held(request, filters: Query[ModerationFilter]):
    """The held sends of the establishments the caller moderates, the oldest first."""
    _moderator(request)
    queryset = moderation_selectors.held_messages(request.actor, _chosen(request, filters.establishment_id))
    return paginate(queryset, filters, _held_out)


@router.post("/messaging/moderation/held/{message_id}/release",
             response=responses(MessageStateOut, NOT_FOUND, BAD_REQUEST),
             summary="Distribuer un envoi retenu")
def release_held(request, message_id: int):
    return _state_out(_call(lambda: moderation.release_held(actor=request.actor, message_id=message_id,
                                                            request=request)))


@router.post("/messaging/moderation/held/{message_id}/refuse",
             response=responses(MessageStateOut, NOT_FOUND, BAD_REQUEST),
             summary="Refuser un envoi retenu (son expéditeur est prévenu)")
def refuse_held(request, message_id: int, data: DecisionIn):
    return _state_out(_call(lambda: moderation.refuse_held(actor=request.actor, message_id=message_id,
                                                           reason=data.reason, request=request)))


# --- Reports ---------------------------------------------------------------------------------------------------

@router.get("/messaging/moderation/reports", response=responses(ReportPage, FORBIDDEN, NOT_FOUND),
            summary="Messages signalés")
def list_reports(request, filters: Query[ReportFilter]):
    """Reports of the establishments the caller moderates, the oldest first (pending ones by default)."""
    _moderator(request)
    queryset = (moderation_selectors.reports(request.actor, _chosen(request, filters.establishment_id))
                .filter(outcome=filters.outcome))
    return paginate(queryset, filters, _report_out)


@router.post("/messaging/moderation/messages/{message_id}/report",
             response=responses(ReportCreated, NOT_FOUND, BAD_REQUEST, status=201),
             summary="Signaler un message reçu")
def report_message(request, message_id: int, data: ReasonIn):
    """Any recipient holding a copy of the message, once; the establishment's moderators are notified."""
    report = _call(lambda: moderation.report_message(actor=request.actor, message_id=message_id,
                                                     reason=data.reason, request=request))
    return Status(201, {"id": report.pk, "message_id": report.message_id, "created_at": report.created_at,
                        "outcome": report.outcome})


@router.post("/messaging/moderation/messages/{message_id}/hide",
             response=responses(MessageStateOut, NOT_FOUND, BAD_REQUEST),
             summary="Masquer un message dans toutes les boîtes")
def hide_message(request, message_id: int):
    """Moderators: every recipient's copy is withdrawn at once and the message's pending reports are closed."""
    return _state_out(_call(lambda: moderation.hide_message(actor=request.actor, message_id=message_id,
                                                            request=request)))


@router.post("/messaging/moderation/reports/{report_id}/dismiss",
             response=responses(ReportCreated, NOT_FOUND, BAD_REQUEST),
             summary="Classer un signalement sans suite")
def dismiss_report(request, report_id: int):
    report = _call(lambda: moderation.dismiss_report(actor=request.actor, report_id=report_id, request=request))
    return {"id": report.pk, "message_id": report.message_id, "created_at": report.created_at,
            "outcome": report.outcome}


@router.post("/messaging/moderation/messages/{message_id}/recall",
             response=responses(MessageStateOut, NOT_FOUND, BAD_REQUEST),
             summary="Rappeler un message envoyé")
def recall_message(request, message_id: int):
    """The sender (a teacher or staff member), within PREAU_MESSAGING_RECALL_DAYS: the message is withdrawn from
    every recipient's mailbox."""
    return _state_out(_call(lambda: moderation.recall_message(actor=request.actor, message_id=message_id,
                                                              request=request)))


# --- Conversations ---------------------------------------------------------------------------------------------

@router.post("/messaging/moderation/conversations/{conversation_id}/block",
             response=responses(ConversationOut, NOT_FOUND, BAD_REQUEST),
             summary="Bloquer une conversation (plus aucune réponse)")
def block_conversation(request, conversation_id: int, data: BlockIn):
    return _conversation_out(_call(lambda: moderation.block_conversation(
        actor=request.actor, conversation_id=conversation_id, reason=data.reason, request=request)))


@router.post("/messaging/moderation/conversations/{conversation_id}/unblock",
             response=responses(ConversationOut, NOT_FOUND, BAD_REQUEST),
             summary="Débloquer une conversation")
def unblock_conversation(request, conversation_id: int):
    return _conversation_out(_call(lambda: moderation.unblock_conversation(
        actor=request.actor, conversation_id=conversation_id, request=request)))
