"""Forms of the imports' administration pages: a new import, and a generic CSV's column mapping."""

from __future__ import annotations

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from preau.access import policy
from preau.directory.models import Establishment

from . import services

# Above this many establishments (a global admin's académie), the establishment is typed as a UAI.
MAX_ESTABLISHMENT_CHOICES = 100


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        items = data if isinstance(data, list | tuple) else [data] if data else []
        if not items and self.required:
            raise forms.ValidationError(_("Choisissez au moins un fichier."), code="required")
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class ImportStartForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Type de fichiers"))
    establishment = forms.ModelChoiceField(
        label=gettext_lazy("Établissement"), queryset=Establishment.objects.none(), required=False)
    files = MultipleFileField(label=gettext_lazy("Fichiers"))
    dry_run = forms.BooleanField(
        label=gettext_lazy("Simulation d'abord"), required=False, initial=True,
        help_text=gettext_lazy("Rien n'est enregistré : vous lisez le compte rendu, puis vous confirmez l'import."))

    def __init__(self, *args, actor, initial_establishment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        kinds = services.importable_kinds(actor)
        self.fields["kind"].choices = [(kind.code, kind.label) for kind in kinds]
        self.fields["kind"].help_text = " ; ".join(
            f"{kind.code} : {', '.join(kind.extensions)}" for kind in kinds)
        establishments = policy.administered_establishments(actor).filter(is_active=True).order_by("name")
        if establishments.count() > MAX_ESTABLISHMENT_CHOICES:
            self.fields["establishment"] = forms.CharField(
                label=_("UAI de l'établissement"), required=False, max_length=8,
                help_text=_("Laissez vide pour des fichiers qui disent eux-mêmes leurs établissements (AAF)."))
            if initial_establishment is not None:
                self.initial["establishment"] = initial_establishment.uai
        else:
            field = self.fields["establishment"]
            field.queryset = establishments
            if actor.is_global_admin:
                field.empty_label = _("— Aucun : les fichiers disent leurs établissements (AAF) —")
            else:
                field.empty_label = _("— Choisissez —")
            if initial_establishment is not None:
                self.initial["establishment"] = initial_establishment.pk
        self.fields["files"].help_text = _(
            "Plusieurs fichiers possibles (par exemple toutes les parties d'un export AAF). %(max)s au plus en tout."
        ) % {"max": filesizeformat(services.max_bytes())}

    def clean_establishment(self):
        value = self.cleaned_data.get("establishment")
        if isinstance(value, str):
            if not value.strip():
                return None
            found = (policy.administered_establishments(self.actor)
                     .filter(uai=value.strip().upper(), is_active=True).first())
            if found is None:
                raise forms.ValidationError(_("Aucun établissement de cet UAI parmi ceux que vous administrez."))
            return found
        return value


class CsvProfileForm(forms.Form):
    """A generic CSV's first question: who the file lists (the fields to map depend on it)."""

    profil = forms.ChoiceField(label=gettext_lazy("Le fichier liste"))

    def __init__(self, *args, helper, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profil"].choices = [(code, label) for code, label in helper.PROFILES.items()]


class ColumnMappingForm(forms.Form):
    """Per field of the chosen profile, the column of the file that holds it (guessed from usual headers)."""

    full = forms.BooleanField(
        label=gettext_lazy("Fichier complet"), required=False,
        help_text=gettext_lazy("Le fichier liste toutes les personnes de ce profil dans l'établissement : celles "
                               "qu'il ne liste plus sont marquées partantes."))

    def __init__(self, *args, header: list[str], helper, profile: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile = profile
        self.profile_fields = helper.fields_for(profile)
        guessed = helper.guess_mapping(header, profile) if header else {}
        columns = [("", _("— Pas dans le fichier —"))] + [(column, column) for column in header]
        for field in self.profile_fields:
            label = str(field.label) + (_(" (obligatoire)") if field.required(profile) else "")
            self.fields[self.key(field.name)] = forms.ChoiceField(label=label, choices=columns, required=False,
                                                                  help_text=field.help)
            if guessed.get(field.name) in header:
                self.initial[self.key(field.name)] = guessed[field.name]
        self.order_fields([self.key(field.name) for field in self.profile_fields] + ["full"])

    @staticmethod
    def key(name: str) -> str:
        return f"col_{name}"

    def options(self) -> dict:
        mapping = {field.name: self.cleaned_data.get(self.key(field.name)) or "" for field in self.profile_fields}
        return {"profile": self.profile, "mapping": {name: column for name, column in mapping.items() if column},
                "full": bool(self.cleaned_data.get("full"))}
