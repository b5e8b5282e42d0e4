from preau.access.policy import actor_for


class ContextMiddleware:
    """Attach `request.actor`: the policy's view of the logged-in person (it queries lazily, once)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = actor_for(request.user) if request.user.is_authenticated else None
        return self.get_response(request)
