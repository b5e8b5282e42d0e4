"""The reasons (motifs) every establishment starts with, created the first time its list is read.

An establishment edits its list afterwards (labels, order, new reasons, deactivation); codes are stable keys (the
seed and imports name reasons by code). "Sans motif" does not justify an absence and is not offered to families.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .models import AbsenceReason

# (code, label, justifies, offered to families)
DEFAULT_REASONS: tuple[tuple[str, str, bool, bool], ...] = (
    ("MAL", "Maladie", True, True),
    ("RDV", "Rendez-vous médical", True, True),
    ("FAM", "Raison familiale", True, True),
    ("TRA", "Problème de transport", True, True),
    ("CONV", "Convocation officielle", True, True),
    ("SORT", "Sortie / voyage scolaire", True, False),
    ("EXAM", "Examen ou concours", True, True),
    ("INF", "Passage à l'infirmerie", True, False),
    ("AUT", "Autre", True, True),
    ("SM", "Sans motif", False, False),
)


def ensure_default_reasons(establishment_id: int) -> None:
    """Create the default reasons of an establishment that has none yet (idempotent, safe under concurrency)."""
    if AbsenceReason.objects.filter(establishment_id=establishment_id).exists():
        return
    rows = [AbsenceReason(establishment_id=establishment_id, code=code, label=label, justifies=justifies,
                          offered_to_families=offered, position=index * 10)
            for index, (code, label, justifies, offered) in enumerate(DEFAULT_REASONS)]
    try:
        with transaction.atomic():
            AbsenceReason.objects.bulk_create(rows, ignore_conflicts=True)
    except IntegrityError:  # another request created them at the same time
        pass
