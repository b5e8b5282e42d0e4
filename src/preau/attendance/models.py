"""Attendance and school life (vie scolaire): roll calls, absences and lateness, justifications, incidents and
punishments, exemptions, exit regimes (docs/attendance.md).

A roll call stores only who is *not* present: a `RollCall` row says the roll of an occurrence (course, date) was
taken, and each absent, late or excluded pupil is one `AttendanceRecord`. Records also exist without a roll call:
vie scolaire enters an absence spanning several courses or days (sickness, a trip), a guardian announces one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AbsenceReason(models.Model):
    """An establishment's list of reasons (motifs): "Maladie", "Rendez-vous médical", "Raison familiale"..."""

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="absence_reasons")
    code = models.CharField(_("code"), max_length=16)
    label = models.CharField(_("libellé"), max_length=120)
    # A reason that is valid by itself (a school trip, an exam elsewhere) justifies the absence when chosen by
    # vie scolaire; "Sans motif" is not.
    justifies = models.BooleanField(_("justifie l'absence"), default=True)
    # Offered to families when they justify online.
    offered_to_families = models.BooleanField(_("proposé aux familles"), default=True)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    is_active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("motif d'absence")
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint(fields=["establishment", "code"], name="absence_reason_unique")]

    def __str__(self):
        return self.label


class RollCall(models.Model):
    """The roll of one course occurrence was taken (by its teacher, or by vie scolaire taking it over)."""

    course = models.ForeignKey("timetable.Course", on_delete=models.CASCADE, related_name="roll_calls")
    date = models.DateField(_("date"))  # the occurrence's planned date (timetable.CourseChange convention)
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="roll_calls")
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 related_name="+", verbose_name=_("fait par"))
    taken_at = models.DateTimeField(_("fait le"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    # Number of pupils expected when the roll was taken (for the dashboard and the statistics).
    expected_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("appel")
        constraints = [models.UniqueConstraint(fields=["course", "date"], name="roll_call_unique")]
        indexes = [models.Index(fields=["establishment", "date"], name="att_rollcall_est_date")]


class AttendanceRecord(models.Model):
    """An absence, a lateness, an early leaving or an exclusion from a course, of one pupil."""

    class Kind(models.TextChoices):
        ABSENCE = "absence", _("Absence")
        LATE = "late", _("Retard")
        EARLY_LEAVE = "early_leave", _("Départ anticipé")
        EXCLUSION = "exclusion", _("Exclusion de cours")

    class State(models.TextChoices):
        UNJUSTIFIED = "unjustified", _("Non justifiée")
        PENDING = "pending", _("Justification à examiner")
        JUSTIFIED = "justified", _("Justifiée")
        REFUSED = "refused", _("Justification refusée")

    class Source(models.TextChoices):
        ROLL_CALL = "roll_call", _("Appel")
        VIE_SCOLAIRE = "vie_scolaire", _("Vie scolaire")
        FAMILY = "family", _("Signalée par la famille")

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="attendance_records")
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendance_records")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.ABSENCE)
    # The time span missed (an absence over several courses or days; a course's times for a roll-call absence;
    # for a lateness, the course's start and the arrival time).
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    late_minutes = models.PositiveSmallIntegerField(_("minutes de retard"), null=True, blank=True)
    # The occurrence the record was taken in, when it comes from a roll call or concerns one course.
    course = models.ForeignKey("timetable.Course", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    course_date = models.DateField(null=True, blank=True)
    roll_call = models.ForeignKey(RollCall, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="records")
    source = models.CharField(_("origine"), max_length=16, choices=Source.choices, default=Source.ROLL_CALL)
    reason = models.ForeignKey(AbsenceReason, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("motif"))
    comment = models.CharField(_("commentaire"), max_length=500, blank=True)
    state = models.CharField(_("justification"), max_length=16, choices=State.choices,
                             default=State.UNJUSTIFIED)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="+", verbose_name=_("saisi par"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # When the guardians were told (the same-day notice of an unjustified absence).
    guardians_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("absence ou retard")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gte=models.F("starts_at")), name="attendance_ordered"),
            models.UniqueConstraint(fields=["roll_call", "pupil"], condition=Q(roll_call__isnull=False),
                                    name="attendance_one_per_roll_call"),
        ]
        indexes = [
            models.Index(fields=["pupil", "starts_at"], name="att_record_pupil_start"),
            models.Index(fields=["establishment", "starts_at"], name="att_record_est_start"),
            models.Index(fields=["establishment", "state"], name="att_record_unjustified",
                         condition=Q(state__in=["unjustified", "pending"])),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pupil_id} {self.starts_at:%Y-%m-%d}"


