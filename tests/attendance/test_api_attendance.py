"""The attendance JSON API (attcore): roll call GET/PUT with its rules, records, justifications (multipart with a
document), decisions, punishments, exemptions, exit regimes, counts, dashboard, exports; 404 for the invisible,
403 for the forbidden, French errors; sensitive reads logged."""

import datetime

import pytest
import time_machine
from django.test import Client

from preau.attendance import services
from preau.attendance.models import AbsenceReason, AttendanceRecord, Justification, RollCall
from preau.audit.models import AuditEvent
from preau.notifications.models import Notification

from .fixtures_attcore import MONDAY, at, make_course, pdf_file, use_media

pytestmark = pytest.mark.django_db
API = "/api/v1/attendance"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def course_b(world):
    return make_course(world.one)


@pytest.fixture
def on_monday():
    with time_machine.travel(at(MONDAY, 8, 10), tick=False):
        yield


def roll_url(course, day=MONDAY):
    return f"{API}/roll-calls/{course.pk}/{day.isoformat()}"


def test_roll_call_get_and_put(world, course_b, on_monday, django_capture_on_commit_callbacks):
    one = world.one
    teacher = client_for(one.teacher_b)
    got = teacher.get(roll_url(course_b))
    assert got.status_code == 200
    body = got.json()
    assert not body["taken"] and body["editable"] and body["occurrence"]["label"] == "Mathématiques"
    assert {m["pupil"]["id"]: m["status"] for m in body["marks"]} == {one.pupil_b.pk: "present",
                                                                      one.pupil_b2.pk: "present"}
    marks = {"marks": [{"pupil_id": one.pupil_b.pk, "status": "absent"},
                       {"pupil_id": one.pupil_b2.pk, "status": "late", "late_minutes": 7}]}
    with django_capture_on_commit_callbacks(execute=True):
        put = teacher.put(roll_url(course_b), marks, content_type="application/json")
    assert put.status_code == 200, put.content
    saved = {m["pupil"]["id"]: (m["status"], m["late_minutes"]) for m in put.json()["marks"]}
    assert saved == {one.pupil_b.pk: ("absent", None), one.pupil_b2.pk: ("late", 7)}
    with django_capture_on_commit_callbacks(execute=True):
        again = teacher.put(roll_url(course_b), marks, content_type="application/json")
    assert again.status_code == 200 and AttendanceRecord.objects.count() == 2 and RollCall.objects.count() == 1
    assert Notification.objects.filter(kind="absence").count() == 2
    mine = teacher.get(f"{API}/roll-calls/mine").json()
    assert [(i["occurrence"]["course_id"], i["state"]) for i in mine["items"]] == [(course_b.pk, "done")]


def test_roll_call_refusals(world, course_b, on_monday):
    one, two = world.one, world.two
    for person in (one.teacher_a, one.mother_b, one.pupil_b, one.secretary, two.cpe, two.teacher_b):
        c = client_for(person)
        assert c.get(roll_url(course_b)).status_code == 404
        assert c.put(roll_url(course_b), {"marks": []}, content_type="application/json").status_code == 404
    teacher = client_for(one.teacher_b)
    bad = teacher.put(roll_url(course_b), {"marks": [{"pupil_id": one.pupil_a.pk, "status": "absent"}]},
                      content_type="application/json")
    assert bad.status_code == 400 and "ne fait pas partie" in bad.json()["detail"]
    assert teacher.put(roll_url(course_b), {"marks": [{"pupil_id": one.pupil_b.pk, "status": "asleep"}]},
                       content_type="application/json").status_code == 422
    assert teacher.get(roll_url(course_b, MONDAY + datetime.timedelta(days=1))).status_code == 404
    assert not RollCall.objects.exists()
    with time_machine.travel(at(MONDAY + datetime.timedelta(days=1), 9), tick=False):
        late = teacher.put(roll_url(course_b), {"marks": []}, content_type="application/json")
        assert late.status_code == 403 and "vie scolaire" in late.json()["detail"]
        assert client_for(one.cpe).put(roll_url(course_b), {"marks": []},
                                       content_type="application/json").status_code == 200


