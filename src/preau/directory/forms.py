"""Forms of the administration screens and the annuaire. They validate input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from preau.accounts.models import User

from .models import (
    Establishment,
    GuardianLink,
    Mef,
    Role,
    SchoolClass,
    SchoolYear,
    Service,
    StaffFunction,
    Subject,
    TeachingGroup,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


MAX_DB_INT = 2**63 - 1


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField whose ids out of the database's integer range are invalid choices (Django's
    own lets them reach the `__in` query, which raises OverflowError, a 500, on SQLite)."""

    def _check_values(self, value):
        for pk in value or []:
            try:
                number = int(str(pk))
            except (TypeError, ValueError):
                continue  # Django's own check reports it
            if not -MAX_DB_INT <= number <= MAX_DB_INT:
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                      params={"value": pk})
        return super()._check_values(value)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Rechercher"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))


class EstablishmentForm(forms.ModelForm):
    class Meta:
        model = Establishment
        fields = ["uai", "name", "kind", "address", "postal_code", "city", "period_scheme", "require_staff_2fa"]

    def clean_uai(self):
        return (self.cleaned_data.get("uai") or "").strip().upper()

    def validate_unique(self):
        # Uniqueness is checked by the service, with the same French message.
        pass


class SchoolYearForm(forms.Form):
    label = forms.CharField(label=_("Année scolaire"), max_length=9, help_text=_("Sous la forme 2026-2027."))
    start = forms.DateField(label=_("Début"), widget=DateInput())
    end = forms.DateField(label=_("Fin"), widget=DateInput())
    make_current = forms.BooleanField(label=_("En faire l'année en cours"), required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end <= start:
            self.add_error("end", _("La date de fin doit être postérieure à la date de début."))
        return cleaned


class PeriodForm(forms.Form):
    label = forms.CharField(label=_("Libellé"), max_length=60)
    start = forms.DateField(label=_("Début"), widget=DateInput())
    end = forms.DateField(label=_("Fin"), widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("La date de fin doit être postérieure à la date de début."))
        return cleaned


class SchoolClassForm(forms.Form):
    school_year = forms.ModelChoiceField(label=_("Année scolaire"), queryset=SchoolYear.objects.none(),
                                         empty_label=None)
    code = forms.CharField(label=_("Code"), max_length=32, help_text=_("Unique dans l'année, ex. 5B."))
    label = forms.CharField(label=_("Libellé"), max_length=120, help_text=_("ex. 5e B"))
    level = forms.CharField(label=_("Niveau"), max_length=32, required=False, help_text=_("ex. 5e, CM1, 2nde"))
    mef = forms.ModelChoiceField(label=_("MEF"), queryset=Mef.objects.order_by("code"), required=False,
                                 empty_label=_("— aucun —"))

    def __init__(self, *args, establishment: Establishment, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_year"].queryset = SchoolYear.objects.filter(
            establishment=establishment, is_archived=False).order_by("-start")
        if editing:
            del self.fields["school_year"]


class GroupForm(forms.Form):
    school_year = forms.ModelChoiceField(label=_("Année scolaire"), queryset=SchoolYear.objects.none(),
                                         empty_label=None)
    code = forms.CharField(label=_("Code"), max_length=32)
    label = forms.CharField(label=_("Libellé"), max_length=120)
    kind = forms.ChoiceField(label=_("Type"), choices=TeachingGroup.Kind.choices)
    classes = IdsChoiceField(label=_("Classes concernées"), queryset=SchoolClass.objects.none(),
                                             required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, establishment: Establishment, year: SchoolYear | None, editing: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_year"].queryset = SchoolYear.objects.filter(
            establishment=establishment, is_archived=False).order_by("-start")
        self.fields["classes"].queryset = SchoolClass.objects.filter(
            establishment=establishment, school_year=year).order_by("level", "code")
        if editing:
            del self.fields["school_year"]


class GroupMembersForm(forms.Form):
    pupils = IdsChoiceField(label=_("Élèves du groupe"), queryset=User.objects.none(),
                                            required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pupils"].queryset = candidates
        self.fields["pupils"].label_from_instance = lambda u: f"{u.last_name} {u.first_name}"


class SubjectForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=16)
    label = forms.CharField(label=_("Libellé"), max_length=120)
    short_label = forms.CharField(label=_("Libellé court"), max_length=40, required=False)


class PersonIdentityForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    # The model column holds 254 characters; a plain form EmailField accepts 320 (a 500 on PostgreSQL).
    email = forms.EmailField(label=_("Adresse électronique"), required=False, max_length=254)
    phone = forms.CharField(label=_("Téléphone"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    birth_date = forms.DateField(label=_("Date de naissance"), required=False, widget=DateInput())
    ine = forms.CharField(label=_("INE"), max_length=11, required=False,
                          help_text=_("Identifiant national élève (élèves uniquement)."))

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "").strip()
        if phone and not all(c.isdigit() or c in " +.-()" for c in phone):
            raise ValidationError(_("Le numéro de téléphone ne peut contenir que des chiffres, espaces et + . - ( )."))
        return phone


class PersonCreateForm(PersonIdentityForm):
    username = forms.CharField(label=_("Identifiant"), max_length=150, required=False,
                               help_text=_("Laissez vide pour générer prénom.nom."))
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)
    functions = forms.MultipleChoiceField(label=_("Fonctions (personnels)"), choices=StaffFunction.choices,
                                          required=False, widget=forms.CheckboxSelectMultiple)
    school_class = forms.ModelChoiceField(label=_("Classe (élèves)"), queryset=SchoolClass.objects.none(),
                                          required=False, empty_label=_("— choisir —"))

    field_order = ["first_name", "last_name", "username", "role", "functions", "school_class", "email", "phone",
                   "birth_date", "ine"]

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == Role.PUPIL and not cleaned.get("school_class"):
            self.add_error("school_class", _("Un élève doit être inscrit dans une classe."))
        return cleaned


class MembershipForm(forms.Form):
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)
    functions = forms.MultipleChoiceField(label=_("Fonctions (personnels)"), choices=StaffFunction.choices,
                                          required=False, widget=forms.CheckboxSelectMultiple)


