"""The agenda event form: it parses and labels; the services (timetable.agenda) decide."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from preau.directory.models import Role

from . import agenda
from .forms import ChoicesField, DateInput, TimeInput
from .models import AgendaEvent

AUDIENCE_CHOICES = [(Role.PUPIL.value, _("Élèves")), (Role.GUARDIAN.value, _("Responsables")),
                    (Role.TEACHER.value, _("Enseignants")), (Role.STAFF.value, _("Personnels"))]
RICH_TEXT_HELP = _("Facultatif. Texte simple, ou mise en forme HTML limitée : paragraphes, <strong>gras</strong>, "
                   "<em>italique</em>, listes et liens. Le reste est retiré.")


class AgendaEventForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200, error_messages={"required": _("Donnez un titre.")})
    kind = forms.ChoiceField(label=_("Type"), choices=AgendaEvent.Kind.choices, initial=AgendaEvent.Kind.MEETING)
    start_date = forms.DateField(label=_("Date"), widget=DateInput(),
                                 error_messages={"required": _("Indiquez la date."),
                                                 "invalid": _("Indiquez une date valide.")})
    all_day = forms.BooleanField(label=_("Toute la journée"), required=False)
    start_time = forms.TimeField(label=_("Heure de début"), required=False, widget=TimeInput(),
                                 error_messages={"invalid": _("Indiquez une heure valide (HH:MM).")})
    end_date = forms.DateField(label=_("Date de fin"), required=False, widget=DateInput(),
                               help_text=_("Vide : le même jour."),
                               error_messages={"invalid": _("Indiquez une date valide.")})
    end_time = forms.TimeField(label=_("Heure de fin"), required=False, widget=TimeInput(),
                               help_text=_("Vide : une heure après le début."),
                               error_messages={"invalid": _("Indiquez une heure valide (HH:MM).")})
    location = forms.CharField(label=_("Lieu"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), required=False, help_text=RICH_TEXT_HELP,
                                  widget=forms.Textarea(attrs={"rows": 6}))
    scope = forms.ChoiceField(
        label=_("Pour"), widget=forms.RadioSelect,
        choices=[("whole", _("Tout l'établissement")), ("targets", _("Des classes ou des groupes"))],
        initial="whole")
    classes = ChoicesField(label=_("Classes"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple)
    groups = ChoicesField(label=_("Groupes"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple)
    audience_roles = forms.MultipleChoiceField(
        label=_("Public"), choices=AUDIENCE_CHOICES, widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _label in AUDIENCE_CHOICES],
        error_messages={"required": _("Choisissez à qui s'adresse l'événement.")})

    def __init__(self, *args, whole_allowed: bool, classes, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classes"].queryset = classes
        self.fields["groups"].queryset = groups
        self.fields["classes"].label_from_instance = lambda c: c.label
        self.fields["groups"].label_from_instance = lambda g: g.label
        for name in ("classes", "groups"):
            if not self.fields[name].queryset.exists():
                del self.fields[name]
        if not whole_allowed:
            self.fields["scope"].choices = [("targets", _("Des classes ou des groupes où j'enseigne"))]
            self.fields["scope"].initial = "targets"

    def clean(self):
        data = super().clean()
        if not data.get("all_day") and data.get("start_date") and not data.get("start_time") \
                and "start_time" not in self.errors:
            self.add_error("start_time", _("Indiquez l'heure de début, ou cochez « Toute la journée »."))
        if data.get("scope") == "targets" and not (data.get("classes") or data.get("groups")) \
                and not (self.errors.get("classes") or self.errors.get("groups")):
            self.add_error("classes" if "classes" in self.fields else None,
                           _("Choisissez au moins une classe ou un groupe."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        all_day = bool(data.get("all_day"))
        start_date = data["start_date"]
        end_date = data.get("end_date") or start_date
        if all_day:
            starts_at, ends_at = start_date, end_date
        else:
            starts_at = timezone.make_aware(datetime.datetime.combine(start_date, data["start_time"]))
            ends_at = (timezone.make_aware(datetime.datetime.combine(end_date, data["end_time"]))
                       if data.get("end_time") else None)
        # Classes or groups ticked make the event theirs, whichever way the radio button was left.
        targeted = data["scope"] == "targets" or bool(data.get("classes") or data.get("groups"))
        return {
            "title": data["title"], "kind": data["kind"], "description": data.get("description") or "",
            "location": data.get("location") or "", "starts_at": starts_at, "ends_at": ends_at, "all_day": all_day,
            "audience_roles": data["audience_roles"],
            "classes": list(data.get("classes") or ()) if targeted else [],
            "groups": list(data.get("groups") or ()) if targeted else [],
        }

    @classmethod
    def initial_for(cls, event: AgendaEvent) -> dict:
        start = timezone.localtime(event.starts_at)
        end = timezone.localtime(event.ends_at)
        classes, groups = list(event.classes.all()), list(event.groups.all())
        return {
            "title": event.title, "kind": event.kind, "description": event.description, "location": event.location,
            "start_date": start.date(), "all_day": event.all_day,
            "start_time": None if event.all_day else start.time(),
            "end_date": agenda.last_day(event) if event.all_day else end.date(),
            "end_time": None if event.all_day else end.time(),
            "scope": "targets" if classes or groups else "whole", "classes": classes, "groups": groups,
            "audience_roles": list(event.audience_roles),
        }
