"""Abuse resistance: may this send go out now, be held for staff review, or be refused? (see docs/messaging-safety.md)

In March 2024 stolen pupil and parent accounts sent bomb threats and violent videos to whole schools through ENT
messaging. `check_send` is asked by `services.send_message` (and replies, forwards) before anything is written. It
applies the establishment's `MessagingRules`:

- refuse (the French reason is shown to the sender): pupils' messaging paused, quiet hours for pupils and guardians,
  attachments off for the person's role, more recipients than the role allows, more sends in the last hour than
  the role allows;
- hold for review by the establishment's moderators (the message is written but not delivered): a pupil or guardian
  writing to more than `hold_recipients_above` people; a send much larger than the person's usual sends (except a
  teacher writing only to the classes and groups they teach, or to named people: that is their everyday audience,
  however many families it reaches); or a send to more than `hold_recipients_above` people from a device the
  person has never used before (a stolen password is used from the thief's device);
- allow otherwise.

Which role applies when a person holds several in the establishment: the most permissive one they hold there
(staff > teacher > guardian > pupil; an ENT admin counts as staff). A teacher who is also a parent of the school
writes as a teacher. The establishment's moderators (`policy.can_moderate`) are never held: they would review
their own send.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from preau.access import policy
from preau.directory.models import Role

from .models import Message, MessagingRules

ALLOW, HOLD, REFUSE = "allow", "hold", "refuse"

# The roles whose limits apply, from the most to the least permissive. An ENT admin writes as staff.
ROLE_ORDER = (Role.STAFF, Role.TEACHER, Role.GUARDIAN, Role.PUPIL)
LIMITED_ROLES = [Role.PUPIL.value, Role.GUARDIAN.value, Role.TEACHER.value, Role.STAFF.value]
# Roles to which quiet hours and the "more than hold_recipients_above" hold apply.
FAMILY_ROLES = {Role.PUPIL, Role.GUARDIAN}
# Messages that count as the person's history (sent and not stopped by moderation).
HISTORY_STATES = [Message.State.QUEUED, Message.State.DELIVERED, Message.State.RECALLED]


@dataclass(frozen=True)
class Verdict:
    kind: str  # "allow" | "hold" | "refuse"
    reason: str = ""  # French: for a refusal, shown to the sender; for a hold, shown to moderators (held_reason)
    role: str = ""  # the role whose rules applied

    @property
    def allowed(self) -> bool:
        return self.kind == ALLOW

    @property
    def held(self) -> bool:
        return self.kind == HOLD

    @property
    def refused(self) -> bool:
        return self.kind == REFUSE


def rules_for(establishment_id: int | None) -> MessagingRules:
    """The establishment's rules; the defaults (an unsaved row) when it has none."""
    if establishment_id is not None:
        rules = MessagingRules.objects.filter(establishment_id=establishment_id).first()
        if rules is not None:
            return rules
    return MessagingRules(establishment_id=establishment_id)


_VERSION = re.compile(r"[\d._]+")


def device_id_for_user_agent(user_agent: str) -> str:
    """A stable identifier of a browser and system: the user agent without its version numbers, hashed.

    Versions are dropped so that a browser update is not a "new device"; a phone, another browser or another
    system is. It is not secret and identifies nobody: it only tells two sends of one person apart.
    """
    family = _VERSION.sub("", (user_agent or "").strip().lower())
    family = " ".join(family.split())
    return hashlib.sha256(family.encode()).hexdigest()[:32]


def device_id(request) -> str:
    """The device a request comes from (see `device_id_for_user_agent`); "" without a request."""
    if request is None:
        return ""
    return device_id_for_user_agent(request.META.get("HTTP_USER_AGENT", ""))


def role_in(actor: policy.Actor, establishment_id: int | None) -> str | None:
    """The role whose messaging rules apply to the actor in the establishment: the most permissive they hold."""
    roles = actor.roles_in(establishment_id) if establishment_id is not None else set()
    if Role.ENT_ADMIN in roles:
        roles = roles | {Role.STAFF}
    for role in ROLE_ORDER:
        if role in roles:
            return role.value
    if actor.is_global_admin:
        return Role.STAFF.value
    return None


def is_quiet_time(rules: MessagingRules, now: datetime.datetime) -> bool:
    """Whether `now` (read in Europe/Paris) falls in the rules' night; the night may span midnight."""
    if not rules.quiet_hours:
        return False
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    local = timezone.localtime(now).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _time(value: datetime.time) -> str:
    return formats.time_format(value, "G \\h i")


@dataclass
class History:
    sent_last_hour: int
    largest_recent: int


