"""Reading attendance: the vie scolaire dashboard, a pupil's summary, a class's counts and absenteeism rate, the
roll calls of a teacher's day (docs/attendance.md).

No access checks here (callers ask `preau.access.policy` first), except the scoped list helpers taking an actor.
Reads of another pupil's attendance by staff and teachers are logged with `record_attendance_read`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q
from django.utils import timezone

from preau.access import policy
from preau.accounts.models import User
from preau.audit.services import record_sensitive_read
from preau.directory.models import ClassEnrolment, Period, Role, SchoolYear

from . import halfdays
from .models import AttendanceRecord, Exemption, ExitRegime, Justification, Punishment, RollCall

PARIS = ZoneInfo("Europe/Paris")
Kind = AttendanceRecord.Kind
State = AttendanceRecord.State
DASHBOARD_ROWS = 100
FOLLOW_UP_DAYS = 30


def _bounds(first_day: datetime.date, last_day: datetime.date):
    return halfdays._bounds(first_day, last_day)


# --- Sensitive reads --------------------------------------------------------------------------------------------

def record_attendance_read(*, actor, pupil, request=None, establishment_id: int | None = None):
    """Log a read of a pupil's attendance by someone else than the pupil and their guardians (staff, teachers):
    `SENSITIVE_READ` with target "attendance". `actor` is the reading user. Returns the event or None."""
    if actor is None or pupil is None or actor.pk == pupil.pk:
        return None
    reader = policy.actor_for(actor)
    if reader is not None and pupil.pk in reader.child_ids():
        return None
    return record_sensitive_read(actor=actor, subject=pupil, target="attendance", request=request,
                                 establishment_id=establishment_id)


def record_attendance_reads(*, actor, pupils: Iterable, request=None, establishment_id: int | None = None) -> int:
    """The same for a list of pupils read at once (a class's counts, a page of records): one event per pupil,
    written with one INSERT. Returns the events written."""
    from preau.audit.models import AuditEvent
    from preau.audit.services import client_ip

    if actor is None:
        return 0
    reader = policy.actor_for(actor)
    skip = {actor.pk} | (reader.child_ids() if reader is not None else set())
    subject_ids = sorted({int(getattr(p, "pk", p)) for p in pupils} - skip)
    if not subject_ids:
        return 0
    ip = client_ip(request)
    agent = request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else ""
    AuditEvent.objects.bulk_create([
        AuditEvent(action=AuditEvent.Action.SENSITIVE_READ, actor=actor, subject_id=subject_id, target="attendance",
                   establishment_id=establishment_id, ip=ip, user_agent=agent)
        for subject_id in subject_ids])
    return len(subject_ids)


# --- Roll calls ---------------------------------------------------------------------------------------------------

def roll_calls_taken(occurrences) -> set[str]:
    """Keys (`course_id:date`) of the occurrences whose roll was taken: one query."""
    occurrences = list(occurrences)
    if not occurrences:
        return set()
    course_ids = sorted({o.course.pk for o in occurrences})
    dates = sorted({o.date for o in occurrences})
    rows = RollCall.objects.filter(course_id__in=course_ids, date__in=dates).values_list("course_id", "date")
    return {f"{course_id}:{day.isoformat()}" for course_id, day in rows}


def my_roll_calls(teacher, day: datetime.date) -> list[dict]:
    """A teacher's occurrences of a day with the state of each roll: "cancelled", "done" or "todo"."""
    from preau.timetable import selectors as tt

    occurrences = tt.occurrences_for_teacher(teacher, day, day)
    taken = roll_calls_taken(occurrences)
    result = []
    for o in occurrences:
        state = "cancelled" if o.status == "cancelled" else ("done" if o.key in taken else "todo")
        result.append({"occurrence": o, "state": state})
    return result


# --- Dashboard ------------------------------------------------------------------------------------------------

def dashboard(establishment, now: datetime.datetime | None = None) -> dict:
    """What vie scolaire follows all day:

    - `absent_now`: absences (and early leavings) under way at `now`;
    - `roll_calls_not_taken`: today's occurrences (not cancelled) that have started and whose roll was not taken;
    - `unjustified`: absences and lateness of the last FOLLOW_UP_DAYS days still unjustified or refused (newest
      first, DASHBOARD_ROWS at most; `unjustified_count` counts them all);
    - `pending_justifications`: justifications awaiting a decision (oldest first).
    """
    from preau.timetable import selectors as tt

    now = now or timezone.now()
    today = now.astimezone(PARIS).date()
    records = AttendanceRecord.objects.filter(establishment_id=establishment.pk)
    absent_now = list(records.filter(kind__in=[Kind.ABSENCE, Kind.EARLY_LEAVE], starts_at__lte=now, ends_at__gt=now)
                      .select_related("pupil", "reason", "course__subject")
                      .order_by("pupil__last_name", "pupil__first_name", "pk"))
    occurrences = [o for o in tt.occurrences_for_establishment(establishment, today)
                   if o.status != "cancelled" and o.start <= now and o.day == today]
    taken = roll_calls_taken(occurrences)
    not_taken = [o for o in occurrences if o.key not in taken]
    since = now - datetime.timedelta(days=FOLLOW_UP_DAYS)
    unjustified = records.filter(kind__in=[Kind.ABSENCE, Kind.LATE], state__in=[State.UNJUSTIFIED, State.REFUSED],
                                 starts_at__gte=since, starts_at__lte=now)
    pending = (Justification.objects.filter(establishment_id=establishment.pk, state=Justification.State.PENDING)
               .select_related("pupil", "reason", "submitted_by").prefetch_related("records")
               .order_by("submitted_at", "pk"))
    return {
        "now": now,
        "absent_now": absent_now,
        "roll_calls_not_taken": not_taken,
        "occurrences_started": len(occurrences),
        "unjustified": list(unjustified.select_related("pupil", "reason", "course__subject")
                            .order_by("-starts_at", "pk")[:DASHBOARD_ROWS]),
        "unjustified_count": unjustified.count(),
        "pending_justifications": list(pending[:DASHBOARD_ROWS]),
    }


def dashboard_pupils(data: dict) -> set[int]:
    """The pupils a dashboard shows (absent now, unjustified, pending justifications): its audited reads."""
    return ({r.pupil_id for r in data["absent_now"]} | {r.pupil_id for r in data["unjustified"]}
            | {j.pupil_id for j in data["pending_justifications"]})


def roll_call_sheet_reads(sheet) -> set[int]:
    """The pupils of a roll-call sheet whose attendance beyond this course it shows (an absence already known with
    its reason, an exemption, a record's justification state): its audited reads."""
    marked = {pupil_id for pupil_id, mark in sheet.marks.items() if mark.get("record_id")}
    return set(sheet.covered) | set(sheet.exempted) | marked


# --- A pupil ----------------------------------------------------------------------------------------------------

def pupil_year(pupil) -> SchoolYear | None:
    """The current school year of the pupil's establishment."""
    return (SchoolYear.objects.filter(is_current=True, establishment__memberships__user_id=pupil.pk,
                                      establishment__memberships__role=Role.PUPIL)
            .order_by("pk").first())


def pupil_summary(pupil, period=None, last=None, *, first: datetime.date | None = None, actor=None) -> dict:
    """A pupil's attendance over a period (a directory `Period`, or `first`/`last` dates; by default the current
    school year): records, half-day counts, punishments, exemptions, exit regime, justifications.
    `pupil_summary(pupil, period)` and `pupil_summary(pupil, first_day, last_day)` both work.

    Given the reading `actor` (staff, teachers: the vie scolaire's pupil page), every list is the policy's scoped
    queryset and the counts take only the records of the actor's establishments
    (`policy.attendance_establishment_scope`): a pupil who changed school keeps the other school's records out of
    sight. Without it (the family page: the pupil or their guardian, checked by the caller), everything."""
    if isinstance(period, datetime.date):
        first, period = period, None
    year = pupil_year(pupil)
    if period is not None:
        first, last = period.start, period.end
    if first is None or last is None:
        if year is not None:
            first, last = first or year.start, last or year.end
        else:
            today = timezone.localdate()
            first, last = first or today - datetime.timedelta(days=365), last or today
    start, end = _bounds(first, last)
    if actor is None:
        scope = None
        sources = (AttendanceRecord.objects, Punishment.objects, Exemption.objects, ExitRegime.objects,
                   Justification.objects)
    else:
        scope = policy.attendance_establishment_scope(actor, pupil.pk)
        sources = (policy.attendance_records_visible_to(actor), policy.punishments_visible_to(actor),
                   policy.exemptions_visible_to(actor), policy.exit_regimes_visible_to(actor),
                   policy.justifications_visible_to(actor))
    record_rows, punishment_rows, exemption_rows, regime_rows, justification_rows = sources
    records = list(record_rows.filter(pupil_id=pupil.pk, starts_at__lt=end, ends_at__gt=start)
                   .select_related("reason", "course__subject").order_by("-starts_at", "pk"))
    counts = halfdays.half_day_counts([pupil.pk], first, last, establishment_ids=scope)[pupil.pk]
    punishments = list(punishment_rows.filter(pupil_id=pupil.pk, set_at__lt=end)
                       .filter(Q(set_at__gte=start) | Q(serve_on__gte=start))
                       .select_related("set_by").order_by("-set_at"))
    exemptions = list(exemption_rows.filter(pupil_id=pupil.pk, first_day__lte=last, last_day__gte=first)
                      .select_related("subject").order_by("-first_day"))
    exit_regime = (regime_rows.filter(pupil_id=pupil.pk, school_year=year).first()
                   if year is not None else None)
    justifications = list(justification_rows.filter(pupil_id=pupil.pk, submitted_at__gte=start)
                          .select_related("reason").prefetch_related("records").order_by("-submitted_at"))
    return {"pupil": pupil, "first": first, "last": last, "period": period, "counts": counts, "records": records,
            "punishments": punishments, "exemptions": exemptions, "exit_regime": exit_regime,
            "justifications": justifications}


def family_incidents(actor, pupil, first: datetime.date, last: datetime.date) -> list[dict]:
    """The incidents concerning a pupil over [first, last], as the pupil and their family read them
    (`policy.family_incidents_visible_to`): date, place, course, and `facts` only when the incident concerns this
    pupil alone (otherwise None: the facts may name other children; the page says "incident impliquant plusieurs
    élèves"), with this pupil's punishments set from it. Three queries."""
    from django.db.models import Count

    from .models import Incident

    start, end = _bounds(first, last)
    incidents = list(policy.family_incidents_visible_to(actor).filter(pupils=pupil.pk, occurred_at__gte=start,
                                                                      occurred_at__lt=end)
                     .select_related("course__subject").order_by("-occurred_at", "-pk"))
    if not incidents:
        return []
    ids = [i.pk for i in incidents]
    sizes = dict(Incident.pupils.through.objects.filter(incident_id__in=ids).values("incident_id")
                 .annotate(n=Count("pk")).values_list("incident_id", "n"))
    punishments: dict[int, list] = {}
    for p in (Punishment.objects.filter(pupil_id=pupil.pk, incident_id__in=ids).select_related("set_by")
              .order_by("set_at", "pk")):
        punishments.setdefault(p.incident_id, []).append(p)
    return [{"incident": i, "alone": sizes.get(i.pk, 0) <= 1,
             "facts": i.facts if sizes.get(i.pk, 0) <= 1 else None,
             "course": i.course.display_label if i.course_id and i.course else "",
             "punishments": punishments.get(i.pk, [])} for i in incidents]


# --- Classes and periods -----------------------------------------------------------------------------------------

def class_pupils(school_class) -> list[User]:
    """The active pupils enrolled in a class, by last then first name."""
    return list(User.objects.filter(
        pk__in=ClassEnrolment.objects.filter(school_class_id=school_class.pk).values("pupil_id"), is_active=True)
        .order_by("last_name", "first_name", "pk"))


def class_rates(school_class, first_day: datetime.date, last_day: datetime.date):
    """(rows, rate) for a class over [first_day, last_day]: one row per pupil `{"pupil", **half-day counts,
    "rate"}` and the class's figures `{"pupils", "school_half_days", "missed", "justified", "unjustified", "late",
    "rate"}`.

    Absenteeism rate = missed half-days / (pupils × school half-days of the period), in percent (None when the
    denominator is 0). School half-days = 2 × the school days of the class's calendar in the period (school
    weekdays of the year outside closed periods; Wednesday afternoon counts as a half-day of school like the
    others). Pupils are those enrolled now (a pupil who left during the period no longer counts)."""
    pupils = class_pupils(school_class)
    counts = halfdays.half_day_counts(pupils, first_day, last_day, establishment_ids=[school_class.establishment_id])
    school_half_days = halfdays.school_half_days(school_class.establishment_id, first_day, last_day)
    rows = []
    totals = {"missed": 0, "justified": 0, "unjustified": 0, "late": 0}
    for pupil in pupils:
        c = counts[pupil.pk]
        rows.append({"pupil": pupil, **c,
                     "rate": round(100 * c["absent"] / school_half_days, 1) if school_half_days else None})
        totals["missed"] += c["absent"]
        totals["justified"] += c["justified"]
        totals["unjustified"] += c["unjustified"]
        totals["late"] += c["late"]
    denominator = len(pupils) * school_half_days
    rate = {"pupils": len(pupils), "school_half_days": school_half_days, "denominator": denominator, **totals,
            "rate": round(100 * totals["missed"] / denominator, 2) if denominator else None}
    return rows, rate


def choose_period(periods: list[Period], wanted: str | int | None, today: datetime.date) -> Period | None:
    """The period of `periods` whose index is `wanted` (?periode=); else the one containing today; after the year's
    end its last one; else the first (None without periods)."""
    wanted = str(wanted or "")
    for period in periods:
        if str(period.index) == wanted:
            return period
    for period in periods:
        if period.start <= today <= period.end:
            return period
    if periods and today > periods[-1].end:
        return periods[-1]
    return periods[0] if periods else None


def current_period(establishment_id: int, today: datetime.date) -> Period | None:
    """The period (trimester, semester) of the establishment's current school year containing `today`."""
    return (Period.objects.filter(school_year__establishment_id=establishment_id, school_year__is_current=True,
                                  start__lte=today, end__gte=today).order_by("index").first())


def pupil_in(pupils, pupil_id) -> User | None:
    """The pupil of a (scoped) queryset with this id (a query-string value), or None."""
    value = str(pupil_id or "")
    return pupils.filter(pk=int(value)).first() if value.isdigit() and len(value) < 12 else None


def search_pupils(pupils, query: str = "", *, chosen=None, limit: int = 20) -> list[User]:
    """Pupils of a queryset (already scoped by the policy) whose first or last name contains every word of `query`
    (four words at most), `limit` at most; the `chosen` pupil first when not among them."""
    results = []
    if query:
        queryset = pupils
        for word in query.split()[:4]:
            queryset = queryset.filter(Q(last_name__icontains=word) | Q(first_name__icontains=word))
        results = list(queryset[:limit])
    if chosen is not None and all(p.pk != chosen.pk for p in results):
        results.insert(0, chosen)
    return results


def periods_of(school_year) -> list[Period]:
    return list(Period.objects.filter(school_year_id=school_year.pk).order_by("index"))


def counts_by_period(pupils, school_year, *, establishment_ids=None) -> dict[int, dict[int, dict[str, int]]]:
    """{period id: {pupil id: half-day counts}} for the periods (trimesters, semesters) of a school year
    (`establishment_ids` as in `halfdays.half_day_counts`)."""
    pupil_list = list(pupils)
    return {period.pk: halfdays.half_day_counts(pupil_list, period.start, period.end,
                                                establishment_ids=establishment_ids)
            for period in periods_of(school_year)}


# --- Scoped lists (API, pages) ------------------------------------------------------------------------------------

def records_for(actor, *, pupil_id: int | None = None, establishment_id: int | None = None,
                state: str | None = None, kind: str | None = None, first: datetime.date | None = None,
                last: datetime.date | None = None):
    """Records the actor may read, filtered, newest first."""
    queryset = policy.attendance_records_visible_to(actor)
    if pupil_id is not None:
        queryset = queryset.filter(pupil_id=pupil_id)
    if establishment_id is not None:
        queryset = queryset.filter(establishment_id=establishment_id)
    if state:
        queryset = queryset.filter(state=state)
    if kind:
        queryset = queryset.filter(kind=kind)
    if first is not None:
        queryset = queryset.filter(ends_at__gt=_bounds(first, first)[0])
    if last is not None:
        queryset = queryset.filter(starts_at__lt=_bounds(last, last)[1])
    return queryset.select_related("pupil", "reason", "course__subject").order_by("-starts_at", "-pk")


def justifications_for(actor, *, establishment_id: int | None = None, state: str | None = None,
                       pupil_id: int | None = None):
    queryset = policy.justifications_visible_to(actor)
    if establishment_id is not None:
        queryset = queryset.filter(establishment_id=establishment_id)
    if state:
        queryset = queryset.filter(state=state)
    if pupil_id is not None:
        queryset = queryset.filter(pupil_id=pupil_id)
    return (queryset.select_related("pupil", "reason", "submitted_by", "decided_by")
            .prefetch_related(Prefetch("records", queryset=AttendanceRecord.objects.order_by("starts_at")))
            .order_by("-submitted_at", "-pk"))
