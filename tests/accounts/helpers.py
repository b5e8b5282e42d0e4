"""Helpers shared by the accounts tests."""

import html

import pyotp

from preau.accounts import crypto
from preau.accounts.models import TOTPDevice


def totp_for(user) -> pyotp.TOTP:
    device = TOTPDevice.objects.get(user=user)
    return pyotp.TOTP(crypto.decrypt_secret(device.encrypted_secret))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def text(response) -> str:
    """The page as a person reads it (HTML entities decoded)."""
    return html.unescape(response.content.decode())
