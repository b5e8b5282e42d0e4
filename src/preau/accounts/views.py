"""Account pages: login (with throttling and second factor), activation with the school's code, charters,
passwords, second factor management and the profile. Views call services and selectors only."""

from __future__ import annotations

import time

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from preau.access import policy
from preau.directory.models import Establishment

from . import selectors, services
from .forms import (
    ActivationForm,
    ActivationPasswordForm,
    CharterAcceptForm,
    CharterPublishForm,
    LoginForm,
    PasswordChangeForm,
    PasswordCheckForm,
    ProfileForm,
    SecondFactorForm,
    TOTPConfirmForm,
)
from .middleware import forget_state
from .models import ActivationCode
from .services import AccountError

SESSION_PENDING_LOGIN = "preau_pending_login"
SESSION_ACTIVATION = "preau_activation"
SESSION_RECOVERY_CODES = "preau_recovery_codes"
PENDING_LOGIN_SECONDS = 5 * 60
ACTIVATION_SECONDS = 20 * 60


def _safe_next(request, default: str | None = None) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default or reverse(settings.LOGIN_REDIRECT_URL)


def _start_session(request, user, *, next_url: str, method: str):
    """Open the session, or ask for the second factor first when the person has one."""
    if selectors.has_second_factor(user):
        request.session[SESSION_PENDING_LOGIN] = {"user": user.pk, "at": time.time(), "next": next_url,
                                                  "method": method}
        return redirect("accounts:login_second_factor")
    services.login_complete(request=request, user=user, method=method)
    return HttpResponseRedirect(next_url)


# --- Login and logout -----------------------------------------------------------------------------------------

@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_check_password(request=request, username=form.cleaned_data["username"],
                                                 password=form.cleaned_data["password"])
        except AccountError as error:
            form.add_error(None, error.message)
        else:
            return _start_session(request, user, next_url=next_url, method="password")
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=200)


