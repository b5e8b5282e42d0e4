"""Search of a person's own messages: French full text on PostgreSQL (its GIN index used), icontains on SQLite."""

import pytest
from django.db import connection

from preau.messaging import search, selectors, services

from .core_helpers import actor, person, send
from .core_helpers import school as school_fixture

pytestmark = pytest.mark.django_db
school = school_fixture


def found(user, query, **kwargs):
    return [d.message_id for d in selectors.search(actor(user), query, **kwargs).items]


@pytest.fixture
def mailbox(school, django_capture_on_commit_callbacks):
    one = school
    sent = {}
    sent["reunion"] = send(django_capture_on_commit_callbacks, one.head, [person(one.mother_b)],
                           subject="Réunion parents-professeurs", body="Les réunions auront lieu jeudi soir.")
    sent["piscine"] = send(django_capture_on_commit_callbacks, one.teacher_b, [person(one.mother_b)],
                           subject="Piscine", body="Pensez au bonnet de bain et à la serviette.")
    sent["other"] = send(django_capture_on_commit_callbacks, one.head, [person(one.guardian_a)],
                         subject="Réunion de rentrée", body="Réunion jeudi.")
    return sent


def test_search_finds_subject_text_and_sender_in_ones_own_messages(school, mailbox):
    one = school
    assert found(one.mother_b, "Piscine") == [mailbox["piscine"].pk]
    assert found(one.mother_b, "serviette bonnet") == [mailbox["piscine"].pk]  # every word
    assert found(one.mother_b, "réunion") == [mailbox["reunion"].pk]  # not another family's
    assert found(one.guardian_a, "réunion") == [mailbox["other"].pk]
    assert found(one.mother_b, one.teacher_b.last_name) == [mailbox["piscine"].pk]
    assert found(one.mother_b, "inexistant") == []
    assert found(one.mother_b, "   ") == []
    # The sender finds their sent messages; a box narrows.
    assert found(one.head, "réunion") == [mailbox["other"].pk, mailbox["reunion"].pk]
    assert found(one.head, "réunion", box="inbox") == []
    with pytest.raises(ValueError):
        found(one.head, "réunion", box="nowhere")


def test_search_pages(school, mailbox):
    one = school
    first = selectors.search(actor(one.head), "réunion", limit=1)
    assert [d.message_id for d in first.items] == [mailbox["other"].pk] and first.next_cursor
    second = selectors.search(actor(one.head), "réunion", limit=1, cursor=first.next_cursor)
    assert [d.message_id for d in second.items] == [mailbox["reunion"].pk] and second.next_cursor is None
    with pytest.raises(ValueError):
        selectors.search(actor(one.head), "réunion", cursor="x_y")


def test_withdrawn_and_deleted_messages_are_not_found(school, mailbox, django_capture_on_commit_callbacks):
    one = school
    services.withdraw(mailbox["piscine"])
    assert found(one.mother_b, "piscine") == []
    services.move(actor=actor(one.mother_b), message_ids=[mailbox["reunion"].pk], box="trash")
    assert found(one.mother_b, "réunion") == [mailbox["reunion"].pk]  # the trash is searched...
    services.empty_trash(actor=actor(one.mother_b))
    assert found(one.mother_b, "réunion") == []  # ...not what was deleted from it


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full text (run the suite on PostgreSQL)")
def test_postgresql_french_full_text_and_its_index(school, mailbox):
    one = school
    # French stemming: « réunions » finds « Réunion », « pensez » finds « Pensez »; phrases and exclusions.
    assert found(one.mother_b, "réunions") == [mailbox["reunion"].pk]
    assert found(one.mother_b, "bain -piscine") == []
    assert found(one.mother_b, '"bonnet de bain"') == [mailbox["piscine"].pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [search.INDEX_NAME])
        (definition,) = cursor.fetchone()
        assert "gin" in definition.lower() and "to_tsvector('french'" in definition
        # The planner can answer the condition from the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM messaging_message WHERE "
                       + search.VECTOR.format(table="messaging_message.")
                       + " @@ websearch_to_tsquery('french'::regconfig, %s)", ["réunion"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert search.INDEX_NAME in plan, plan


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite fallback")
def test_sqlite_fallback_is_case_insensitive_substring(school, mailbox):
    one = school
    assert search.uses_postgres_full_text() is False
    assert found(one.mother_b, "PISCINE") == [mailbox["piscine"].pk]  # case-insensitive
    assert found(one.mother_b, "servi") == [mailbox["piscine"].pk]  # substrings
