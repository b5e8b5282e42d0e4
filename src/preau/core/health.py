"""Health checks of the backing services, for /healthz."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:
        return False


def redis_ok() -> bool | None:
    """True/False when Redis is configured, None when it is not."""
    if not settings.REDIS_URL:
        return None
    try:
        cache.set("preau:healthz", "1", 5)
        return cache.get("preau:healthz") == "1"
    except Exception:
        return False


def report() -> dict:
    checks = {"database": database_ok(), "redis": redis_ok()}
    healthy = all(v is not False for v in checks.values())
    return {"status": "ok" if healthy else "degraded", **checks}
