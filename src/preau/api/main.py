"""The JSON API, /api/v1/: the same services as the HTML pages, OpenAPI schema at /api/v1/openapi.json."""

from ninja import NinjaAPI
from ninja.security import SessionAuth

api = NinjaAPI(
    title="Préau API",
    version="1",
    description="API de l'espace numérique de travail Préau.",
    urls_namespace="api",
    auth=[SessionAuth()],
    docs_url="docs",
    openapi_url="openapi.json",
)


@api.get("/me", tags=["compte"])
def me(request):
    user = request.auth
    return {"id": user.pk, "username": user.username, "first_name": user.first_name, "last_name": user.last_name}
