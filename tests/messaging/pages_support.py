"""Helpers of the messaging page tests (tests/messaging/test_pages_*.py): rules that do not depend on the hour the
suite runs, real sends through the services (delivery included), and mailboxes of any size written in bulk."""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from preau.access.policy import Actor
from preau.messaging import services
from preau.messaging.models import Attachment, Conversation, Delivery, Message, MessagingRules

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def calm_rules(establishment, **fields) -> MessagingRules:
    """No quiet hours (tests run at any hour), no new-device hold."""
    values = {"quiet_hours": False, "hold_new_device": False, **fields}
    rules, _created = MessagingRules.objects.update_or_create(establishment=establishment, defaults=values)
    return rules


def calm_school(world):
    """The persona world's first school, both establishments with calm rules."""
    calm_rules(world.one.establishment)
    calm_rules(world.two.establishment)
    return world.one


def person(user) -> dict:
    return {"type": "person", "id": user.pk}


def pdf(name="sortie.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def send(capture, sender, to=(), *, cc=(), bcc=(), subject="Sortie au musée", body="Bonjour à tous.",
         establishment=None, attachments=()):
    """A real send (services.send_message) with its delivery (the on-commit callbacks run)."""
    with capture(execute=True):
        return services.send_message(
            actor=Actor(sender), establishment=establishment or sender.memberships.order_by("pk").first()
            .establishment, addresses={"to": list(to), "cc": list(cc), "bcc": list(bcc)}, subject=subject,
            body=body, attachments=list(attachments))


def reply(capture, sender, message, body="Merci.", reply_all=False):
    with capture(execute=True):
        return services.reply(actor=Actor(sender), message_id=message.pk, body=body, reply_all=reply_all)


def fill_mailbox(sender, owner, count: int, *, establishment, subject="Message n° {i}", attachments_every=0,
                 conversation=None) -> list[Message]:
    """`count` delivered messages from `sender` to `owner` (sender's copy in "sent", owner's in "inbox"), written
    in bulk: mailboxes of any size in a few queries. One conversation each, or all in `conversation`."""
    now = timezone.now()
    if conversation is None:
        conversations = Conversation.objects.bulk_create([
            Conversation(establishment=establishment, subject=subject.format(i=i)) for i in range(count)])
    else:
        conversations = [conversation] * count
    times = [now - datetime.timedelta(minutes=count - i) for i in range(count)]
    messages = Message.objects.bulk_create([
        Message(conversation=conversations[i], establishment=establishment, sender=sender,
                subject=subject.format(i=i), body=f"<p>Texte {i}</p>", body_text=f"Texte {i}",
                addresses={"to": [person(owner)], "cc": [], "bcc": []},
                address_labels={"to": [owner.full_name], "cc": []}, state=Message.State.DELIVERED,
                sent_at=times[i], delivered_at=times[i], recipient_count=1)
        for i in range(count)])
    Delivery.objects.bulk_create(
        [Delivery(message=m, owner=sender, role=Delivery.Role.SENDER, box=Delivery.Box.SENT, sent_at=m.sent_at,
                  read_at=m.sent_at) for m in messages]
        + [Delivery(message=m, owner=owner, role=Delivery.Role.TO, box=Delivery.Box.INBOX, sent_at=m.sent_at)
           for m in messages])
    if attachments_every:
        Attachment.objects.bulk_create([
            Attachment(message=m, file=f"messaging/test/{m.pk}.pdf", name=f"piece-{m.pk}.pdf", size=100,
                       content_type="application/pdf")
            for i, m in enumerate(messages) if i % attachments_every == 0])
    return messages


def copy_of(user, message) -> Delivery:
    return Delivery.objects.get(owner=user, message=message)
