import datetime
import zoneinfo

import pytest
from django.utils import timezone

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


class Clock:
    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, *args):
        self.now = paris(*args)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """django.utils.timezone.now() frozen at a chosen Paris time (clock.set(2026, 10, 5, 21, 30))."""
    return Clock(monkeypatch)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """notify() and run everything it enqueues on commit (delivery, real-time, emails), as a worker would."""
    from preau.notifications import services

    def _deliver(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(**kwargs)

    return _deliver
