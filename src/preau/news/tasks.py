"""Background work of news and the carnet de liaison (Celery beat; eager in-process without a broker).

Both tasks are idempotent: an item or a note is claimed (one UPDATE) before its people are notified, and the
notification centre itself never writes one notification twice for the same source.
"""

from __future__ import annotations

from celery import shared_task

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600,
         "retry_kwargs": {"max_retries": 5}, "acks_late": True, "ignore_result": True}


@shared_task(name="news.notify_due", **RETRY)
def notify_due() -> None:
    """Every minute: scheduled news whose publication window has opened are announced to their audience."""
    from .services import news_notify_due

    news_notify_due()


@shared_task(name="news.liaison_remind_due", **RETRY)
def liaison_remind_due() -> None:
    """Hourly: notes of the carnet de liaison still unsigned PREAU_LIAISON_REMINDER_DAYS after sending get one
    automatic reminder to the families who have not signed."""
    from .services import liaison_remind_due as remind

    remind()