def _history(actor: policy.Actor, now: datetime.datetime) -> History:
    """The person's sends of the last hour and their largest recent send: one range scan of (sender, sent_at)."""
    days = settings.PREAU_MESSAGING_HISTORY_DAYS
    row = Message.objects.filter(
        sender_id=actor.id, sent_at__gte=now - datetime.timedelta(days=days), sent_at__lte=now,
    ).aggregate(
        last_hour=Count("id", filter=Q(sent_at__gt=now - datetime.timedelta(hours=1))),
        largest=Max("recipient_count", filter=Q(state__in=HISTORY_STATES)),
    )
    return History(sent_last_hour=row["last_hour"] or 0, largest_recent=row["largest"] or 0)


def is_known_device(actor: policy.Actor, device: str, now: datetime.datetime) -> bool:
    """Whether the person used this device before: a message of theirs sent from it went out (delivered, queued,
    recalled: not one held or refused), or they logged in from it more than PREAU_MESSAGING_DEVICE_TRUST_HOURS
    ago (the login of the session sending now does not count: a stolen password logs in from a new device just
    before sending). Both looks are bounded to the last PREAU_MESSAGING_DEVICE_MEMORY_DAYS.

    A person with no history at all (no earlier login, no message that went out: a new account, the first days
    of the ENT) has no device to compare with: every device would be "new", holding every teacher's first
    message of the year and telling nothing about theft. Their device counts as known; the size rules still
    apply to them."""
    from preau.audit.models import AuditEvent

    since = now - datetime.timedelta(days=settings.PREAU_MESSAGING_DEVICE_MEMORY_DAYS)
    sent = Message.objects.filter(sender_id=actor.id, sent_at__gte=since, state__in=HISTORY_STATES)
    if sent.filter(sender_device=device).exists():
        return True
    trusted_before = now - datetime.timedelta(hours=settings.PREAU_MESSAGING_DEVICE_TRUST_HOURS)
    agents = set(AuditEvent.objects.filter(actor_id=actor.id, action=AuditEvent.Action.LOGIN, at__gte=since,
                                           at__lt=trusted_before)
                 .values_list("user_agent", flat=True).distinct())
    if any(device_id_for_user_agent(agent) == device for agent in agents):
        return True
    return not agents and not sent.exists()


def _refuse(reason: str, role: str) -> Verdict:
    return Verdict(REFUSE, reason, role)


def within_own_teaching(actor: policy.Actor, addresses) -> bool:
    """Whether every address is a named person or a class or group the actor teaches this year (their pupils'
    families included): a teacher's everyday audience, never "unusual" by its size."""
    if addresses is None:
        return False
    from . import addresses as address_book

    classes, groups = actor.taught
    for address in addresses:
        kind, ident = address.get("type"), address.get("id")
        if kind == address_book.PERSON or kind in address_book.MY_CLASSES_TYPES:
            continue
        if kind in address_book.CLASS_TYPES and ident in classes:
            continue
        if kind in address_book.GROUP_TYPES and ident in groups:
            continue
        return False
    return True


