"""The fixes of the review of issue 5 (docs/attendance.md), attendance side: each test failed before its fix.

H1 justifications and exemption certificates are not for teachers; H2 staff read only their establishments'
records of a pupil; H3 staff reads of lists are audited; M3 incidents reach families; M8 absorbing roll-call
absences keeps decided ones; M9 concurrent justifications; M11 establishment exports; L13-L16."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from preau.attendance import services
from preau.attendance.models import AttendanceRecord, Exemption, Justification
from preau.audit.models import AuditEvent

from .fixtures_family import MONDAY, TODAY, at, family_url, frozen_school, pdf_file, text

pytestmark = pytest.mark.django_db
API = "/api/v1/attendance"


@pytest.fixture
def one(world, settings, tmp_path):
    yield from frozen_school(world.one, settings, tmp_path)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reads(**filters):
    return AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ, target="attendance", **filters)


def lea_justified(school):
    """Léa (pupil_b, taught by teacher_b) absent on Monday, justified by her mother with a certificate."""
    record = services.record_absence(pupil=school.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 10),
                                     by=school.cpe, now=TODAY)
    reason = services.reasons_for(school.establishment.pk, families=True).first()
    return services.submit_justification(pupil=school.pupil_b, records=[record], reason=reason,
                                         by=school.mother_b, comment="Gastro-entérite, voir certificat.",
                                         document=pdf_file(), now=TODAY)


def lea_exempted(school):
    return services.record_exemption(pupil=school.pupil_b, first_day=TODAY.date(),
                                     last_day=TODAY.date() + datetime.timedelta(days=20), by=school.nurse,
                                     subject=school.subject, comment="Entorse de la cheville", document=pdf_file(),
                                     must_attend=True, now=TODAY)


# --- H1: justifications and certificates are not for teachers -----------------------------------------------

def test_h1_teachers_never_read_justifications_or_their_documents(one):
    item = lea_justified(one)
    teacher = client_for(one.teacher_b)  # teaches Léa
    assert teacher.get(f"/vie-scolaire/justifications/{item.pk}/document/").status_code == 404
    assert teacher.get(f"{API}/justifications/{item.pk}/document").status_code == 404
    assert teacher.get(f"{API}/justifications").json()["count"] == 0
    page = text(teacher.get(f"/vie-scolaire/eleve/{one.pupil_b.pk}/"))
    assert "Gastro-entérite" not in page
    assert "Justification à examiner" in page  # the record's state flag stays
    # vie scolaire and the family still read it
    assert client_for(one.cpe).get(f"/vie-scolaire/justifications/{item.pk}/document/").status_code == 200
    assert client_for(one.mother_b).get(f"{API}/justifications").json()["count"] == 1


def test_h1_teachers_see_an_exemption_but_not_its_comment_nor_its_certificate(one):
    exemption = lea_exempted(one)
    teacher = client_for(one.teacher_b)
    assert teacher.get(f"/vie-scolaire/dispenses/{exemption.pk}/certificat/").status_code == 404
    assert teacher.get(f"{API}/exemptions/{exemption.pk}/document").status_code == 404
    item = teacher.get(f"{API}/exemptions").json()["items"][0]
    assert item["subject_label"] == one.subject.label and item["must_attend"]
    assert item["comment"] == "" and not item["has_document"] and item["document_name"] == ""
    page = text(teacher.get("/vie-scolaire/dispenses/"))
    assert "Dispense de" in page and "Entorse" not in page
    for user in (one.nurse, one.cpe, one.mother_b):
        client = client_for(user)
        assert client.get(f"/vie-scolaire/dispenses/{exemption.pk}/certificat/").status_code == 200, user
        assert client.get(f"{API}/exemptions").json()["items"][0]["comment"] == "Entorse de la cheville"
    assert Exemption.objects.count() == 1


# --- H2: staff read only their establishments' records ----------------------------------------------------------

def transferred(world):
    """Léa absent twice at school one, then moved to school two's 5e B (taught there by two.teacher_b)."""
    from preau.directory.models import ClassEnrolment, Membership
    from preau.directory.testing import add_membership

    one, two = world.one, world.two
    lea = one.pupil_b
    for day in (MONDAY, MONDAY + datetime.timedelta(days=1)):
        services.record_absence(pupil=lea, starts_at=at(day, 8), ends_at=at(day, 17), by=one.cpe, now=TODAY,
                                comment="Absence à l'ancien collège")
    Membership.objects.filter(user=lea, establishment=one.establishment).update(is_active=False)
    ClassEnrolment.objects.filter(pupil=lea).delete()
    add_membership(lea, two.establishment, "pupil")
    ClassEnrolment.objects.create(pupil=lea, school_class=two.class_b)
    return lea


