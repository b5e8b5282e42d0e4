"""Moderation reads: the queue of held sends and pending reports, and blocked conversations, scoped by the access
policy to the establishments the person moderates. A page of the queue costs the same few queries whatever the
number of messages (the oldest first, LIMIT rows of each kind, and their counts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from preau.access import policy
from preau.directory.models import Establishment

from .models import Conversation, Message, Report

QUEUE_LIMIT = 50


@dataclass
class Queue:
    establishments: list[Establishment]  # the establishments the person moderates
    establishment: Establishment | None  # the one chosen (None: all of them)
    held: list[Message] = field(default_factory=list)
    held_count: int = 0
    reports: list[Report] = field(default_factory=list)
    report_count: int = 0
    blocked: list[Conversation] = field(default_factory=list)
    blocked_count: int = 0

    @property
    def several_establishments(self) -> bool:
        return len(self.establishments) > 1 and self.establishment is None


def _scoped(queryset, establishment: Establishment | None):
    return queryset.filter(establishment_id=establishment.pk) if establishment is not None else queryset


def held_messages(actor, establishment: Establishment | None = None):
    """Held sends the actor moderates, the oldest first, with what the review needs."""
    return (_scoped(policy.held_messages_visible_to(actor), establishment)
            .select_related("sender", "establishment")
            .annotate(attachment_count=Count("attachments"))
            .order_by("sent_at", "pk"))


def reports(actor, establishment: Establishment | None = None):
    """Reports the actor moderates, the oldest first, with their message, its sender and its conversation."""
    return (_scoped(policy.reports_visible_to(actor), establishment)
            .select_related("reporter", "message", "message__sender", "message__conversation",
                            "message__establishment", "establishment")
            .order_by("created_at", "pk"))


def pending_reports(actor, establishment: Establishment | None = None):
    """Reports waiting for a decision."""
    return reports(actor, establishment).filter(outcome=Report.Outcome.PENDING)


def blocked_conversations(actor, establishment: Establishment | None = None):
    ids = policy.moderated_establishment_ids(actor)
    queryset = Conversation.objects.filter(blocked_at__isnull=False)
    if ids is not None:
        queryset = queryset.filter(establishment_id__in=sorted(ids)) if ids else queryset.none()
    return _scoped(queryset, establishment).select_related("blocked_by", "establishment").order_by("-blocked_at")


def moderation_queue(actor, *, establishment_id=None, limit: int = QUEUE_LIMIT) -> Queue:
    establishments = list(policy.moderated_establishments(actor))
    chosen = next((e for e in establishments if str(e.pk) == str(establishment_id)), None)
    queue = Queue(establishments=establishments, establishment=chosen)
    if not establishments:
        return queue
    held = held_messages(actor, chosen)
    queue.held = list(held[:limit])
    queue.held_count = len(queue.held) if len(queue.held) < limit else held.count()
    reports = pending_reports(actor, chosen)
    queue.reports = list(reports[:limit])
    queue.report_count = len(queue.reports) if len(queue.reports) < limit else reports.count()
    blocked = blocked_conversations(actor, chosen)
    queue.blocked = list(blocked[:limit])
    queue.blocked_count = len(queue.blocked) if len(queue.blocked) < limit else blocked.count()
    return queue
