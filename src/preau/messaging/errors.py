"""The messaging services' refusals: a French message for the person, never a 500."""

from __future__ import annotations


class MessagingError(ValueError):
    """Bad input or a refusal; `str(exc)` is the French message to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class MessagingRefused(MessagingError):
    """Refused by the access policy or the establishment's safety rules (the API answers 403, not 400)."""
