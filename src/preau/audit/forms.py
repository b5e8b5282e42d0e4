"""The journal's filters. Bad input shows French errors, never a 500."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import selectors


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


class JournalFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Type d'événement"), required=False)
    q = forms.CharField(label=_("Personne (nom, prénom ou identifiant)"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))
    du = forms.DateField(label=_("Du"), required=False, widget=DateInput())
    au = forms.DateField(label=_("Au"), required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Tous"))] + selectors.action_choices()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("du"), cleaned.get("au")
        if start and end and start > end:
            raise ValidationError({"au": _("La date de fin doit être postérieure ou égale à la date de début.")})
        return cleaned
