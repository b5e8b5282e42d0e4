"""Helpers of the messaging core tests (tests/messaging/test_core_*.py): the persona world with messaging rules that
do not depend on the hour the suite runs (no quiet hours), and sends run to the end (on-commit delivery captured)."""

from __future__ import annotations

import pytest

from preau.access.policy import Actor
from preau.messaging import services
from preau.messaging.models import Delivery, MessagingRules


def actor(user) -> Actor:
    return Actor(user)


def person(user) -> dict:
    return {"type": "person", "id": user.pk}


def address(kind: str, ident: int) -> dict:
    return {"type": kind, "id": ident}


def rules(establishment, **fields) -> MessagingRules:
    """The establishment's rules without quiet hours (tests run at any hour) nor new-device holds."""
    values = {"quiet_hours": False, "hold_new_device": False, **fields}
    found, _created = MessagingRules.objects.update_or_create(establishment=establishment, defaults=values)
    return found


@pytest.fixture
def school(world):
    rules(world.one.establishment)
    rules(world.two.establishment)
    return world.one


def send(capture, sender, to=(), *, cc=(), bcc=(), subject="Sortie au musée", body="Bonjour à tous.",
         establishment=None, **kwargs):
    """send_message as `sender` (a User), delivery included (the on-commit callbacks run)."""
    with capture(execute=True):
        return services.send_message(
            actor=actor(sender), establishment=establishment or _first_establishment(sender),
            addresses={"to": list(to), "cc": list(cc), "bcc": list(bcc)}, subject=subject, body=body, **kwargs)


def _first_establishment(user):
    return user.memberships.order_by("pk").first().establishment


def copies(message) -> dict[int, str]:
    """{owner id: role} of a message's copies (sender's included)."""
    return dict(Delivery.objects.filter(message=message).values_list("owner_id", "role"))


def inbox_owners(message) -> set[int]:
    return set(Delivery.objects.filter(message=message, box=Delivery.Box.INBOX).values_list("owner_id", flat=True))
