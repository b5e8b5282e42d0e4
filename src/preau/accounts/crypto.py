"""Secrets of the accounts app: human-friendly one-time codes, their keyed hashes, and the TOTP secret cipher."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# No 0/O, 1/I/L: easy to read on paper and to type on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ACTIVATION_CODE_LENGTH = 10
RECOVERY_CODE_LENGTH = 10


def new_code(length: int = ACTIVATION_CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(raw: str) -> str:
    """What the person typed, as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def display_code(code: str, group: int = 5) -> str:
    """ABCDE-FGHJK: grouped for reading aloud and copying."""
    code = normalize_code(code)
    return "-".join(code[i:i + group] for i in range(0, len(code), group))


def _hmac(purpose: str, value: str, key: str) -> str:
    return hmac.new(f"preau.accounts.{purpose}:{key}".encode(), value.encode(), hashlib.sha256).hexdigest()


def code_hash(purpose: str, raw: str) -> str:
    """Keyed hash of a random code (HMAC-SHA256 with SECRET_KEY): enough since codes are not guessable."""
    return _hmac(purpose, normalize_code(raw), settings.SECRET_KEY)


def code_hashes(purpose: str, raw: str) -> list[str]:
    """The hashes under the current and the fallback secret keys, so a key rotation keeps printed codes valid."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_hmac(purpose, normalize_code(raw), key) for key in keys]


def _fernet_for(key: str) -> Fernet:
    digest = hashlib.sha256(f"preau.accounts.totp-secret:{key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _cipher() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(key) for key in keys])


def encrypt_secret(secret: str) -> str:
    return _cipher().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # the SECRET_KEY changed without a fallback
        raise ValueError("The TOTP secret cannot be decrypted with the configured keys.") from exc
