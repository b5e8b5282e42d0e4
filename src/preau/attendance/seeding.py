"""Demo attendance for `preau seed` (docs/attendance.md, docs/seed.md): for the demo collège (the first seeded
collège of the seed), once its timetable exists:

- the default reasons;
- the roll calls of the last ten school days before today (every occurrence that is not cancelled), with about
  3 % of pupils absent and 2 % late per course; about half of those absences justified by vie scolaire, some
  awaiting a family's justification (pending), a few refused;
- a few absences over several days entered by vie scolaire (sickness, justified) and one unjustified;
- incidents and punishments (extra work and detentions by teachers, a warning by the head), PE exemptions, and
  every pupil's exit regime;
- the printed demo pupil (the demo guardian's child) with an unjustified absence to justify online.

Rows are written in bulk, without notifications or audit (this is demo data, not events). Deterministic from the
seed; an establishment that already has attendance data is left as it is.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolYear,
    StaffFunction,
    Subject,
)

from .defaults import ensure_default_reasons
from .models import (
    AbsenceReason,
    AttendanceRecord,
    Exemption,
    ExitRegime,
    Incident,
    Justification,
    Punishment,
    RollCall,
)

PARIS = ZoneInfo("Europe/Paris")
PAST_SCHOOL_DAYS = 10
ABSENT_RATE, LATE_RATE = 0.03, 0.02
Kind = AttendanceRecord.Kind
State = AttendanceRecord.State


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=PARIS)


def _past_school_days(year: SchoolYear, today: datetime.date, count: int) -> list[datetime.date]:
    from preau.timetable import occurrences as occ
    from preau.timetable.selectors import calendar_with_periods

    calendar = calendar_with_periods(year)
    days, day = [], today - datetime.timedelta(days=1)
    while len(days) < count and day >= year.start:
        if occ.is_school_day(calendar, day):
            days.append(day)
        day -= datetime.timedelta(days=1)
    return sorted(days)


def seed_attendance(seed: int, *, today: datetime.date | None = None, now: datetime.datetime | None = None
                    ) -> Counter:
    """Demo attendance for the demo collège of `seed`. Returns what was created."""
    counts: Counter = Counter()
    now = now or timezone.now()
    today = today or now.astimezone(PARIS).date()
    establishment = (Establishment.objects.filter(external_id__startswith=f"SEED-{seed}-",
                                                  kind=Establishment.Kind.COLLEGE).order_by("external_id").first())
    if establishment is None:
        return counts
    year = SchoolYear.objects.filter(establishment=establishment, is_current=True).first()
    if year is None or AttendanceRecord.objects.filter(establishment=establishment).exists() \
            or RollCall.objects.filter(establishment=establishment).exists():
        return counts
    rng = random.Random(f"preau-seed:{seed}:attendance:{establishment.external_id}")
    ensure_default_reasons(establishment.pk)
    reasons = {r.code: r for r in AbsenceReason.objects.filter(establishment=establishment)}
    staff = {f: uid for uid, functions in Membership.objects.filter(
        establishment=establishment, role=Role.STAFF, is_active=True).values_list("user_id", "functions")
        for f in functions or []}
    cpe_id = staff.get(StaffFunction.CPE) or staff.get(StaffFunction.VIE_SCOLAIRE)
    head_id = staff.get(StaffFunction.HEAD)
    with transaction.atomic():
        _roll_calls(establishment, year, today, now, rng, reasons, cpe_id, counts)
        _vie_scolaire(establishment, year, today, rng, reasons, cpe_id, counts)
        _discipline(establishment, year, today, now, rng, head_id, cpe_id, counts)
        _demo_pupil(seed, establishment, counts)
    return counts


def _demo_pupil(seed: int, establishment, counts) -> None:
    """The printed demo pupil (child of the demo guardian) has an unjustified absence to justify online: their
    latest roll-call absence, or one made from their latest roll call."""
    from preau.directory.seeding.accounts import sample_accounts

    entries, _note = sample_accounts(seed=seed, password="", issue_codes=False)
    username = next((e["username"] for e in entries if e["role"] == "pupil"), None)
    if username is None:
        return
    from preau.accounts.models import User

    pupil = User.objects.filter(username=username).first()
    if pupil is None:
        return
    records = AttendanceRecord.objects.filter(pupil=pupil, kind=Kind.ABSENCE, roll_call__isnull=False)
    latest = records.order_by("-starts_at").first()
    if latest is not None:
        if latest.state != State.UNJUSTIFIED:
            Justification.records.through.objects.filter(attendancerecord_id=latest.pk).delete()
            AttendanceRecord.objects.filter(pk=latest.pk).update(state=State.UNJUSTIFIED, reason=None)
        return
    enrolled = ClassEnrolment.objects.filter(pupil=pupil).values("school_class_id")
    roll = (RollCall.objects.filter(establishment=establishment, course__classes__in=enrolled)
            .select_related("course").order_by("-date", "-course__start_time").first())
    if roll is None:
        return
    from preau.timetable.selectors import occurrence

    occ = occurrence(roll.course_id, roll.date)
    if occ is None:
        return
    AttendanceRecord.objects.filter(roll_call=roll, pupil=pupil).delete()
    AttendanceRecord.objects.create(
        establishment=establishment, pupil=pupil, kind=Kind.ABSENCE, starts_at=occ.start, ends_at=occ.end,
        course=roll.course, course_date=roll.date, roll_call=roll, source=AttendanceRecord.Source.ROLL_CALL,
        recorded_by_id=roll.taken_by_id, created_at=occ.start, guardians_notified_at=occ.start)
    counts["records"] += 1


def _roll_calls(establishment, year, today, now, rng, reasons, cpe_id, counts) -> None:
    from preau.timetable.selectors import occurrences_for_establishment

    class_pupils: dict[int, list[int]] = defaultdict(list)
    for pupil_id, class_id in ClassEnrolment.objects.filter(school_class__school_year=year).values_list(
            "pupil_id", "school_class_id"):
        class_pupils[class_id].append(pupil_id)
    group_pupils: dict[int, list[int]] = defaultdict(list)
    for pupil_id, group_id in GroupMembership.objects.filter(group__school_year=year).values_list(
            "pupil_id", "group_id"):
        group_pupils[group_id].append(pupil_id)
    guardians: dict[int, int] = {}
    for pupil_id, guardian_id in GuardianLink.objects.filter(
            pupil__memberships__establishment=establishment, legal_authority=True).order_by(
            "contact_order").values_list("pupil_id", "guardian_id"):
        guardians.setdefault(pupil_id, guardian_id)
    roll_calls, pending_records = [], []
    records: list[AttendanceRecord] = []
    for day in _past_school_days(year, today, PAST_SCHOOL_DAYS):
        for o in occurrences_for_establishment(establishment, day):
            if o.status == "cancelled" or o.end > now:
                continue
            if o.course.groups.all():
                pupils = {p for g in o.course.groups.all() for p in group_pupils.get(g.pk, ())}
            else:
                pupils = {p for c in o.course.classes.all() for p in class_pupils.get(c.pk, ())}
            teacher = o.teachers[0].pk if o.teachers else cpe_id
            roll = RollCall(course=o.course, date=o.date, establishment=establishment, taken_by_id=teacher,
                            taken_at=o.start + datetime.timedelta(minutes=rng.randint(2, 12)),
                            expected_count=len(pupils))
            roll_calls.append(roll)
            for pupil_id in sorted(pupils):
                draw = rng.random()
                if draw < ABSENT_RATE:
                    records.append(AttendanceRecord(
                        establishment=establishment, pupil_id=pupil_id, kind=Kind.ABSENCE, starts_at=o.start,
                        ends_at=o.end, course=o.course, course_date=o.date, roll_call=roll,
                        source=AttendanceRecord.Source.ROLL_CALL, recorded_by_id=teacher, created_at=o.start,
                        guardians_notified_at=o.start + datetime.timedelta(minutes=15)))
                elif draw < ABSENT_RATE + LATE_RATE:
                    minutes = rng.choice([3, 5, 5, 10, 15, 20])
                    records.append(AttendanceRecord(
                        establishment=establishment, pupil_id=pupil_id, kind=Kind.LATE, starts_at=o.start,
                        ends_at=o.start + datetime.timedelta(minutes=minutes), late_minutes=minutes, course=o.course,
                        course_date=o.date, roll_call=roll, source=AttendanceRecord.Source.ROLL_CALL,
                        recorded_by_id=teacher, created_at=o.start))
    RollCall.objects.bulk_create(roll_calls, batch_size=1000)
    for rec in records:
        rec.roll_call_id = rec.roll_call.pk
        draw = rng.random()
        if draw < 0.5:
            rec.state = State.JUSTIFIED
            rec.reason = reasons[rng.choice(["MAL", "MAL", "RDV", "FAM", "TRA"])]
        elif draw < 0.65 and rec.pupil_id in guardians:
            rec.state = State.PENDING
            pending_records.append(rec)
        elif draw < 0.7:
            rec.state = State.REFUSED
            rec.reason = reasons["SM"]
    AttendanceRecord.objects.bulk_create(records, batch_size=1000)
    by_pupil: dict[int, list[AttendanceRecord]] = defaultdict(list)
    for rec in pending_records:
        by_pupil[rec.pupil_id].append(rec)
    for pupil_id, pupil_records in by_pupil.items():
        justification = Justification.objects.create(
            establishment=establishment, pupil_id=pupil_id, reason=reasons[rng.choice(["MAL", "RDV", "FAM"])],
            comment=rng.choice(["Rendez-vous chez le médecin.", "Fièvre, resté à la maison.", "Raison familiale.",
                                ""]), submitted_by_id=guardians[pupil_id],
            submitted_at=max(r.ends_at for r in pupil_records) + datetime.timedelta(hours=6))
        justification.records.set(pupil_records)
        counts["justifications"] += 1
    counts["roll_calls"] += len(roll_calls)
    counts["records"] += len(records)


def _pupils(establishment) -> list[int]:
    return list(Membership.objects.filter(establishment=establishment, role=Role.PUPIL, is_active=True)
                .order_by("user_id").values_list("user_id", flat=True))


def _vie_scolaire(establishment, year, today, rng, reasons, cpe_id, counts) -> None:
    pupils = _pupils(establishment)
    if not pupils:
        return
    days = _past_school_days(year, today, PAST_SCHOOL_DAYS)
    if len(days) < 3:
        return
    rows = []
    for index in range(4):
        first = days[rng.randrange(0, len(days) - 2)]
        last = first + datetime.timedelta(days=rng.randint(1, 3))
        justified = index < 3
        rows.append(AttendanceRecord(
            establishment=establishment, pupil_id=rng.choice(pupils), kind=Kind.ABSENCE, starts_at=_at(first, 8),
            ends_at=_at(last, 17, 35), source=AttendanceRecord.Source.VIE_SCOLAIRE,
            reason=reasons["MAL"] if justified else None, state=State.JUSTIFIED if justified else State.UNJUSTIFIED,
            comment="Certificat médical reçu." if justified else "Famille injoignable.", recorded_by_id=cpe_id))
    AttendanceRecord.objects.bulk_create(rows)
    counts["records"] += len(rows)


def _discipline(establishment, year, today, now, rng, head_id, cpe_id, counts) -> None:
    from preau.directory.models import TeachingAssignment

    assignments = list(TeachingAssignment.objects.filter(school_year=year, school_class__isnull=False)
                       .values_list("teacher_id", "school_class_id"))
    class_pupils: dict[int, list[int]] = defaultdict(list)
    for pupil_id, class_id in ClassEnrolment.objects.filter(school_class__school_year=year).values_list(
            "pupil_id", "school_class_id"):
        class_pupils[class_id].append(pupil_id)
    if not assignments or not class_pupils:
        return
    days = _past_school_days(year, today, PAST_SCHOOL_DAYS) or [today]
    punishments = []
    for index in range(6):
        teacher_id, class_id = rng.choice(assignments)
        if not class_pupils.get(class_id):
            continue
        pupil_id = rng.choice(class_pupils[class_id])
        day = rng.choice(days)
        if index == 0:
            incident = Incident.objects.create(establishment=establishment, occurred_at=_at(day, 10, 20),
                                               place="Cour de récréation", facts="Bousculade violente pendant la "
                                               "récréation ; un élève est tombé.", reported_by_id=teacher_id)
            incident.pupils.set([pupil_id])
            counts["incidents"] += 1
            if head_id:
                punishments.append(Punishment(
                    establishment=establishment, pupil_id=pupil_id, incident=incident, kind=Punishment.Kind.WARNING,
                    reason="Comportement violent pendant la récréation.", set_by_id=head_id,
                    set_at=_at(day, 16), guardians_notified_at=_at(day, 16)))
            continue
        detention = index % 2 == 0
        serve = day + datetime.timedelta(days=7)
        punishments.append(Punishment(
            establishment=establishment, pupil_id=pupil_id,
            kind=Punishment.Kind.DETENTION if detention else Punishment.Kind.EXTRA_WORK,
            reason=rng.choice(["Travail non fait à plusieurs reprises.", "Bavardages répétés malgré les rappels.",
                               "Oubli répété du matériel."]),
            set_by_id=teacher_id, set_at=_at(day, 12), serve_on=_at(serve, 13, 30) if detention else None,
            duration_minutes=60 if detention else None, place="Salle d'étude" if detention else "",
            work="Exercices 12 à 15 page 48." if not detention else "", served=detention and serve < today,
            guardians_notified_at=_at(day, 12)))
    Punishment.objects.bulk_create(punishments)
    counts["punishments"] += len(punishments)
    pupils = _pupils(establishment)
    eps = Subject.objects.filter(establishment=establishment, code="EPS").first()
    exemptions = [Exemption(establishment=establishment, pupil_id=pupil_id, subject=eps,
                            first_day=today - datetime.timedelta(days=rng.randint(1, 20)),
                            last_day=today + datetime.timedelta(days=rng.randint(5, 40)), must_attend=index != 0,
                            comment="Entorse de la cheville (certificat médical).", created_by_id=cpe_id)
                  for index, pupil_id in enumerate(rng.sample(pupils, min(3, len(pupils))))]
    Exemption.objects.bulk_create(exemptions)
    counts["exemptions"] += len(exemptions)
    regimes = []
    for pupil_id in pupils:
        draw = rng.random()
        regime = ExitRegime.Regime.DAY_PUPIL if draw < 0.2 else ExitRegime.Regime.HALF_BOARDER
        regimes.append(ExitRegime(pupil_id=pupil_id, school_year=year, regime=regime,
                                  may_leave_when_no_course=rng.random() < 0.6,
                                  may_leave_at_lunch=regime == ExitRegime.Regime.DAY_PUPIL, updated_by_id=cpe_id))
    ExitRegime.objects.bulk_create(regimes, batch_size=1000, ignore_conflicts=True)
    counts["exit_regimes"] += len(regimes)
