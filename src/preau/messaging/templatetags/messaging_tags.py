"""Template filters of the messaging pages."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def mail_date(value) -> str:
    """Today: the time; this year: day and month; before: the full date."""
    if not value:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    if local.date() == today:
        return date_format(local, "H:i")
    if local.year == today.year:
        return date_format(local, "j M")
    return date_format(local, "d/m/Y")


@register.filter
def recipients_line(message) -> str:
    """The visible addresses of a message (to, then cc), as its sender typed them."""
    labels = message.address_labels or {}
    names = list(labels.get("to") or []) + list(labels.get("cc") or [])
    return ", ".join(names) if names else _("aucun destinataire")
