import functools
import json

from django.urls import include, path

from .errors import error_body
from .main import api


def _json_405(view):
    """ninja answers a wrong method with a bare text 405: give it the API's JSON error shape."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            response.content = json.dumps(error_body(405)).encode()
            response["Content-Type"] = "application/json; charset=utf-8"
        return response

    return wrapper


def _api_urlpatterns():
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_405(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("api/v1/", _api_urlpatterns()),
    path("compte/jetons-api/", include("preau.api.page_urls")),
]
