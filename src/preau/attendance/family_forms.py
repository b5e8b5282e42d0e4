"""Forms of the family and discipline pages (justifications, incidents, punishments, exemptions, exit regimes).

They parse and label, in French; the rules (who may give which punishment, which file is accepted, which record may
be justified) are `preau.attendance.services`' and the access policy's.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AttendanceRecord, ExitRegime, Punishment


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def pupil_label(pupil) -> str:
    return f"{pupil.last_name} {pupil.first_name}"


def record_label(record: AttendanceRecord) -> str:
    """"Absence — lundi 7 décembre 2026, 08:00 – 10:00" (local time)."""
    start, end = timezone.localtime(record.starts_at), timezone.localtime(record.ends_at)
    when = _date_text(start)
    if start.date() == end.date():
        span = f"{when}, {start:%H:%M} – {end:%H:%M}"
    else:
        span = f"{when} {start:%H:%M} – {_date_text(end)} {end:%H:%M}"
    label = f"{record.get_kind_display()} — {span}"
    if record.kind == AttendanceRecord.Kind.LATE and record.late_minutes:
        label += " " + str(_("(%(n)s min)") % {"n": record.late_minutes})
    return label


def _date_text(value) -> str:
    from django.utils.formats import date_format

    return date_format(value, "l j F Y")


class PupilChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return pupil_label(obj)


class PupilsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return pupil_label(obj)


class RecordsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return record_label(obj)


# --- Justifications -------------------------------------------------------------------------------------------

class JustifyForm(forms.Form):
    """A family's justification of one or more of a child's records."""

    records = RecordsField(
        label=_("Absences et retards à justifier"), queryset=AttendanceRecord.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choisissez au moins une absence ou un retard."),
                        "invalid_choice": _("Cette absence ne peut pas être justifiée."),
                        "invalid_pk_value": _("Cette absence ne peut pas être justifiée.")})
    reason = forms.ModelChoiceField(
        label=_("Motif"), queryset=None, empty_label=_("— Choisissez un motif —"),
        error_messages={"required": _("Choisissez un motif."),
                        "invalid_choice": _("Choisissez un motif de la liste.")})
    comment = forms.CharField(
        label=_("Commentaire"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Facultatif : ce que la vie scolaire doit savoir."))
    document = forms.FileField(
        label=_("Justificatif"), required=False,
        help_text=_("Facultatif : un certificat, une convocation (PDF ou photo)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,"
                                                         "image/jpeg"}))

    def __init__(self, *args, records, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["records"].queryset = records
        self.fields["reason"].queryset = reasons


class DecisionForm(forms.Form):
    """Vie scolaire's answer to a justification: accept or refuse, with a comment for the family."""

    decision = forms.ChoiceField(
        label=_("Décision"), choices=[("accept", _("Accepter")), ("refuse", _("Refuser"))],
        error_messages={"required": _("Choisissez d'accepter ou de refuser."),
                        "invalid_choice": _("Choisissez d'accepter ou de refuser.")})
    comment = forms.CharField(label=_("Réponse à la famille"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Facultatif pour une acceptation ; dites pourquoi en cas de refus."))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "refuse" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Expliquez à la famille pourquoi la justification est refusée."))
        return data


# --- Incidents and punishments ----------------------------------------------------------------------------------

