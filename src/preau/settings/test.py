"""Settings for the test suite: the embedded default, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set."""

from .dev import *  # noqa: F403

DEBUG = False
# Argon2 is exercised by a dedicated test; elsewhere a fast hasher keeps the suite quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "preau.accounts.hashers.PreauArgon2PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
