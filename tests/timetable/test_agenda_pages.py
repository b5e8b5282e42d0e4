"""The agenda pages (/agenda/) and API (/api/v1/agenda): same rules as the services, French errors, 404 for the
unseen, bounded queries."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from preau.directory.models import Role
from preau.timetable.models import AgendaEvent

from . import fixtures_agenda
from .fixtures_agenda import D, add_event

notified = fixtures_agenda.notified

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture(autouse=True)
def _autumn_2026():
    """Pages use today's date (the default week, whether an event is still to come): a fixed day before the
    events of these tests."""
    with time_machine.travel(datetime.datetime(2026, 10, 1, 8, 0, tzinfo=datetime.UTC), tick=True):
        yield


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Pages ----------------------------------------------------------------------------------------------------

def test_week_and_month_lists_show_what_the_person_sees(world):
    one = world.one
    add_event(one.head, one, title="Sortie 5e B", day=D(2026, 10, 15), classes=[one.class_b])
    add_event(one.head, one, title="Conseil 5e A", day=D(2026, 10, 27), classes=[one.class_a])
    pupil = as_user(one.pupil_b)
    week = pupil.get(reverse("agenda:list"), {"date": "2026-10-14"})
    assert week.status_code == 200
    page = week.content.decode()
    assert "Sortie 5e B" in page and "Conseil 5e A" not in page
    assert "Semaine du 12 octobre au 18 octobre 2026" in page and "Ajouter un événement" not in page
    month = as_user(one.head).get(reverse("agenda:list"), {"date": "2026-10-01", "vue": "mois"}).content.decode()
    assert "Sortie 5e B" in month and "Conseil 5e A" in month and "Ajouter un événement" in month
    assert "Aucun événement cette semaine." in pupil.get(reverse("agenda:list"), {"date": "2026-10-21"}) \
        .content.decode()
    # A bad date falls back to today, never a 500.
    assert pupil.get(reverse("agenda:list"), {"date": "2026-13-45"}).status_code == 200


def test_list_page_is_a_constant_number_of_queries(world, django_assert_max_num_queries):
    one = world.one
    client = as_user(one.mother_b)
    client.get(reverse("agenda:list"), {"date": "2026-10-14", "vue": "mois"})
    for index in range(20):
        add_event(one.head, one, title=f"E{index}", day=D(2026, 10, 1 + index), classes=[one.class_b])
    with django_assert_max_num_queries(14):
        response = client.get(reverse("agenda:list"), {"date": "2026-10-14", "vue": "mois"})
    assert response.content.decode().count('href="/agenda/') >= 20


def test_event_page_and_404_for_the_unseen(world):
    one = world.one
    trip = add_event(one.teacher_b, one, title="Sortie au musée", classes=[one.class_b], location="Musée",
                     description="<p>Prévoir un <em>pique-nique</em></p>")
    page = as_user(one.father_b).get(reverse("agenda:event", args=[trip.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sortie au musée" in text and "<em>pique-nique</em>" in text and "5e B" in text
    assert "Modifier" not in text
    assert "Modifier" in as_user(one.teacher_b).get(reverse("agenda:event", args=[trip.pk])).content.decode()
    for user in (one.pupil_a, one.guardian_a, one.teacher_a, world.two.head):
        assert as_user(user).get(reverse("agenda:event", args=[trip.pk])).status_code == 404
    assert as_user(one.pupil_b).get(reverse("agenda:edit", args=[trip.pk])).status_code == 404
    assert as_user(one.head).get("/agenda/999999/").status_code == 404


def test_create_form(world, notified):
    one = world.one
    client = as_user(one.teacher_b)
    form = client.get(reverse("agenda:create"), {"date": "2026-11-05"})
    assert form.status_code == 200
    text = form.content.decode()
    assert "5e B" in text and "5e A" not in text and 'value="2026-11-05"' in text
    data = {"title": "Sortie au théâtre", "kind": "trip", "start_date": "2026-11-05", "start_time": "09:00",
            "end_time": "12:00", "location": "Théâtre", "description": "Rendez-vous devant le collège.",
            "scope": "targets", "classes": [one.class_b.pk], "audience_roles": ["pupil", "guardian"]}
    with notified():
        response = client.post(reverse("agenda:create"), data)
    event = AgendaEvent.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("agenda:event", args=[event.pk])
    assert event.title == "Sortie au théâtre" and event.kind == "trip" and event.created_by == one.teacher_b
    assert event.starts_at.hour == 8 and event.ends_at.hour == 11  # 09:00 and 12:00 in Paris, stored in UTC
    assert event.description == "<p>Rendez-vous devant le collège.</p>"
    assert sorted(notified.recipients()) == sorted([one.pupil_b.pk, one.pupil_b2.pk, one.mother_b.pk,
                                                    one.father_b.pk])


def test_create_form_errors_in_french_without_writing(world):
    one = world.one
    client = as_user(one.teacher_b)
    base = {"title": "Sortie", "kind": "trip", "start_date": "2026-11-05", "start_time": "09:00",
            "scope": "targets", "classes": [one.class_b.pk], "audience_roles": ["pupil"]}
    cases = [
        ({"title": ""}, "Donnez un titre."),
        ({"start_time": ""}, "Indiquez l&#x27;heure de début"),
        ({"end_time": "08:00"}, "ne peut pas précéder"),
        ({"start_date": "pas une date"}, "Indiquez une date valide."),
        ({"audience_roles": []}, "Choisissez à qui s&#x27;adresse l&#x27;événement."),
        ({"classes": [one.class_a.pk]}, "Sélectionnez un choix valide"),
        ({"classes": []}, "au moins une classe"),
    ]
    for change, message in cases:
        response = client.post(reverse("agenda:create"), {**base, **change})
        assert response.status_code == 400, change
        assert message in response.content.decode(), (change, message)
    assert not AgendaEvent.objects.exists()


def test_create_is_forbidden_to_those_who_do_not_write(world):
    assert as_user(world.one.pupil_a).get(reverse("agenda:create")).status_code == 403
    assert as_user(world.one.nurse).post(reverse("agenda:create"), {"title": "x"}).status_code == 403


def test_all_day_event_form_and_edit(world):
    one = world.one
    client = as_user(one.cpe)
    response = client.post(reverse("agenda:create"), {
        "title": "Voyage en Italie", "kind": "trip", "start_date": "2026-10-24", "all_day": "on",
        "end_date": "2026-10-27", "scope": "whole", "audience_roles": ["pupil", "guardian", "teacher"]})
    assert response.status_code == 302
    event = AgendaEvent.objects.get()
    assert event.all_day and event.starts_at.date() == D(2026, 10, 23)  # midnight in Paris is 22:00 UTC
    edit = client.get(reverse("agenda:edit", args=[event.pk])).content.decode()
    assert 'value="2026-10-24"' in edit and 'value="2026-10-27"' in edit
    response = client.post(reverse("agenda:edit", args=[event.pk]), {
        "title": "Voyage à Rome", "kind": "trip", "start_date": "2026-10-24", "all_day": "on",
        "end_date": "2026-10-28", "scope": "whole", "audience_roles": ["pupil", "guardian"]})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "Voyage à Rome" and event.audience_roles == ["pupil", "guardian"]
    page = as_user(one.pupil_a).get(reverse("agenda:list"), {"date": "2026-10-26"}).content.decode()
    assert page.count("Voyage à Rome") == 3  # listed on each day of the week it covers (Mon 26 → Wed 28)


def test_delete_confirms_then_deletes(world):
    one = world.one
    event = add_event(one.head, one)
    client = as_user(one.head)
    assert "Supprimer" in client.get(reverse("agenda:delete", args=[event.pk])).content.decode()
    assert AgendaEvent.objects.filter(pk=event.pk).exists()
    assert as_user(one.pupil_a).post(reverse("agenda:delete", args=[event.pk])).status_code == 404
    response = client.post(reverse("agenda:delete", args=[event.pk]))
    assert response.status_code == 302 and not AgendaEvent.objects.filter(pk=event.pk).exists()


def test_pages_need_login(client):
    response = client.get(reverse("agenda:list"))
    assert response.status_code == 302 and "/compte/" in response["Location"]


# --- API ------------------------------------------------------------------------------------------------------

def _json(client, method, path, data=None):
    return getattr(client, method)(API + path, json.dumps(data) if data is not None else None,
                                   content_type="application/json")


def test_api_create_read_update_delete(world, notified):
    one = world.one
    client = as_user(one.teacher_b)
    body = {"establishment_id": one.establishment.pk, "title": "Contrôle commun", "kind": "exam",
            "starts_at": "2026-11-05T10:00:00+01:00", "ends_at": "2026-11-05T12:00:00+01:00",
            "description": "<p>Calculatrice</p><script>x()</script>", "classes": [one.class_b.pk],
            "audience_roles": ["pupil", "guardian"]}
    with notified():
        response = _json(client, "post", "/agenda", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["description"] == "<p>Calculatrice</p>" and data["can_manage"] and data["kind_label"] == "Examen"
    assert data["classes"] == [{"id": one.class_b.pk, "code": one.class_b.code, "label": "5e B"}]
    assert data["first_day"] == data["last_day"] == "2026-11-05"
    assert len(notified.recipients()) == 4
    event_id = data["id"]

    seen = as_user(one.mother_b).get(API + "/agenda", {"first_day": "2026-11-01", "last_day": "2026-11-30"})
    assert seen.status_code == 200 and [e["id"] for e in seen.json()["items"]] == [event_id]
    unseen = as_user(one.pupil_a).get(API + "/agenda", {"first_day": "2026-11-01", "last_day": "2026-11-30"})
    assert unseen.json()["items"] == []
    assert as_user(one.pupil_a).get(f"{API}/agenda/{event_id}").status_code == 404
    assert as_user(one.pupil_b).get(f"{API}/agenda/{event_id}").json()["can_manage"] is False

    updated = _json(client, "put", f"/agenda/{event_id}", {**body, "title": "Contrôle commun de maths",
                                                           "all_day": True, "ends_at": "2026-11-06T00:00:00+01:00"})
    assert updated.status_code == 200, updated.content
    assert updated.json()["all_day"] and updated.json()["last_day"] == "2026-11-06"
    assert _json(as_user(one.teacher_a), "put", f"/agenda/{event_id}", body).status_code == 404
    assert _json(as_user(one.pupil_b), "delete", f"/agenda/{event_id}").status_code == 404
    deleted = _json(client, "delete", f"/agenda/{event_id}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}
    assert not AgendaEvent.objects.exists()


def test_api_refusals_in_french(world):
    one = world.one
    client = as_user(one.teacher_b)
    body = {"establishment_id": one.establishment.pk, "title": "Sortie", "starts_at": "2026-11-05T10:00:00+01:00",
            "classes": [one.class_a.pk]}
    refused = _json(client, "post", "/agenda", body)
    assert refused.status_code == 403 and "où vous enseignez" in refused.json()["detail"]
    invalid = _json(client, "post", "/agenda", {**body, "classes": [one.class_b.pk], "title": " "})
    assert invalid.status_code == 400 and invalid.json()["detail"] == "Donnez un titre."
    assert _json(client, "post", "/agenda", {**body, "establishment_id": world.two.establishment.pk}) \
        .status_code == 404
    missing = _json(client, "post", "/agenda", {k: v for k, v in body.items() if k != "establishment_id"})
    assert missing.status_code == 400
    assert _json(client, "post", "/agenda", {**body, "starts_at": "demain"}).status_code == 422
    too_long = client.get(API + "/agenda", {"first_day": "2026-01-01", "last_day": "2027-12-31"})
    assert too_long.status_code == 400 and "400 jours" in too_long.json()["detail"]
    backwards = client.get(API + "/agenda", {"first_day": "2026-12-01", "last_day": "2026-11-01"})
    assert backwards.status_code == 400
    assert Client().get(API + "/agenda").status_code == 401


def test_api_list_queries_are_bounded(world, django_assert_max_num_queries):
    one = world.one
    client = as_user(one.pupil_b)
    params = {"first_day": "2026-10-01", "last_day": "2026-10-31"}
    client.get(API + "/agenda", params)
    for index in range(20):
        add_event(one.head, one, title=f"E{index}", day=D(2026, 10, 1 + index),
                  audience_roles=[Role.PUPIL] if index % 2 else [Role.PUPIL, Role.GUARDIAN])
    with django_assert_max_num_queries(12):
        response = client.get(API + "/agenda", params)
    assert len(response.json()["items"]) == 20
    assert datetime.date.fromisoformat(response.json()["first_day"]) == D(2026, 10, 1)


def test_form_scope_follows_the_ticked_classes(world):
    one = world.one
    client = as_user(one.head)
    base = {"title": "Photo de classe", "kind": "event", "start_date": "2026-11-05", "start_time": "09:00",
            "audience_roles": ["pupil"]}
    # Classes ticked while "whole establishment" stayed selected: the event is for those classes.
    assert client.post(reverse("agenda:create"), {**base, "scope": "whole", "classes": [one.class_a.pk]}) \
        .status_code == 302
    assert list(AgendaEvent.objects.get().classes.all()) == [one.class_a]
    # "Some classes or groups" without any ticked: an error, not an event for everyone.
    refused = client.post(reverse("agenda:create"), {**base, "scope": "targets"})
    assert refused.status_code == 400 and "Choisissez au moins une classe ou un groupe." in refused.content.decode()
    assert AgendaEvent.objects.count() == 1


def test_garbage_input_never_answers_500(world):
    one = world.one
    client = as_user(one.head)
    huge = str(2 ** 70)
    base = {"title": "Sortie", "kind": "trip", "start_date": "2026-11-05", "start_time": "09:00",
            "scope": "targets", "audience_roles": ["pupil"]}
    for change in ({"classes": [huge]}, {"classes": ["-1"]}, {"groups": ["abc"]}, {"kind": "x" * 300},
                   {"start_date": "2026-02-30"}, {"start_time": "25:99"}, {"audience_roles": ["root"]},
                   {"title": "x" * 500}, {"end_date": "0000-00-00"}, {"title": "a\x00b"}):
        response = client.post(reverse("agenda:create"), {**base, **change})
        assert response.status_code == 400, change
    assert not AgendaEvent.objects.exists()
    assert client.get(f"/agenda/{huge}/").status_code == 404
    assert client.get(f"/api/v1/agenda/{huge}").status_code in (404, 422)
    with pytest.raises(Exception) as error:
        from preau.timetable import agenda

        agenda.agenda_event_create(actor=agenda.policy.Actor(one.head), establishment=one.establishment,
                                   title="X", starts_at=datetime.datetime(2026, 11, 5, 9), classes=[int(huge)])
    assert "Identifiant invalide" in str(error.value)
