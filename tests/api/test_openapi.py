"""The OpenAPI document: served at /api/v1/openapi.json, valid, and complete."""

import pytest
from django.urls import get_resolver
from openapi_spec_validator import validate

from preau.api.main import api

pytestmark = pytest.mark.django_db

EXPECTED_OPERATIONS = {
    ("get", "/api/v1/me"),
    ("get", "/api/v1/establishments"), ("get", "/api/v1/establishments/{establishment_id}"),
    ("get", "/api/v1/classes"), ("get", "/api/v1/classes/{class_id}"), ("get", "/api/v1/classes/{class_id}/members"),
    ("get", "/api/v1/groups"), ("get", "/api/v1/groups/{group_id}"),
    ("get", "/api/v1/people"), ("get", "/api/v1/people/{person_id}"),
    ("get", "/api/v1/subjects"),
    ("get", "/api/v1/tokens"), ("post", "/api/v1/tokens"), ("get", "/api/v1/tokens/{token_id}"),
    ("post", "/api/v1/tokens/{token_id}/revoke"),
    ("get", "/api/v1/imports"), ("post", "/api/v1/imports"), ("get", "/api/v1/imports/{import_id}"),
    ("get", "/api/v1/imports/{import_id}/rejections"), ("post", "/api/v1/imports/{import_id}/columns"),
    ("post", "/api/v1/imports/{import_id}/confirm"),
    ("get", "/api/v1/establishments/{establishment_id}/rollover"),
    ("post", "/api/v1/establishments/{establishment_id}/rollover"),
    # Notification centre.
    ("get", "/api/v1/notifications"), ("post", "/api/v1/notifications/read-all"),
    ("post", "/api/v1/notifications/{notification_id}/read"),
    ("get", "/api/v1/me/notification-preferences"), ("put", "/api/v1/me/notification-preferences"),
    ("get", "/api/v1/me/counters"),
    # News and carnet de liaison.
    ("get", "/api/v1/news"), ("post", "/api/v1/news"), ("get", "/api/v1/news/{news_id}"),
    ("put", "/api/v1/news/{news_id}"), ("post", "/api/v1/news/{news_id}/images"),
    ("get", "/api/v1/liaison/carnet"), ("post", "/api/v1/liaison/entries/{entry_id}/acknowledge"),
    ("get", "/api/v1/liaison/notes"), ("post", "/api/v1/liaison/notes"),
    ("get", "/api/v1/liaison/notes/{note_id}/dashboard"), ("post", "/api/v1/liaison/notes/{note_id}/remind"),
    # Messaging moderation (msgsafe).
    ("get", "/api/v1/messaging/moderation/rules/{establishment_id}"),
    ("put", "/api/v1/messaging/moderation/rules/{establishment_id}"),
    ("get", "/api/v1/messaging/moderation/held"),
    ("post", "/api/v1/messaging/moderation/held/{message_id}/release"),
    ("post", "/api/v1/messaging/moderation/held/{message_id}/refuse"),
    ("get", "/api/v1/messaging/moderation/reports"),
    ("post", "/api/v1/messaging/moderation/reports/{report_id}/dismiss"),
    ("post", "/api/v1/messaging/moderation/messages/{message_id}/report"),
    ("post", "/api/v1/messaging/moderation/messages/{message_id}/hide"),
    ("post", "/api/v1/messaging/moderation/messages/{message_id}/recall"),
    ("post", "/api/v1/messaging/moderation/conversations/{conversation_id}/block"),
    ("post", "/api/v1/messaging/moderation/conversations/{conversation_id}/unblock"),
    # Messaging (msg).
    ("get", "/api/v1/messaging/establishments"), ("get", "/api/v1/messaging/mailbox"),
    ("get", "/api/v1/messaging/counts"), ("get", "/api/v1/messaging/search"), ("post", "/api/v1/messaging/read"),
    ("post", "/api/v1/messaging/move"), ("post", "/api/v1/messaging/trash/empty"),
    ("post", "/api/v1/messaging/messages"), ("get", "/api/v1/messaging/messages/{message_id}"),
    ("get", "/api/v1/messaging/messages/{message_id}/thread"),
    ("post", "/api/v1/messaging/messages/{message_id}/reply"),
    ("post", "/api/v1/messaging/messages/{message_id}/forward"),
    ("get", "/api/v1/messaging/messages/{message_id}/receipts"), ("get", "/api/v1/messaging/suggestions"),
    ("post", "/api/v1/messaging/drafts"), ("get", "/api/v1/messaging/drafts/{draft_id}"),
    ("put", "/api/v1/messaging/drafts/{draft_id}"), ("delete", "/api/v1/messaging/drafts/{draft_id}"),
    ("post", "/api/v1/messaging/drafts/{draft_id}/attachments"),
    ("delete", "/api/v1/messaging/drafts/{draft_id}/attachments/{attachment_id}"),
    ("get", "/api/v1/messaging/folders"), ("post", "/api/v1/messaging/folders"),
    ("patch", "/api/v1/messaging/folders/{folder_id}"), ("delete", "/api/v1/messaging/folders/{folder_id}"),
    # Agenda (agenda).
    ("get", "/api/v1/agenda"), ("post", "/api/v1/agenda"), ("get", "/api/v1/agenda/{event_id}"),
    ("put", "/api/v1/agenda/{event_id}"), ("delete", "/api/v1/agenda/{event_id}"),
    # Attendance (attcore).
    ("get", "/api/v1/attendance/roll-calls/mine"), ("get", "/api/v1/attendance/roll-calls/{course_id}/{date}"),
    ("put", "/api/v1/attendance/roll-calls/{course_id}/{date}"),
    ("get", "/api/v1/attendance/reasons"), ("post", "/api/v1/attendance/reasons"),
    ("put", "/api/v1/attendance/reasons/{reason_id}"),
    ("get", "/api/v1/attendance/records"), ("post", "/api/v1/attendance/records"),
    ("patch", "/api/v1/attendance/records/{record_id}"), ("delete", "/api/v1/attendance/records/{record_id}"),
    ("get", "/api/v1/attendance/justifications"), ("post", "/api/v1/attendance/justifications"),
    ("post", "/api/v1/attendance/justifications/{justification_id}/decision"),
    ("post", "/api/v1/attendance/announcements"),
    ("get", "/api/v1/attendance/justifications/{justification_id}/document"),
    ("get", "/api/v1/attendance/incidents"), ("post", "/api/v1/attendance/incidents"),
    ("get", "/api/v1/attendance/punishments"), ("post", "/api/v1/attendance/punishments"),
    ("post", "/api/v1/attendance/punishments/{punishment_id}/served"),
    ("post", "/api/v1/attendance/punishments/{punishment_id}/cancel"),
    ("get", "/api/v1/attendance/exemptions"), ("post", "/api/v1/attendance/exemptions"),
    ("get", "/api/v1/attendance/exemptions/{exemption_id}/document"),
    ("get", "/api/v1/attendance/pupils/{pupil_id}/exit-regime"),
    ("put", "/api/v1/attendance/pupils/{pupil_id}/exit-regime"),
    ("get", "/api/v1/attendance/pupils/{pupil_id}/counts"), ("get", "/api/v1/attendance/classes/{class_id}/counts"),
    ("get", "/api/v1/attendance/classes/{class_id}/export"), ("post", "/api/v1/attendance/exports"),
    ("get", "/api/v1/attendance/exports/{token}"), ("get", "/api/v1/attendance/dashboard"),
    # Attendance management (attfix2).
    ("get", "/api/v1/attendance/establishments/{establishment_id}/threshold"),
    # Timetable (core).
    ("get", "/api/v1/timetable/me"), ("get", "/api/v1/timetable/pupils/{pupil_id}"),
    ("get", "/api/v1/timetable/teachers/{teacher_id}"), ("get", "/api/v1/timetable/classes/{class_id}"),
    ("get", "/api/v1/timetable/groups/{group_id}"), ("get", "/api/v1/timetable/rooms"),
    ("get", "/api/v1/timetable/rooms/{room_id}"), ("get", "/api/v1/timetable/free-rooms"),
    ("get", "/api/v1/timetable/occurrences/{course_id}/{date}"),
    ("post", "/api/v1/timetable/occurrences/{course_id}/{date}/change"),
    ("delete", "/api/v1/timetable/occurrences/{course_id}/{date}/change"),
    ("post", "/api/v1/timetable/extra-courses"),
    ("get", "/api/v1/timetable/courses"), ("post", "/api/v1/timetable/courses"),
    ("get", "/api/v1/timetable/courses/{course_id}"), ("put", "/api/v1/timetable/courses/{course_id}"),
    ("delete", "/api/v1/timetable/courses/{course_id}"),
    ("get", "/api/v1/timetable/calendars/{school_year_id}"), ("put", "/api/v1/timetable/calendars/{school_year_id}"),
    ("post", "/api/v1/timetable/calendars/{school_year_id}/zone-preset"),
}


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_api_openapi_is_public_and_valid(schema):
    validate(schema)
    assert schema["info"]["title"] == "Préau API"


