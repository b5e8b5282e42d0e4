"""Unread counters shown in the header and returned by `GET /api/v1/me/counters` ({"notifications": 3, ...}).

Apps register one counter each, usually in their AppConfig.ready():

    from preau.notifications.counters import register_counter
    register_counter("messages", lambda actor: Delivery.objects.filter(owner_id=actor.id, read_at__isnull=True))

The function gets the policy's Actor and returns either a queryset (preferred: the rows to count, one indexed
filter; every queryset counter is counted in ONE database query together, whatever their number) or an int
(computed separately: one query of its own). Real-time events carry `counter_deltas` with the same keys, so open
pages move the same badges (`<span data-live-count="<key>">`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import IntegerField, QuerySet, Subquery

from preau.accounts.models import User

CounterFunction = Callable[..., "QuerySet | int"]
_COUNTERS: dict[str, CounterFunction] = {}


def register_counter(key: str, fn: CounterFunction) -> None:
    """Register (or replace, for tests and reloads) the counter `key`."""
    if not key or not key.replace("_", "").isalnum():
        raise ValueError(f"Invalid counter key: {key!r}")
    _COUNTERS[key] = fn


def registered() -> list[str]:
    return sorted(_COUNTERS)


class _Count(Subquery):
    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def counters_for(actor) -> dict[str, int]:
    """Every registered counter for the actor: the queryset ones in one query, int ones as they come."""
    if actor is None:
        return {}
    values: dict[str, int] = {}
    subqueries = {}
    for key in registered():
        result = _COUNTERS[key](actor)
        if isinstance(result, QuerySet):
            subqueries[key] = _Count(result.order_by().values("pk"))
        else:
            values[key] = int(result)
    if subqueries:
        row = User.objects.filter(pk=actor.id).values(**{f"count_{k}": q for k, q in subqueries.items()}).first()
        for key in subqueries:
            values[key] = int(row[f"count_{key}"]) if row else 0
    return dict(sorted(values.items()))
