"""Forms of vie scolaire's management pages (reasons, editing a record) and of the family's « Signaler une
absence »: they parse and label in French; `preau.attendance.services` decides and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .forms import LocalDateTimeInput, SpanMixin
from .models import AttendanceRecord

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def _datetime_field(label, required_message):
    return forms.DateTimeField(label=label, widget=LocalDateTimeInput(), input_formats=DATETIME_FORMATS,
                               error_messages={"required": required_message,
                                               "invalid": _("Indiquez une date et une heure valides.")})


class ReasonForm(forms.Form):
    label = forms.CharField(label=_("Libellé"), max_length=120,
                            error_messages={"required": _("Donnez un libellé au motif."),
                                            "max_length": _("Le libellé du motif : 120 caractères au plus.")})
    code = forms.CharField(label=_("Code"), max_length=16, required=False,
                           help_text=_("Facultatif : créé à partir du libellé. Lettres et chiffres, 16 au plus."),
                           error_messages={"max_length": _("Le code : 16 caractères au plus.")})
    justifies = forms.BooleanField(label=_("Ce motif justifie l'absence"), required=False, initial=True)
    offered_to_families = forms.BooleanField(label=_("Proposé aux familles"), required=False, initial=True)
    is_active = forms.BooleanField(label=_("Actif"), required=False, initial=True)

    def clean_code(self):
        code = (self.cleaned_data.get("code") or "").strip()
        if code and not code.replace("-", "").replace("_", "").isalnum():
            raise forms.ValidationError(gettext("Le code ne contient que des lettres, des chiffres, - et _."))
        return code


class RecordForm(SpanMixin, forms.Form):
    """Vie scolaire edits a record: kind, span, lateness, reason, comment, state."""

    kind = forms.ChoiceField(label=_("Type"), choices=AttendanceRecord.Kind.choices,
                             error_messages={"required": _("Choisissez un type."),
                                             "invalid_choice": _("Choisissez un type de la liste.")})
    starts_at = _datetime_field(_("Du"), _("Indiquez le début."))
    ends_at = _datetime_field(_("Au"), _("Indiquez la fin."))
    late_minutes = forms.IntegerField(label=_("Minutes de retard"), required=False, min_value=1, max_value=240,
                                      help_text=_("Pour un retard seulement."),
                                      error_messages={"invalid": _("Indiquez un nombre entier de minutes."),
                                                      "min_value": _("Un retard compte au moins une minute."),
                                                      "max_value": _("Un retard de plus de 240 minutes est une "
                                                                     "absence.")})
    reason = forms.ModelChoiceField(label=_("Motif"), queryset=None, required=False,
                                    empty_label=_("— sans motif —"),
                                    error_messages={"invalid_choice": _("Choisissez un motif de la liste.")})
    state = forms.ChoiceField(label=_("Justification"), choices=AttendanceRecord.State.choices,
                              error_messages={"required": _("Choisissez l'état de la justification."),
                                              "invalid_choice": _("Choisissez un état de la liste.")})
    comment = forms.CharField(label=_("Commentaire"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"max_length": _("Le commentaire dépasse 500 caractères.")})

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = reasons

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == AttendanceRecord.Kind.LATE and not cleaned.get("late_minutes") \
                and "late_minutes" not in self.errors:
            self.add_error("late_minutes", gettext("Indiquez les minutes de retard."))
        return cleaned


class AnnounceForm(SpanMixin, forms.Form):
    """A family announces an absence to come (today or later)."""

    starts_at = _datetime_field(_("Absent à partir du"), _("Indiquez le début de l'absence."))
    ends_at = _datetime_field(_("Jusqu'au"), _("Indiquez la fin de l'absence."))
    reason = forms.ModelChoiceField(label=_("Motif"), queryset=None, empty_label=_("— choisissez —"),
                                    error_messages={"required": _("Choisissez un motif."),
                                                    "invalid_choice": _("Choisissez un motif de la liste.")})
    comment = forms.CharField(label=_("Commentaire pour la vie scolaire"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"max_length": _("Le commentaire dépasse 500 caractères.")})
    document = forms.FileField(label=_("Justificatif (facultatif)"), required=False,
                               help_text=_("PDF, JPEG ou PNG, 5 Mo au plus."),
                               widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
                               error_messages={"invalid": _("Le fichier envoyé est illisible."),
                                               "empty": _("Le fichier envoyé est vide.")})

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = reasons


class MonthForm(forms.Form):
    mois = forms.CharField(label=_("Mois"), required=False, max_length=7,
                           widget=forms.TextInput(attrs={"type": "month"}))