def test_family_justifies_and_vie_scolaire_decides(world, course_b, settings, tmp_path, on_monday):
    use_media(settings, tmp_path)
    one = world.one
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                            by=one.teacher_b)
    record = AttendanceRecord.objects.get()
    mother = client_for(one.mother_b)
    listed = mother.get(f"{API}/records", {"pupil": one.pupil_b.pk}).json()
    assert [r["id"] for r in listed["items"]] == [record.pk] and listed["items"][0]["state"] == "unjustified"
    assert mother.get(f"{API}/records", {"pupil": one.pupil_a.pk}).status_code == 404
    reasons = mother.get(f"{API}/reasons", {"establishment": one.establishment.pk}).json()["items"]
    assert "Sans motif" not in [r["label"] for r in reasons]
    maladie = next(r["id"] for r in reasons if r["label"] == "Maladie")
    sent = mother.post(f"{API}/justifications", {"pupil_id": one.pupil_b.pk, "records": str(record.pk),
                                                 "reason_id": maladie, "comment": "Grippe", "document": pdf_file()})
    assert sent.status_code == 201, sent.content
    justification = sent.json()
    assert justification["state"] == "pending" and justification["has_document"]
    assert mother.get(f"{API}/justifications/{justification['id']}/document").status_code == 200
    assert client_for(one.guardian_a).get(f"{API}/justifications/{justification['id']}/document").status_code == 404
    # A family cannot decide; vie scolaire of another establishment cannot see it.
    decision = f"{API}/justifications/{justification['id']}/decision"
    assert mother.post(decision, {"accept": True}, content_type="application/json").status_code == 403
    assert client_for(world.two.cpe).post(decision, {"accept": True},
                                          content_type="application/json").status_code == 404
    cpe = client_for(one.cpe)
    queue = cpe.get(f"{API}/justifications", {"state": "pending"}).json()
    assert [j["id"] for j in queue["items"]] == [justification["id"]]
    refused = cpe.post(decision, {"accept": False}, content_type="application/json")
    assert refused.status_code == 400 and "pourquoi" in refused.json()["detail"]
    accepted = cpe.post(decision, {"accept": True}, content_type="application/json")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    record.refresh_from_db()
    assert record.state == "justified"
    counts = mother.get(f"{API}/pupils/{one.pupil_b.pk}/counts").json()
    assert counts["counts"]["absent"] == 1 and counts["counts"]["justified"] == 1
    assert [p["label"] for p in counts["periods"]] == ["Trimestre 1", "Trimestre 2", "Trimestre 3"]
    # Families reading their child are not "sensitive reads"; the CPE reading the queue is.
    reads = AuditEvent.objects.filter(action="sensitive_read", target="attendance")
    assert set(reads.values_list("actor_id", flat=True)) == {one.cpe.pk}


def test_justification_refusals_in_french(world, on_monday, settings, tmp_path):
    use_media(settings, tmp_path)
    one = world.one
    record = AttendanceRecord.objects.create(establishment=one.establishment, pupil=one.pupil_b, kind="absence",
                                             starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 9))
    services.reasons_for(one.establishment.pk)
    reason = AbsenceReason.objects.get(establishment=one.establishment, code="MAL")
    from django.core.files.uploadedfile import SimpleUploadedFile

    evil = SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    answer = client_for(one.mother_b).post(f"{API}/justifications", {
        "pupil_id": one.pupil_b.pk, "records": str(record.pk), "reason_id": reason.pk, "document": evil})
    assert answer.status_code == 400 and "PDF" in answer.json()["detail"]
    answer = client_for(one.mother_b).post(f"{API}/justifications", {
        "pupil_id": one.pupil_b.pk, "records": "a,b", "reason_id": reason.pk})
    assert answer.status_code == 400
    answer = client_for(one.guardian_a).post(f"{API}/justifications", {
        "pupil_id": one.pupil_b.pk, "records": str(record.pk), "reason_id": reason.pk})
    assert answer.status_code == 404
    assert not Justification.objects.exists()


