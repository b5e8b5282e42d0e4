"""The API's error answers: always JSON, always `{"detail": "<French message>"}` (422 adds `errors`)."""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

logger = logging.getLogger("preau.api")


class Error(Schema):
    detail: str


class ValidationErrorItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: str
    errors: list[ValidationErrorItem]


def messages() -> dict[int, str]:
    return {
        400: _("La requête est mal formée."),
        401: _("Authentification requise : connectez-vous ou utilisez un jeton d'API."),
        403: _("Vous n'avez pas le droit d'effectuer cette action."),
        404: _("Cette ressource n'existe pas, ou vous n'avez pas le droit de la consulter."),
        405: _("Cette méthode n'est pas permise sur cette adresse."),
        422: _("Les données envoyées sont invalides."),
        429: _("Trop de requêtes : réessayez dans quelques instants."),
    }


def error_body(status: int, message: str | None = None) -> dict:
    return {"detail": message or messages().get(status, _("Erreur."))}


# Responses documented on every operation, and the ones added by endpoints that take ids, bodies, etc.
COMMON = {401: Error, 429: Error}
NOT_FOUND = {404: Error}
INVALID = {422: ValidationErrorOut}
BAD_REQUEST = {400: Error}
FORBIDDEN = {403: Error}


def responses(ok, *extra: dict, status: int = 200) -> dict:
    result = {status: ok, **COMMON, **INVALID}
    for part in extra:
        result.update(part)
    return result


def register(api) -> None:
    def respond(request, status: int, message: str | None = None):
        return api.create_response(request, error_body(status, message), status=status)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, 404)

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc):
        return respond(request, 403)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        message = exc.message if getattr(exc, "french", False) else None
        response = respond(request, 401, message)
        response["WWW-Authenticate"] = 'Bearer realm="preau"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request, exc):
        response = respond(request, 429)
        if exc.wait is not None:
            response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        status = exc.status_code
        # ninja's own messages are English ("Cannot parse request body", "Forbidden"...): replace them.
        message = exc.message if getattr(exc, "french", False) else None
        if status == 400 and exc.message == "Cannot parse request body":
            message = _("Le corps de la requête n'est pas un JSON valide.")
        return respond(request, status, message)

    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        errors = []
        for item in exc.errors:
            loc = [part if isinstance(part, int) else str(part) for part in item.get("loc", ())]
            errors.append({"loc": loc, "msg": str(item.get("msg", "")), "type": str(item.get("type", ""))})
        return api.create_response(request, {**error_body(422), "errors": errors}, status=422)


def api_error(status: int, message: str) -> HttpError:
    """An HttpError carrying a French message meant for the client."""
    exc = HttpError(status, message)
    exc.french = True
    return exc


def service_refusal(exc: Exception) -> HttpError:
    """A service's PermissionDenied (403) or ValidationError (400, every message joined) as a French API error."""
    if isinstance(exc, PermissionDenied):
        return api_error(403, str(exc) or _("Vous n'avez pas le droit d'effectuer cette action."))
    found = []
    if hasattr(exc, "error_dict"):
        for errors in exc.error_dict.values():
            found.extend(message for error in errors for message in error.messages)
    else:
        found = exc.messages
    return api_error(400, " ".join(found))
