"""Send logged-in people with a pending account step to that step before anything else.

Steps, in order: finish the activation, set up the second factor required by their establishment, change a
password that must change, accept their establishments' latest charters. The expensive checks (second factor,
charters: two or three small queries) are remembered in the session as "nothing pending" for a few minutes and
until a charter is published or an establishment's rule changes (a cache generation counter); the cheap ones
(activation, password) are read from the user row already loaded for the request.
"""

from __future__ import annotations

import time
from functools import lru_cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import selectors

SESSION_STATE = "preau_account_state"
STATE_TTL_SECONDS = 300

STEP_URLS = {
    selectors.STEP_SECOND_FACTOR: "accounts:totp_setup",
    selectors.STEP_PASSWORD: "accounts:password_change",
    selectors.STEP_CHARTER: "accounts:charter_accept",
}


def step_messages() -> dict[str, str]:
    return {
        selectors.STEP_ACTIVATION: _("Votre compte n'est pas encore activé : activez-le avec le code remis par "
                                     "l'établissement."),
        selectors.STEP_SECOND_FACTOR: _("Votre établissement exige la double authentification pour les "
                                        "personnels : configurez-la pour continuer."),
        selectors.STEP_PASSWORD: _("Vous devez choisir un nouveau mot de passe pour continuer."),
        selectors.STEP_CHARTER: _("Vous devez accepter la charte d'utilisation de votre établissement pour "
                                  "continuer."),
    }


@lru_cache(maxsize=1)
def _exempt() -> tuple[frozenset[str], tuple[str, ...]]:
    from .urls import STEP_URL_NAMES, STEP_URL_PREFIXES

    paths = frozenset(reverse(f"accounts:{name}") for name in STEP_URL_NAMES if name != "charter_detail")
    base = reverse("accounts:login").removesuffix("connexion/")
    prefixes = (f"/{settings.STATIC_URL.lstrip('/')}", "/healthz", *(base + p for p in STEP_URL_PREFIXES))
    return paths, prefixes


def is_exempt(path: str) -> bool:
    paths, prefixes = _exempt()
    return path in paths or path.startswith(prefixes)


def forget_state(request) -> None:
    """Make the next request check the account's steps again (after a step is completed)."""
    request.session.pop(SESSION_STATE, None)


def _cached_ok(request, user) -> bool:
    state = request.session.get(SESSION_STATE)
    return (isinstance(state, dict) and state.get("u") == user.pk and state.get("g") == selectors.state_generation()
            and time.time() - state.get("t", 0) < STATE_TTL_SECONDS)


def current_step(request) -> str | None:
    user = request.user
    if not user.is_activated:
        return selectors.STEP_ACTIVATION
    if _cached_ok(request, user):
        return selectors.STEP_PASSWORD if user.must_change_password else None
    step = selectors.pending_step(user)
    if step is None:
        request.session[SESSION_STATE] = {"u": user.pk, "g": selectors.state_generation(), "t": time.time()}
    return step


class AccountStateMiddleware:
    """Sends people whose account needs a step (activation, charter, second factor) to that step."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_exempt(request.path_info):
            return self.get_response(request)
        step = current_step(request)
        if step is None:
            return self.get_response(request)
        message = step_messages()[step]
        if request.path_info.startswith("/api/"):
            url = reverse(STEP_URLS.get(step, "accounts:activation"))
            return JsonResponse({"detail": message, "pending_step": step, "url": url}, status=403)
        if step == selectors.STEP_ACTIVATION:
            logout(request)
            messages.warning(request, message)
            return redirect("accounts:activation")
        url = reverse(STEP_URLS[step])
        if request.method == "GET" and request.path_info != "/":
            url += "?" + urlencode({"next": request.get_full_path()})
        messages.info(request, message)
        return redirect(url)
