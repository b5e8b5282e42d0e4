"""Celery routing: message deliveries keep a queue free of notification bursts and of minutes-long imports."""

import pytest

from preau.celery import app


@pytest.mark.parametrize(("task", "queue"), [
    ("messaging.deliver_message", "celery"),
    ("messaging.sweep_undelivered", "celery"),
    ("news.notify_due", "celery"),
    ("notifications.deliver", "notifications"),
    ("notifications.send_emails", "notifications"),
    ("notifications.send_digest_batch", "notifications"),
    ("imports.run_import", "imports"),
    ("preau.imports.inbox.import_inbox_task", "imports"),
    ("attendance.export", "imports"),
    ("attendance.purge_exports", "celery"),
])
def test_each_task_goes_to_its_queue(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_registered_task_goes_to_a_queue_the_production_worker_consumes():
    """The README's worker command consumes these queues; a task routed elsewhere would never run."""
    import django.conf

    consumed = {"celery", "notifications", "imports"}
    app.loader.import_default_modules()
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert names, "no task registered"
    for name in names:
        assert app.amqp.router.route({}, name)["queue"].name in consumed, name
    readme = (django.conf.settings.BASE_DIR.parent.parent / "README.md").read_text()
    assert "-Q celery,notifications,imports" in readme
