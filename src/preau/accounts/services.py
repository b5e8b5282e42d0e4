"""Writes of the accounts app: login and its throttling, activation codes, charters, passwords, second factors.

Services other apps call (keep these signatures): `issue_activation_codes`, `admin_reset_password`,
`totp_reset_by_admin`. They check `policy.can_administer_person` themselves and raise PermissionDenied.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access import policy
from preau.audit.services import Action, client_ip, record
from preau.directory.models import Establishment

from . import crypto, selectors
from .models import ActivationCode, Charter, CharterAcceptance, RecoveryCode, TOTPDevice, User
from .throttling import (
    Lock,
    activation_throttle,
    login_throttle,
    password_reset_throttle,
    second_factor_throttle,
)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
ACTIVATION_PURPOSE = "activation"
RECOVERY_PURPOSE = "recovery"
RECOVERY_CODE_COUNT = 10
TOTP_ISSUER = "Préau"


class AccountError(Exception):
    """A refusal to show the person as is (already translated)."""

    def __init__(self, message: str, *, lock: Lock | None = None):
        super().__init__(message)
        self.message = message
        self.lock = lock


def _as_actor(actor) -> policy.Actor:
    if isinstance(actor, policy.Actor):
        return actor
    built = policy.actor_for(actor)
    if built is None:
        raise PermissionDenied
    return built


# --- Login and logout -----------------------------------------------------------------------------------------

def login_check_password(*, request, username: str, password: str) -> User:
    """Check a login and password under brute-force protection. Raises AccountError with a French message.

    The message never tells whether the account exists; a locked account or IP is refused before any check.
    """
    ip = client_ip(request)
    username = (username or "").strip()
    lock = login_throttle.check(account=username, ip=ip)
    if lock:
        raise AccountError(lock.message(), lock=lock)
    user = authenticate(request, username=username, password=password)
    if user is None:
        record(Action.LOGIN_FAILED, request=request, username_tried=username)
        lock = login_throttle.failure(account=username, ip=ip)
        if lock:
            record(Action.LOGIN_LOCKED, request=request, username_tried=username,
                   until=lock.until_local.isoformat())
            raise AccountError(lock.message(), lock=lock)
        raise AccountError(_("Identifiant ou mot de passe incorrect. Vérifiez-les et réessayez. Si c'est votre "
                             "première connexion, activez d'abord votre compte avec le code remis par "
                             "l'établissement."))
    login_throttle.success(account=username)
    return user


def login_complete(*, request, user: User, method: str = "password") -> None:
    """Open the session (the password and, if any, the second factor have been checked)."""
    login(request, user, backend=MODEL_BACKEND)
    record(Action.LOGIN, actor=user, subject=user, request=request, method=method)


def logout_user(*, request) -> None:
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        record(Action.LOGOUT, actor=user, subject=user, request=request)
    logout(request)


# --- Activation codes -----------------------------------------------------------------------------------------

def _check_can_administer(actor: policy.Actor, users: Iterable[User]) -> None:
    for user in users:
        if not policy.can_administer_person(actor, user):
            raise PermissionDenied


def _issue_code(actor: policy.Actor, user: User, now: datetime.datetime) -> str:
    ActivationCode.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    code = crypto.new_code()
    ActivationCode.objects.create(
        user=user, code_hash=crypto.code_hash(ACTIVATION_PURPOSE, code), created_at=now,
        expires_at=now + datetime.timedelta(days=settings.PREAU_ACTIVATION_CODE_DAYS), issued_by=actor.user,
    )
    return crypto.display_code(code)


def issue_activation_codes(*, actor, users) -> dict[int, str]:
    """New one-time codes for these people (user id -> code as printed). Older unused codes stop working.

    For a person who never activated their account the code activates it; for an activated account it lets its
    owner choose a new password (the current one keeps working until then).
    """
    actor = _as_actor(actor)
    users = list(users)
    _check_can_administer(actor, users)
    now = timezone.now()
    codes: dict[int, str] = {}
    with transaction.atomic():
        for user in users:
            codes[user.pk] = _issue_code(actor, user, now)
            record(Action.ACTIVATION_CODE_ISSUED, actor=actor.user, subject=user,
                   purpose="password_reset" if user.is_activated else "activation")
    return codes


def admin_reset_password(*, actor, user) -> str:
    """A fresh one-time code for an account whose owner lost their password (to hand over in person)."""
    actor = _as_actor(actor)
    _check_can_administer(actor, [user])
    with transaction.atomic():
        code = _issue_code(actor, user, timezone.now())
        record(Action.PASSWORD_RESET_BY_ADMIN, actor=actor.user, subject=user)
    return code


def activation_code_check(*, request, username: str, code: str) -> ActivationCode:
    """The usable code matching this login, or AccountError (throttled like the login)."""
    ip = client_ip(request)
    username = (username or "").strip()
    lock = activation_throttle.check(account=username, ip=ip)
    if lock:
        raise AccountError(lock.message(), lock=lock)
    found = (ActivationCode.objects.select_related("user")
             .filter(user__username__iexact=username, code_hash__in=crypto.code_hashes(ACTIVATION_PURPOSE, code))
             .first()) if username and crypto.normalize_code(code) else None
    message = None
    if found is None or not found.user.is_active:
        message = _("Identifiant ou code d'activation incorrect. Vérifiez-les (le code figure sur le document "
                    "remis par l'établissement) et réessayez.")
    # Whoever typed a code that matches holds the paper: telling them why it no longer works reveals nothing.
    elif found.used_at is not None:
        message = _("Ce code a déjà été utilisé. Connectez-vous avec votre mot de passe, ou demandez un nouveau "
                    "code à l'établissement.")
    elif found.revoked_at is not None:
        message = _("Ce code a été remplacé par un code plus récent. Utilisez le dernier document remis par "
                    "l'établissement.")
    elif found.expires_at <= timezone.now():
        message = _("Ce code a expiré. Demandez un nouveau code à l'établissement.")
    if message:
        record(Action.ACTIVATION_FAILED, request=request, username_tried=username,
               subject=found.user if found else None)
        lock = activation_throttle.failure(account=username, ip=ip)
        if lock:
            record(Action.LOGIN_LOCKED, request=request, username_tried=username, step="activation",
                   until=lock.until_local.isoformat())
            raise AccountError(lock.message(), lock=lock)
        raise AccountError(message)
    activation_throttle.success(account=username)
    return found


def activation_complete(*, request, code_id: int, password: str, charters: Iterable[Charter]) -> User:
    """Use the code: set the chosen password, accept the charters, mark the account activated."""
    now = timezone.now()
    with transaction.atomic():
        code = ActivationCode.objects.select_for_update().select_related("user").filter(pk=code_id).first()
        if code is None or not code.is_usable(now) or not code.user.is_active:
            raise AccountError(_("Ce code n'est plus valable. Recommencez l'activation."))
        user = code.user
        first_activation = not user.is_activated
        user.set_password(password)
        user.must_change_password = False
        if first_activation:
            user.activated_at = now
        user.save(update_fields=["password", "must_change_password", "activated_at"])
        code.used_at = now
        code.save(update_fields=["used_at"])
        _accept_charters(user, charters, request, now)
        if first_activation:
            record(Action.ACTIVATION, actor=user, subject=user, request=request)
        else:
            record(Action.PASSWORD_RESET, actor=user, subject=user, request=request, via="activation_code")
    return user


# --- Charters -------------------------------------------------------------------------------------------------

def charter_publish(*, actor, establishment: Establishment, text: str, title: str = "") -> Charter:
    """Publish a new version of the establishment's charter: everyone there must accept it again."""
    actor = _as_actor(actor)
    if not policy.can_administer(actor, establishment.pk):
        raise PermissionDenied
    text = (text or "").strip()
    if not text:
        raise AccountError(_("Le texte de la charte est obligatoire."))
    try:
        return _charter_create(actor, establishment, text, title)
    except IntegrityError:  # another administrator published the same version at the same moment
        raise AccountError(_("Une autre version de la charte vient d'être publiée : relisez-la avant de publier "
                             "la vôtre.")) from None


