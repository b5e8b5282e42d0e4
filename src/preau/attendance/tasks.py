"""Background tasks of attendance (run eagerly, in the request's process, when no broker is configured)."""

from __future__ import annotations

import datetime

from celery import shared_task


@shared_task(name="attendance.export", ignore_result=True)
def export_establishment(*, token: str, establishment_id: int, user_id: int, first_day: str, last_day: str,
                         kind: str) -> None:
    """Write an establishment-wide CSV export and notify its requester (exports.build_establishment_export)."""
    from .exports import build_establishment_export

    build_establishment_export(token=token, establishment_id=establishment_id, user_id=user_id,
                               first_day=datetime.date.fromisoformat(first_day),
                               last_day=datetime.date.fromisoformat(last_day), kind=kind)


@shared_task(name="attendance.purge_exports", ignore_result=True)
def purge_exports() -> None:
    """Delete old establishment-wide exports (exports.purge_exports); scheduled daily by celery beat."""
    from .exports import purge_exports as purge

    purge()
