"""Quiet hours (the right to disconnect): when an email may be pushed to a person.

Times are read in the project's time zone (Europe/Paris). The nightly period runs from `start` to `end` and may
wrap midnight (20:00–07:00); equal times mean no nightly period. With `weekends`, Saturday and Sunday are quiet
all day.
"""

from __future__ import annotations

import datetime

from django.utils import timezone


def is_quiet(moment: datetime.datetime, start: datetime.time, end: datetime.time, weekends: bool) -> bool:
    local = timezone.localtime(moment)
    if weekends and local.weekday() >= 5:
        return True
    now = local.time()
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_until(moment: datetime.datetime, start: datetime.time, end: datetime.time,
                weekends: bool) -> datetime.datetime:
    """The first moment at or after `moment` outside the quiet periods (`moment` itself when it is not quiet)."""
    tz = timezone.get_current_timezone()
    local = timezone.localtime(moment)
    for _ in range(8):  # night -> weekend -> night again: a few steps at most
        if not is_quiet(local, start, end, weekends):
            return local
        day = local.date()
        if weekends and local.weekday() >= 5:
            monday = day + datetime.timedelta(days=7 - local.weekday())
            local = datetime.datetime.combine(monday, datetime.time(0, 0), tzinfo=tz)
            continue
        if start > end and local.time() >= start:
            day += datetime.timedelta(days=1)
        local = datetime.datetime.combine(day, end, tzinfo=tz)
    return local
