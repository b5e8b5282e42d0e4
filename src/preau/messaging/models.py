"""Messaging: conversations, messages, each person's copy of a message (their mailbox row), folders, attachments,
abuse reports, and each establishment's messaging rules.

A message is written once (`Message`); delivering it creates one `Delivery` per person who holds it (the sender's
copy in "sent" and one per recipient in "inbox"), in bulk, from a background task. Mailbox pages, unread counts and
read receipts are reads of `Delivery` rows by indexed (owner, folder, date) and (message, read) paths, so a page
costs the same whatever the size of the mailbox or of the send.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    """A thread: the first message and every reply and forward made inside it."""

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="conversations")
    subject = models.CharField(_("objet"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    # A staff member can block a conversation: nobody may reply in it any more.
    blocked_at = models.DateTimeField(null=True, blank=True)
    blocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    blocked_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("conversation")

    def __str__(self):
        return self.subject


class Message(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        QUEUED = "queued", _("En cours d'envoi")
        HELD = "held", _("Retenu pour vérification")
        DELIVERED = "delivered", _("Distribué")
        REFUSED = "refused", _("Refusé par la modération")
        RECALLED = "recalled", _("Rappelé")

    class Kind(models.TextChoices):
        NEW = "new", _("Nouveau message")
        REPLY = "reply", _("Réponse")
        FORWARD = "forward", _("Transfert")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # The establishment whose messaging rules applied when it was sent.
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages_sent")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NEW)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject = models.CharField(_("objet"), max_length=200)
    body = models.TextField(_("message"), blank=True)  # sanitised HTML
    body_text = models.TextField(blank=True)  # plain text of the body, for search and emails
    # What the sender addressed, as typed: {"to": [address, ...], "cc": [...], "bcc": [...]}, each address
    # {"type": "person" | "class_pupils" | "class_guardians" | "class_teachers" | "group_pupils" |
    # "group_guardians" | "group_teachers" | "establishment_staff" | ..., "id": int}. Directory groups are
    # resolved into people when the message is delivered.
    addresses = models.JSONField(default=dict, blank=True)
    # How the visible (to, cc) addresses are shown to recipients: {"to": ["Responsables de 5e B (28)", ...],
    # "cc": [...]}; bcc is shown to the sender only (from `addresses`).
    address_labels = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    # Whether guardians are among the recipients: the sender then sees who has read.
    to_families = models.BooleanField(default=False)
    # Where the send came from (audit and held-message review).
    sender_ip = models.GenericIPAddressField(null=True, blank=True)
    sender_device = models.CharField(max_length=64, blank=True)  # hash of the session's user agent
    # Held for review (abuse resistance): why, and who released or refused it.
    held_reason = models.CharField(max_length=255, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    # Recalled by its (staff) sender, or hidden by staff after a report: gone from every recipient's mailbox.
    recalled_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")

    class Meta:
        verbose_name = _("message")
        indexes = [
            models.Index(fields=["conversation", "sent_at"], name="msg_conversation_sent"),
            models.Index(fields=["sender", "-sent_at"], name="msg_sender_sent"),
            # Sends waiting for delivery or review (the sweeper and the moderation queue).
            models.Index(fields=["state", "sent_at"], name="msg_pending",
                         condition=Q(state__in=["queued", "held"])),
        ]

    def __str__(self):
        return self.subject


class Folder(models.Model):
    """A person's own folder (the system folders inbox, sent, drafts and trash are not rows)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_folders")
    name = models.CharField(_("nom"), max_length=60)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dossier")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="messaging_folder_unique_name")]

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """One person's copy of a message: where it is filed, whether it was read."""

    class Role(models.TextChoices):
        SENDER = "sender", _("Expéditeur")
        TO = "to", _("Destinataire")
        CC = "cc", _("Copie")
        BCC = "bcc", _("Copie cachée")

    class Box(models.TextChoices):
        INBOX = "inbox", _("Boîte de réception")
        SENT = "sent", _("Envoyés")
        DRAFTS = "drafts", _("Brouillons")
        TRASH = "trash", _("Corbeille")
        FOLDER = "folder", _("Dossier")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=8, choices=Role.choices)
    box = models.CharField(max_length=8, choices=Box.choices)
    folder = models.ForeignKey(Folder, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    # The message's sending time, copied here so that a mailbox page is one index range scan.
    sent_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the message was recalled or hidden: the copy no longer shows in the recipient's mailbox.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Emptied from the trash: kept for the sender's read receipts and the audit, never shown again.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message reçu ou envoyé")
        constraints = [models.UniqueConstraint(fields=["message", "owner"], name="messaging_delivery_unique")]
        indexes = [
            # A box's page (newest first, id breaking ties) and one custom folder's: one index range read in the
            # page's order, whatever the size of the mailbox.
            models.Index(fields=["owner", "box", "-sent_at", "-id"], name="delivery_box_page",
                         condition=Q(folder__isnull=True)),
            models.Index(fields=["owner", "folder", "-sent_at", "-id"], name="delivery_folder_page",
                         condition=Q(folder__isnull=False)),
            models.Index(fields=["owner"], name="delivery_unread",
                         condition=Q(read_at__isnull=True, box="inbox", withdrawn_at__isnull=True)),
            models.Index(fields=["message", "role"], name="delivery_message_role"),
        ]

    def __str__(self):
        return f"{self.owner_id} — {self.message_id} ({self.box})"


def attachment_path(instance, filename):
    today = datetime.date.today()
    return f"messaging/{today:%Y/%m}/{instance.message_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(_("nom"), max_length=200)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pièce jointe")

    def __str__(self):
        return self.name


