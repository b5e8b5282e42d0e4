"""The JSON API, /api/v1/: the same services as the HTML pages, OpenAPI schema at /api/v1/openapi.json.

See docs/api.md. Authentication: a personal token (`Authorization: Bearer ...`) or the browser session (unsafe
methods then need the CSRF token). Errors are JSON `{"detail": "..."}` in French (src/preau/api/errors.py).
"""

from ninja import NinjaAPI

from . import errors
from .auth import API_AUTH
from .endpoints import agenda as agenda_endpoints
from .endpoints import attendance as attendance_endpoints
from .endpoints import attendance_management as attendance_management_endpoints
from .endpoints import directory, imports, me, rollover, tokens
from .endpoints import messaging as messaging_endpoints
from .endpoints import messaging_moderation as messaging_moderation_endpoints
from .endpoints import news as news_endpoints
from .endpoints import notifications as notification_endpoints
from .endpoints import timetable as timetable_endpoints
from .throttling import PersonThrottle

api = NinjaAPI(
    title="Préau API",
    version="1",
    description=(
        "API de l'espace numérique de travail Préau. Authentification par jeton personnel "
        "(`Authorization: Bearer preau_…`, créé sur /compte/jetons-api/) ou par la session du navigateur "
        "(en-tête `X-CSRFToken` pour les méthodes qui modifient). Erreurs : `{\"detail\": \"…\"}`. "
        "Un objet absent et un objet que vous n'avez pas le droit de voir répondent de la même façon (404)."
    ),
    urls_namespace="api",
    auth=API_AUTH,
    throttle=[PersonThrottle()],
    docs_url="docs",
    openapi_url="openapi.json",
)
errors.register(api)

api.add_router("", me.router)
api.add_router("", directory.router)
api.add_router("", tokens.router)
api.add_router("", imports.router)
api.add_router("", rollover.router)
api.add_router("", notification_endpoints.router)
api.add_router("", news_endpoints.router)
api.add_router("", messaging_moderation_endpoints.router)
api.add_router("", messaging_endpoints.router)
api.add_router("", agenda_endpoints.router)
api.add_router("", timetable_endpoints.router)
api.add_router("", attendance_endpoints.router)
api.add_router("", attendance_management_endpoints.router)
