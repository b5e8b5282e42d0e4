"""The audit log: append-only records of security events and of reads of other people's sensitive data."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        LOGIN = "login"
        LOGIN_FAILED = "login_failed"
        LOGIN_LOCKED = "login_locked"
        LOGOUT = "logout"
        ACTIVATION = "activation"
        PASSWORD_CHANGE = "password_change"
        PASSWORD_RESET_REQUEST = "password_reset_request"
        PASSWORD_RESET = "password_reset"
        PASSWORD_RESET_BY_ADMIN = "password_reset_by_admin"
        ACTIVATION_CODE_ISSUED = "activation_code_issued"
        TOTP_ENABLED = "totp_enabled"
        TOTP_DISABLED = "totp_disabled"
        TOTP_FAILED = "totp_failed"
        CHARTER_ACCEPTED = "charter_accepted"
        ROLE_GRANTED = "role_granted"
        ROLE_REVOKED = "role_revoked"
        ACCOUNT_CHANGED = "account_changed"
        GUARDIAN_LINK_CHANGED = "guardian_link_changed"
        SENSITIVE_READ = "sensitive_read"
        API_TOKEN_CREATED = "api_token_created"
        API_TOKEN_REVOKED = "api_token_revoked"
        ACTIVATION_FAILED = "activation_failed"
        CHARTER_PUBLISHED = "charter_published"
        TOTP_RECOVERY_CODE_USED = "totp_recovery_code_used"
        TOTP_RECOVERY_CODES_GENERATED = "totp_recovery_codes_generated"
        TOTP_RESET_BY_ADMIN = "totp_reset_by_admin"
        DIRECTORY_IMPORT = "directory_import"
        SCHOOL_YEAR_ROLLOVER = "school_year_rollover"
        # Communication (messaging, news, carnet de liaison).
        MESSAGE_SENT = "message_sent"
        MESSAGE_HELD = "message_held"
        MESSAGE_RELEASED = "message_released"
        MESSAGE_REFUSED = "message_refused"
        MESSAGE_RECALLED = "message_recalled"
        MESSAGE_HIDDEN = "message_hidden"
        MESSAGE_REPORTED = "message_reported"
        CONVERSATION_BLOCKED = "conversation_blocked"
        CONVERSATION_UNBLOCKED = "conversation_unblocked"
        MESSAGING_RULES_CHANGED = "messaging_rules_changed"
        NEWS_PUBLISHED = "news_published"
        LIAISON_NOTE_SENT = "liaison_note_sent"
        # Timetable and attendance (issue 5)
        COURSE_CHANGED = "course_changed"
        TIMETABLE_EDITED = "timetable_edited"
        AGENDA_EVENT_PUBLISHED = "agenda_event_published"
        CALENDAR_FEED_CREATED = "calendar_feed_created"
        CALENDAR_FEED_REVOKED = "calendar_feed_revoked"
        ROLL_CALL_TAKEN = "roll_call_taken"
        ATTENDANCE_RECORDED = "attendance_recorded"
        ATTENDANCE_CHANGED = "attendance_changed"
        JUSTIFICATION_SUBMITTED = "justification_submitted"
        JUSTIFICATION_DECIDED = "justification_decided"
        INCIDENT_REPORTED = "incident_reported"
        PUNISHMENT_SET = "punishment_set"
        EXEMPTION_RECORDED = "exemption_recorded"
        ATTENDANCE_EXPORTED = "attendance_exported"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    # Whose data or account the event is about (the subject), when it is a person.
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    establishment_id = models.BigIntegerField(null=True, blank=True)
    # What was read or changed, e.g. "grades", "attendance", "directory.profile".
    target = models.CharField(max_length=80, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    username_tried = models.CharField(max_length=150, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["actor", "at"]),
            models.Index(fields=["subject", "at"]),
            models.Index(fields=["action", "at"]),
            # The administrators' journal (events of an establishment) and failed logins on one's own account.
            models.Index(fields=["establishment_id", "at"], name="audit_establishment_at_idx"),
            models.Index(fields=["username_tried", "at"], name="audit_username_tried_at_idx"),
        ]
        ordering = ["-at"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only.")
