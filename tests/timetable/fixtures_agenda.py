"""Helpers of the agenda and calendar feed tests (helper "agenda"): events written through the services."""

from __future__ import annotations

import datetime

import pytest

from preau.access import policy
from preau.timetable import agenda
from preau.timetable.occurrences import PARIS

D = datetime.date
NOW = datetime.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=PARIS)


def actor(user):
    """A fresh Actor (no memoised memberships from an earlier question)."""
    return policy.Actor(user)


DAY = D(2026, 10, 15)
YEAR = (D(2026, 9, 1), D(2027, 7, 4))


def add_event(user, school, *, title="Réunion parents-professeurs", day=DAY, hour=18, classes=(), groups=(),
              audience_roles=agenda.AUDIENCE_ROLES, **kwargs):
    kwargs.setdefault("starts_at", at(day, hour))
    kwargs.setdefault("ends_at", at(day, hour + 2))
    kwargs.setdefault("now", NOW)
    return agenda.agenda_event_create(actor=actor(user), establishment=school.establishment, title=title,
                                      classes=classes, groups=groups, audience_roles=audience_roles, **kwargs)


def visible_ids(user, first=YEAR[0], last=YEAR[1]) -> set[int]:
    return {e.pk for e in agenda.events_visible_to(actor(user), first, last)}


@pytest.fixture
def notified(django_capture_on_commit_callbacks):
    """Run a block's on-commit work (the notification centre's delivery) and read who got notifications."""
    from preau.notifications.models import Notification

    class Recorder:
        def __call__(self):
            return django_capture_on_commit_callbacks(execute=True)

        @staticmethod
        def recipients(source_prefix="agenda."):
            rows = Notification.objects.filter(source__startswith=source_prefix)
            return sorted(rows.values_list("recipient_id", flat=True))

    return Recorder()
