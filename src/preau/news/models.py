"""News (actualités) and the carnet de liaison (notes to families that require an acknowledgement).

News: an item of one establishment, addressed to the whole establishment or to some classes/groups, and to some
roles (pupils, guardians, teachers, staff); published inside a window (publish_at, optional unpublish_at) unless it
is a draft. Its images are files in Django's storage, served only to the people who may see the item.

Carnet de liaison: a note of one establishment to the families of some pupils. The targeted pupils and, for each,
the guardians who receive it are resolved once, when the note is sent (LiaisonTarget, LiaisonDelivery): later
changes to classes or guardian links change nothing to who received it. A guardian acknowledges ("lu et signé")
per child; the pupil's row keeps the first acknowledgement, each delivery keeps its own.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from preau.directory.models import Establishment, SchoolClass, TeachingGroup


class NewsItem(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="news_items",
                                      verbose_name=_("établissement"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("auteur"))
    title = models.CharField(_("titre"), max_length=200)
    # Sanitised HTML (news/content.py): only a small set of tags survives.
    body = models.TextField(_("texte"), blank=True)
    # Audience: the whole establishment, or the classes/groups below; and which roles in it.
    whole_establishment = models.BooleanField(_("tout l'établissement"), default=True)
    classes = models.ManyToManyField(SchoolClass, blank=True, related_name="+", verbose_name=_("classes"))
    groups = models.ManyToManyField(TeachingGroup, blank=True, related_name="+", verbose_name=_("groupes"))
    for_pupils = models.BooleanField(_("élèves"), default=True)
    for_guardians = models.BooleanField(_("responsables"), default=True)
    for_teachers = models.BooleanField(_("enseignants"), default=True)
    for_staff = models.BooleanField(_("personnels"), default=True)
    # Publication: a draft is never shown to readers; otherwise shown from publish_at until unpublish_at.
    is_draft = models.BooleanField(_("brouillon"), default=True)
    publish_at = models.DateTimeField(_("publication le"), default=timezone.now)
    unpublish_at = models.DateTimeField(_("retrait le"), null=True, blank=True)
    pinned = models.BooleanField(_("épinglée"), default=False)
    # Set once the audience has been notified (at publication, or when a scheduled item's window opens).
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("actualité")
        ordering = ["-pinned", "-publish_at", "-pk"]
        indexes = [
            models.Index(fields=["establishment", "is_draft", "publish_at"], name="news_est_published"),
            # The periodic task looks for published items whose audience has not been notified yet.
            models.Index(fields=["publish_at"], condition=Q(is_draft=False, notified_at__isnull=True),
                         name="news_to_notify"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=models.F("publish_at")),
                                   name="news_unpublish_after_publish"),
        ]

    def __str__(self):
        return self.title

    def status(self, now=None) -> str:
        """draft, scheduled, published or withdrawn."""
        now = now or timezone.now()
        if self.is_draft:
            return "draft"
        if self.publish_at > now:
            return "scheduled"
        if self.unpublish_at is not None and self.unpublish_at <= now:
            return "withdrawn"
        return "published"


class NewsImage(models.Model):
    """An image of a news item, checked by content and re-encoded (metadata such as GPS position removed)."""

    news = models.ForeignKey(NewsItem, on_delete=models.CASCADE, related_name="images")
    path = models.CharField(max_length=255)  # name in default_storage
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    alt = models.CharField(_("description de l'image"), max_length=250, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("image d'actualité")
        ordering = ["news", "pk"]

    def __str__(self):
        return self.alt or self.path


class LiaisonNote(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="liaison_notes",
                                      verbose_name=_("établissement"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("auteur"))
    title = models.CharField(_("objet"), max_length=200)
    body = models.TextField(_("texte"))  # sanitised HTML
    due_date = models.DateField(_("à signer avant le"), null=True, blank=True)
    # The targets as chosen (for display); who received it is in LiaisonTarget / LiaisonDelivery.
    classes = models.ManyToManyField(SchoolClass, blank=True, related_name="+", verbose_name=_("classes"))
    groups = models.ManyToManyField(TeachingGroup, blank=True, related_name="+", verbose_name=_("groupes"))
    sent_at = models.DateTimeField(default=timezone.now)
    reminder_count = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    # The automatic reminder (PREAU_LIAISON_REMINDER_DAYS after sending) is sent once.
    auto_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mot du carnet de liaison")
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["establishment", "-sent_at"], name="liaison_note_est_sent"),
            models.Index(fields=["author", "-sent_at"], name="liaison_note_author_sent"),
            models.Index(fields=["sent_at"], condition=Q(auto_reminded_at__isnull=True),
                         name="liaison_note_to_remind"),
        ]

    def __str__(self):
        return self.title


class LiaisonTarget(models.Model):
    """One targeted pupil of a note: the family's acknowledgement is recorded here (the first guardian's)."""

    note = models.ForeignKey(LiaisonNote, on_delete=models.CASCADE, related_name="targets")
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The pupil's class when the note was sent (the dashboard groups and sorts by it).
    school_class = models.ForeignKey(SchoolClass, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "pupil"], name="liaison_target_unique")]
        indexes = [
            models.Index(fields=["pupil", "note"], name="liaison_target_pupil"),
            models.Index(fields=["note", "acknowledged_at"], name="liaison_target_note_ack"),
        ]


class LiaisonDelivery(models.Model):
    """A guardian who received the note for one child (a guardian of two targeted children has two rows, and one
    notification)."""

    target = models.ForeignKey(LiaisonTarget, on_delete=models.CASCADE, related_name="deliveries")
    note = models.ForeignKey(LiaisonNote, on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "guardian"], name="liaison_delivery_unique")]
        indexes = [models.Index(fields=["guardian", "note"], name="liaison_delivery_guardian")]
