"""Notifications: one row per person and event, and each person's preferences.

A notification row is written by the delivery task (tasks.deliver), never in the request that caused it. It carries
its own delivery state: shown in the list (`in_app`), an immediate email planned at `email_due_at` (later than the
event when it fell in the person's quiet hours) and sent at `emailed_at`, or a place in the daily digest (`digest`,
`digested_at`). `source` identifies the event ("messaging.message:123"): (recipient, source) is unique, so a task
run twice never writes a notification twice.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .kinds import Kind

DEFAULT_QUIET_START = datetime.time(20, 0)
DEFAULT_QUIET_END = datetime.time(7, 0)


class Notification(models.Model):
    # Indexed by the (recipient, source) constraint and the list index: no separate index of its own.
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
                                  db_index=False)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("titre"), max_length=200)
    body = models.TextField(_("texte"), blank=True)
    # A path inside Préau ("/messages/12/"), never another site.
    url = models.CharField(_("lien"), max_length=500, blank=True)
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    urgent = models.BooleanField(_("urgent"), default=False)
    source = models.CharField(_("origine"), max_length=150)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)
    # False when the person turned the in-app channel off for this kind: the row only carries an email or digest.
    in_app = models.BooleanField(default=True)
    email_due_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    digest = models.BooleanField(default=False)
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "source"], name="notification_unique_source"),
        ]
        indexes = [
            # The list (newest first) and the unread counter (one index-only count).
            models.Index(fields=["recipient", "-created_at"], name="notification_list"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True, in_app=True),
                         name="notification_unread"),
            # Immediate emails waiting for their time (deferred by quiet hours).
            models.Index(fields=["email_due_at"], condition=Q(email_due_at__isnull=False, emailed_at__isnull=True),
                         name="notification_email_due"),
            # The daily digest.
            models.Index(fields=["recipient"], condition=Q(digest=True, digested_at__isnull=True),
                         name="notification_digest_due"),
            # Retention (tasks.purge).
            models.Index(fields=["created_at"], name="notification_age"),
        ]

    def __str__(self):
        return f"{self.recipient_id} — {self.kind} — {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreferences(models.Model):
    """A person's choices. No row means the defaults (kinds.KINDS, quiet hours 20:00–07:00 and weekends)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="notification_preferences")
    # {kind: {channel: bool}}: only what differs from the kind's defaults matters.
    channels = models.JSONField(default=dict, blank=True)
    # No email is pushed between quiet_start and quiet_end (equal times: no nightly quiet period), nor on
    # Saturdays and Sundays when quiet_weekends; urgent notifications go through.
    quiet_start = models.TimeField(_("début du calme"), default=DEFAULT_QUIET_START)
    quiet_end = models.TimeField(_("fin du calme"), default=DEFAULT_QUIET_END)
    quiet_weekends = models.BooleanField(_("pas de courriel le week-end"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("préférences de notification")
