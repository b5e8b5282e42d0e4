"""Background tasks of the imports app (run eagerly, in the request's process, when no broker is configured)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="imports.run_import", ignore_result=True)
def run_import(run_id: int) -> None:
    """Run a queued import (services.import_execute never raises and never leaves the run running)."""
    from .services import import_execute

    import_execute(run_id)


@shared_task(name="imports.cleanup", ignore_result=True)
def cleanup() -> None:
    """Fail interrupted imports and delete uploaded files no run needs any more; schedule it hourly (celery beat)
    or run `preau import_cleanup` from cron."""
    from .services import import_cleanup

    import_cleanup()
