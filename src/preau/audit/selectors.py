"""Reads of the audit log: the administrators' journal, a person's own account activity, and who read their data.

Scoping always comes from the access policy (`audit_events_visible_to`, `sensitive_reads_about_visible_to`);
these functions only filter and order what the policy lets through.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import Membership, Role, StaffFunction

from .models import AuditEvent

Action = AuditEvent.Action
PAGE_SIZE = 50
RECENT_ACTIVITY_SIZE = 10
# At most this many people matched by a name search feed the journal's filter.
PERSON_SEARCH_LIMIT = 200

ACTION_LABELS: dict[str, str] = {
    Action.LOGIN: _("Connexion"),
    Action.LOGIN_FAILED: _("Échec de connexion"),
    Action.LOGIN_LOCKED: _("Connexion bloquée"),
    Action.LOGOUT: _("Déconnexion"),
    Action.ACTIVATION: _("Activation du compte"),
    Action.PASSWORD_CHANGE: _("Changement de mot de passe"),
    Action.PASSWORD_RESET_REQUEST: _("Demande de réinitialisation du mot de passe"),
    Action.PASSWORD_RESET: _("Réinitialisation du mot de passe"),
    Action.PASSWORD_RESET_BY_ADMIN: _("Mot de passe réinitialisé par un administrateur"),
    Action.ACTIVATION_CODE_ISSUED: _("Code d'activation généré"),
    Action.TOTP_ENABLED: _("Double authentification activée"),
    Action.TOTP_DISABLED: _("Double authentification désactivée"),
    Action.TOTP_FAILED: _("Code de double authentification erroné"),
    Action.CHARTER_ACCEPTED: _("Charte acceptée"),
    Action.ROLE_GRANTED: _("Rôle attribué"),
    Action.ROLE_REVOKED: _("Rôle retiré"),
    Action.ACCOUNT_CHANGED: _("Compte ou données modifiés"),
    Action.GUARDIAN_LINK_CHANGED: _("Lien de responsabilité modifié"),
    Action.SENSITIVE_READ: _("Consultation de données personnelles"),
    Action.API_TOKEN_CREATED: _("Jeton d'API créé"),
    Action.API_TOKEN_REVOKED: _("Jeton d'API révoqué"),
    Action.ACTIVATION_FAILED: _("Échec d'activation"),
    Action.CHARTER_PUBLISHED: _("Charte publiée"),
    Action.TOTP_RECOVERY_CODE_USED: _("Code de secours utilisé"),
    Action.TOTP_RECOVERY_CODES_GENERATED: _("Nouveaux codes de secours générés"),
    Action.TOTP_RESET_BY_ADMIN: _("Double authentification réinitialisée par un administrateur"),
    Action.DIRECTORY_IMPORT: _("Import de l'annuaire"),
    Action.SCHOOL_YEAR_ROLLOVER: _("Passage à l'année scolaire suivante (bascule)"),
    Action.MESSAGE_SENT: _("Message envoyé"),
    Action.MESSAGE_HELD: _("Message retenu pour vérification"),
    Action.MESSAGE_RELEASED: _("Message retenu libéré"),
    Action.MESSAGE_REFUSED: _("Message retenu refusé"),
    Action.MESSAGE_RECALLED: _("Message rappelé"),
    Action.MESSAGE_HIDDEN: _("Message masqué par la modération"),
    Action.MESSAGE_REPORTED: _("Message signalé"),
    Action.CONVERSATION_BLOCKED: _("Conversation bloquée"),
    Action.CONVERSATION_UNBLOCKED: _("Conversation débloquée"),
    Action.MESSAGING_RULES_CHANGED: _("Règles de la messagerie modifiées"),
    Action.NEWS_PUBLISHED: _("Actualité publiée"),
    Action.LIAISON_NOTE_SENT: _("Mot du carnet de liaison envoyé"),
    Action.AGENDA_EVENT_PUBLISHED: _("Événement de l'agenda publié, modifié ou supprimé"),
    Action.CALENDAR_FEED_CREATED: _("Lien d'abonnement à l'agenda créé"),
    Action.CALENDAR_FEED_REVOKED: _("Lien d'abonnement à l'agenda révoqué"),
    Action.COURSE_CHANGED: _("Cours modifié (annulé, déplacé, remplacé)"),
    Action.TIMETABLE_EDITED: _("Emploi du temps modifié"),
    Action.ROLL_CALL_TAKEN: _("Appel fait"),
    Action.ATTENDANCE_RECORDED: _("Absence ou retard saisi"),
    Action.ATTENDANCE_CHANGED: _("Absence ou retard modifié"),
    Action.JUSTIFICATION_SUBMITTED: _("Justification d'absence envoyée"),
    Action.JUSTIFICATION_DECIDED: _("Justification d'absence acceptée ou refusée"),
    Action.INCIDENT_REPORTED: _("Incident signalé"),
    Action.PUNISHMENT_SET: _("Punition ou sanction donnée"),
    Action.EXEMPTION_RECORDED: _("Dispense enregistrée"),
    Action.ATTENDANCE_EXPORTED: _("Export des absences"),
}

# What a sensitive read was about, in words a family understands.
TARGET_LABELS: dict[str, str] = {
    "directory.contact": _("Coordonnées (courriel, téléphone, date de naissance)"),
    "directory.profile": _("Fiche de l'annuaire"),
    "grades": _("Notes"),
    "attendance": _("Absences et retards"),
    "report_cards": _("Bulletins"),
    "homework": _("Travail à faire"),
    "timetable": _("Emploi du temps"),
    "messaging": _("Messagerie"),
    "files": _("Documents personnels"),
}

# The events someone should see about their own account, to spot a login or a change they did not make.
SECURITY_ACTIONS = [
    Action.LOGIN, Action.LOGIN_FAILED, Action.LOGIN_LOCKED, Action.ACTIVATION, Action.PASSWORD_CHANGE,
    Action.PASSWORD_RESET, Action.PASSWORD_RESET_BY_ADMIN, Action.TOTP_ENABLED, Action.TOTP_DISABLED,
    Action.TOTP_FAILED, Action.TOTP_RECOVERY_CODE_USED, Action.TOTP_RECOVERY_CODES_GENERATED,
    Action.TOTP_RESET_BY_ADMIN, Action.API_TOKEN_CREATED, Action.API_TOKEN_REVOKED,
    Action.CALENDAR_FEED_CREATED, Action.CALENDAR_FEED_REVOKED,
]
FAILURE_ACTIONS = {Action.LOGIN_FAILED, Action.LOGIN_LOCKED, Action.TOTP_FAILED, Action.ACTIVATION_FAILED}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def target_label(target: str) -> str:
    return str(TARGET_LABELS.get(target, target)) if target else ""


def _sort_key(label: str) -> str:
    return unicodedata.normalize("NFD", label).encode("ascii", "ignore").decode().casefold()


def action_choices() -> list[tuple[str, str]]:
    return sorted(((value, str(label)) for value, label in ACTION_LABELS.items()), key=lambda item: _sort_key(item[1]))


# --- The administrators' journal ------------------------------------------------------------------------------

def administered_person(actor: policy.Actor, person_id) -> User | None:
    """The person behind ?personne=<id>, if the actor administers them; None otherwise (missing or forbidden)."""
    try:
        pk = int(person_id)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None
    return policy.people_administered_by(actor).filter(pk=pk).first()


def journal_events(actor: policy.Actor, *, action: str | None = None, person: User | None = None,
                   q: str | None = None, start: datetime.date | None = None,
                   end: datetime.date | None = None) -> QuerySet[AuditEvent]:
    """The events the actor may read, newest first, narrowed by the journal's filters."""
    events = policy.audit_events_visible_to(actor)
    if action:
        events = events.filter(action=action)
    if person is not None:
        events = events.filter(Q(actor_id=person.pk) | Q(subject_id=person.pk)
                               | Q(username_tried=person.username, action__in=FAILURE_ACTIONS))
    terms = [term for term in (q or "").split() if term][:5]
    if terms:
        people = policy.people_administered_by(actor)
        for term in terms:
            people = people.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term)
                                   | Q(username__icontains=term))
        ids = list(people.order_by("pk").values_list("pk", flat=True)[:PERSON_SEARCH_LIMIT])
        condition = Q(username_tried__icontains=" ".join(terms))
        if ids:
            condition |= Q(actor_id__in=ids) | Q(subject_id__in=ids)
        events = events.filter(condition)
    tz = timezone.get_current_timezone()
    if start:
        events = events.filter(at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=tz))
    if end:
        events = events.filter(at__lt=datetime.datetime.combine(end + datetime.timedelta(days=1),
                                                                datetime.time.min, tzinfo=tz))
    return events.select_related("actor", "subject").order_by("-at", "-pk")