def _pending_login_user(request):
    pending = request.session.get(SESSION_PENDING_LOGIN)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None, None
    user = services.User.objects.filter(pk=pending.get("user"), is_active=True).first()
    return user, pending


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_second_factor(request):
    user, pending = _pending_login_user(request)
    if user is None:
        request.session.pop(SESSION_PENDING_LOGIN, None)
        messages.warning(request, _("Votre connexion a expiré. Saisissez de nouveau votre identifiant et votre "
                                    "mot de passe."))
        return redirect("accounts:login")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.second_factor_verify(request=request, user=user, code=form.cleaned_data["code"])
        except AccountError as error:
            form.add_error("code", error.message)
        else:
            request.session.pop(SESSION_PENDING_LOGIN, None)
            services.login_complete(request=request, user=user, method=f"{pending.get('method')}+{result.method}")
            if result.method == "recovery_code":
                messages.warning(request, _("Vous vous êtes connecté avec un code de secours. Il vous en reste "
                                            "%(count)d. Pensez à en générer de nouveaux depuis votre profil.")
                                 % {"count": result.recovery_codes_left})
            return HttpResponseRedirect(pending.get("next") or reverse(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/login_second_factor.html", {"form": form})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request):
    if request.method == "POST":
        services.logout_user(request=request)
        messages.success(request, _("Vous êtes déconnecté. À bientôt !"))
        return redirect(settings.LOGOUT_REDIRECT_URL)
    if not request.user.is_authenticated:
        return redirect(settings.LOGOUT_REDIRECT_URL)
    return render(request, "accounts/logout.html")


# --- Activation -----------------------------------------------------------------------------------------------

@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def activation(request):
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            code = services.activation_code_check(request=request, username=form.cleaned_data["username"],
                                                  code=form.cleaned_data["code"])
        except AccountError as error:
            form.add_error(None, error.message)
        else:
            request.session[SESSION_ACTIVATION] = {"code": code.pk, "at": time.time()}
            return redirect("accounts:activation_password")
    return render(request, "accounts/activation.html", {"form": form})


@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
def activation_password(request):
    state = request.session.get(SESSION_ACTIVATION)
    code = None
    if isinstance(state, dict) and time.time() - state.get("at", 0) < ACTIVATION_SECONDS:
        code = ActivationCode.objects.select_related("user").filter(pk=state.get("code")).first()
    if code is None or not code.is_usable() or not code.user.is_active:
        request.session.pop(SESSION_ACTIVATION, None)
        messages.warning(request, _("Votre activation a expiré. Saisissez de nouveau votre identifiant et votre "
                                    "code."))
        return redirect("accounts:activation")
    user = code.user
    was_activated = user.is_activated
    charters = selectors.pending_charters(user)
    form = ActivationPasswordForm(request.POST or None, user=user, charters=charters)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.activation_complete(request=request, code_id=code.pk,
                                                password=form.cleaned_data["new_password1"], charters=charters)
        except AccountError as error:
            request.session.pop(SESSION_ACTIVATION, None)
            messages.error(request, error.message)
            return redirect("accounts:activation")
        request.session.pop(SESSION_ACTIVATION, None)
        messages.success(request, _("Votre nouveau mot de passe est enregistré.") if was_activated
                         else _("Votre compte est activé. Bienvenue !"))
        return _start_session(request, user, next_url=reverse(settings.LOGIN_REDIRECT_URL), method="activation")
    return render(request, "accounts/activation_password.html", {
        "form": form, "person": user, "already_activated": user.is_activated,
    })


# --- Passwords ------------------------------------------------------------------------------------------------

class PasswordResetForm(DjangoPasswordResetForm):
    """Django's form; the email goes out after commit, through a task, for each matching active account."""

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        email = self.cleaned_data["email"]
        domain = domain_override or request.get_host()
        services.password_reset_request(request=request, email=email, users=self.get_users(email), domain=domain,
                                        use_https=use_https)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class FrenchSetPasswordForm(SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("Nouveau mot de passe")
        self.fields["new_password2"].label = _("Confirmation du nouveau mot de passe")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = FrenchSetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_reset_done(request=self.request, user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@never_cache
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_change(request=request, user=request.user, new_password=form.cleaned_data["new_password1"])
        forget_state(request)
        messages.success(request, _("Votre mot de passe a été changé."))
        return HttpResponseRedirect(_safe_next(request, reverse("accounts:profile")))
    return render(request, "accounts/password_change.html", {
        "form": form, "required": request.user.must_change_password, "next": request.GET.get("next", ""),
    })


# --- Charters -------------------------------------------------------------------------------------------------

@login_required
@never_cache
def charter_accept(request):
    charters = selectors.pending_charters(request.user)
    if not charters:
        return HttpResponseRedirect(_safe_next(request))
    form = CharterAcceptForm(request.POST or None, charters=charters)
    if request.method == "POST" and form.is_valid():
        services.charters_accept(request=request, user=request.user, charters=charters)
        forget_state(request)
        messages.success(request, _("Merci, votre acceptation de la charte est enregistrée."))
        return HttpResponseRedirect(_safe_next(request))
    return render(request, "accounts/charter_accept.html", {"form": form, "next": request.GET.get("next", "")})


@login_required
def charter_detail(request, charter_id):
    charter = selectors.charter_readable_by(request.actor, charter_id)
    if charter is None:
        raise Http404
    return render(request, "accounts/charter_detail.html", {"charter": charter})


def _require_admin(request):
    if not policy.is_admin(request.actor):
        raise PermissionDenied


@login_required
def charter_admin_list(request):
    _require_admin(request)
    establishments = list(policy.administered_establishments(request.actor).filter(is_active=True))
    latest = {c.establishment_id: c for c in selectors.latest_charters([e.pk for e in establishments])}
    rows = [(e, latest.get(e.pk)) for e in establishments]
    return render(request, "accounts/admin/charters.html", {"rows": rows})


@login_required
def charter_admin_detail(request, establishment_id):
    _require_admin(request)
    establishment = Establishment.objects.filter(pk=establishment_id).first()
    if establishment is None or not policy.can_administer(request.actor, establishment.pk):
        raise Http404
    history = list(selectors.charters_of(establishment))
    initial = {"text": history[0].text, "title": history[0].title} if history else {}
    form = CharterPublishForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            charter = services.charter_publish(actor=request.actor, establishment=establishment,
                                               text=form.cleaned_data["text"], title=form.cleaned_data["title"])
        except AccountError as error:
            form.add_error("text", error.message)
        else:
            forget_state(request)
            messages.success(request, _("La version %(version)d de la charte est publiée.")
                             % {"version": charter.version})
            return redirect("accounts:charter_admin_detail", establishment_id=establishment.pk)
    return render(request, "accounts/admin/charter_detail.html", {
        "establishment": establishment, "history": history, "form": form,
    })


# --- Second factor --------------------------------------------------------------------------------------------

def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("code")
@login_required
@never_cache
def totp_setup(request):
    device = services.totp_enrolment_start(user=request.user)
    if device.is_confirmed:
        messages.info(request, _("La double authentification est déjà activée."))
        return redirect("accounts:profile")
    form = TOTPConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_enrolment_confirm(request=request, user=request.user, code=form.cleaned_data["code"])
        except AccountError as error:
            form.add_error("code", error.message)
        else:
            forget_state(request)
            request.session[SESSION_RECOVERY_CODES] = codes
            messages.success(request, _("La double authentification est activée."))
            next_url = _safe_next(request, "")
            url = reverse("accounts:recovery_codes")
            return redirect(f"{url}?next={next_url}" if next_url else url)
    uri = services.totp_provisioning_uri(device)
    return render(request, "accounts/totp_setup.html", {
        "form": form,
        "qr_data_uri": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        "secret": _grouped(services.totp_secret(device)),
        "required": selectors.second_factor_required(request.user),
        "next": request.GET.get("next", ""),
    })


@login_required
@never_cache
def recovery_codes(request):
    codes = request.session.pop(SESSION_RECOVERY_CODES, None)
    if not codes:
        return redirect("accounts:profile")
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _safe_next(request)})


@sensitive_post_parameters("password")
@login_required
@never_cache
def recovery_codes_regenerate(request):
    form = PasswordCheckForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.recovery_codes_regenerate(request=request, user=request.user)
        except AccountError as error:
            messages.error(request, error.message)
            return redirect("accounts:profile")
        request.session[SESSION_RECOVERY_CODES] = codes
        return redirect("accounts:recovery_codes")
    return render(request, "accounts/recovery_codes_regenerate.html", {"form": form})


@sensitive_post_parameters("password")
@login_required
@never_cache
def totp_disable(request):
    required = selectors.second_factor_required(request.user)
    form = PasswordCheckForm(request.POST or None, user=request.user)
    if request.method == "POST" and not required and form.is_valid():
        try:
            services.totp_disable(request=request, user=request.user)
        except AccountError as error:
            messages.error(request, error.message)
        else:
            forget_state(request)
            messages.success(request, _("La double authentification est désactivée."))
        return redirect("accounts:profile")
    return render(request, "accounts/totp_disable.html", {"form": form, "required": required})


# --- Profile --------------------------------------------------------------------------------------------------

@login_required
def profile(request):
    user = request.user
    form = ProfileForm(request.POST or None, instance=user, prefix="contact")
    if request.method == "POST":
        if form.is_valid():
            services.profile_update(request=request, user=user,
                                    **{name: form.cleaned_data[name] for name in services.PROFILE_FIELDS})
            messages.success(request, _("Vos préférences sont enregistrées."))
            return redirect("accounts:profile")
        user.refresh_from_db()  # the unsaved, invalid values must not show elsewhere on the page
    actor = request.actor
    device = selectors.second_factor_device(user)
    return render(request, "accounts/profile.html", {
        "form": form,
        "memberships": actor.memberships,
        "enrolments": selectors.own_current_enrolments(user),
        "children": actor.child_links,
        "totp_enabled": bool(device and device.is_confirmed),
        "totp_required": selectors.second_factor_required(user, actor.memberships),
        "recovery_left": selectors.unused_recovery_code_count(user) if device and device.is_confirmed else None,
        "acceptances": selectors.accepted_charters(user),
        "is_admin": policy.is_admin(actor),
    })

