"""Forms of the moderation pages: a report's reason, a decision's reason, and an establishment's messaging rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import moderation
from .models import MessagingRules

ROLE_CHOICES = [("pupil", _("Élèves")), ("guardian", _("Responsables")), ("teacher", _("Professeurs")),
                ("staff", _("Personnels"))]


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("Pourquoi signalez-vous ce message ?"), required=False, max_length=moderation.REPORT_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Facultatif. Le message et votre signalement sont transmis à la direction et à la vie scolaire "
                    "de l'établissement, pas à son expéditeur."))


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Motif (transmis à l'expéditeur)"), required=False,
                             max_length=moderation.DECISION_REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class BlockForm(forms.Form):
    reason = forms.CharField(label=_("Motif du blocage"), required=False, max_length=moderation.BLOCK_REASON_MAX)


def _field(name: str, form_field_class=None, **kwargs):
    model_field = MessagingRules._meta.get_field(name)
    if form_field_class is None:
        return model_field.formfield(**kwargs)
    return form_field_class(label=model_field.verbose_name, **kwargs)


class RulesForm(forms.Form):
    """Every field of MessagingRules, grouped for the page by `groups()`."""

    WHO = ["pupils_write_to_pupils", "guardians_write_to_guardians", "pupils_write_to_staff",
           "guardians_write_to_staff"]
    ROLES = ["pupil", "guardian", "teacher", "staff"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.WHO + ["pupils_paused", "quiet_hours", "hold_new_device"]:
            self.fields[name] = _field(name, forms.BooleanField, required=False)
        for role in self.ROLES:
            for kind in ("max_recipients", "max_per_hour"):
                name = f"{role}_{kind}"
                self.fields[name] = _field(name, forms.IntegerField, min_value=0, max_value=moderation.MAX_LIMIT,
                                           help_text=_("0 : pas de limite"))
        for name in ("quiet_start", "quiet_end"):
            self.fields[name] = _field(name, forms.TimeField, widget=forms.TimeInput(attrs={"type": "time"},
                                                                                     format="%H:%M"))
        self.fields["attachments_off_roles"] = _field(
            "attachments_off_roles", forms.MultipleChoiceField, choices=ROLE_CHOICES, required=False,
            widget=forms.CheckboxSelectMultiple)
        self.fields["hold_recipients_above"] = _field(
            "hold_recipients_above", forms.IntegerField, min_value=0, max_value=moderation.MAX_LIMIT,
            help_text=_("Pour les élèves et les responsables : un envoi à plus de destinataires attend la "
                        "vérification d'un membre de la direction ou de la vie scolaire."))
        self.fields["hold_new_device"].help_text = _(
            "Un envoi à plusieurs personnes depuis un téléphone ou un ordinateur jamais utilisé par son auteur "
            "attend la vérification (comptes volés).")
        self.fields["quiet_hours"].help_text = _("Heure de Paris ; la nuit peut passer minuit (21:00 à 07:00).")

    @classmethod
    def initial_from(cls, rules: MessagingRules) -> dict:
        return {name: getattr(rules, name) for name in moderation.RULE_FIELDS}

    def limit_rows(self):
        labels = dict(ROLE_CHOICES)
        return [{"label": labels[role], "fields": [self[f"{role}_max_recipients"], self[f"{role}_max_per_hour"]]}
                for role in self.ROLES]

    def bound(self, names):
        return [self[name] for name in names]

    def who_fields(self):
        return self.bound(self.WHO)

    def quiet_fields(self):
        return self.bound(["quiet_start", "quiet_end"])
