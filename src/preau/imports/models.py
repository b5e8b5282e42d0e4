"""Imports: one row per run of a national-directory import, and one per rejected record."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        AAF = "aaf", _("AAF (annuaire académique fédérateur)")

    class Status(models.TextChoices):
        RUNNING = "running", _("En cours")
        SUCCEEDED = "succeeded", _("Terminé")
        PARTIAL = "partial", _("Terminé avec des rejets")
        FAILED = "failed", _("Échec")

    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    files = models.JSONField(_("fichiers"), default=list)
    dry_run = models.BooleanField(_("simulation"), default=False)
    status = models.CharField(_("état"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("début"), default=timezone.now)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    # {kind: {"created": n, "updated": n, "deactivated": n, "unchanged": n}}
    counts = models.JSONField(_("décomptes"), default=dict)
    rejection_count = models.PositiveIntegerField(_("rejets"), default=0)
    error = models.TextField(_("erreur"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("lancé par"))

    class Meta:
        verbose_name = _("import")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.started_at:%Y-%m-%d %H:%M}"


class ImportRejection(models.Model):
    """A record (or one value of it) that was not imported, with the reason in plain French."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejections")
    file = models.CharField(_("fichier"), max_length=255)
    record = models.PositiveIntegerField(_("enregistrement"), null=True, blank=True)
    attribute = models.CharField(_("attribut"), max_length=100, blank=True)
    reason = models.TextField(_("motif"))

    class Meta:
        verbose_name = _("rejet d'import")
        ordering = ["run", "id"]

    def __str__(self):
        return f"{self.file} #{self.record}: {self.reason}"


class NationalSubject(models.Model):
    """The national subject nomenclature (AAF MatiereEducNat): labels for the establishments' subjects."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    label = models.CharField(_("libellé"), max_length=120)

    class Meta:
        verbose_name = _("matière nationale")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.label}"
