"""ASGI entry point: `uvicorn preau.asgi:application` (docs/realtime.md). Serves every page, and the real-time stream
(`/temps-reel/`) without holding a thread per open page."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.production")
application = get_asgi_application()