def administered_among(actor: policy.Actor, events) -> set[int]:
    """Which actors and subjects of these events the actor administers (one query), to link to their journal."""
    ids = {e.actor_id for e in events if e.actor_id} | {e.subject_id for e in events if e.subject_id}
    if not ids:
        return set()
    return set(policy.people_administered_by(actor).filter(pk__in=ids).values_list("pk", flat=True))


def establishment_names(events) -> dict[int, str]:
    """Names of the establishments the given events mention (one query)."""
    from preau.directory.models import Establishment

    ids = {e.establishment_id for e in events if e.establishment_id}
    if not ids:
        return {}
    return dict(Establishment.objects.filter(pk__in=ids).values_list("pk", "name"))


# --- One's own account ----------------------------------------------------------------------------------------

def own_security_events(user: User, *, limit: int = RECENT_ACTIVITY_SIZE) -> list[AuditEvent]:
    """The person's latest security events: logins, failures on their login, password and 2FA changes."""
    about_me = AuditEvent.objects.filter(subject_id=user.pk, action__in=SECURITY_ACTIONS)
    failures = AuditEvent.objects.filter(username_tried=user.username, subject__isnull=True,
                                         action__in=[Action.LOGIN_FAILED, Action.LOGIN_LOCKED])
    # Two index-backed reads merged in memory (an OR across two indexes would scan the whole log on SQLite).
    events = (list(about_me.select_related("actor").order_by("-at", "-pk")[:limit])
              + list(failures.order_by("-at", "-pk")[:limit]))
    events.sort(key=lambda e: (e.at, e.pk), reverse=True)
    return events[:limit]


