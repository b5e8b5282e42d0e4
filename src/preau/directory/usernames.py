"""Login names: "prenom.nom", ASCII-folded, made unique with a number suffix (lea.martin, lea.martin2, ...).

One folding for the administration screens and the imports, so that a person typed in by an admin and the same
person arriving from the national directory get the same login. (Demo seeding keeps its own, dashed style.)
"""

from __future__ import annotations

import re
import unicodedata

from preau.accounts.models import User

MAX_BASE_LENGTH = 140


def fold(text: str) -> str:
    """Lowercase ASCII letters and digits only: "Lefèvre-Durand" -> "lefevredurand", "N'Diaye" -> "ndiaye"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", ascii_text)


def username_base(first_name: str, last_name: str) -> str:
    return (".".join(part for part in (fold(first_name), fold(last_name)) if part) or "utilisateur")[:MAX_BASE_LENGTH]


def suggest_username(first_name: str, last_name: str) -> str:
    """A free login for this person, checked against the database (an exact indexed lookup first)."""
    base = username_base(first_name, last_name)
    if not User.objects.filter(username=base).exists():
        return base
    taken = set(User.objects.filter(username__startswith=base).values_list("username", flat=True))
    suffix = 2
    while f"{base}{suffix}" in taken:
        suffix += 1
    return f"{base}{suffix}"