def test_h2_the_new_schools_staff_do_not_read_the_former_schools_records(world, settings, tmp_path):
    for _school in frozen_school(world.one, settings, tmp_path):
        lea = transferred(world)
        two = world.two
        for user in (two.cpe, two.teacher_b):
            client = client_for(user)
            response = client.get(f"/vie-scolaire/eleve/{lea.pk}/")
            assert response.status_code == 200, user
            page = text(response)
            assert "Absence à l'ancien collège" not in page
            assert response.context["summary"]["counts"]["absent"] == 0
            assert response.context["summary"]["records"] == []
            assert all(row["counts"]["absent"] == 0 for row in response.context["period_rows"])
            body = client.get(f"{API}/pupils/{lea.pk}/counts").json()
            assert body["counts"]["absent"] == 0 and all(p["counts"]["absent"] == 0 for p in body["periods"])
        # her family still reads everything
        family = client_for(world.one.mother_b).get(f"{API}/pupils/{lea.pk}/counts").json()
        assert family["counts"]["absent"] == 4


# --- H3: staff reads of lists are audited, one INSERT per page -----------------------------------------------------

def audited_get(client, url, **params):
    """GET url; (response, pupil ids logged as read, INSERT statements into the audit log)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reads().delete()
    table = AuditEvent._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT") and table in q["sql"]]
    return response, sorted(reads().values_list("subject_id", flat=True)), len(inserts)


def test_h3_lists_dashboard_queue_and_roll_call_log_the_pupils_they_show(one):
    from .fixtures_attcore import make_course

    a, b = one.pupil_a, one.pupil_b
    services.record_absence(pupil=b, starts_at=at(TODAY.date(), 8), ends_at=at(TODAY.date(), 17), by=one.cpe,
                            now=TODAY)  # absent now, unjustified
    record = services.record_absence(pupil=a, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 9), by=one.cpe, now=TODAY)
    reason = services.reasons_for(one.establishment.pk, families=True).first()
    services.submit_justification(pupil=a, records=[record], reason=reason, by=one.guardian_a, now=TODAY)
    services.report_incident(establishment_id=one.establishment.pk, occurred_at=TODAY, facts="Chahut.", pupils=[a, b],
                             by=one.cpe, now=TODAY)
    services.set_punishment(pupil=b, kind="extra_work", reason="Exercices.", by=one.cpe, now=TODAY)
    services.record_exemption(pupil=a, first_day=TODAY.date(), last_day=TODAY.date(), by=one.cpe, now=TODAY)
    cpe = client_for(one.cpe)
    for url, expected in (("/vie-scolaire/", [a.pk, b.pk]), ("/vie-scolaire/justifications/", [a.pk]),
                          ("/vie-scolaire/incidents/", [a.pk, b.pk]), ("/vie-scolaire/punitions/", [b.pk]),
                          ("/vie-scolaire/dispenses/", [a.pk])):
        response, logged, inserts = audited_get(cpe, url)
        assert response.status_code == 200, url
        assert logged == expected and inserts == 1, url
    response, logged, inserts = audited_get(cpe, f"{API}/dashboard", establishment=one.establishment.pk)
    assert response.status_code == 200 and logged == [a.pk, b.pk] and inserts == 1
    response, logged, inserts = audited_get(cpe, f"{API}/incidents")
    assert response.json()["count"] == 1 and logged == [a.pk, b.pk] and inserts == 1

    course = make_course(one, weekday=2, start=datetime.time(10), end=datetime.time(11))  # 5e B, teacher_b
    teacher = client_for(one.teacher_b)
    day = TODAY.date().isoformat()
    response, logged, inserts = audited_get(teacher, f"/vie-scolaire/appel/{course.pk}/{day}/")
    assert response.status_code == 200 and "Absence signalée" in text(response)
    assert logged == [b.pk] and inserts == 1  # Léa's known absence is shown, not pupil_b2's nothing
    response, logged, inserts = audited_get(teacher, f"{API}/roll-calls/{course.pk}/{day}")
    assert response.status_code == 200 and logged == [b.pk] and inserts == 1


# --- M3: incidents reach families --------------------------------------------------------------------------------

def test_m3_families_are_notified_and_see_their_childs_incidents(one, django_capture_on_commit_callbacks):
    from .fixtures_attcore import make_course

    course = make_course(one, weekday=2, start=datetime.time(9), end=datetime.time(10))
    with django_capture_on_commit_callbacks(execute=True):
        alone, several = report_both(one, course)
    _m3_checks(one, alone, several, course)


def report_both(one, course):
    a, b = one.pupil_a, one.pupil_b
    alone = services.report_incident(establishment_id=one.establishment.pk, occurred_at=at(TODAY.date(), 9, 15),
                                     facts="Léa a lancé une chaise.", pupils=[b], by=one.teacher_b, place="Salle 12",
                                     course=course, now=TODAY)
    several = services.report_incident(establishment_id=one.establishment.pk, occurred_at=at(TODAY.date(), 8),
                                       facts="Bagarre entre Léa et Adam, Adam frappe le premier.", pupils=[a, b],
                                       by=one.cpe, place="Cour", now=TODAY)
    services.set_punishment(pupil=b, kind="detention", reason="Bagarre.", by=one.cpe, incident=several,
                            serve_on=at(TODAY.date() + datetime.timedelta(days=2), 16), now=TODAY)
    services.set_punishment(pupil=a, kind="extra_work", reason="Bagarre, premier coup.", by=one.cpe,
                            incident=several, now=TODAY)
    return alone, several


def _m3_checks(one, alone, several, course):
    from preau.notifications.models import Notification

    a, b = one.pupil_a, one.pupil_b
    told = Notification.objects.filter(recipient=one.mother_b, source__startswith="attendance.incident:")
    assert told.count() == 2
    assert "Léa a lancé une chaise." in told.get(source=f"attendance.incident:{alone.pk}:{b.pk}").body
    shared = told.get(source=f"attendance.incident:{several.pk}:{b.pk}").body
    assert "plusieurs élèves" in shared and "Adam" not in shared
    assert Notification.objects.filter(recipient=one.guardian_a,
                                       source=f"attendance.incident:{several.pk}:{a.pk}").exists()

    page = text(client_for(one.mother_b).get(family_url(b)))
    assert f'id="incident-{alone.pk}"' in page and "Léa a lancé une chaise." in page and "Salle 12" in page
    assert course.display_label in page
    assert f'id="incident-{several.pk}"' in page and "Incident impliquant plusieurs élèves." in page
    assert "Adam frappe" not in page and "Bagarre, premier coup." not in page  # not the other child's facts
    assert "Retenue" in page
    page = text(client_for(b).get("/vie-scolaire/famille/"))  # the pupil themself
    assert "Léa a lancé une chaise." in page and "Adam frappe" not in page
    page = text(client_for(one.guardian_a).get(family_url(a)))
    assert f'id="incident-{several.pk}"' in page and f'id="incident-{alone.pk}"' not in page
    assert "Léa a lancé" not in page


# --- M8: a longer absence never swallows a decided or pending roll-call absence ------------------------------------

def roll_call_absence(school, course, day, *pupils):
    services.take_roll_call(course=course, planned_date=day, marks={p.pk: "absent" for p in pupils}, by=school.cpe,
                            now=at(day, 8, 10))
    records = [AttendanceRecord.objects.get(pupil=p, roll_call__isnull=False, course_date=day) for p in pupils]
    return records[0] if len(records) == 1 else records


def test_m8_record_absence_keeps_justified_and_pending_roll_call_absences(one):
    from .fixtures_attcore import make_course

    b, b2 = one.pupil_b, one.pupil_b2
    course = make_course(one)  # 5e B, Mondays 8-9
    pending, plain = roll_call_absence(one, course, MONDAY, b, b2)
    reason = services.reasons_for(one.establishment.pk, families=True).first()
    justification = services.submit_justification(pupil=b, records=[pending], reason=reason, by=one.mother_b,
                                                  document=pdf_file(), now=TODAY)
    for pupil in (b, b2):
        services.record_absence(pupil=pupil, starts_at=at(MONDAY, 7), ends_at=at(MONDAY, 18), by=one.cpe, now=TODAY)
    pending.refresh_from_db()  # still there, still awaiting the decision, still in its justification
    assert pending.state == AttendanceRecord.State.PENDING
    assert list(justification.records.all()) == [pending]
    assert not AttendanceRecord.objects.filter(pk=plain.pk).exists()  # an unjustified one is absorbed as before


def test_m8_announce_absence_keeps_a_justified_roll_call_absence(one):
    from .fixtures_attcore import make_course

    b = one.pupil_b
    today = TODAY.date()
    course = make_course(one, weekday=2, start=datetime.time(8), end=datetime.time(9))
    record = roll_call_absence(one, course, today, b)
    services.update_record(record=record, by=one.cpe, state=AttendanceRecord.State.JUSTIFIED)
    reason = services.reasons_for(one.establishment.pk, families=True).first()
    services.announce_absence(pupil=b, starts_at=at(today, 8), ends_at=at(today, 18), reason=reason,
                              by=one.mother_b, now=TODAY)
    record.refresh_from_db()
    assert record.state == AttendanceRecord.State.JUSTIFIED


# --- M9: two justifications of the same records at once ------------------------------------------------------------

def test_m9_a_justification_racing_another_is_refused_and_nothing_is_kept(one, monkeypatch):
    from django.core.exceptions import ValidationError

    b = one.pupil_b
    record = services.record_absence(pupil=b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 10), by=one.cpe, now=TODAY)
    reason = services.reasons_for(one.establishment.pk, families=True).first()
    original = services.check_document

    def father_sends_his_meanwhile(upload):
        checked = original(upload)  # the mother's upload is being checked when the father's arrives
        services.submit_justification(pupil=b, records=[record], reason=reason, by=one.father_b, now=TODAY)
        return checked

    monkeypatch.setattr(services, "check_document", father_sends_his_meanwhile)
    with pytest.raises(ValidationError):
        services.submit_justification(pupil=b, records=[record], reason=reason, by=one.mother_b,
                                      document=pdf_file(), now=TODAY)
    only = Justification.objects.get()
    assert only.submitted_by == one.father_b and list(only.records.all()) == [record]


# --- M11: establishment exports ----------------------------------------------------------------------------------

def test_m11_exports_leave_out_former_pupils_and_need_the_function_at_download(one):
    from preau.attendance import exports
    from preau.directory.models import Membership

    b, b2 = one.pupil_b, one.pupil_b2
    for pupil in (b, b2):
        services.record_absence(pupil=pupil, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 10), by=one.cpe, now=TODAY)
    Membership.objects.filter(user=b2, role="pupil").update(is_active=False)  # left the school
    tokens = {}
    for kind in ("counts", "records"):
        token = exports.request_establishment_export(establishment=one.establishment, first_day=MONDAY,
                                                     last_day=TODAY.date(), kind=kind, by=one.cpe)
        exports.build_establishment_export(token=token, establishment_id=one.establishment.pk, user_id=one.cpe.pk,
                                           first_day=MONDAY, last_day=TODAY.date(), kind=kind)
        tokens[kind] = token
    cpe = client_for(one.cpe)
    for kind, token in tokens.items():
        response = cpe.get(f"{API}/exports/{token}")
        assert response.status_code == 200, kind
        content = b"".join(response.streaming_content).decode("utf-8")
        assert f";{b.first_name};" in content and f";{b2.first_name};" not in content, kind
    Membership.objects.filter(user=one.cpe, role="staff").update(functions=[])  # no longer CPE
    assert client_for(one.cpe).get(f"{API}/exports/{tokens['counts']}").status_code == 404


# --- L13: the scoping is the policy's (no hand filters in views) ---------------------------------------------------

def test_l13_policy_functions_scope_classes_exemption_pupils_and_reasons(world):
    from django.http import Http404

    from preau.access import policy

    one, two = world.one, world.two
    actor = policy.actor_for
    assert set(policy.attendance_classes_visible_to(actor(one.teacher_a))) == {one.class_a}
    assert set(policy.attendance_classes_visible_to(actor(one.cpe))) == {one.class_a, one.class_b}
    assert not policy.attendance_classes_visible_to(actor(one.group_teacher)).exists()  # a group, not a class
    assert not policy.attendance_classes_visible_to(actor(one.mother_b)).exists()
    assert policy.can_read_attendance_class(actor(one.teacher_b), one.class_b)
    assert not policy.can_read_attendance_class(actor(one.teacher_b), one.class_a)
    with pytest.raises(Http404):
        policy.access_attendance_class(actor(two.cpe), one.class_a.pk)
    nurse_pupils = set(policy.exemption_pupils_visible_to(actor(one.nurse)))
    assert {one.pupil_a, one.pupil_b, one.pupil_b2} <= nurse_pupils and two.pupil_a not in nurse_pupils
    assert not policy.exemption_pupils_visible_to(actor(one.teacher_b)).exists()
    assert policy.access_exemption_pupil(actor(one.nurse), one.pupil_b.pk) == one.pupil_b
    with pytest.raises(Http404):
        policy.access_exemption_pupil(actor(one.nurse), two.pupil_b.pk)
    reason = services.reasons_for(one.establishment.pk).first()
    assert policy.access_absence_reason(actor(one.cpe), reason.pk, one.establishment.pk) == reason
    for person, establishment in ((two.cpe, two.establishment.pk), (one.teacher_a, one.establishment.pk),
                                  (one.cpe, two.establishment.pk)):
        with pytest.raises(Http404):
            policy.access_absence_reason(actor(person), reason.pk, establishment)
    # the pages and the API answer alike
    assert client_for(one.teacher_a).get(f"/vie-scolaire/classe/{one.class_b.pk}/").status_code == 404
    assert client_for(one.teacher_b).get(f"{API}/classes/{one.class_b.pk}/counts").status_code == 200
    assert client_for(one.cpe).put(f"{API}/reasons/{reason.pk}", {"establishment_id": two.establishment.pk,
                                                                 "label": "x"},
                                   content_type="application/json").status_code == 404


# --- L14: 404 on every attendance data screen ----------------------------------------------------------------------

def test_l14_data_screens_answer_404_to_whoever_may_not_use_them(one):
    for user in (one.teacher_b, one.nurse, one.mother_b):
        assert client_for(user).get("/vie-scolaire/justifications/").status_code == 404, user
    teacher = client_for(one.teacher_b)  # sees Léa, not her exit regime form
    assert teacher.get(f"/vie-scolaire/regime-de-sortie/{one.pupil_b.pk}/").status_code == 404
    assert client_for(one.ent_admin).get("/vie-scolaire/punitions/").status_code == 404
    assert client_for(one.secretary).get("/vie-scolaire/famille/").status_code == 404
    assert teacher.get(f"{API}/dashboard", {"establishment": one.establishment.pk}).status_code == 404
    assert teacher.get(f"{API}/classes/{one.class_b.pk}/export").status_code == 404
    assert teacher.post(f"{API}/reasons", {"establishment_id": one.establishment.pk, "label": "Piscine"},
                        content_type="application/json").status_code == 404
    # an action refused on something the actor sees stays 403
    assert client_for(one.pupil_b).get(f"/vie-scolaire/famille/{one.pupil_b.pk}/justifier/").status_code == 403


# --- L15: no dead code ---------------------------------------------------------------------------------------------

def test_l15_no_import_guard_and_no_unused_duplicate():
    import inspect

    from django.urls import reverse

    from preau.attendance import urls

    assert "ModuleNotFoundError" not in inspect.getsource(urls)
    assert reverse("attendance:family") == "/vie-scolaire/famille/"
    assert not hasattr(services, "justifiable_records")  # family_views._justifiable_records is the one used


# --- L16: the pages' choices are selectors -------------------------------------------------------------------------

def test_l16_period_and_pupil_choices_are_selectors(world):
    from preau.attendance import selectors
    from preau.directory.models import Period

    one = world.one
    periods = selectors.periods_of(one.year)
    first, second = periods[0], periods[1]
    assert selectors.choose_period(periods, str(second.index), first.start) == second
    assert selectors.choose_period(periods, "99", second.start) == second  # today's
    assert selectors.choose_period(periods, None, periods[-1].end + datetime.timedelta(days=3)) == periods[-1]
    assert selectors.current_period(one.establishment.pk, first.start) == first
    assert selectors.current_period(one.establishment.pk, periods[-1].end + datetime.timedelta(days=60)) is None
    assert Period.objects.filter(school_year=one.year).count() == len(periods)
    pupils = services_pupils(one)
    assert selectors.search_pupils(pupils, one.pupil_b.last_name[:3].lower() + " " + one.pupil_b.first_name) == [
        one.pupil_b]
    assert selectors.search_pupils(pupils, "", chosen=one.pupil_a) == [one.pupil_a]
    assert selectors.pupil_in(pupils, str(one.pupil_b.pk)) == one.pupil_b
    assert selectors.pupil_in(pupils, "abc") is None and selectors.pupil_in(pupils, "9" * 30) is None
    assert selectors.pupil_in(pupils, str(world.two.pupil_b.pk)) is None  # outside the scoped queryset


def services_pupils(school):
    from preau.access import policy

    return (policy.attendance_pupils_visible_to(policy.actor_for(school.cpe))
            .filter(memberships__establishment_id=school.establishment.pk).distinct()
            .order_by("last_name", "first_name", "pk"))


# --- L17: the docs say what the code does -------------------------------------------------------------------------

def test_l17_docs_and_docstrings_match_the_code():
    from pathlib import Path

    from preau.attendance import family_views

    root = Path(__file__).resolve().parents[2]
    domain = (root / "docs" / "attendance.md").read_text()
    pages = (root / "docs" / "attendance-pages.md").read_text()
    assert "vie scolaire edits\n  its record" not in domain and "attendance:record_edit" in domain
    assert "never the pupil's teachers" in family_views.justification_document.__doc__
    assert "the pupil's teachers) |" not in pages  # the document row no longer names them as readers
    assert "(403 otherwise)" not in pages