class EnrolmentForm(forms.Form):
    school_class = forms.ModelChoiceField(label=_("Classe"), queryset=SchoolClass.objects.none(),
                                          empty_label=_("— choisir —"))

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes


class GuardianLinkForm(forms.Form):
    relation = forms.ChoiceField(label=_("Lien"), choices=GuardianLink.Relation.choices)
    legal_authority = forms.BooleanField(label=_("Exerce l'autorité parentale"), required=False)
    receives_correspondence = forms.BooleanField(label=_("Destinataire des courriers"), required=False)
    contact_order = forms.IntegerField(label=_("Ordre de contact"), min_value=1, max_value=9, initial=1)
    denied_services = forms.MultipleChoiceField(
        label=_("Services refusés pour cet enfant"), choices=Service.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Cochez les services que ce responsable ne doit pas voir (ex. décision de justice)."))


class GuardianLinkCreateForm(GuardianLinkForm):
    guardian = forms.CharField(label=_("Identifiant du responsable"), max_length=150,
                               help_text=_("L'identifiant de connexion d'un responsable de l'établissement."))

    field_order = ["guardian", "relation", "legal_authority", "receives_correspondence", "contact_order",
                   "denied_services"]

    def __init__(self, *args, guardians, **kwargs):
        super().__init__(*args, **kwargs)
        self.guardians = guardians

    def clean_guardian(self):
        username = self.cleaned_data["guardian"].strip()
        guardian = self.guardians.filter(username__iexact=username).first()
        if guardian is None:
            raise ValidationError(_("Aucun responsable légal de l'établissement n'a cet identifiant."))
        return guardian


class AssignmentForm(forms.Form):
    subject = forms.ModelChoiceField(label=_("Matière"), queryset=Subject.objects.none(),
                                     empty_label=_("— choisir —"))
    target = forms.ChoiceField(label=_("Classe ou groupe"))
    is_main_teacher = forms.BooleanField(label=_("Professeur principal"), required=False)

    def __init__(self, *args, subjects, classes, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject"].queryset = subjects
        self._classes = {str(c.pk): c for c in classes}
        self._groups = {str(g.pk): g for g in groups}
        self.fields["target"].choices = [("", _("— choisir —")),
                                         (_("Classes"), [(f"c{c.pk}", c.label) for c in classes]),
                                         (_("Groupes"), [(f"g{g.pk}", g.label) for g in groups])]

    def clean_target(self):
        value = self.cleaned_data["target"]
        kind, pk = value[:1], value[1:]
        if kind == "c" and pk in self._classes:
            return ("class", self._classes[pk])
        if kind == "g" and pk in self._groups:
            return ("group", self._groups[pk])
        raise ValidationError(_("Choisissez une classe ou un groupe."))


class ClassCodesForm(forms.Form):
    AUDIENCE_CHOICES = [("pupils", _("Les élèves")), ("guardians", _("Leurs responsables légaux"))]
    audience = forms.MultipleChoiceField(label=_("Générer des codes pour"), choices=AUDIENCE_CHOICES,
                                         widget=forms.CheckboxSelectMultiple, initial=["pupils"])
    only_not_activated = forms.BooleanField(label=_("Seulement les comptes pas encore activés"), required=False,
                                            initial=True)
