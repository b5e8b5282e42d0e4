"""The justification workflow end to end (attcore): absence at roll call -> family notified -> a guardian with
parental authority justifies online with a document -> vie scolaire accepts or refuses -> family notified;
counts follow. Who may justify, what may be justified, documents checked by content."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from preau.attendance import halfdays, services
from preau.attendance.models import AbsenceReason, AttendanceRecord, Justification
from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink
from preau.notifications.models import Notification

from .fixtures_attcore import MONDAY, at, fake_pdf_html, make_course, pdf_file, png_file, use_media

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    return use_media(settings, tmp_path)


@pytest.fixture
def absent(world, django_capture_on_commit_callbacks):
    """Léa marked absent at the Monday 08:00 maths roll call."""
    one = world.one
    course = make_course(one)
    with django_capture_on_commit_callbacks(execute=True):
        services.take_roll_call(course=course, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))
    return AttendanceRecord.objects.get(pupil=one.pupil_b)


def reason(school, code):
    services.reasons_for(school.establishment.pk)
    return AbsenceReason.objects.get(establishment=school.establishment, code=code)


def test_end_to_end_accept(world, absent, media, django_capture_on_commit_callbacks):
    one = world.one
    assert set(Notification.objects.filter(kind="absence").values_list("recipient_id", flat=True)) == {
        one.mother_b.pk, one.father_b.pk}
    assert {n.url for n in Notification.objects.filter(kind="absence")} == {f"/vie-scolaire/famille/{one.pupil_b.pk}/"}
    with django_capture_on_commit_callbacks(execute=True):
        justification = services.submit_justification(
            pupil=one.pupil_b, records=[absent.pk], reason=reason(one, "MAL"), comment="Fièvre",
            document=pdf_file(), by=one.mother_b, now=at(MONDAY, 18))
    absent.refresh_from_db()
    assert absent.state == "pending" and justification.state == "pending"
    assert justification.document.name.endswith(".pdf") and justification.document_name == "certificat.pdf"
    assert (media / justification.document.name).exists()
    assert halfdays.half_day_counts([one.pupil_b], MONDAY, MONDAY)[one.pupil_b.pk]["pending"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_justification(justification=justification, accept=True, by=one.cpe, now=at(MONDAY, 19))
    absent.refresh_from_db()
    justification.refresh_from_db()
    assert absent.state == "justified" and absent.reason.code == "MAL"
    assert justification.state == "accepted" and justification.decided_by == one.cpe
    decided = Notification.objects.filter(source=f"attendance.justification:{justification.pk}")
    assert set(decided.values_list("recipient_id", flat=True)) == {one.mother_b.pk, one.father_b.pk}
    c = halfdays.half_day_counts([one.pupil_b], MONDAY, MONDAY)[one.pupil_b.pk]
    assert c["justified"] == 1 and c["unjustified"] == 0
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"justification_submitted", "justification_decided"} <= actions
    with pytest.raises(ValidationError):  # decided once only
        services.decide_justification(justification=justification, accept=False, comment="Non", by=one.cpe)


def test_refusal_needs_a_comment_and_allows_a_new_justification(world, absent):
    one = world.one
    justification = services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "FAM"),
                                                  by=one.father_b)
    with pytest.raises(ValidationError):
        services.decide_justification(justification=justification, accept=False, by=one.cpe)
    services.decide_justification(justification=justification, accept=False, comment="Motif insuffisant",
                                  by=one.cpe)
    absent.refresh_from_db()
    assert absent.state == "refused"
    again = services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "RDV"),
                                          by=one.mother_b)
    absent.refresh_from_db()
    assert absent.state == "pending" and again.pk != justification.pk


def test_what_a_family_may_justify(world, absent):
    one = world.one
    with pytest.raises(ValidationError):  # a reason not offered to families
        services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "SM"),
                                      by=one.mother_b)
    with pytest.raises(ValidationError):  # another establishment's reason
        services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(world.two, "MAL"),
                                      by=one.mother_b)
    with pytest.raises(ValidationError):  # nothing chosen
        services.submit_justification(pupil=one.pupil_b, records=[], reason=reason(one, "MAL"), by=one.mother_b)
    other = AttendanceRecord.objects.create(establishment=one.establishment, pupil=one.pupil_a, kind="absence",
                                            starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 9))
    with pytest.raises(ValidationError):  # another child's record
        services.submit_justification(pupil=one.pupil_b, records=[absent, other], reason=reason(one, "MAL"),
                                      by=one.mother_b)
    services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"), by=one.mother_b)
    with pytest.raises(ValidationError):  # already pending
        services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"),
                                      by=one.father_b)
    assert Justification.objects.count() == 1


def test_who_may_justify(world, absent):
    one, two = world.one, world.two
    for person in (one.guardian_a, one.pupil_b, one.teacher_b, one.secretary, one.nurse, one.ent_admin, two.cpe,
                   two.mother_b, world.global_admin):
        with pytest.raises(PermissionDenied):
            services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"), by=person)
    # Without parental authority, or with ATTENDANCE denied: no.
    GuardianLink.objects.filter(guardian=one.father_b).update(legal_authority=False)
    GuardianLink.objects.filter(guardian=one.mother_b).update(denied_services=["attendance"])
    for person in (one.father_b, one.mother_b):
        with pytest.raises(PermissionDenied):
            services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"), by=person)
    assert not Justification.objects.exists()
    # Vie scolaire justifies itself: accepted at once.
    justification = services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "SM"),
                                                  by=one.cpe)
    absent.refresh_from_db()
    assert justification.state == "accepted" and absent.state == "unjustified"  # "Sans motif" does not justify
    services.update_record(record=absent, by=one.cpe, state="refused")
    services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "CONV"), by=one.cpe)
    absent.refresh_from_db()
    assert absent.state == "justified" and absent.reason.code == "CONV"


def test_only_vie_scolaire_of_the_establishment_decides(world, absent):
    one, two = world.one, world.two
    justification = services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"),
                                                  by=one.mother_b)
    for person in (one.teacher_b, one.mother_b, one.secretary, one.ent_admin, two.cpe, two.head):
        with pytest.raises(PermissionDenied):
            services.decide_justification(justification=justification, accept=True, by=person)
    services.decide_justification(justification=justification, accept=True, by=one.head)


def test_documents_are_checked_by_content_and_size(world, absent, media):
    one = world.one
    with pytest.raises(ValidationError, match="PDF ou une image"):
        services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"),
                                      document=fake_pdf_html(), by=one.mother_b)
    with pytest.raises(ValidationError, match="5 Mo"):
        services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"),
                                      document=pdf_file(size=5 * 1024 * 1024 + 1), by=one.mother_b)
    absent.refresh_from_db()
    assert absent.state == "unjustified" and not Justification.objects.exists()
    assert not list(media.rglob("*.pdf"))
    justification = services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"),
                                                  document=png_file("ordonnance.pdf"), by=one.mother_b)
    assert justification.document.name.endswith(".png")  # the content decides, not the name


def test_vie_scolaire_records_a_multi_day_absence_with_a_justifying_reason(world, django_capture_on_commit_callbacks):
    one = world.one
    with django_capture_on_commit_callbacks(execute=True):
        rec = services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 17),
                                      reason=reason(one, "SORT"), by=one.cpe, now=at(MONDAY, 7))
    assert rec.state == "justified" and rec.source == "vie_scolaire"
    assert not Notification.objects.filter(kind="absence").exists()  # justified: nothing to tell
    with pytest.raises(PermissionDenied):
        services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 17),
                                by=one.teacher_b)
    with pytest.raises(PermissionDenied):
        services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 17), by=world.two.cpe)
    with pytest.raises(ValidationError):
        services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 17), ends_at=at(MONDAY, 8), by=one.cpe)
    services.update_record(record=rec, by=one.cpe, reason=reason(one, "SM"))
    rec.refresh_from_db()
    assert rec.state == "unjustified"
    services.delete_record(record=rec, by=one.cpe)
    assert not AttendanceRecord.objects.exists()
    assert AuditEvent.objects.filter(action="attendance_changed").count() == 2


def test_record_absence_absorbs_the_roll_call_absences_it_covers(world, absent):
    one = world.one
    services.record_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 0), ends_at=at(MONDAY, 23), by=one.cpe,
                            reason=reason(one, "MAL"))
    rows = list(AttendanceRecord.objects.filter(pupil=one.pupil_b))
    assert len(rows) == 1 and rows[0].source == "vie_scolaire" and rows[0].state == "justified"


def test_reasons_are_created_lazily_and_managed_by_vie_scolaire(world):
    one = world.one
    assert not AbsenceReason.objects.exists()
    labels = list(services.reasons_for(one.establishment.pk).values_list("label", flat=True))
    assert labels[:3] == ["Maladie", "Rendez-vous médical", "Raison familiale"] and "Sans motif" in labels
    assert "Sans motif" not in services.reasons_for(one.establishment.pk, families=True).values_list("label",
                                                                                                     flat=True)
    created = services.save_reason(establishment_id=one.establishment.pk, by=one.cpe, label="Stage en entreprise")
    assert created.code and created.justifies
    services.save_reason(establishment_id=one.establishment.pk, by=one.cpe, label="Stage", reason=created,
                         is_active=False)
    assert "Stage" not in services.reasons_for(one.establishment.pk).values_list("label", flat=True)
    with pytest.raises(PermissionDenied):
        services.save_reason(establishment_id=one.establishment.pk, by=one.teacher_a, label="X")
    with pytest.raises(ValidationError):
        services.save_reason(establishment_id=one.establishment.pk, by=one.cpe, label="  ")


def test_a_family_announces_an_absence(world, media, django_capture_on_commit_callbacks):
    one = world.one
    course = make_course(one)
    rec = services.announce_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 7), ends_at=at(MONDAY, 18),
                                    reason=reason(one, "RDV"), comment="Dentiste", document=png_file(),
                                    by=one.mother_b, now=at(MONDAY, 7))
    assert rec.source == "family" and rec.state == "pending"
    justification = Justification.objects.get()
    assert list(justification.records.all()) == [rec] and justification.document
    # The roll call shows Léa absent (known), writes nothing for her, and her family is not told again.
    sheet = services.roll_call_sheet(course, MONDAY)
    assert sheet.marks[one.pupil_b.pk]["covered"] and sheet.marks[one.pupil_b.pk]["state"] == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        services.take_roll_call(course=course, planned_date=MONDAY, marks={one.pupil_b.pk: "absent"},
                                by=one.teacher_b, now=at(MONDAY, 8, 5))
    assert AttendanceRecord.objects.filter(pupil=one.pupil_b).count() == 1
    assert not Notification.objects.filter(kind="absence").exists()
    services.decide_justification(justification=justification, accept=True, by=one.cpe)
    rec.refresh_from_db()
    assert rec.state == "justified"
    with pytest.raises(ValidationError):  # the past is justified, not announced
        services.announce_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 9),
                                  reason=reason(one, "RDV"), by=one.mother_b, now=at(MONDAY.replace(day=6), 8))
    for person in (one.guardian_a, one.teacher_b, world.two.mother_b):
        with pytest.raises(PermissionDenied):
            services.announce_absence(pupil=one.pupil_b, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 9),
                                      reason=reason(one, "RDV"), by=person, now=at(MONDAY, 7))


def test_a_failure_after_the_document_was_stored_deletes_it(world, absent, media, monkeypatch):
    one = world.one

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit", broken)
    with pytest.raises(RuntimeError):
        services.submit_justification(pupil=one.pupil_b, records=[absent], reason=reason(one, "MAL"),
                                      document=pdf_file(), by=one.mother_b)
    absent.refresh_from_db()
    assert absent.state == "unjustified" and not Justification.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_deleting_the_only_record_of_a_pending_justification_removes_it_and_its_document(
        world, absent, media, django_capture_on_commit_callbacks):
    one = world.one
    with django_capture_on_commit_callbacks(execute=True):
        justification = services.submit_justification(
            pupil=one.pupil_b, records=[absent.pk], reason=reason(one, "MAL"), document=pdf_file(),
            by=one.mother_b, now=at(MONDAY, 18))
    stored = media / justification.document.name
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_record(record=absent, by=one.cpe)
    assert not Justification.objects.filter(pk=justification.pk).exists()
    assert not stored.exists()


def test_a_decided_justification_stays_when_its_record_is_deleted(world, absent, django_capture_on_commit_callbacks):
    one = world.one
    justification = services.submit_justification(pupil=one.pupil_b, records=[absent.pk],
                                                  reason=reason(one, "MAL"), by=one.mother_b, now=at(MONDAY, 18))
    services.decide_justification(justification=justification, accept=True, by=one.cpe, now=at(MONDAY, 19))
    absent.refresh_from_db()
    services.delete_record(record=absent, by=one.cpe)
    assert Justification.objects.filter(pk=justification.pk).exists()