class Report(models.Model):
    """A message reported to staff as abusive."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("À traiter")
        HIDDEN = "hidden", _("Message masqué")
        DISMISSED = "dismissed", _("Classé sans suite")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="+")
    reason = models.TextField(_("motif"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("signalement")
        constraints = [models.UniqueConstraint(fields=["message", "reporter"], name="messaging_report_unique")]
        indexes = [models.Index(fields=["establishment", "outcome", "-created_at"], name="report_queue")]


class MessagingRules(models.Model):
    """An establishment's messaging rules. Without a row, the defaults below apply."""

    establishment = models.OneToOneField("directory.Establishment", on_delete=models.CASCADE,
                                         related_name="messaging_rules")
    # Who may start a conversation with whom (replies inside a conversation are always allowed).
    pupils_write_to_pupils = models.BooleanField(_("les élèves peuvent écrire aux élèves de leur classe"),
                                                 default=False)
    guardians_write_to_guardians = models.BooleanField(_("les responsables peuvent écrire aux autres responsables"),
                                                       default=False)
    pupils_write_to_staff = models.BooleanField(_("les élèves peuvent écrire à leurs professeurs et au personnel"),
                                                default=True)
    guardians_write_to_staff = models.BooleanField(
        _("les responsables peuvent écrire aux professeurs de leurs enfants et au personnel"), default=True)
    # Limits per role: most recipients of one message, most messages sent per hour (0: no limit).
    pupil_max_recipients = models.PositiveIntegerField(_("destinataires au plus par message (élèves)"), default=5)
    guardian_max_recipients = models.PositiveIntegerField(_("destinataires au plus par message (responsables)"),
                                                          default=5)
    teacher_max_recipients = models.PositiveIntegerField(_("destinataires au plus par message (professeurs)"),
                                                         default=0)
    staff_max_recipients = models.PositiveIntegerField(_("destinataires au plus par message (personnels)"),
                                                       default=0)
    pupil_max_per_hour = models.PositiveIntegerField(_("messages au plus par heure (élèves)"), default=10)
    guardian_max_per_hour = models.PositiveIntegerField(_("messages au plus par heure (responsables)"), default=10)
    teacher_max_per_hour = models.PositiveIntegerField(_("messages au plus par heure (professeurs)"), default=100)
    staff_max_per_hour = models.PositiveIntegerField(_("messages au plus par heure (personnels)"), default=0)
    # Switches.
    pupils_paused = models.BooleanField(_("messagerie des élèves suspendue"), default=False)
    quiet_hours = models.BooleanField(_("pas d'envoi la nuit pour les élèves et les responsables"), default=True)
    quiet_start = models.TimeField(_("début de la nuit"), default=datetime.time(21, 0))
    quiet_end = models.TimeField(_("fin de la nuit"), default=datetime.time(7, 0))
    attachments_off_roles = models.JSONField(_("rôles sans pièces jointes"), default=list, blank=True)
    # Unusual sends held for review: more recipients than this for a pupil or guardian, or a send from a device
    # the person has not used before when it reaches more than one person.
    hold_recipients_above = models.PositiveIntegerField(_("retenir les envois à plus de destinataires que"),
                                                        default=3)
    hold_new_device = models.BooleanField(_("retenir les envois depuis un nouvel appareil"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("règles de la messagerie")

    def __str__(self):
        return str(self.establishment)
