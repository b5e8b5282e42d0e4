from preau.access.policy import actor_for


class ContextMiddleware:
    """Attach `request.actor`: the policy's view of the logged-in person (it queries lazily, once)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = actor_for(request.user) if request.user.is_authenticated else None
        return self.get_response(request)


CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (no inline script or style) and a restrictive Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        return response


_NUL = "\x00"
_JSON_NUL = (b"\\u0000", b"\\U0000")


def _has_nul(querydict) -> bool:
    return any(_NUL in key or any(_NUL in value for value in values) for key, values in querydict.lists())


def request_has_nul(request) -> bool:
    """Whether a query string, form value or JSON string carries a NUL character (PostgreSQL rejects NUL in text:
    letting one through would end in a 500 wherever the value reaches a query)."""
    if _has_nul(request.GET):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _has_nul(request.POST)
    if content_type.endswith("json"):
        body = request.body
        return any(marker in body for marker in _JSON_NUL)
    return False


class RejectNulMiddleware:
    """Answer 400 to a request whose query string or submitted values contain a NUL character.

    No legitimate form or search ever sends one; rejecting them here, once, spares every view, form and API
    schema from handling it (Django's form CharField already refuses NUL, but raw GET parameters, searches and
    API bodies do not go through one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request_has_nul(request):
            from .views import bad_request

            return bad_request(request)
        return self.get_response(request)
