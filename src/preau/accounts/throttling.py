"""Brute-force protection with the Django cache (works on the in-process cache and on Redis).

Failures are counted per account (the typed login, whether or not it exists, so a lock reveals nothing) and per
client IP. After N failures the account (resp. the IP) is locked for an increasing delay: 1, 5, 15 then 60
minutes; the escalation is forgotten after a day without a lock. Login, activation codes and second-factor codes
each have their own counters.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

LOCK_DELAYS_MINUTES = (1, 5, 15, 60)
FAILURE_WINDOW_SECONDS = 60 * 60
LEVEL_MEMORY_SECONDS = 24 * 60 * 60


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Lock:
    until: float

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - _now()) / 60))

    @property
    def until_local(self) -> datetime.datetime:
        return timezone.localtime(datetime.datetime.fromtimestamp(self.until, tz=datetime.UTC))

    def message(self) -> str:
        minutes = self.minutes_left
        return ngettext(
            "Trop de tentatives infructueuses. Par sécurité, les essais sont suspendus jusqu'à %(time)s "
            "(dans %(minutes)d minute). Réessayez à ce moment-là.",
            "Trop de tentatives infructueuses. Par sécurité, les essais sont suspendus jusqu'à %(time)s "
            "(dans %(minutes)d minutes). Réessayez à ce moment-là.",
            minutes,
        ) % {"time": formats.time_format(self.until_local, "H:i"), "minutes": minutes}


def account_key(login: str) -> str:
    return hashlib.sha256((login or "").strip().lower().encode()).hexdigest()[:32]


class Throttle:
    def __init__(self, namespace: str, *, max_per_account: int | None = None, max_per_ip: int | None = None):
        self.namespace = namespace
        self._max_per_account = max_per_account
        self._max_per_ip = max_per_ip

    @property
    def max_per_account(self) -> int:
        return self._max_per_account or settings.PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT

    @property
    def max_per_ip(self) -> int:
        return self._max_per_ip or settings.PREAU_LOGIN_MAX_FAILURES_PER_IP

    def _key(self, scope: str, ident: str, what: str) -> str:
        return f"preau:throttle:{self.namespace}:{scope}:{ident}:{what}"

    def _scopes(self, account: str | None, ip: str | None) -> list[tuple[str, str, int]]:
        scopes = []
        if account:
            scopes.append(("account", account_key(account), self.max_per_account))
        if ip:
            scopes.append(("ip", ip, self.max_per_ip))
        return scopes

    def check(self, *, account: str | None, ip: str | None) -> Lock | None:
        """The current lock on this account or IP, if any (one cache round trip)."""
        keys = [self._key(scope, ident, "lock") for scope, ident, _ in self._scopes(account, ip)]
        if not keys:
            return None
        now = _now()
        untils = [until for until in cache.get_many(keys).values() if until and until > now]
        return Lock(max(untils)) if untils else None

    def failure(self, *, account: str | None, ip: str | None) -> Lock | None:
        """Count a failure; returns the lock that this failure started, if it crossed a threshold."""
        started: list[float] = []
        for scope, ident, limit in self._scopes(account, ip):
            fails_key = self._key(scope, ident, "fails")
            cache.add(fails_key, 0, timeout=FAILURE_WINDOW_SECONDS)
            try:
                count = cache.incr(fails_key)
            except ValueError:  # expired between add and incr
                cache.set(fails_key, 1, timeout=FAILURE_WINDOW_SECONDS)
                count = 1
            if count >= limit:
                level_key = self._key(scope, ident, "level")
                level = cache.get(level_key, 0)
                delay = LOCK_DELAYS_MINUTES[min(level, len(LOCK_DELAYS_MINUTES) - 1)] * 60
                until = _now() + delay
                cache.set(self._key(scope, ident, "lock"), until, timeout=delay)
                cache.set(level_key, level + 1, timeout=LEVEL_MEMORY_SECONDS)
                cache.delete(fails_key)
                started.append(until)
        return Lock(max(started)) if started else None

    def success(self, *, account: str | None) -> None:
        """A success on the account clears its counters (never the IP's: one good account must not reset them)."""
        if account:
            ident = account_key(account)
            cache.delete_many([self._key("account", ident, what) for what in ("fails", "level", "lock")])


login_throttle = Throttle("login")
activation_throttle = Throttle("activation")
second_factor_throttle = Throttle("totp")
# Reset emails: every request counts, so nobody can flood a mailbox (or the outgoing mail server).
password_reset_throttle = Throttle("password_reset", max_per_account=3, max_per_ip=20)


def generic_lock_message() -> str:
    return _("Trop de tentatives infructueuses. Réessayez dans quelques minutes.")
