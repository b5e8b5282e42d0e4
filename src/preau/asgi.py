"""ASGI entry point: `uvicorn preau.asgi:application` (docs/realtime.md). Serves the real-time stream (`/temps-reel/`)
without a thread per open page (preau/realtime/asgi.py), and every other page through Django as usual."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.production")
django_application = get_asgi_application()

from preau.realtime.asgi import RealtimeStreams  # noqa: E402 - Django is set up first

application = RealtimeStreams(django_application)