def check_send(*, actor: policy.Actor, establishment, recipient_count: int, has_attachments: bool, request=None,
               now: datetime.datetime | None = None, addresses=None) -> Verdict:
    """May `actor` send a message to `recipient_count` people in `establishment` now? See the module docstring.

    Reads the rules (one query), and only when needed the person's recent sends (one query) and their devices
    (one to three queries). `addresses` (the send's address list) lets a teacher's own classes count as their
    everyday audience. Writes nothing."""
    now = now or timezone.now()
    establishment_id = getattr(establishment, "pk", establishment)
    role = role_in(actor, establishment_id)
    if role is None:
        return _refuse(_("Vous ne pouvez pas écrire depuis cet établissement."), "")
    rules = rules_for(establishment_id)

    if role == Role.PUPIL and rules.pupils_paused:
        return _refuse(_("La messagerie des élèves est suspendue pour le moment par l'établissement : vous ne "
                         "pouvez pas envoyer de message."), role)
    if role in FAMILY_ROLES and is_quiet_time(rules, now):
        return _refuse(_("L'envoi de messages n'est pas possible la nuit, de %(start)s à %(end)s. Vous pourrez "
                         "l'envoyer à partir de %(end)s.")
                       % {"start": _time(rules.quiet_start), "end": _time(rules.quiet_end)}, role)
    if has_attachments and role in (rules.attachments_off_roles or []):
        return _refuse(_("Les pièces jointes ne sont pas permises pour votre profil dans cet établissement : "
                         "retirez-les pour envoyer le message."), role)
    max_recipients = getattr(rules, f"{role}_max_recipients")
    if max_recipients and recipient_count > max_recipients:
        return _refuse(ngettext(
            "Un message ne peut pas avoir plus de %(max)d destinataire pour votre profil ; celui-ci en a "
            "%(count)d.",
            "Un message ne peut pas avoir plus de %(max)d destinataires pour votre profil ; celui-ci en a "
            "%(count)d.", max_recipients) % {"max": max_recipients, "count": recipient_count}, role)

    max_per_hour = getattr(rules, f"{role}_max_per_hour")
    moderator = policy.can_moderate(actor, establishment_id)
    history: History | None = None
    if max_per_hour or not moderator:
        history = _history(actor, now)
    if max_per_hour and history.sent_last_hour >= max_per_hour:
        return _refuse(ngettext(
            "Vous avez déjà envoyé %(count)d message dans l'heure, le maximum pour votre profil : réessayez "
            "plus tard.",
            "Vous avez déjà envoyé %(count)d messages dans l'heure, le maximum pour votre profil : réessayez "
            "plus tard.", history.sent_last_hour) % {"count": history.sent_last_hour}, role)

    if moderator:
        return Verdict(ALLOW, "", role)
    if role in FAMILY_ROLES and recipient_count > rules.hold_recipients_above:
        label = _("un élève") if role == Role.PUPIL else _("un responsable")
        return Verdict(HOLD, _("Envoi à %(count)d destinataires, au-delà de %(max)d pour %(who)s.")
                       % {"count": recipient_count, "max": rules.hold_recipients_above, "who": label}, role)
    unusual_min = settings.PREAU_MESSAGING_UNUSUAL_MIN_RECIPIENTS
    factor = settings.PREAU_MESSAGING_UNUSUAL_FACTOR
    everyday = role == Role.TEACHER and within_own_teaching(actor, addresses)
    if recipient_count > unusual_min and recipient_count > factor * history.largest_recent and not everyday:
        return Verdict(HOLD, _("Envoi inhabituel : %(count)d destinataires, alors que ses envois des %(days)d "
                               "derniers jours en comptaient au plus %(largest)d.")
                       % {"count": recipient_count, "days": settings.PREAU_MESSAGING_HISTORY_DAYS,
                          "largest": history.largest_recent}, role)
    if rules.hold_new_device and request is not None and recipient_count > rules.hold_recipients_above:
        device = device_id(request)
        if not is_known_device(actor, device, now):
            return Verdict(HOLD, _("Envoi à %(count)d destinataires depuis un appareil que cette personne n'avait "
                                   "jamais utilisé.") % {"count": recipient_count}, role)
    return Verdict(ALLOW, "", role)


def message_held(*, message: Message, request=None) -> None:
    """After `send_message` wrote a held message (state held, held_reason set): audit MESSAGE_HELD (who, how many
    recipients, why, IP, device) and tell the establishment's moderators, once the transaction commits."""
    from preau.audit.models import AuditEvent
    from preau.audit.services import record

    record(AuditEvent.Action.MESSAGE_HELD, actor=message.sender, subject=message.sender, request=request,
           establishment_id=message.establishment_id, target=f"messaging.message:{message.pk}",
           recipients=message.recipient_count, reason=message.held_reason, device=message.sender_device)
    notify_moderators(
        establishment_id=message.establishment_id, source=f"messaging.held:{message.pk}",
        title=_("Message retenu pour vérification : %(subject)s") % {"subject": message.subject},
        body=message.held_reason)


def notify_moderators(*, establishment_id: int | None, source: str, title: str, body: str = "") -> None:
    """Tell the moderators of an establishment (its ENT admins and the staff whose functions moderate messaging)
    that something waits in the moderation queue (in-app notification, kind "message")."""
    from preau.directory.models import Membership
    from preau.notifications.services import notify

    if establishment_id is None:
        return
    functions = sorted(policy.MESSAGING_MODERATOR_FUNCTIONS)
    members = Membership.objects.filter(establishment_id=establishment_id, is_active=True)
    ids = set(members.filter(role=Role.ENT_ADMIN).values_list("user_id", flat=True))
    for user_id, held in members.filter(role=Role.STAFF).values_list("user_id", "functions"):
        if set(held or []) & set(functions):
            ids.add(user_id)
    if ids:
        from django.urls import reverse

        notify(recipient_ids=ids, kind="message", title=title, body=body, source=source,
               url=reverse("messaging_moderation:queue"), establishment_id=establishment_id)
