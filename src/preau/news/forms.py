"""Forms of the news and carnet de liaison pages: they parse and label; the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

AUDIENCE_CHOICES = [("pupils", _("Élèves")), ("guardians", _("Responsables")), ("teachers", _("Enseignants")),
                    ("staff", _("Personnels"))]
RICH_TEXT_HELP = _("Texte simple, ou mise en forme HTML limitée : paragraphes, <strong>gras</strong>, "
                   "<em>italique</em>, listes, titres (h2 à h4), citations et liens. Le reste est retiré.")


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _drop_empty(form, *names) -> None:
    """No empty fieldset for a teacher without groups (or classes)."""
    for name in names:
        if not form.fields[name].queryset.exists():
            del form.fields[name]


class TargetLabelMixin:
    @staticmethod
    def class_label(school_class):
        return school_class.label

    @staticmethod
    def group_label(group):
        return group.label


class NewsForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200,
                            error_messages={"required": _("Donnez un titre.")})
    body = forms.CharField(label=_("Texte"), widget=forms.Textarea(attrs={"rows": 10}), help_text=RICH_TEXT_HELP,
                           error_messages={"required": _("Écrivez le texte.")})
    scope = forms.ChoiceField(
        label=_("Destinataires"), widget=forms.RadioSelect,
        choices=[("whole", _("Tout l'établissement")), ("targets", _("Des classes ou des groupes"))],
        initial="whole")
    classes = forms.ModelMultipleChoiceField(label=_("Classes"), queryset=None, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    groups = forms.ModelMultipleChoiceField(label=_("Groupes"), queryset=None, required=False,
                                            widget=forms.CheckboxSelectMultiple)
    audience = forms.MultipleChoiceField(
        label=_("Pour"), choices=AUDIENCE_CHOICES, widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _label in AUDIENCE_CHOICES],
        error_messages={"required": _("Choisissez à qui s'adresse l'actualité.")})
    publish_at = forms.DateTimeField(label=_("Publier le"), required=False, widget=LocalDateTimeInput(),
                                     help_text=_("Vide : tout de suite. Une date future programme la publication."))
    unpublish_at = forms.DateTimeField(label=_("Retirer le"), required=False, widget=LocalDateTimeInput(),
                                       help_text=_("Facultatif : l'actualité disparaît à cette date."))
    pinned = forms.BooleanField(label=_("Épingler en haut de la liste"), required=False)
    image = forms.FileField(label=_("Ajouter une image"), required=False, widget=forms.ClearableFileInput(
        attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}))
    image_alt = forms.CharField(label=_("Description de l'image"), max_length=250, required=False,
                                help_text=_("Ce que montre l'image, pour les personnes qui ne la voient pas."))

    def __init__(self, *args, whole_allowed: bool, classes, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classes"].queryset = classes
        self.fields["groups"].queryset = groups
        self.fields["classes"].label_from_instance = TargetLabelMixin.class_label
        self.fields["groups"].label_from_instance = TargetLabelMixin.group_label
        self.fields["image"].help_text = _("PNG, JPEG, WebP ou GIF, %(mb)s Mo au plus.") % {
            "mb": settings.PREAU_NEWS_IMAGE_MAX_BYTES // (1024 * 1024) or 1}
        self.whole_allowed = whole_allowed
        _drop_empty(self, "classes", "groups")
        if not whole_allowed:
            del self.fields["pinned"]
            self.fields["scope"].choices = [("targets", _("Des classes ou des groupes où j'enseigne"))]
            self.fields["scope"].initial = "targets"

    def clean(self):
        data = super().clean()
        if data.get("image") and not (data.get("image_alt") or "").strip():
            self.add_error("image_alt", _("Décrivez l'image en quelques mots."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"], "body": data["body"], "whole_establishment": data["scope"] == "whole",
            "classes": list(data.get("classes") or ()), "groups": list(data.get("groups") or ()),
            "audience": data["audience"], "publish_at": data.get("publish_at"),
            "unpublish_at": data.get("unpublish_at"), "pinned": bool(data.get("pinned")),
            "image": data.get("image"), "image_alt": data.get("image_alt", ""),
        }

    @classmethod
    def initial_for(cls, item) -> dict:
        tz = timezone.get_current_timezone()
        return {
            "title": item.title, "body": item.body, "scope": "whole" if item.whole_establishment else "targets",
            "classes": list(item.classes.all()), "groups": list(item.groups.all()),
            "audience": [flag.removeprefix("for_") for flag in ("for_pupils", "for_guardians", "for_teachers",
                                                                 "for_staff") if getattr(item, flag)],
            # A draft's date is its creation's: left empty, publishing it means "now".
            "publish_at": None if item.is_draft else item.publish_at.astimezone(tz), "pinned": item.pinned,
            "unpublish_at": item.unpublish_at.astimezone(tz) if item.unpublish_at else None,
        }


class PupilChoiceField(forms.ModelMultipleChoiceField):
    """Pupils, grouped by class in the select (optgroups)."""

    def __init__(self, enrolments, **kwargs):
        from preau.accounts.models import User

        self.enrolments = list(enrolments)
        super().__init__(queryset=User.objects.filter(pk__in=[e.pupil_id for e in self.enrolments]), **kwargs)
        groups: dict[str, list] = {}
        for enrolment in self.enrolments:
            pupil = enrolment.pupil
            groups.setdefault(enrolment.school_class.label, []).append(
                (pupil.pk, f"{pupil.last_name} {pupil.first_name}"))
        self.choices = list(groups.items())


class LiaisonNoteForm(forms.Form):
    title = forms.CharField(label=_("Objet"), max_length=200, error_messages={"required": _("Donnez un objet.")})
    body = forms.CharField(label=_("Texte"), widget=forms.Textarea(attrs={"rows": 8}), help_text=RICH_TEXT_HELP,
                           error_messages={"required": _("Écrivez le texte.")})
    due_date = forms.DateField(label=_("À signer avant le"), required=False, widget=DateInput(),
                               help_text=_("Facultatif."))
    classes = forms.ModelMultipleChoiceField(label=_("Familles des classes"), queryset=None, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    groups = forms.ModelMultipleChoiceField(label=_("Familles des groupes"), queryset=None, required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, classes, groups, enrolments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classes"].queryset = classes
        self.fields["groups"].queryset = groups
        self.fields["classes"].label_from_instance = TargetLabelMixin.class_label
        self.fields["groups"].label_from_instance = TargetLabelMixin.group_label
        _drop_empty(self, "classes", "groups")
        self.fields["pupils"] = PupilChoiceField(
            enrolments, label=_("Familles de certains élèves"), required=False,
            widget=forms.SelectMultiple(attrs={"size": 8}),
            help_text=_("Facultatif : en plus des classes et des groupes cochés (Ctrl ou ⌘ pour en choisir "
                        "plusieurs)."))

    def clean(self):
        data = super().clean()
        if not (data.get("classes") or data.get("groups") or data.get("pupils")) and not self.errors:
            raise forms.ValidationError(_("Choisissez au moins une classe, un groupe ou un élève."))
        return data
