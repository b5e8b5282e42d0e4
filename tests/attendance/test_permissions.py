"""Who sees and does what in attendance (attcore): the policy's scoping (a guardian sees only their children, not
when ATTENDANCE is denied; teachers their pupils; vie scolaire its establishment; nobody another establishment's),
punishments by kind, incidents, exemptions, exit regimes, sensitive reads."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from preau.access import policy
from preau.accounts.models import User
from preau.attendance import selectors, services
from preau.attendance.models import AttendanceRecord, ExitRegime, Punishment
from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink
from preau.notifications.models import Notification

from .fixtures_attcore import MONDAY, at, make_course, pdf_file, use_media

pytestmark = pytest.mark.django_db


def actor(user):
    """A fresh actor (actors are memoised per user object, i.e. per request)."""
    return policy.actor_for(User.objects.get(pk=user.pk))


@pytest.fixture
def records(world):
    result = {}
    for school in (world.one, world.two):
        for pupil in (school.pupil_a, school.pupil_b, school.pupil_b2):
            result[pupil.pk] = AttendanceRecord.objects.create(
                establishment=school.establishment, pupil=pupil, kind="absence", starts_at=at(MONDAY, 8),
                ends_at=at(MONDAY, 9))
    return result


def visible(user):
    return set(policy.attendance_records_visible_to(actor(user)).values_list("pupil_id", flat=True))


def test_record_scoping(world, records):
    one, two = world.one, world.two
    assert visible(one.mother_b) == {one.pupil_b.pk}
    assert visible(one.guardian_a) == {one.pupil_a.pk}
    assert visible(one.pupil_b) == {one.pupil_b.pk}
    assert visible(one.teacher_b) == {one.pupil_b.pk, one.pupil_b2.pk}
    assert visible(one.group_teacher) == {one.pupil_a.pk}  # the Latin group
    assert visible(one.cpe) == visible(one.head) == {one.pupil_a.pk, one.pupil_b.pk, one.pupil_b2.pk}
    for nobody in (one.secretary, one.nurse, one.ent_admin, world.global_admin):
        assert visible(nobody) == set()
    assert visible(two.cpe) == {two.pupil_a.pk, two.pupil_b.pk, two.pupil_b2.pk}
    GuardianLink.objects.filter(guardian=one.mother_b).update(denied_services=["attendance"])
    assert visible(one.mother_b) == set()
    with pytest.raises(Http404):
        policy.access_attendance_pupil(actor(one.mother_b), one.pupil_b.pk)
    assert visible(one.father_b) == {one.pupil_b.pk}  # grades denied, attendance not


def test_access_is_404_for_missing_and_forbidden(world, records):
    one, two = world.one, world.two
    rec = records[one.pupil_b.pk]
    assert policy.access_attendance_record(actor(one.mother_b), rec.pk) == rec
    for person in (one.guardian_a, one.teacher_a, two.cpe, two.mother_b):
        with pytest.raises(Http404):
            policy.access_attendance_record(actor(person), rec.pk)
    with pytest.raises(Http404):
        policy.access_attendance_record(actor(one.cpe), 10**9)
    with pytest.raises(Http404):
        policy.access_attendance_record(actor(one.cpe), "nope")
    assert policy.access_attendance_pupil(actor(one.teacher_b), one.pupil_b.pk) == one.pupil_b
    with pytest.raises(Http404):
        policy.access_attendance_pupil(actor(one.teacher_b), one.pupil_a.pk)
    with pytest.raises(Http404):
        policy.access_attendance_pupil(actor(two.cpe), one.pupil_b.pk)


def test_can_take_roll_call(world):
    one, two = world.one, world.two
    course = make_course(one)
    assert policy.can_take_roll_call(actor(one.teacher_b), course)
    assert policy.can_take_roll_call(actor(one.cpe), course) and policy.can_take_roll_call(actor(one.head), course)
    for person in (one.teacher_a, one.secretary, one.nurse, one.ent_admin, one.pupil_b, one.mother_b, two.cpe,
                   two.head, world.global_admin):
        assert not policy.can_take_roll_call(actor(person), course)
    # With the occurrence: its teachers after replacement decide.
    from preau.timetable import selectors as timetable
    from preau.timetable.models import CourseChange

    CourseChange.objects.create(course=course, date=MONDAY, status="modified", replacement_teacher=one.teacher_a)
    occ = timetable.occurrence(course.pk, MONDAY)
    assert policy.can_take_roll_call(actor(one.teacher_a), course, MONDAY, occurrence=occ)
    assert policy.can_take_roll_call(actor(one.teacher_a), course, MONDAY)
    assert policy.can_take_roll_call(actor(one.teacher_a), course)  # replaces someone in one of its occurrences
    assert not policy.can_take_roll_call(actor(one.teacher_b), course, MONDAY, occurrence=occ)
    assert not policy.can_take_roll_call(actor(one.teacher_b), course, MONDAY)
    assert policy.can_take_roll_call(actor(one.cpe), course, MONDAY, occurrence=occ)


def test_punishments_by_kind(world, django_capture_on_commit_callbacks):
    one, two = world.one, world.two
    serve = at(MONDAY + datetime.timedelta(days=2), 13)
    with django_capture_on_commit_callbacks(execute=True):
        detention = services.set_punishment(pupil=one.pupil_b, kind="detention", reason="Travail non fait",
                                            serve_on=serve, by=one.teacher_b, now=at(MONDAY, 10))
    assert detention.duration_minutes == 60 and detention.set_by == one.teacher_b
    assert set(Notification.objects.filter(source=f"attendance.punishment:{detention.pk}")
               .values_list("recipient_id", flat=True)) == {one.mother_b.pk, one.father_b.pk}
    with pytest.raises(PermissionDenied):  # a sanction: leadership only
        services.set_punishment(pupil=one.pupil_b, kind="warning", reason="Insolence", by=one.teacher_b)
    with pytest.raises(PermissionDenied):
        services.set_punishment(pupil=one.pupil_b, kind="warning", reason="Insolence", by=one.cpe)
    with pytest.raises(PermissionDenied):  # not their pupil
        services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason="x", by=one.teacher_a)
    for person in (one.secretary, one.mother_b, one.pupil_b2, two.head, two.teacher_b):
        with pytest.raises(PermissionDenied):
            services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason="x", by=person)
    with pytest.raises(ValidationError):  # a detention needs a slot
        services.set_punishment(pupil=one.pupil_b, kind="detention", reason="x", by=one.cpe)
    with pytest.raises(ValidationError):
        services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason="  ", by=one.cpe)
    services.set_punishment(pupil=one.pupil_b, kind="warning", reason="Récidive", by=one.head)
    exclusion = services.set_punishment(pupil=one.pupil_b, kind="temp_exclusion", reason="Violence", by=one.head,
                                        serve_on=serve, serve_until=serve.date() + datetime.timedelta(days=2))
    assert exclusion.serve_until
    services.mark_punishment_served(punishment=detention, by=one.teacher_b)
    detention.refresh_from_db()
    assert detention.served
    with pytest.raises(PermissionDenied):
        services.cancel_punishment(punishment=exclusion, by=one.teacher_b)
    services.cancel_punishment(punishment=exclusion, by=one.cpe, comment="Levée")
    exclusion.refresh_from_db()
    assert exclusion.cancelled
    assert set(policy.punishments_visible_to(actor(one.mother_b)).values_list("pk", flat=True)) == set(
        Punishment.objects.values_list("pk", flat=True))
    assert not policy.punishments_visible_to(actor(one.guardian_a)).exists()
    assert not policy.punishments_visible_to(actor(two.cpe)).exists()
    assert AuditEvent.objects.filter(action="punishment_set").count() == 5


def test_incidents(world):
    one, two = world.one, world.two
    incident = services.report_incident(establishment_id=one.establishment.pk, occurred_at=at(MONDAY, 10),
                                        facts="Bagarre dans la cour", pupils=[one.pupil_b, one.pupil_a],
                                        place="Cour", by=one.teacher_a, now=at(MONDAY, 11))
    assert set(incident.pupils.values_list("pk", flat=True)) == {one.pupil_a.pk, one.pupil_b.pk}
    with pytest.raises(ValidationError):  # a pupil of another establishment
        services.report_incident(establishment_id=one.establishment.pk, occurred_at=at(MONDAY, 10), facts="x",
                                 pupils=[two.pupil_b], by=one.teacher_a, now=at(MONDAY, 11))
    with pytest.raises(ValidationError):  # in the future
        services.report_incident(establishment_id=one.establishment.pk, occurred_at=at(MONDAY, 18), facts="x",
                                 pupils=[one.pupil_b], by=one.teacher_a, now=at(MONDAY, 11))
    for person in (one.mother_b, one.pupil_b, two.teacher_a):
        with pytest.raises(PermissionDenied):
            services.report_incident(establishment_id=one.establishment.pk, occurred_at=at(MONDAY, 10), facts="x",
                                     pupils=[one.pupil_b], by=person, now=at(MONDAY, 11))
    assert list(policy.incidents_visible_to(actor(one.cpe))) == [incident]
    assert list(policy.incidents_visible_to(actor(one.teacher_a))) == [incident]
    for person in (one.teacher_b, one.mother_b, one.pupil_b, two.cpe):
        assert not policy.incidents_visible_to(actor(person)).exists()
    punishment = services.set_punishment(pupil=one.pupil_b, kind="extra_work", reason="Bagarre", incident=incident,
                                         by=one.cpe)
    assert punishment.incident == incident


def test_exemptions_and_exit_regime(world, settings, tmp_path, django_capture_on_commit_callbacks):
    use_media(settings, tmp_path)
    one, two = world.one, world.two
    with django_capture_on_commit_callbacks(execute=True):
        exemption = services.record_exemption(pupil=one.pupil_b, first_day=MONDAY,
                                              last_day=MONDAY + datetime.timedelta(days=30), subject=one.subject,
                                              document=pdf_file(), by=one.nurse)
    assert exemption.document.name.endswith(".pdf")
    assert Notification.objects.filter(source=f"attendance.exemption:{exemption.pk}").count() == 2
    with pytest.raises(PermissionDenied):
        services.record_exemption(pupil=one.pupil_b, first_day=MONDAY, last_day=MONDAY, by=one.teacher_b)
    with pytest.raises(PermissionDenied):
        services.record_exemption(pupil=one.pupil_b, first_day=MONDAY, last_day=MONDAY, by=two.cpe)
    with pytest.raises(ValidationError):
        services.record_exemption(pupil=one.pupil_b, first_day=MONDAY, last_day=MONDAY, subject=two.subject,
                                  by=one.cpe)
    assert list(policy.exemptions_visible_to(actor(one.mother_b))) == [exemption]
    assert list(policy.exemptions_visible_to(actor(one.nurse))) == [exemption]
    assert not policy.exemptions_visible_to(actor(one.guardian_a)).exists()
    # The roll call shows the exemption of the course's subject.
    sheet = services.roll_call_sheet(make_course(one), MONDAY)
    assert one.pupil_b.pk in sheet.exempted
    regime = services.set_exit_regime(pupil=one.pupil_b, by=one.cpe, regime="externe", may_leave_at_lunch=True)
    assert regime.school_year == one.year and ExitRegime.objects.count() == 1
    services.set_exit_regime(pupil=one.pupil_b, by=one.cpe, regime="demi_pensionnaire")
    assert ExitRegime.objects.get().regime == "demi_pensionnaire"
    with pytest.raises(PermissionDenied):
        services.set_exit_regime(pupil=one.pupil_b, by=one.teacher_b, regime="externe")
    with pytest.raises(PermissionDenied):
        services.set_exit_regime(pupil=one.pupil_b, by=two.cpe, regime="externe")
    assert list(policy.exit_regimes_visible_to(actor(one.father_b))) == [ExitRegime.objects.get()]
    assert not policy.exit_regimes_visible_to(actor(two.cpe)).exists()


def test_sensitive_reads_are_logged_for_staff_not_families(world):
    one = world.one
    assert selectors.record_attendance_read(actor=one.cpe, pupil=one.pupil_b, establishment_id=1) is not None
    assert selectors.record_attendance_read(actor=one.teacher_b, pupil=one.pupil_b) is not None
    assert selectors.record_attendance_read(actor=one.mother_b, pupil=one.pupil_b) is None
    assert selectors.record_attendance_read(actor=one.pupil_b, pupil=one.pupil_b) is None
    events = AuditEvent.objects.filter(action="sensitive_read", target="attendance", subject=one.pupil_b)
    assert set(events.values_list("actor_id", flat=True)) == {one.cpe.pk, one.teacher_b.pk}


def test_dashboard(world):
    one = world.one
    now = at(MONDAY, 10, 30)
    taken = make_course(one, start=datetime.time(8), end=datetime.time(9))
    missing = make_course(one, start=datetime.time(9), end=datetime.time(10), teachers=[one.teacher_a],
                          classes=[one.class_a])
    make_course(one, start=datetime.time(14), end=datetime.time(15))  # not started yet
    services.take_roll_call(course=taken, planned_date=MONDAY,
                            marks={one.pupil_b.pk: {"status": "late", "late_minutes": 5}}, by=one.teacher_b,
                            now=at(MONDAY, 8, 5))
    services.record_absence(pupil=one.pupil_b2, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 17), by=one.cpe,
                            now=at(MONDAY, 8))
    data = selectors.dashboard(one.establishment, now)
    assert [r.pupil_id for r in data["absent_now"]] == [one.pupil_b2.pk]
    assert [o.course.pk for o in data["roll_calls_not_taken"]] == [missing.pk]
    assert {r.pupil_id for r in data["unjustified"]} == {one.pupil_b.pk, one.pupil_b2.pk}
    assert data["unjustified_count"] == 2 and data["pending_justifications"] == []
    assert selectors.dashboard(world.two.establishment, now)["unjustified"] == []


def test_reads_of_many_pupils_are_logged_in_one_insert(world, django_assert_num_queries):
    one = world.one
    pupils = [one.pupil_a, one.pupil_b, one.pupil_b2, one.pupil_b]
    user = User.objects.get(pk=one.cpe.pk)
    selectors.record_attendance_reads(actor=user, pupils=pupils[:1])  # the actor's memberships, once
    with django_assert_num_queries(1):
        assert selectors.record_attendance_reads(actor=user, pupils=pupils) == 3
    mother = User.objects.get(pk=one.mother_b.pk)
    assert selectors.record_attendance_reads(actor=mother, pupils=[one.pupil_b]) == 0