def _charter_create(actor: policy.Actor, establishment: Establishment, text: str, title: str) -> Charter:
    with transaction.atomic():
        last = (Charter.objects.select_for_update().filter(establishment=establishment)
                .order_by("-version").first())
        charter = Charter.objects.create(
            establishment=establishment, version=(last.version + 1) if last else 1,
            title=(title or "").strip() or _("Charte d'utilisation de l'ENT"), text=text,
            published_at=timezone.now(), published_by=actor.user,
        )
        record(Action.CHARTER_PUBLISHED, actor=actor.user, establishment_id=establishment.pk,
               target="accounts.charter", version=charter.version)
        transaction.on_commit(selectors.bump_state_generation)
    return charter


def _accept_charters(user: User, charters: Iterable[Charter], request, now) -> None:
    for charter in charters:
        _, created = CharterAcceptance.objects.get_or_create(
            user=user, charter=charter, defaults={"accepted_at": now, "ip": client_ip(request)})
        if created:
            record(Action.CHARTER_ACCEPTED, actor=user, subject=user, request=request,
                   establishment_id=charter.establishment_id, target="accounts.charter", version=charter.version)


def charters_accept(*, request, user: User, charters: Iterable[Charter]) -> None:
    with transaction.atomic():
        _accept_charters(user, charters, request, timezone.now())


