"""Streams follow the session: when a person logs out, their open pages are told to reconnect, which the browser
that logged out can no longer do (401), while their other devices come straight back."""

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.dispatch import receiver

from .broker import publish_to_user

RECONNECT = "realtime.reconnect"


@receiver(user_logged_out, dispatch_uid="preau.realtime.logged_out")
def reconnect_on_logout(sender, request, user, **kwargs):
    if user is not None and user.pk is not None:
        transaction.on_commit(lambda: publish_to_user(user.pk, RECONNECT, {}))
