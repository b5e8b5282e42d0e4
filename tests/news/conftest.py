"""Helpers of the news and carnet de liaison tests: write news and notes through the services."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from preau.access import policy
from preau.news import services


def actor(user):
    """A fresh Actor (no memoised memberships from an earlier question)."""
    return policy.Actor(user)


def publish(user, establishment, *, title="Sortie au musée", body="Rendez-vous à 8 h.", **kwargs):
    return services.news_create(actor=actor(user), establishment=establishment, title=title, body=body, **kwargs)


def send_note(user, establishment, *, title="Sortie scolaire", body="Merci de signer.", **kwargs):
    return services.liaison_send(actor=actor(user), establishment=establishment, title=title, body=body, **kwargs)


def image_bytes(fmt="PNG", size=(8, 6), color=(200, 30, 30), **save):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


@pytest.fixture
def notified(django_capture_on_commit_callbacks):
    """Run a block's on-commit work (the notification centre's delivery) and return who got notifications."""
    from preau.notifications.models import Notification

    class Recorder:
        def __call__(self):
            return django_capture_on_commit_callbacks(execute=True)

        @staticmethod
        def recipients(kind=None, source_prefix=""):
            rows = Notification.objects.all()
            if kind:
                rows = rows.filter(kind=kind)
            if source_prefix:
                rows = rows.filter(source__startswith=source_prefix)
            return sorted(rows.values_list("recipient_id", flat=True))

    return Recorder()


def bulk_families(school_class, n, *, prefix="bulk"):
    """n pupils enrolled in `school_class`, each with one guardian (legal authority, correspondence), written in
    bulk: a class of 1,800 families in a few statements."""
    from preau.accounts.models import User
    from preau.directory.models import ClassEnrolment, GuardianLink, Membership, Role

    establishment = school_class.establishment
    people = User.objects.bulk_create(
        [User(username=f"{prefix}_p{i}", first_name=f"Élève{i}", last_name=f"Nom{i:05d}", password="!")
         for i in range(n)]
        + [User(username=f"{prefix}_g{i}", first_name=f"Parent{i}", last_name=f"Nom{i:05d}", password="!")
           for i in range(n)], batch_size=500)
    if any(p.pk is None for p in people):
        people = list(User.objects.filter(username__startswith=f"{prefix}_").order_by("pk"))
    pupils, guardians = people[:n], people[n:]
    Membership.objects.bulk_create([Membership(user=p, establishment=establishment, role=Role.PUPIL) for p in pupils]
                                   + [Membership(user=g, establishment=establishment, role=Role.GUARDIAN)
                                      for g in guardians], batch_size=500)
    ClassEnrolment.objects.bulk_create([ClassEnrolment(pupil=p, school_class=school_class) for p in pupils],
                                       batch_size=500)
    GuardianLink.objects.bulk_create([GuardianLink(guardian=g, pupil=p, relation="mother")
                                      for p, g in zip(pupils, guardians, strict=True)], batch_size=500)
    return pupils, guardians