# --- Passwords ------------------------------------------------------------------------------------------------

def password_change(*, request, user: User, new_password: str) -> None:
    """The person changed their own password (old one checked by the form); the session stays open."""
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        record(Action.PASSWORD_CHANGE, actor=user, subject=user, request=request)
    update_session_auth_hash(request, user)


def password_reset_request(*, request, email: str, users: Iterable[User], domain: str, use_https: bool) -> None:
    """Send a reset link to each account with this address (after commit, by a task); the caller answers the
    same page whether or not any account matched, and whether or not the request was throttled (a few requests
    per address and per IP, then an increasing pause, so nobody can flood a mailbox)."""
    from .tasks import send_password_reset_email

    ip = client_ip(request)
    if password_reset_throttle.check(account=email, ip=ip):
        record(Action.PASSWORD_RESET_REQUEST, request=request, throttled=True)
        return
    password_reset_throttle.failure(account=email, ip=ip)
    users = list(users)
    for user in users:
        record(Action.PASSWORD_RESET_REQUEST, subject=user, request=request)
        transaction.on_commit(lambda pk=user.pk: send_password_reset_email.delay(pk, domain, use_https))
    if not users:
        record(Action.PASSWORD_RESET_REQUEST, request=request, matched=False)


def password_reset_done(*, request, user: User) -> None:
    with transaction.atomic():
        if user.must_change_password:
            user.must_change_password = False
            user.save(update_fields=["must_change_password"])
        record(Action.PASSWORD_RESET, actor=user, subject=user, request=request, via="email")
    login_throttle.success(account=user.username)


# --- Second factor (TOTP) -------------------------------------------------------------------------------------

def _totp(device: TOTPDevice) -> pyotp.TOTP:
    return pyotp.TOTP(crypto.decrypt_secret(device.encrypted_secret))


def totp_secret(device: TOTPDevice) -> str:
    return crypto.decrypt_secret(device.encrypted_secret)


def totp_provisioning_uri(device: TOTPDevice) -> str:
    return _totp(device).provisioning_uri(name=device.user.username, issuer_name=TOTP_ISSUER)


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The device being enrolled (a new secret), or the confirmed one if enrolment is already done."""
    # get_or_create, not "first() then create()": the page opened twice at once would race on the one-to-one
    # user column and the second request would end in an IntegrityError (a 500).
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, defaults={"encrypted_secret": crypto.encrypt_secret(pyotp.random_base32())})
    return device


def _matching_step(device: TOTPDevice, code: str) -> int | None:
    """The time step a 6-digit code belongs to (now, or one step either side), if newer than the last used."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = _totp(device)
    now = timezone.now()
    for offset in (0, -1, 1):
        at = now + datetime.timedelta(seconds=offset * totp.interval)
        if totp.verify(code, for_time=at, valid_window=0):
            step = totp.timecode(at)
            if step > device.last_used_step:
                return step
    return None


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [crypto.new_code(crypto.RECOVERY_CODE_LENGTH) for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=crypto.code_hash(RECOVERY_PURPOSE, code)) for code in codes])
    return [crypto.display_code(code) for code in codes]


