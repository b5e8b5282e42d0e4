"""Rate limiting.

- Every authenticated request counts against its person (whether it came with a token or a session):
  setting `PREAU_API_RATE`, default 1200 requests a minute.
- Failed bearer tokens count against the client address: `PREAU_API_BAD_TOKEN_RATE`, default 30 a minute; past
  it, even a good token from that address answers 429 until the window has passed.

Rates are read from the settings at each request. Counters live in the default cache (Redis in production), in
fixed windows, so a check is one or two cache round trips and no database query.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from ninja.throttling import BaseThrottle, SimpleRateThrottle

from preau.audit.services import client_ip

DEFAULT_RATE = "1200/min"
DEFAULT_BAD_TOKEN_RATE = "30/min"
_PARSER = SimpleRateThrottle(rate="1/s")


def configured_rate(name: str, default: str) -> tuple[int, int] | None:
    value = getattr(settings, name, default)
    if not value:
        return None
    return _PARSER.parse_rate(value)


def _window(key: str, period: int) -> tuple[str, float]:
    now = time.time()
    window = int(now // period)
    return f"preau:api:rate:{key}:{window}", (window + 1) * period - now


def _count(key: str, period: int) -> tuple[int, float]:
    full_key, wait = _window(key, period)
    return int(cache.get(full_key, 0)), wait


def count_hit(key: str, limit: int, period: int) -> tuple[bool, float]:
    """Count one request in a fixed window: (allowed, seconds until the window ends)."""
    full_key, wait = _window(key, period)
    cache.add(full_key, 0, period + 1)
    try:
        current = cache.incr(full_key)
    except ValueError:  # expired between add and incr
        cache.set(full_key, 1, period + 1)
        current = 1
    return current <= limit, wait


def client_address(request) -> str:
    """The same address as the audit log (honours PREAU_TRUSTED_PROXIES; a forged X-Forwarded-For is ignored)."""
    return client_ip(request) or "unknown"


class PersonThrottle(BaseThrottle):
    """Per-person rate; `wait()` answers for the last refused request (a hint for Retry-After only)."""

    _wait: float | None = None

    def allow_request(self, request) -> bool:
        rate = configured_rate("PREAU_API_RATE", DEFAULT_RATE)
        user = getattr(request, "auth", None)
        if rate is None or user is None:
            return True
        allowed, wait = count_hit(f"user:{user.pk}", *rate)
        if not allowed:
            self._wait = wait
        return allowed

    def wait(self) -> float | None:
        return self._wait


def bad_token_blocked(request) -> tuple[bool, float]:
    """Whether this address has used up its failed-token allowance in the current window."""
    rate = configured_rate("PREAU_API_BAD_TOKEN_RATE", DEFAULT_BAD_TOKEN_RATE)
    if rate is None:
        return False, 0
    limit, period = rate
    failures, wait = _count(f"badtoken:{client_address(request)}", period)
    return failures >= limit, wait


def note_bad_token(request) -> None:
    rate = configured_rate("PREAU_API_BAD_TOKEN_RATE", DEFAULT_BAD_TOKEN_RATE)
    if rate is not None:
        count_hit(f"badtoken:{client_address(request)}", *rate)
