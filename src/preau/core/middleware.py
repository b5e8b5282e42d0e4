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
