"""API authentication: personal tokens (`Authorization: Bearer ...`) and the browser session (with CSRF)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, Throttled
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from preau.access import policy

from . import selectors, services, throttling
from .errors import api_error


def unauthenticated(message: str) -> AuthenticationError:
    exc = AuthenticationError(401, message)
    exc.french = True
    return exc


def _attach(request, user) -> None:
    """Make the authenticated person the request's user and actor, whatever the authentication used."""
    request.user = user
    request.actor = policy.actor_for(user)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer preau_<prefix>_<secret>`. A bearer token that does not match answers 401 at once."""

    def __call__(self, request):
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != self.openapi_scheme:
            # Another scheme (e.g. Basic from a reverse proxy guarding a staging site): not ours, let the session
            # authenticate the request.
            return None
        return self.authenticate(request, value.strip())

    def authenticate(self, request, token):
        blocked, wait = throttling.bad_token_blocked(request)
        if blocked:
            raise Throttled(wait=wait)
        found = selectors.token_for_bearer(token)
        if found is None:
            throttling.note_bad_token(request)
            raise unauthenticated(_("Jeton invalide, expiré ou révoqué."))
        services.api_token_touch(token=found)
        request.api_token = found
        _attach(request, found.user)
        return found.user


class SessionAuth(APIKeyCookie):
    """The Django session, as ninja's SessionAuth: unsafe methods must carry the CSRF token (X-CSRFToken).

    The CSRF check only runs for a logged-in session, so an anonymous request answers 401, not 403.
    """

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise api_error(403, _("Vérification CSRF échouée : envoyez l'en-tête X-CSRFToken."))
        request.api_token = None
        _attach(request, user)
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
API_AUTH = [token_auth, session_auth]
