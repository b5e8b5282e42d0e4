"""Writing to the audit log. Every service calls `record`; nothing updates or deletes an event."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings

from .models import AuditEvent

Action = AuditEvent.Action


def client_ip(request) -> str | None:
    """The client's address. Behind PREAU_TRUSTED_PROXIES reverse proxies, the address the nearest untrusted hop
    gave, read from the right of X-Forwarded-For (left-most entries are client-controlled and never trusted)."""
    if request is None:
        return None
    proxies = settings.PREAU_TRUSTED_PROXIES
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def record(action: str, *, actor=None, subject=None, request=None, establishment_id: int | None = None,
           target: str = "", username_tried: str = "", **details: Any) -> AuditEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        subject=subject,
        establishment_id=establishment_id,
        target=target,
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else ""),
        username_tried=username_tried[:150],
        details=details,
    )


def record_sensitive_read(*, actor, subject, target: str, request=None, establishment_id: int | None = None):
    """Log a read of another person's sensitive data (grades, absences, personal files, contact details)."""
    if actor is None or subject is None or actor.pk == subject.pk:
        return None
    return record(Action.SENSITIVE_READ, actor=actor, subject=subject, target=target, request=request,
                  establishment_id=establishment_id)
