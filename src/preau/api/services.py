"""Writes for the API app: creating, using and revoking personal API tokens."""

from __future__ import annotations

import datetime
import secrets
import string

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from preau.access.policy import Actor
from preau.audit.services import Action, record

from .models import TOKEN_SCHEME, ApiToken, hash_secret

MAX_ACTIVE_TOKENS = 20
MAX_LIFETIME_DAYS = 366
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


class TokenError(ValueError):
    """A token request that cannot be honoured; the message is French and safe to show."""


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))


def api_token_create(*, actor: Actor, name: str, expires_in_days: int | None = None,
                     request=None) -> tuple[ApiToken, str]:
    """Create a token for the actor and return it with its clear value (never stored, shown once)."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("Donnez un nom au jeton."))
    if len(name) > 100:
        raise TokenError(_("Le nom du jeton ne doit pas dépasser 100 caractères."))
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise TokenError(_("La durée de validité doit être comprise entre 1 et %(max)s jours.")
                         % {"max": MAX_LIFETIME_DAYS})
    now = timezone.now()
    with transaction.atomic():
        active = ApiToken.objects.filter(ApiToken.usable_q(now), user_id=actor.id).select_for_update()
        if len(active) >= MAX_ACTIVE_TOKENS:
            raise TokenError(_("Vous avez déjà %(max)s jetons actifs : révoquez-en un avant d'en créer un autre.")
                             % {"max": MAX_ACTIVE_TOKENS})
        secret = secrets.token_urlsafe(32)
        prefix = _new_prefix()
        while ApiToken.objects.filter(prefix=prefix).exists():  # pragma: no cover - 36^10 space
            prefix = _new_prefix()
        token = ApiToken.objects.create(
            user=actor.user, name=name, prefix=prefix, secret_hash=hash_secret(secret), created_at=now,
            expires_at=now + datetime.timedelta(days=expires_in_days) if expires_in_days else None,
        )
        record(Action.API_TOKEN_CREATED, actor=actor.user, subject=actor.user, request=request, target="api_token",
               token_id=token.pk, prefix=prefix, name=name,
               expires_at=token.expires_at.isoformat() if token.expires_at else None)
    return token, f"{TOKEN_SCHEME}_{prefix}_{secret}"


def api_token_revoke(*, actor: Actor, token: ApiToken, request=None) -> ApiToken:
    """Revoke one of the actor's tokens; revoking twice is harmless (and audited once)."""
    if token.user_id != actor.id:
        raise TokenError(_("Ce jeton ne vous appartient pas."))
    with transaction.atomic():
        now = timezone.now()
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        if updated:
            record(Action.API_TOKEN_REVOKED, actor=actor.user, subject=actor.user, request=request,
                   target="api_token", token_id=token.pk, prefix=token.prefix, name=token.name)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, now=None) -> None:
    """Note that a token was used, writing at most once per minute per token (tokens are hot rows)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(
        last_used_at=now)
    token.last_used_at = now
