"""The directory: territories, establishments, school years, classes, groups, subjects and who is what where.

Every imported entity carries a stable `external_id` (AAF/SIECLE/STS join key) so that later imports update in place.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Territory(models.Model):
    """An académie or region: the level above establishments."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("nom"), max_length=150)

    class Meta:
        verbose_name = _("territoire")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Establishment(models.Model):
    class Kind(models.TextChoices):
        ECOLE = "ecole", _("École")
        COLLEGE = "college", _("Collège")
        LYCEE = "lycee", _("Lycée")
        LP = "lp", _("Lycée professionnel")

    class PeriodScheme(models.TextChoices):
        TRIMESTERS = "trimesters", _("Trimestres")
        SEMESTERS = "semesters", _("Semestres")

    uai = models.CharField(_("UAI"), max_length=8, unique=True, help_text=_("Code UAI (ex. 0750001A)"))
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="establishments", verbose_name=_("territoire"))
    address = models.CharField(_("adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("commune"), max_length=120, blank=True)
    period_scheme = models.CharField(_("découpage de l'année"), max_length=16, choices=PeriodScheme.choices,
                                     default=PeriodScheme.TRIMESTERS)
    require_staff_2fa = models.BooleanField(_("double authentification obligatoire pour les personnels"),
                                            default=False)
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("établissement")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.uai})"


class SchoolYear(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="school_years")
    label = models.CharField(_("année scolaire"), max_length=9, help_text="2026-2027")
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    is_current = models.BooleanField(_("année en cours"), default=False)
    is_archived = models.BooleanField(_("archivée"), default=False)

    class Meta:
        verbose_name = _("année scolaire")
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "label"], name="school_year_unique_label"),
            models.UniqueConstraint(fields=["establishment"], condition=Q(is_current=True),
                                    name="school_year_one_current"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="school_year_end_after_start"),
        ]

    def __str__(self):
        return self.label


class Period(models.Model):
    """A trimester or semester of a school year."""

    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="periods")
    index = models.PositiveSmallIntegerField(_("numéro"))
    label = models.CharField(_("libellé"), max_length=60)
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))

    class Meta:
        verbose_name = _("période")
        ordering = ["school_year", "index"]
        constraints = [models.UniqueConstraint(fields=["school_year", "index"], name="period_unique_index")]

    def __str__(self):
        return self.label


class Mef(models.Model):
    """A MEF (module élémentaire de formation): the national code of a level/track, e.g. 10010012110 = 6e."""

    code = models.CharField(_("code MEF"), max_length=11, unique=True)
    label = models.CharField(_("libellé"), max_length=120)
    short_label = models.CharField(_("libellé court"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("MEF")
        ordering = ["code"]

    def __str__(self):
        return self.label


class Subject(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="subjects")
    code = models.CharField(_("code"), max_length=16)
    label = models.CharField(_("libellé"), max_length=120)
    short_label = models.CharField(_("libellé court"), max_length=40, blank=True)
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("matière")
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["establishment", "code"], name="subject_unique_code")]

    def __str__(self):
        return self.label


class SchoolClass(models.Model):
    """A division (e.g. 5e B) of one school year."""

    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="classes")
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="classes")
    code = models.CharField(_("code"), max_length=32)
    label = models.CharField(_("libellé"), max_length=120)
    level = models.CharField(_("niveau"), max_length=32, blank=True, help_text=_("ex. 5e, CM1, 2nde"))
    mef = models.ForeignKey(Mef, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("MEF"))
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("classe")
        verbose_name_plural = _("classes")
        ordering = ["level", "code"]
        constraints = [models.UniqueConstraint(fields=["school_year", "code"], name="class_unique_code")]

    def __str__(self):
        return self.label


class TeachingGroup(models.Model):
    """A group of pupils: an option, a half-class, a group spanning several classes."""

    class Kind(models.TextChoices):
        OPTION = "option", _("Option")
        HALF_CLASS = "half", _("Demi-classe")
        LANGUAGE = "language", _("Langue")
        OTHER = "other", _("Autre")

    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="groups")
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="groups")
    code = models.CharField(_("code"), max_length=32)
    label = models.CharField(_("libellé"), max_length=120)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    classes = models.ManyToManyField(SchoolClass, blank=True, related_name="groups", verbose_name=_("classes"))
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("groupe")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["school_year", "code"], name="group_unique_code")]

    def __str__(self):
        return self.label


class Role(models.TextChoices):
    PUPIL = "pupil", _("Élève")
    GUARDIAN = "guardian", _("Responsable légal")
    TEACHER = "teacher", _("Enseignant")
    STAFF = "staff", _("Personnel")
    ENT_ADMIN = "ent_admin", _("Administrateur ENT")


