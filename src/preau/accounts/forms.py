from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.utils.translation import gettext_lazy as _

from .models import User


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Identifiant"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none",
                                                             "spellcheck": "false", "autofocus": True}))
    password = forms.CharField(label=_("Mot de passe"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code de vérification"), max_length=20,
        help_text=_("Les 6 chiffres affichés par votre application d'authentification, ou un code de secours."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                      "autocapitalize": "characters", "spellcheck": "false"}),
    )


class ActivationForm(forms.Form):
    username = forms.CharField(label=_("Identifiant"), max_length=150,
                               help_text=_("Il figure sur le document remis par l'établissement."),
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none",
                                                             "spellcheck": "false", "autofocus": True}))
    code = forms.CharField(label=_("Code d'activation"), max_length=32,
                           help_text=_("10 caractères, par exemple ABCDE-FGHJK (les tirets sont facultatifs)."),
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false"}))


class NewPasswordMixin(forms.Form):
    """Two password fields checked against AUTH_PASSWORD_VALIDATORS (French messages)."""

    new_password1 = forms.CharField(
        label=_("Nouveau mot de passe"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Au moins 10 caractères, ni trop courant, ni uniquement des chiffres, ni proche de votre nom."),
    )
    new_password2 = forms.CharField(label=_("Confirmation du nouveau mot de passe"), strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_password2(self):
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data.get("new_password2")
        if first and second and first != second:
            raise forms.ValidationError(_("Les deux mots de passe ne sont pas identiques."), code="password_mismatch")
        if second:
            password_validation.validate_password(second, self.user)
        return second


class CharterFieldsMixin:
    """One required "I accept" box per charter to accept (the forms take `charters=`)."""

    charter_required_message = _("Vous devez accepter la charte pour continuer à utiliser l'ENT.")

    def __init__(self, *args, charters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.charters = list(charters)
        for charter in self.charters:
            self.fields[f"charter_{charter.pk}"] = forms.BooleanField(
                required=True,
                label=_("J'ai lu la charte d'utilisation de %(establishment)s et je m'engage à la respecter.")
                % {"establishment": charter.establishment.name},
                error_messages={"required": self.charter_required_message},
            )

    def charter_fields(self):
        return [(charter, self[f"charter_{charter.pk}"]) for charter in self.charters]


class ActivationPasswordForm(CharterFieldsMixin, NewPasswordMixin):
    charter_required_message = _("Vous devez accepter la charte pour utiliser l'ENT.")


class CharterAcceptForm(CharterFieldsMixin, forms.Form):
    pass


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Django's form (old password checked, validators applied), with our labels and help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Mot de passe actuel")
        self.fields["new_password1"].label = _("Nouveau mot de passe")
        self.fields["new_password1"].help_text = NewPasswordMixin.base_fields["new_password1"].help_text
        self.fields["new_password2"].label = _("Confirmation du nouveau mot de passe")


class PasswordCheckForm(forms.Form):
    """Ask the current password again before a sensitive change."""

    password = forms.CharField(label=_("Mot de passe actuel"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Mot de passe incorrect."), code="password_incorrect")
        return password


class TOTPConfirmForm(forms.Form):
    code = forms.CharField(label=_("Code à 6 chiffres affiché par l'application"), max_length=10,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "pattern": "[0-9 ]*"}))


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Langue de l'interface"), choices=settings.LANGUAGES)

    class Meta:
        model = User
        fields = ["email", "phone", "contact_by_email", "language"]
        labels = {
            "email": _("Adresse électronique"),
            "phone": _("Téléphone"),
            "contact_by_email": _("Recevoir les avis de l'ENT par courriel"),
        }
        help_texts = {
            "email": _("Utilisée pour les avis et pour réinitialiser votre mot de passe."),
            "phone": _("Visible seulement des personnels autorisés de l'établissement."),
        }
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        }

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "").strip()
        allowed = set("0123456789+ .-()")
        if phone and (not set(phone) <= allowed or sum(ch.isdigit() for ch in phone) < 6):
            raise forms.ValidationError(_("Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78."))
        return phone


class CharterPublishForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200, required=False,
                            help_text=_("Par défaut : « Charte d'utilisation de l'ENT »."))
    text = forms.CharField(label=_("Texte de la charte"), widget=forms.Textarea(attrs={"rows": 16}),
                           max_length=50_000)
    confirm = forms.BooleanField(
        label=_("Je comprends que toutes les personnes de l'établissement devront accepter cette nouvelle version "
                "à leur prochaine connexion."),
        error_messages={"required": _("Cochez cette case pour publier la nouvelle version.")},
    )