def test_records_by_vie_scolaire(world, on_monday, django_capture_on_commit_callbacks):
    one = world.one
    cpe = client_for(one.cpe)
    with django_capture_on_commit_callbacks(execute=True):
        created = cpe.post(f"{API}/records", {
            "pupil_id": one.pupil_b.pk, "starts_at": at(MONDAY, 8).isoformat(),
            "ends_at": at(MONDAY + datetime.timedelta(days=2), 17).isoformat(), "comment": "Varicelle"},
            content_type="application/json")
    assert created.status_code == 201, created.content
    rec = created.json()
    assert rec["source"] == "vie_scolaire" and rec["state"] == "unjustified"
    assert Notification.objects.filter(source=f"absence:{one.pupil_b.pk}:{MONDAY.isoformat()}").count() == 2
    reason = services.reasons_for(one.establishment.pk).get(code="MAL")
    patched = cpe.patch(f"{API}/records/{rec['id']}", {"reason_id": reason.pk}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["state"] == "justified"
    teacher = client_for(one.teacher_b)
    assert teacher.patch(f"{API}/records/{rec['id']}", {"comment": "x"},
                         content_type="application/json").status_code == 403
    assert client_for(one.teacher_a).patch(f"{API}/records/{rec['id']}", {"comment": "x"},
                                           content_type="application/json").status_code == 404
    assert teacher.post(f"{API}/records", {"pupil_id": one.pupil_b.pk, "starts_at": at(MONDAY, 8).isoformat(),
                                           "ends_at": at(MONDAY, 9).isoformat()},
                        content_type="application/json").status_code == 403
    assert cpe.post(f"{API}/records", {"pupil_id": world.two.pupil_b.pk, "starts_at": at(MONDAY, 8).isoformat(),
                                       "ends_at": at(MONDAY, 9).isoformat()},
                    content_type="application/json").status_code == 404
    assert cpe.delete(f"{API}/records/{rec['id']}").json() == {"deleted": 1}
    assert not AttendanceRecord.objects.exists()


def test_discipline_exemptions_exit_regime(world, on_monday, settings, tmp_path):
    use_media(settings, tmp_path)
    one = world.one
    teacher = client_for(one.teacher_b)
    made = teacher.post(f"{API}/punishments", {"pupil_id": one.pupil_b.pk, "kind": "extra_work",
                                              "reason": "Exercices non faits", "work": "p. 42"},
                        content_type="application/json")
    assert made.status_code == 201 and made.json()["set_by"]["id"] == one.teacher_b.pk
    assert teacher.post(f"{API}/punishments", {"pupil_id": one.pupil_b.pk, "kind": "reprimand", "reason": "x"},
                        content_type="application/json").status_code == 403
    assert client_for(one.mother_b).get(f"{API}/punishments").json()["count"] == 1
    assert client_for(one.guardian_a).get(f"{API}/punishments").json()["count"] == 0
    served = teacher.post(f"{API}/punishments/{made.json()['id']}/served", {"served": True},
                          content_type="application/json")
    assert served.status_code == 200 and served.json()["served"]
    incident = teacher.post(f"{API}/incidents", {"establishment_id": one.establishment.pk,
                                                 "occurred_at": at(MONDAY, 8).isoformat(), "facts": "Chahut",
                                                 "pupils": [one.pupil_b.pk]}, content_type="application/json")
    assert incident.status_code == 201
    assert client_for(one.cpe).get(f"{API}/incidents").json()["count"] == 1
    assert client_for(one.mother_b).get(f"{API}/incidents").json()["count"] == 0
    exemption = client_for(one.nurse).post(f"{API}/exemptions", {
        "pupil_id": one.pupil_b.pk, "first_day": "2026-10-05", "last_day": "2026-10-30",
        "subject_id": one.subject.pk, "document": pdf_file()})
    assert exemption.status_code == 201, exemption.content
    assert client_for(one.father_b).get(f"{API}/exemptions").json()["items"][0]["subject_label"] == "Mathématiques"
    regime = client_for(one.cpe).put(f"{API}/pupils/{one.pupil_b.pk}/exit-regime",
                                     {"regime": "externe", "may_leave_at_lunch": True},
                                     content_type="application/json")
    assert regime.status_code == 200 and regime.json()["regime_label"] == "Externe"
    assert client_for(one.mother_b).get(f"{API}/pupils/{one.pupil_b.pk}/exit-regime").json()["may_leave_at_lunch"]
    assert client_for(one.teacher_b).put(f"{API}/pupils/{one.pupil_b.pk}/exit-regime", {"regime": "externe"},
                                         content_type="application/json").status_code == 403


def test_class_counts_dashboard_and_exports(world, course_b, on_monday, django_capture_on_commit_callbacks):
    one = world.one
    services.take_roll_call(course=course_b, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                            by=one.teacher_b)
    cpe = client_for(one.cpe)
    counts = cpe.get(f"{API}/classes/{one.class_b.pk}/counts", {"first": "2026-10-01", "last": "2026-10-31"})
    assert counts.status_code == 200
    body = counts.json()
    assert body["rate"]["missed"] == 1 and body["rate"]["school_half_days"] == 44 and body["rate"]["pupils"] == 2
    assert client_for(one.teacher_b).get(f"{API}/classes/{one.class_b.pk}/counts").status_code == 200
    for person in (one.teacher_a, one.mother_b, world.two.cpe):
        assert client_for(person).get(f"{API}/classes/{one.class_b.pk}/counts").status_code == 404
    csv = cpe.get(f"{API}/classes/{one.class_b.pk}/export", {"kind": "records"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = b"".join(csv.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffNom;Prénom;Classe;Type") and "Martin;Léa;5e B;Absence;05/10/2026;08:00" in text
    assert client_for(one.teacher_b).get(f"{API}/classes/{one.class_b.pk}/export").status_code == 404
    dash = cpe.get(f"{API}/dashboard", {"establishment": one.establishment.pk}).json()
    assert [r["pupil"]["id"] for r in dash["absent_now"]] == [one.pupil_b.pk]
    assert dash["unjustified_count"] == 1
    assert client_for(one.teacher_b).get(f"{API}/dashboard",
                                         {"establishment": one.establishment.pk}).status_code == 404
    assert client_for(world.two.cpe).get(f"{API}/dashboard",
                                         {"establishment": one.establishment.pk}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        queued = cpe.post(f"{API}/exports", {"establishment_id": one.establishment.pk, "first_day": "2026-09-01",
                                             "last_day": "2026-12-31", "kind": "counts"},
                          content_type="application/json")
    assert queued.status_code == 201
    token = queued.json()["token"]
    assert Notification.objects.filter(recipient=one.cpe, source=f"attendance.export:{token}").exists()
    download = cpe.get(f"{API}/exports/{token}")
    assert download.status_code == 200
    content = b"".join(download.streaming_content).decode("utf-8")
    assert "Martin;Léa;5e B;1;0;1" in content
    assert client_for(one.head).get(f"{API}/exports/{token}").status_code == 404
    assert AuditEvent.objects.filter(action="attendance_exported").count() == 2
    assert AuditEvent.objects.filter(action="sensitive_read", actor=one.cpe, subject=one.pupil_b).exists()


def test_anonymous_is_refused(world, course_b):
    assert Client().get(roll_url(course_b)).status_code == 401
    assert Client().get(f"{API}/records").status_code == 401


def test_a_guardian_sees_only_their_children_and_not_when_attendance_is_denied(world):
    from preau.directory.models import GuardianLink

    one = world.one
    for pupil in (one.pupil_a, one.pupil_b):
        AttendanceRecord.objects.create(establishment=one.establishment, pupil=pupil, kind="absence",
                                        starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 9))
    mother = client_for(one.mother_b)
    assert [r["pupil"]["id"] for r in mother.get(f"{API}/records").json()["items"]] == [one.pupil_b.pk]
    assert mother.get(f"{API}/pupils/{one.pupil_a.pk}/counts").status_code == 404
    GuardianLink.objects.filter(guardian=one.mother_b).update(denied_services=["attendance"])
    mother = client_for(one.mother_b)
    assert mother.get(f"{API}/records").json()["count"] == 0
    assert mother.get(f"{API}/records", {"pupil": one.pupil_b.pk}).status_code == 404
    assert mother.get(f"{API}/pupils/{one.pupil_b.pk}/counts").status_code == 404
    assert client_for(one.father_b).get(f"{API}/records").json()["count"] == 1


def test_naive_times_are_paris_wall_clock(world):
    one = world.one
    created = client_for(one.cpe).post(f"{API}/records", {
        "pupil_id": one.pupil_b.pk, "starts_at": "2026-10-05T08:00:00", "ends_at": "2026-10-05T12:00:00"},
        content_type="application/json")
    assert created.status_code == 201
    assert AttendanceRecord.objects.get().starts_at == at(MONDAY, 8)


def test_lists_and_dashboard_queries_do_not_grow(world, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preau.directory.testing import make_pupil

    one = world.one
    course = make_course(one)
    cpe = client_for(one.cpe)

    def measure(n):
        pupils = [make_pupil(one.class_b) for _ in range(n)]
        for pupil in pupils:
            AttendanceRecord.objects.create(establishment=one.establishment, pupil=pupil, kind="absence",
                                            starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 12), course=course,
                                            course_date=MONDAY)
        result = []
        with time_machine.travel(at(MONDAY, 10), tick=False):
            for url, params in ((f"{API}/records", {}), (f"{API}/dashboard", {"establishment": one.establishment.pk}),
                                (f"{API}/classes/{one.class_b.pk}/counts", {})):
                with CaptureQueriesContext(connection) as queries:
                    assert cpe.get(url, params).status_code == 200
                result.append(len(queries))
        return result

    measure(1)  # warm caches
    assert measure(3) == measure(25)


def test_family_announcement(world, settings, tmp_path):
    use_media(settings, tmp_path)
    one = world.one
    reason = services.reasons_for(one.establishment.pk).get(code="MAL")
    with time_machine.travel(at(MONDAY, 7), tick=False):
        answer = client_for(one.father_b).post(f"{API}/announcements", {
            "pupil_id": one.pupil_b.pk, "starts_at": "2026-10-05T08:00:00", "ends_at": "2026-10-06T17:00:00",
            "reason_id": reason.pk, "comment": "Gastro"})
        assert answer.status_code == 201, answer.content
        assert answer.json()["source"] == "family" and answer.json()["state"] == "pending"
        refused = client_for(one.guardian_a).post(f"{API}/announcements", {
            "pupil_id": one.pupil_b.pk, "starts_at": "2026-10-05T08:00:00", "ends_at": "2026-10-06T17:00:00",
            "reason_id": reason.pk})
        assert refused.status_code == 404


def test_old_exports_are_purged(world, settings, tmp_path):
    import os

    from preau.attendance import exports

    use_media(settings, tmp_path)
    one = world.one
    token = exports.request_establishment_export(establishment=one.establishment, first_day=MONDAY,
                                                 last_day=MONDAY, kind="records", by=one.cpe)
    exports.build_establishment_export(token=token, establishment_id=one.establishment.pk, user_id=one.cpe.pk,
                                       first_day=MONDAY, last_day=MONDAY, kind="records")
    path = tmp_path / "attendance" / "exports" / str(one.cpe.pk) / f"{token}.csv"
    assert path.exists()
    assert exports.purge_exports() == 0
    old = path.stat().st_mtime - 8 * 86400
    os.utime(path, (old, old))
    assert exports.purge_exports() == 1 and not path.exists()
    assert client_for(one.cpe).get(f"{API}/exports/{token}").status_code == 404
