from django import forms
from django.utils.translation import gettext_lazy as _

EXPIRY_CHOICES = [
    ("30", _("30 jours")),
    ("90", _("90 jours")),
    ("365", _("1 an")),
    ("", _("Sans expiration")),
]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Nom du jeton"), max_length=100,
        help_text=_("Pour le reconnaître plus tard, par exemple « Script d'export » ou « Agenda du téléphone »."),
        error_messages={"required": _("Donnez un nom au jeton."),
                        "max_length": _("Le nom ne doit pas dépasser 100 caractères.")},
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Durée de validité"), choices=EXPIRY_CHOICES, required=False, initial="90",
        coerce=int, empty_value=None,
        error_messages={"invalid_choice": _("Choisissez une durée dans la liste.")},
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Donnez un nom au jeton."))
        return name