class Justification(models.Model):
    """A family's (or vie scolaire's) justification of one or more records, and its decision."""

    class State(models.TextChoices):
        PENDING = "pending", _("À examiner")
        ACCEPTED = "accepted", _("Acceptée")
        REFUSED = "refused", _("Refusée")

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="justifications")
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    records = models.ManyToManyField(AttendanceRecord, related_name="justifications")
    reason = models.ForeignKey(AbsenceReason, on_delete=models.SET_NULL, null=True, related_name="+",
                               verbose_name=_("motif"))
    comment = models.TextField(_("commentaire"), blank=True, max_length=2000)
    document = models.FileField(_("justificatif"), upload_to="attendance/justifications/%Y/%m/", blank=True)
    document_name = models.CharField(max_length=200, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                     related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(_("état"), max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.CharField(_("réponse"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("justification")
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["establishment", "state"], name="att_justif_est_state")]


class Incident(models.Model):
    """Facts reported about one or more pupils (the basis of punishments)."""

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="incidents")
    occurred_at = models.DateTimeField(_("date et heure"))
    place = models.CharField(_("lieu"), max_length=120, blank=True)
    facts = models.TextField(_("faits"), max_length=4000)
    pupils = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="incidents", verbose_name=_("élèves"))
    course = models.ForeignKey("timetable.Course", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="+", verbose_name=_("signalé par"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("incident")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["establishment", "occurred_at"], name="att_incident_est_at")]


class Punishment(models.Model):
    """A punishment (punition scolaire) or sanction given to one pupil, with the date to serve it."""

    class Kind(models.TextChoices):
        EXTRA_WORK = "extra_work", _("Devoir supplémentaire")
        DETENTION = "detention", _("Retenue")
        COURSE_EXCLUSION = "course_exclusion", _("Exclusion ponctuelle de cours")
        WARNING = "warning", _("Avertissement")
        REPRIMAND = "reprimand", _("Blâme")
        TEMPORARY_EXCLUSION = "temp_exclusion", _("Exclusion temporaire")

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="punishments")
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="punishments")
    incident = models.ForeignKey(Incident, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="punishments")
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    reason = models.TextField(_("motif"), max_length=2000)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               related_name="+", verbose_name=_("donnée par"))
    set_at = models.DateTimeField(default=timezone.now)
    # When and where to serve it (a detention's slot; an exclusion's first day) and for how long.
    serve_on = models.DateTimeField(_("à effectuer le"), null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), null=True, blank=True)
    serve_until = models.DateField(_("jusqu'au"), null=True, blank=True)
    place = models.CharField(_("lieu"), max_length=120, blank=True)
    work = models.TextField(_("travail à faire"), blank=True, max_length=2000)
    served = models.BooleanField(_("effectuée"), default=False)
    cancelled = models.BooleanField(_("levée"), default=False)
    guardians_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("punition ou sanction")
        ordering = ["-set_at"]
        indexes = [models.Index(fields=["pupil", "set_at"], name="att_punish_pupil_at"),
                   models.Index(fields=["establishment", "serve_on"], name="att_punish_est_serve")]


class Exemption(models.Model):
    """An exemption (dispense), e.g. from PE, between two dates, with its document."""

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="exemptions")
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exemptions")
    subject = models.ForeignKey("directory.Subject", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+", verbose_name=_("matière"))
    first_day = models.DateField(_("du"))
    last_day = models.DateField(_("au"))
    # Whether the pupil must still attend the course (be in the room) while exempted from the activity.
    must_attend = models.BooleanField(_("présence en cours obligatoire"), default=True)
    comment = models.CharField(_("commentaire"), max_length=500, blank=True)
    document = models.FileField(_("certificat"), upload_to="attendance/exemptions/%Y/%m/", blank=True)
    document_name = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dispense")
        ordering = ["-first_day"]
        constraints = [models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")),
                                              name="exemption_ordered")]
        indexes = [models.Index(fields=["pupil", "last_day"], name="att_exemption_pupil")]


class ExitRegime(models.Model):
    """A pupil's regime (externe, demi-pensionnaire, interne) and exit authorisations for a school year."""

    class Regime(models.TextChoices):
        DAY_PUPIL = "externe", _("Externe")
        HALF_BOARDER = "demi_pensionnaire", _("Demi-pensionnaire")
        BOARDER = "interne", _("Interne")

    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exit_regimes")
    school_year = models.ForeignKey("directory.SchoolYear", on_delete=models.CASCADE, related_name="+")
    regime = models.CharField(_("régime"), max_length=20, choices=Regime.choices, default=Regime.HALF_BOARDER)
    # Authorised to leave when a course is cancelled / when there is no course until the end of the day.
    may_leave_when_no_course = models.BooleanField(_("autorisé à sortir en l'absence de cours"), default=False)
    may_leave_at_lunch = models.BooleanField(_("autorisé à sortir à midi"), default=False)
    comment = models.CharField(_("commentaire"), max_length=500, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("régime de sortie")
        constraints = [models.UniqueConstraint(fields=["pupil", "school_year"], name="exit_regime_unique")]