def reads_about_me(actor: policy.Actor) -> QuerySet[AuditEvent]:
    """Who read the actor's (or, for a guardian, their children's) sensitive data, newest first."""
    return (policy.sensitive_reads_about_visible_to(actor)
            .select_related("actor", "subject").order_by("-at", "-pk"))


def reader_roles(events) -> dict[int, str]:
    """A short description of each reader's professional roles ("Personnel (CPE) — Collège X"), one query."""
    reader_ids = {e.actor_id for e in events if e.actor_id}
    if not reader_ids:
        return {}
    role_labels = dict(Role.choices)
    function_labels = dict(StaffFunction.choices)
    described: dict[int, list[str]] = {}
    # Only professional roles: that a teacher is also a parent elsewhere is none of the family's business.
    memberships = (Membership.objects.filter(user_id__in=reader_ids, is_active=True,
                                             role__in=[Role.TEACHER, Role.STAFF, Role.ENT_ADMIN])
                   .select_related("establishment").order_by("establishment__name", "role"))
    for m in memberships:
        label = str(role_labels.get(m.role, m.role))
        if m.functions:
            label += " (" + ", ".join(str(function_labels.get(f, f)) for f in m.functions) + ")"
        label += " — " + m.establishment.name
        described.setdefault(m.user_id, [])
        if label not in described[m.user_id]:
            described[m.user_id].append(label)
    return {uid: "; ".join(labels) for uid, labels in described.items()}


# --- Presentation helpers -------------------------------------------------------------------------------------

_BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("SamsungBrowser/", "Samsung Internet"),
             ("Chrome/", "Chrome"), ("CriOS/", "Chrome"), ("Safari/", "Safari")]
_SYSTEMS = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux")]


def short_user_agent(user_agent: str) -> str:
    """'Firefox sur Windows' from a full user agent; the raw start of it when unknown."""
    if not user_agent:
        return ""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return str(_("%(browser)s sur %(system)s")) % {"browser": browser, "system": system}
    if browser or system:
        return browser or system
    cleaned = re.sub(r"\s+", " ", user_agent).strip()
    return cleaned if len(cleaned) <= 40 else cleaned[:39] + "…"
