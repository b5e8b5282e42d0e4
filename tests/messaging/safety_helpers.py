"""Helpers of the messaging safety tests (tests/messaging/test_safety_*.py): sends written straight into the tables,
for the history that `safety.check_send` reads, and requests from a given browser."""

from __future__ import annotations

import datetime
import zoneinfo

from django.test import RequestFactory
from django.utils import timezone

from preau.access.policy import Actor
from preau.audit.models import AuditEvent
from preau.messaging.models import Conversation, Message

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_LINUX_NEWER = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")


def actor(user) -> Actor:
    return Actor(user)


def paris(year, month, day, hour, minute=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def request_from(user_agent: str, ip: str = "203.0.113.7"):
    return RequestFactory().post("/messagerie/", HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)


def sent_message(sender, establishment, *, recipients: int = 1, sent_at=None, state=Message.State.DELIVERED,
                 device: str = "", subject: str = "Bonjour") -> Message:
    sent_at = sent_at or timezone.now()
    conversation = Conversation.objects.create(establishment=establishment, subject=subject, created_at=sent_at,
                                               last_message_at=sent_at)
    return Message.objects.create(conversation=conversation, establishment=establishment, sender=sender,
                                  subject=subject, body="<p>Bonjour</p>", body_text="Bonjour", state=state,
                                  sent_at=sent_at, recipient_count=recipients, sender_device=device)


def login_event(user, user_agent: str, at: datetime.datetime) -> AuditEvent:
    return AuditEvent.objects.create(action=AuditEvent.Action.LOGIN, actor=user, subject=user, user_agent=user_agent,
                                     at=at, ip="203.0.113.7")
