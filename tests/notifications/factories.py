"""Notifications written directly (for pages and API tests); delivery itself is tested through notify()."""

import datetime

from django.utils import timezone

from preau.notifications.models import Notification


def make_notifications(user, count, *, read=False, kind="news", url="/actualites/", start=0):
    now = timezone.now()
    rows = [Notification(recipient=user, kind=kind, title=f"Notification {start + i}", body=f"Texte {start + i}",
                         url=url, source=f"test:{user.pk}:{start + i}",
                         created_at=now - datetime.timedelta(minutes=start + i),
                         read_at=now if read else None)
            for i in range(count)]
    Notification.objects.bulk_create(rows)
    sources = [r.source for r in rows]
    return list(Notification.objects.filter(recipient=user, source__in=sources).order_by("-created_at"))
