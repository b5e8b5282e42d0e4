"""notify(): rows written after the caller's commit only, in chunks, once per (recipient, source)."""

import pytest
from django.db import transaction

from preau.notifications import services
from preau.notifications.kinds import Kind
from preau.notifications.models import Notification
from preau.notifications.tasks import deliver

pytestmark = pytest.mark.django_db


def _notify(world, **kwargs):
    params = {"recipient_ids": [world.one.mother_b.pk, world.one.father_b.pk], "kind": Kind.NEWS,
              "title": "Sortie au musée", "url": "/actualites/1/", "source": "news.item:1",
              "establishment_id": world.one.establishment.pk}
    services.notify(**{**params, **kwargs})


def test_rows_written_on_commit_only(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _notify(world)
        assert Notification.objects.count() == 0  # nothing per recipient in the caller's transaction
    assert callbacks  # delivery enqueued on commit
    rows = Notification.objects.order_by("recipient_id")
    assert [n.recipient_id for n in rows] == sorted([world.one.mother_b.pk, world.one.father_b.pk])
    n = rows[0]
    assert (n.kind, n.title, n.url, n.source, n.establishment_id, n.read_at, n.in_app) == (
        "news", "Sortie au musée", "/actualites/1/", "news.item:1", world.one.establishment.pk, None, True)


def test_nothing_written_when_the_caller_rolls_back(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                _notify(world)
                raise RuntimeError("the caller failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert Notification.objects.count() == 0


def test_a_retried_or_duplicated_task_writes_nothing_twice(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(world)
        _notify(world)  # the same event notified twice
    payload = {"kind": "news", "title": "Sortie au musée", "body": "", "url": "/actualites/1/",
               "establishment_id": None, "urgent": False, "source": "news.item:1", "created_at": None}
    deliver.delay(payload, [world.one.mother_b.pk, world.one.father_b.pk])  # a retry after a worker crash
    assert Notification.objects.count() == 2


def test_without_source_each_call_is_its_own_event(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(world, source="")
        _notify(world, source="")
    assert Notification.objects.count() == 4
    assert all(source.startswith("auto:") for source in Notification.objects.values_list("source", flat=True))


def test_recipients_deduplicated_inactive_skipped_and_chunked(world, settings, django_capture_on_commit_callbacks,
                                                             django_assert_max_num_queries):
    settings.PREAU_NOTIFICATION_CHUNK = 2
    world.one.pupil_a.is_active = False
    world.one.pupil_a.save(update_fields=["is_active"])
    people = [world.one.mother_b, world.one.father_b, world.one.guardian_a, world.one.pupil_b, world.one.pupil_a]
    ids = [p.pk for p in people] + [world.one.mother_b.pk]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(recipient_ids=ids, kind=Kind.HOMEWORK, title="Exercices", source="homework:1")
    # 5 distinct people in chunks of 2: three tasks; each is a handful of queries whatever the chunk size.
    with django_assert_max_num_queries(3 * 6):
        callbacks[0]()
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {p.pk for p in people[:4]}


def test_bad_calls_are_programming_errors(world):
    with pytest.raises(ValueError):
        _notify(world, kind="weather")
    with pytest.raises(ValueError):
        _notify(world, url="https://evil.example/")
    with pytest.raises(ValueError):
        _notify(world, url="//evil.example/")
    with pytest.raises(ValueError):
        _notify(world, title="  ")


def test_empty_recipients_enqueue_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notify(recipient_ids=[], kind=Kind.NEWS, title="x")
    assert callbacks == []