def totp_enrolment_confirm(*, request, user: User, code: str) -> list[str]:
    """Confirm the enrolment with a first code; returns the recovery codes, shown once."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
        if device is None:
            raise AccountError(_("Aucune activation de la double authentification n'est en cours."))
        step = _matching_step(device, code)
        if step is None:
            raise AccountError(_("Code incorrect. Saisissez les 6 chiffres affichés par votre application, "
                                 "et vérifiez que l'heure de votre téléphone est juste."))
        device.confirmed_at = timezone.now()
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = _new_recovery_codes(user)
        record(Action.TOTP_ENABLED, actor=user, subject=user, request=request)
    return codes


@dataclass
class SecondFactorResult:
    method: str  # "totp" or "recovery_code"
    recovery_codes_left: int | None = None


def second_factor_verify(*, request, user: User, code: str) -> SecondFactorResult:
    """Check a 6-digit code or a recovery code at login (throttled per account and IP)."""
    ip = client_ip(request)
    account = f"user:{user.pk}"
    lock = second_factor_throttle.check(account=account, ip=ip)
    if lock:
        raise AccountError(lock.message(), lock=lock)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if device is not None:
            step = _matching_step(device, code)
            if step is not None:
                device.last_used_step = step
                device.save(update_fields=["last_used_step"])
                second_factor_throttle.success(account=account)
                return SecondFactorResult("totp")
            normalized = crypto.normalize_code(code)
            if len(normalized) == crypto.RECOVERY_CODE_LENGTH:
                recovery = (RecoveryCode.objects.select_for_update()
                            .filter(user=user, used_at__isnull=True,
                                    code_hash__in=crypto.code_hashes(RECOVERY_PURPOSE, normalized)).first())
                if recovery is not None:
                    recovery.used_at = timezone.now()
                    recovery.save(update_fields=["used_at"])
                    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                    record(Action.TOTP_RECOVERY_CODE_USED, actor=user, subject=user, request=request, left=left)
                    second_factor_throttle.success(account=account)
                    return SecondFactorResult("recovery_code", left)
    record(Action.TOTP_FAILED, subject=user, request=request, username_tried=user.username)
    lock = second_factor_throttle.failure(account=account, ip=ip)
    if lock:
        record(Action.LOGIN_LOCKED, subject=user, request=request, username_tried=user.username, step="totp",
               until=lock.until_local.isoformat())
        raise AccountError(lock.message(), lock=lock)
    raise AccountError(_("Code incorrect. Saisissez le code à 6 chiffres de votre application, ou l'un de vos "
                         "codes de secours."))


def totp_disable(*, request, user: User) -> None:
    """The person turns their second factor off (password checked by the form)."""
    if selectors.second_factor_required(user):
        raise AccountError(_("Votre établissement exige la double authentification pour les personnels : "
                             "vous ne pouvez pas la désactiver."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        record(Action.TOTP_DISABLED, actor=user, subject=user, request=request)


def recovery_codes_regenerate(*, request, user: User) -> list[str]:
    if not selectors.has_second_factor(user):
        raise AccountError(_("La double authentification n'est pas activée."))
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        record(Action.TOTP_RECOVERY_CODES_GENERATED, actor=user, subject=user, request=request)
    return codes


def totp_reset_by_admin(*, actor, user) -> None:
    """Remove a person's second factor (lost phone and recovery codes); they enrol again at next login if
    their establishment requires it."""
    actor = _as_actor(actor)
    _check_can_administer(actor, [user])
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        record(Action.TOTP_RESET_BY_ADMIN, actor=actor.user, subject=user)


# --- Profile --------------------------------------------------------------------------------------------------

PROFILE_FIELDS = ("email", "phone", "contact_by_email", "language")


def profile_update(*, request, user: User, **values) -> list[str]:
    """Update the person's own contact preferences; returns the names of the fields that changed."""
    with transaction.atomic():
        stored = User.objects.select_for_update().filter(pk=user.pk).values(*PROFILE_FIELDS).get()
        changed = [name for name in PROFILE_FIELDS if name in values and stored[name] != values[name]]
        if not changed:
            return []
        for name in changed:
            setattr(user, name, values[name])
        user.save(update_fields=changed)
        record(Action.ACCOUNT_CHANGED, actor=user, subject=user, request=request, target="accounts.profile",
               fields=changed)
    return changed
