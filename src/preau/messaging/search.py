"""Full-text search of a person's messages.

PostgreSQL: French full text (`to_tsvector('french', subject || body_text)` against the words typed, read by
`websearch_to_tsquery`: several words must all match, "quoted phrases", -excluded), backed by a GIN expression
index on messaging_message (migration 0002, created on PostgreSQL only). The matching is a condition on the
message joined to the person's own copies, so the planner either walks the person's mailbox newest first (common
words: it stops after a page of hits) or reads the GIN index (rare words).

Other databases (SQLite, the embedded default): every word must appear, case-insensitively, in the subject, the
text or the sender's name.

On both, a query can also match the sender's name (every word in their first or last name).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from preau.accounts.models import User

INDEX_NAME = "messaging_message_fulltext"
# The indexed expression: the search condition below must repeat it exactly for PostgreSQL to use the index.
VECTOR = ("to_tsvector('french'::regconfig, coalesce({table}subject, '') || ' ' || "
          "coalesce({table}body_text, ''))")
CREATE_INDEX = (f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON messaging_message USING GIN "
                f"(({VECTOR.format(table='')}))")
DROP_INDEX = f"DROP INDEX IF EXISTS {INDEX_NAME}"
MAX_WORDS = 10


def uses_postgres_full_text() -> bool:
    return connection.vendor == "postgresql"


def words(query: str) -> list[str]:
    return [w for w in (query or "").split() if w.strip("\"'-")][:MAX_WORDS]


def _sender_q(terms: list[str], prefix: str) -> Q:
    """Every word in the sender's first or last name."""
    q = Q()
    for word in terms:
        word = word.strip("\"'")
        q &= Q(**{f"{prefix}first_name__icontains": word}) | Q(**{f"{prefix}last_name__icontains": word})
    return q


def delivery_match_q(query: str) -> Q | None:
    """A condition over Delivery rows (their message joined as `messaging_message`) selecting the ones whose
    message matches `query`; None when the query has no word."""
    terms = words(query)
    if not terms:
        return None
    senders = Q(message__sender_id__in=User.objects.filter(_sender_q(terms, "")).values("pk"))
    if uses_postgres_full_text():
        # The query text is a parameter; the SQL around it is constant.
        condition = RawSQL(VECTOR.format(table="messaging_message.") +  # noqa: S611
                           " @@ websearch_to_tsquery('french'::regconfig, %s)", [" ".join(terms)],
                           output_field=BooleanField())
        return Q(condition) | senders
    text = Q()
    for word in terms:
        word = word.strip("\"'")
        text &= (Q(message__subject__icontains=word) | Q(message__body_text__icontains=word)
                 | Q(message__sender__first_name__icontains=word) | Q(message__sender__last_name__icontains=word))
    return text