class IncidentForm(forms.Form):
    occurred_at = forms.DateTimeField(label=_("Date et heure"), widget=LocalDateTimeInput(),
                                      error_messages={"required": _("Indiquez quand l'incident a eu lieu."),
                                                      "invalid": _("Date et heure invalides.")})
    place = forms.CharField(label=_("Lieu"), max_length=120, required=False,
                            help_text=_("Salle, cour, cantine…"))
    facts = forms.CharField(label=_("Faits"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6}),
                            error_messages={"required": _("Décrivez les faits.")},
                            help_text=_("Les faits, sans jugement : ce qui s'est passé, qui était là."))
    pupils = PupilsChoiceField(label=_("Élèves concernés"), queryset=None,
                               widget=forms.SelectMultiple(attrs={"size": 8}),
                               error_messages={"required": _("Choisissez au moins un élève."),
                                               "invalid_choice": _("Choisissez des élèves de la liste."),
                                               "invalid_pk_value": _("Choisissez des élèves de la liste.")})

    def __init__(self, *args, pupils, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pupils"].queryset = pupils


class PunishmentForm(forms.Form):
    pupil = PupilChoiceField(label=_("Élève"), queryset=None, empty_label=_("— Choisissez un élève —"),
                             error_messages={"required": _("Choisissez un élève."),
                                             "invalid_choice": _("Choisissez un élève de la liste.")})
    kind = forms.ChoiceField(label=_("Punition ou sanction"), choices=(),
                             error_messages={"required": _("Choisissez le type de punition."),
                                             "invalid_choice": _("Vous ne pouvez pas donner ce type de "
                                                                 "punition.")})
    reason = forms.CharField(label=_("Motif"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Indiquez le motif.")})
    serve_on = forms.DateTimeField(label=_("À effectuer le"), required=False, widget=LocalDateTimeInput(),
                                   error_messages={"invalid": _("Date et heure invalides.")},
                                   help_text=_("Le créneau d'une retenue, le premier jour d'une exclusion."))
    duration_minutes = forms.IntegerField(label=_("Durée (minutes)"), required=False, min_value=1,
                                          max_value=600)
    serve_until = forms.DateField(label=_("Jusqu'au"), required=False, widget=DateInput(),
                                  error_messages={"invalid": _("Date invalide.")},
                                  help_text=_("Pour une exclusion : son dernier jour."))
    place = forms.CharField(label=_("Lieu"), max_length=120, required=False)
    work = forms.CharField(label=_("Travail à faire"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, pupils, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pupil"].queryset = pupils
        labels = dict(Punishment.Kind.choices)
        self.fields["kind"].choices = [("", _("— Choisissez —"))] + [(k, labels[k]) for k in kinds]


class PunishmentStateForm(forms.Form):
    action = forms.ChoiceField(choices=[("served", _("Effectuée")), ("cancel", _("Levée"))],
                               error_messages={"required": _("Action inconnue."),
                                               "invalid_choice": _("Action inconnue.")})
    comment = forms.CharField(required=False, max_length=500,
                              error_messages={"max_length": _("Le motif de la levée : 500 caractères au plus.")})


# --- Exemptions and exit regimes --------------------------------------------------------------------------------

class ExemptionForm(forms.Form):
    pupil = PupilChoiceField(label=_("Élève"), queryset=None, empty_label=_("— Choisissez un élève —"),
                             error_messages={"required": _("Choisissez un élève."),
                                             "invalid_choice": _("Choisissez un élève de la liste.")})
    subject = forms.ModelChoiceField(label=_("Matière"), queryset=None, required=False,
                                     empty_label=_("— Toutes / autre —"),
                                     error_messages={"invalid_choice": _("Choisissez une matière de la liste.")})
    first_day = forms.DateField(label=_("Du"), widget=DateInput(),
                                error_messages={"required": _("Indiquez le premier jour."),
                                                "invalid": _("Date invalide.")})
    last_day = forms.DateField(label=_("Au"), widget=DateInput(),
                               error_messages={"required": _("Indiquez le dernier jour."),
                                               "invalid": _("Date invalide.")})
    must_attend = forms.BooleanField(label=_("Présence en cours obligatoire"), required=False, initial=True)
    comment = forms.CharField(label=_("Commentaire"), max_length=500, required=False)
    document = forms.FileField(label=_("Certificat"), required=False,
                               help_text=_("Facultatif : le certificat médical (PDF ou photo)."))

    def __init__(self, *args, pupils, subjects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pupil"].queryset = pupils
        self.fields["subject"].queryset = subjects

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("Le dernier jour ne peut pas précéder le premier."))
        return data


class ExitRegimeForm(forms.Form):
    regime = forms.ChoiceField(label=_("Régime"), choices=ExitRegime.Regime.choices,
                               error_messages={"required": _("Choisissez un régime."),
                                               "invalid_choice": _("Choisissez un régime de la liste.")})
    may_leave_when_no_course = forms.BooleanField(label=_("Autorisé à sortir en l'absence de cours"),
                                                  required=False)
    may_leave_at_lunch = forms.BooleanField(label=_("Autorisé à sortir à midi"), required=False)
    comment = forms.CharField(label=_("Commentaire"), max_length=500, required=False)


# --- List filters -----------------------------------------------------------------------------------------------

class DisciplineFilterForm(forms.Form):
    """?classe=&eleve= on the incident, punishment and exemption lists (unknown values are ignored)."""

    classe = forms.ModelChoiceField(label=_("Classe"), queryset=None, required=False,
                                    empty_label=_("Toutes les classes"))
    eleve = PupilChoiceField(label=_("Élève"), queryset=None, required=False, empty_label=_("Tous les élèves"))

    def __init__(self, *args, classes, pupils, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classe"].queryset = classes
        self.fields["classe"].label_from_instance = lambda c: c.label
        self.fields["eleve"].queryset = pupils

    def chosen(self) -> tuple:
        """(class, pupil), None where not chosen or invalid."""
        if not self.is_bound or not self.is_valid():
            data = getattr(self, "cleaned_data", {}) or {}
            return data.get("classe"), data.get("eleve")
        return self.cleaned_data.get("classe"), self.cleaned_data.get("eleve")