def test_api_openapi_lists_every_route(schema):
    documented = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert documented == EXPECTED_OPERATIONS
    # ...and every route the API serves (apart from the schema and its docs page) is documented.
    routed = {"/api/v1/" + str(p.pattern).replace("<", "{").replace(">", "}") for p in api.urls[0]}
    routed -= {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/"}
    assert routed == {path for _method, path in EXPECTED_OPERATIONS}
    assert any(str(p.pattern) == "api/v1/" for p in get_resolver().url_patterns)


def test_api_openapi_documents_responses_and_security(schema):
    assert set(schema["components"]["securitySchemes"]) == {"TokenAuth", "SessionAuth"}
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"401", "422", "429"} <= codes, (method, path)
            assert codes & {"200", "201"}, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            ok = operation["responses"].get("200") or operation["responses"]["201"]
            assert ok["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
            assert operation["security"], (method, path)


def test_api_openapi_list_endpoints_are_paginated(schema):
    for path in ["/api/v1/establishments", "/api/v1/classes", "/api/v1/groups", "/api/v1/people",
                 "/api/v1/subjects", "/api/v1/tokens", "/api/v1/imports", "/api/v1/imports/{import_id}/rejections",
                 "/api/v1/notifications", "/api/v1/news", "/api/v1/liaison/carnet", "/api/v1/liaison/notes"]:
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert params["limit"]["schema"]["maximum"] == 200
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"count", "limit", "offset", "items"} <= set(page["properties"])


def test_api_docs_page_is_served(client):
    assert client.get("/api/v1/docs").status_code == 200
