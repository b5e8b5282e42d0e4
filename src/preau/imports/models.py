"""Imports: one row per run of a national-directory import, its uploaded files, and one per rejected record."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def kind_choices():
    from .kinds import KINDS

    return [(kind.code, kind.label) for kind in KINDS.values()]


class ImportRun(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Colonnes à choisir")
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        SUCCEEDED = "succeeded", _("Terminé")
        PARTIAL = "partial", _("Terminé avec des rejets")
        FAILED = "failed", _("Échec")

    kind = models.CharField(_("type"), max_length=16, choices=kind_choices)
    # The establishment the files are for; none for files naming their own (an académie's AAF export).
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="import_runs", verbose_name=_("établissement"))
    # Importer options, e.g. a generic CSV's {"profile": "pupil", "mapping": {field: column}}.
    options = models.JSONField(_("options"), default=dict, blank=True)
    # File names as the importer saw them (the uploaded files themselves: ImportUpload).
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
    # Progress while running (written at most about once a second; a dry run's lives in the cache only).
    records_done = models.PositiveIntegerField(_("enregistrements traités"), default=0)
    current_file = models.CharField(_("fichier en cours"), max_length=255, blank=True)
    progress_at = models.DateTimeField(_("dernier signe de vie"), null=True, blank=True)
    total_bytes = models.PositiveBigIntegerField(_("taille des fichiers"), default=0)
    # The dry run this run carries out ("Confirmer l'import").
    confirms = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="confirmations", verbose_name=_("simulation confirmée"))
    # Current classes with accounts this run created: [{"class_id", "establishment_id", "label",
    # "establishment", "pupils", "guardians"}], to print their activation codes.
    new_account_classes = models.JSONField(_("classes avec de nouveaux comptes"), default=list, blank=True)

    class Meta:
        verbose_name = _("import")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["establishment", "-started_at"], name="imports_run_est_started")]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def in_progress(self) -> bool:
        """Waiting for or held by the background task."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ImportUpload(models.Model):
    """A file uploaded for a run, kept in the default storage (S3 in production) until the run no longer needs it:
    deleted when the run finishes, or for a dry run when it is confirmed or after PREAU_IMPORT_DRY_RUN_KEEP_HOURS."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="uploads")
    name = models.CharField(_("nom"), max_length=255)
    # Name in the default storage; empty once the file is deleted.
    path = models.CharField(_("emplacement"), max_length=500, blank=True)
    size = models.PositiveBigIntegerField(_("taille"), default=0)

    class Meta:
        verbose_name = _("fichier d'import")
        ordering = ["run", "id"]

    def __str__(self):
        return self.name


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
