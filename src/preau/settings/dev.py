"""The embedded default: SQLite, in-process cache and tasks, console email. For the demo and development."""

from . import env
from .base import *  # noqa: F403
from .base import DATA_DIR, SECRET_KEY

DEBUG = env.flag("DEBUG", True)
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
DATA_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True