class StaffFunction(models.TextChoices):
    HEAD = "head", _("Chef d'établissement")
    DEPUTY = "deputy", _("Adjoint")
    DIRECTOR = "director", _("Directeur d'école")
    CPE = "cpe", _("Conseiller principal d'éducation")
    VIE_SCOLAIRE = "vie_scolaire", _("Vie scolaire")
    SECRETARY = "secretary", _("Secrétariat")
    LIBRARIAN = "librarian", _("Professeur documentaliste")
    NURSE = "nurse", _("Infirmier")
    OTHER = "other", _("Autre")


class Membership(models.Model):
    """A role a person holds in an establishment. A person may hold several, in several establishments."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices)
    # For staff: their functions (StaffFunction values).
    functions = models.JSONField(_("fonctions"), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    # Set by a full import that no longer lists the person: deactivated after a grace period.
    leaving_since = models.DateField(null=True, blank=True)
    external_id = models.CharField(max_length=64, null=True, blank=True)
    # The feed (import kind: aaf, siecle, sts, be1d, csv) that last listed this membership; empty when made by hand.
    # A full import marks leaving only the memberships its own feed manages.
    source = models.CharField(_("source"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("rattachement")
        constraints = [
            models.UniqueConstraint(fields=["user", "establishment", "role"], name="membership_unique_role"),
        ]
        indexes = [models.Index(fields=["establishment", "role", "is_active"])]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} — {self.establishment.uai}"


class ClassEnrolment(models.Model):
    """A pupil's place in a class for the class's school year."""

    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="class_enrolments")
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="enrolments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pupil", "school_class"], name="enrolment_unique")]
        indexes = [models.Index(fields=["school_class", "pupil"])]


class GroupMembership(models.Model):
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships")
    group = models.ForeignKey(TeachingGroup, on_delete=models.CASCADE, related_name="members")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pupil", "group"], name="group_membership_unique")]
        indexes = [models.Index(fields=["group", "pupil"])]


class Service(models.TextChoices):
    """The school-data services whose access a guardian link can restrict, child by child."""

    TIMETABLE = "timetable", _("Emploi du temps")
    HOMEWORK = "homework", _("Cahier de textes et devoirs")
    GRADES = "grades", _("Notes et compétences")
    ATTENDANCE = "attendance", _("Absences et vie scolaire")
    REPORT_CARDS = "report_cards", _("Bulletins")
    MESSAGING = "messaging", _("Messagerie avec l'établissement")


class GuardianLink(models.Model):
    class Relation(models.TextChoices):
        MOTHER = "mother", _("Mère")
        FATHER = "father", _("Père")
        TUTOR = "tutor", _("Tuteur")
        FAMILY = "family", _("Autre membre de la famille")
        CARER = "carer", _("Assistant familial / tiers")
        SOCIAL_SERVICES = "social", _("Aide sociale à l'enfance")
        OTHER = "other", _("Autre lien")

    guardian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="children_links")
    pupil = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian_links")
    relation = models.CharField(_("lien"), max_length=16, choices=Relation.choices, default=Relation.OTHER)
    legal_authority = models.BooleanField(_("autorité parentale"), default=True)
    receives_correspondence = models.BooleanField(_("destinataire des courriers"), default=True)
    contact_order = models.PositiveSmallIntegerField(_("ordre de contact"), default=1)
    # Services this guardian may NOT see for this child (e.g. a carer without grades, a court decision).
    denied_services = models.JSONField(_("services refusés"), default=list, blank=True)
    external_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        verbose_name = _("lien responsable–élève")
        constraints = [models.UniqueConstraint(fields=["guardian", "pupil"], name="guardian_link_unique")]
        indexes = [models.Index(fields=["pupil", "guardian"])]

    def __str__(self):
        return f"{self.guardian} → {self.pupil} ({self.get_relation_display()})"

    def allows(self, service: str) -> bool:
        return service not in (self.denied_services or [])


class TeachingAssignment(models.Model):
    """A teacher teaches a subject to a class or to a group, in a school year."""

    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="assignments")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="assignments")
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="assignments")
    group = models.ForeignKey(TeachingGroup, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="assignments")
    is_main_teacher = models.BooleanField(_("professeur principal"), default=False)

    class Meta:
        verbose_name = _("service d'enseignement")
        constraints = [
            models.CheckConstraint(
                condition=(Q(school_class__isnull=False, group__isnull=True)
                           | Q(school_class__isnull=True, group__isnull=False)),
                name="assignment_class_xor_group",
            ),
            models.UniqueConstraint(fields=["teacher", "subject", "school_class"], condition=Q(group__isnull=True),
                                    name="assignment_unique_class"),
            models.UniqueConstraint(fields=["teacher", "subject", "group"], condition=Q(school_class__isnull=True),
                                    name="assignment_unique_group"),
        ]
        indexes = [models.Index(fields=["teacher", "school_year"])]
