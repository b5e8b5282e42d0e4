"""Timetables and the school agenda (docs/timetable.md).

Occurrences are never stored: they are derived from the recurring `Course` rows and the `SchoolCalendar` of the
school year (weeks, week A/B labels, closed days) by `preau.timetable.occurrences`. What happens to one occurrence
(cancelled, moved, replacement teacher, room change) is a sparse `CourseChange` row keyed by (course, date), the
date the course was planned on. An occurrence is therefore named everywhere by `(course_id, date)`.

An exceptional extra course or an exam is a `Course` of kind `extra`/`exam` with a single `date`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SchoolCalendar(models.Model):
    """The calendar of one school year of one establishment: holiday zone, week labels (A/B or custom)."""

    class Zone(models.TextChoices):
        A = "A", _("Zone A")
        B = "B", _("Zone B")
        C = "C", _("Zone C")
        NONE = "", _("Aucune (calendrier local)")

    class WeekMode(models.TextChoices):
        EVERY = "every", _("Toutes les semaines se ressemblent")
        ALTERNATING = "ab", _("Semaines A et B en alternance")
        CUSTOM = "custom", _("Liste de semaines personnalisée")

    school_year = models.OneToOneField("directory.SchoolYear", on_delete=models.CASCADE, related_name="calendar")
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="calendars")
    zone = models.CharField(_("zone de vacances"), max_length=1, choices=Zone.choices, blank=True)
    week_mode = models.CharField(_("semaines"), max_length=8, choices=WeekMode.choices, default=WeekMode.EVERY)
    # For alternating weeks: the label of the first school week, and whether holiday weeks break the alternation
    # (False: the week after the holidays takes the next label, as most schools do).
    first_week_label = models.CharField(_("première semaine"), max_length=1, default="A")
    holidays_count_in_alternation = models.BooleanField(_("les vacances comptent dans l'alternance"),
                                                        default=False)
    # {"2026-09-07": "A", ...}: ISO date of each school week's Monday -> label. Generated from the fields above
    # (services.rebuild_week_labels) and editable by hand (custom mode). Weeks absent from it have no label.
    week_labels = models.JSONField(_("étiquettes des semaines"), default=dict, blank=True)
    # First/last hour of the school day (for the week grid) and the split between morning and afternoon
    # (half-day counts of absences).
    day_start = models.TimeField(_("début de journée"), default="08:00")
    day_end = models.TimeField(_("fin de journée"), default="18:00")
    half_day_split = models.TimeField(_("séparation matin / après-midi"), default="12:30")
    # Weekdays with school (0 = Monday). Wednesday afternoon is usually empty but Wednesday is a school day.
    school_days = models.JSONField(_("jours de classe"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendrier scolaire")

    def __str__(self):
        return f"{self.school_year} — {self.establishment_id}"


class ClosedPeriod(models.Model):
    """Days without courses: school holidays, public holidays, local days off (bridges, exam days...)."""

    class Kind(models.TextChoices):
        HOLIDAYS = "holidays", _("Vacances scolaires")
        PUBLIC_HOLIDAY = "public", _("Jour férié")
        LOCAL = "local", _("Journée banalisée / pont")

    calendar = models.ForeignKey(SchoolCalendar, on_delete=models.CASCADE, related_name="closed_periods")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    label = models.CharField(_("libellé"), max_length=120)
    first_day = models.DateField(_("premier jour"))
    last_day = models.DateField(_("dernier jour"))  # inclusive

    class Meta:
        verbose_name = _("période sans cours")
        ordering = ["first_day"]
        constraints = [models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")),
                                              name="closed_period_ordered")]

    def __str__(self):
        return self.label


class Room(models.Model):
    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE, related_name="rooms")
    code = models.CharField(_("code"), max_length=32)
    label = models.CharField(_("nom"), max_length=120)
    capacity = models.PositiveSmallIntegerField(_("capacité"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    external_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("salle")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["establishment", "code"], name="room_unique_code")]

    def __str__(self):
        return self.label or self.code


class Course(models.Model):
    """A course: recurring (weekday, times, week pattern) or one-off (an extra course, an exam, on `date`)."""

    class Kind(models.TextChoices):
        RECURRING = "recurring", _("Cours")
        EXTRA = "extra", _("Cours exceptionnel")
        EXAM = "exam", _("Devoir surveillé / examen")

    class WeekPattern(models.TextChoices):
        EVERY = "every", _("Toutes les semaines")
        WEEK_A = "A", _("Semaine A")
        WEEK_B = "B", _("Semaine B")
        CUSTOM = "custom", _("Semaines choisies")

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE, related_name="courses")
    school_year = models.ForeignKey("directory.SchoolYear", on_delete=models.CASCADE, related_name="courses")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.RECURRING)
    subject = models.ForeignKey("directory.Subject", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="courses", verbose_name=_("matière"))
    # Shown when there is no subject (e.g. "Vie de classe", "Permanence"), or instead of it.
    label = models.CharField(_("libellé"), max_length=120, blank=True)
    teachers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="courses",
                                      verbose_name=_("enseignants"))
    classes = models.ManyToManyField("directory.SchoolClass", blank=True, related_name="courses",
                                     verbose_name=_("classes"))
    groups = models.ManyToManyField("directory.TeachingGroup", blank=True, related_name="courses",
                                    verbose_name=_("groupes"))
    room = models.ForeignKey(Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="courses",
                             verbose_name=_("salle"))
    # Recurring courses: weekday (0 = Monday) and week pattern; one-off courses: `date`.
    weekday = models.PositiveSmallIntegerField(_("jour"), null=True, blank=True)
    date = models.DateField(_("date"), null=True, blank=True)
    start_time = models.TimeField(_("début"))
    end_time = models.TimeField(_("fin"))
    week_pattern = models.CharField(_("semaines"), max_length=8, choices=WeekPattern.choices,
                                    default=WeekPattern.EVERY)
    # Custom pattern: ISO dates of the Mondays of the weeks the course takes place.
    custom_weeks = models.JSONField(_("semaines choisies"), default=list, blank=True)
    # A recurring course may start later or end earlier than the school year (a new option in January).
    valid_from = models.DateField(_("à partir du"), null=True, blank=True)
    valid_until = models.DateField(_("jusqu'au"), null=True, blank=True)
    # Import join key (EDT course id, CSV row key) and the feed that wrote the course ("edt", "csv", "" by hand).
    external_id = models.CharField(max_length=96, blank=True)
    source = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cours")
        verbose_name_plural = _("cours")
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="course_end_after_start"),
            models.CheckConstraint(
                condition=(Q(kind="recurring", weekday__isnull=False, weekday__lte=6)
                           | (~Q(kind="recurring") & Q(date__isnull=False))),
                name="course_weekday_or_date",
            ),
            models.UniqueConstraint(fields=["establishment", "source", "external_id"],
                                    condition=~Q(external_id=""), name="course_unique_external_id"),
        ]
        indexes = [
            models.Index(fields=["school_year", "weekday"], name="tt_course_year_weekday"),
            models.Index(fields=["establishment", "date"], name="tt_course_est_date"),
        ]

    def __str__(self):
        return self.display_label

    @property
    def display_label(self) -> str:
        return self.label or (self.subject.label if self.subject_id else "") or str(_("Cours"))


class CourseChange(models.Model):
    """What changes for one occurrence of a course, the one planned on `date`."""

    class Status(models.TextChoices):
        CANCELLED = "cancelled", _("Annulé")
        MOVED = "moved", _("Déplacé")
        MODIFIED = "modified", _("Modifié")  # same slot, other room and/or replacement teacher, or a note

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="changes")
    date = models.DateField(_("date prévue"))
    status = models.CharField(_("modification"), max_length=16, choices=Status.choices)
    reason = models.CharField(_("motif"), max_length=200, blank=True)
    # Moved: the new date and times (each blank = unchanged); any status: another room, a replacement teacher.
    new_date = models.DateField(_("nouvelle date"), null=True, blank=True)
    new_start_time = models.TimeField(_("nouvelle heure de début"), null=True, blank=True)
    new_end_time = models.TimeField(_("nouvelle heure de fin"), null=True, blank=True)
    new_room = models.ForeignKey(Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("nouvelle salle"))
    replacement_teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                            blank=True, related_name="replacements",
                                            verbose_name=_("remplaçant"))
    # Shown to everyone concerned ("Apporter la calculatrice", "Devoir surveillé").
    note = models.CharField(_("information"), max_length=300, blank=True)
    is_exam = models.BooleanField(_("devoir surveillé"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("modification de cours")
        constraints = [models.UniqueConstraint(fields=["course", "date"], name="course_change_unique")]
        indexes = [
            models.Index(fields=["new_date"], name="tt_change_new_date", condition=Q(new_date__isnull=False)),
            models.Index(fields=["replacement_teacher", "date"], name="tt_change_replacement",
                         condition=Q(replacement_teacher__isnull=False)),
        ]

    def __str__(self):
        return f"{self.course_id} {self.date} {self.status}"


class AgendaEvent(models.Model):
    """An event of the school agenda: a meeting, a parent-teacher evening, a trip, an exam, for an audience."""

    class Kind(models.TextChoices):
        MEETING = "meeting", _("Réunion")
        PARENT_TEACHER = "parents", _("Rencontre parents-professeurs")
        COUNCIL = "council", _("Conseil de classe")
        TRIP = "trip", _("Sortie / voyage")
        EXAM = "exam", _("Examen")
        CEREMONY = "event", _("Événement")
        OTHER = "other", _("Autre")

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE,
                                      related_name="agenda_events")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description"), blank=True)  # rich text, sanitised (preau.core.richtext)
    location = models.CharField(_("lieu"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    all_day = models.BooleanField(_("toute la journée"), default=False)
    # Audience: roles (directory.Role values) of the establishment; restricted to classes/groups when given
    # (pupils of those classes/groups, their guardians, their teachers; staff always see their establishment's).
    audience_roles = models.JSONField(_("public"), default=list, blank=True)
    classes = models.ManyToManyField("directory.SchoolClass", blank=True, related_name="agenda_events")
    groups = models.ManyToManyField("directory.TeachingGroup", blank=True, related_name="agenda_events")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("événement de l'agenda")
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gte=models.F("starts_at")),
                                              name="agenda_event_ordered")]
        indexes = [models.Index(fields=["establishment", "starts_at"], name="tt_agenda_est_start")]

    def __str__(self):
        return self.title


class CalendarFeedToken(models.Model):
    """The secret of a person's iCalendar feed URL. Only its SHA-256 is kept; revoking deletes it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, to tell links apart on the page ("…a1b2").
    hint = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("lien d'abonnement au calendrier")
