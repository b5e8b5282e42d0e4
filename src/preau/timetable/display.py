"""How occurrences are shown on the timetable pages: course cards (times, people, places, states in words) and the
week layout (days, closed days, the week grid's placement classes). Presentation only: which occurrences exist is
`occurrences` / `selectors`, who may see them is the policy.

The week grid is a CSS grid without inline styles (strict CSP): each day is a column of 5-minute rows, and a card
is placed with classes (`tt-rs-<first row>`, `tt-re-<row after the last>`, `tt-lane-<i>-<n>` for courses at the
same time side by side) that `static/timetable/timetable.css` defines. On a narrow screen the same markup is a
list of courses, one day at a time.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .models import Course, CourseChange
from .occurrences import (
    CANCELLED,
    MOVED,
    PARIS,
    Occurrence,
    in_school_year,
    is_school_day,
    school_weekdays,
    week_label,
)

SLOT_MINUTES = 5
MAX_HOURS = 16  # the grid covers at most 16 hours (rows classes are defined up to MAX_HOURS * 12 + 1)
MAX_LANES = 6


@dataclass(frozen=True)
class State:
    kind: str  # cancelled, moved, replaced, replacing, room, exam, extra, note
    text: str


@dataclass
class Card:
    occurrence: Occurrence
    url: str
    start: datetime.datetime  # local (Europe/Paris)
    end: datetime.datetime
    label: str
    teachers: list[str]
    room: str  # "Salle 101" / "CDI" as named
    room_text: str  # "salle 101" when the room's name does not say it, for running text
    targets: list[str]
    states: list[State]
    cancelled: bool
    placement: str = ""  # grid classes, set by the week layout

    @property
    def state_kinds(self) -> str:
        return " ".join(f"tt-course--{s.kind}" for s in self.states)


@dataclass
class Day:
    day: datetime.date
    cards: list[Card] = field(default_factory=list)
    closed: str = ""  # "Vacances de Noël" when the day is a closed school day
    events: list = field(default_factory=list)
    is_today: bool = False
    is_current: bool = False

    @property
    def anchor(self) -> str:
        return f"jour-{self.day.isoformat()}"


@dataclass
class Week:
    monday: datetime.date
    days: list[Day]
    label: str  # week A / B, "" when weeks are not labelled
    rows_class: str  # tt-rows-<hours>
    hours: list[tuple[str, str]]  # (label "08:00", placement classes) for the time gutter


def day_label(day: datetime.date) -> str:
    """"lundi 7 décembre" (French, from the active locale)."""
    return formats.date_format(day, "l j F")


def person_name(user) -> str:
    return user.full_name if user is not None else ""


def _time(value: datetime.datetime) -> str:
    return value.astimezone(PARIS).strftime("%H:%M")


def states_of(occurrence: Occurrence, viewer_id: int | None = None) -> list[State]:
    """What is special about an occurrence, in words (colour is never the only signal)."""
    course, change = occurrence.course, occurrence.change
    states: list[State] = []
    if course.kind == Course.Kind.EXTRA:
        states.append(State("extra", _("Cours exceptionnel")))
    if occurrence.is_exam:
        states.append(State("exam", _("Devoir surveillé")))
    if occurrence.status == CANCELLED:
        reason = occurrence.reason
        states.append(State("cancelled", _("Annulé : %(reason)s") % {"reason": reason} if reason else _("Annulé")))
    elif occurrence.status == MOVED:
        planned_start = datetime.datetime.combine(occurrence.date, course.start_time)
        text = _("Déplacé (prévu le %(day)s à %(time)s)") % {
            "day": day_label(occurrence.date), "time": planned_start.strftime("%H:%M")}
        if occurrence.reason:
            text = f"{text} : {occurrence.reason}"
        states.append(State("moved", text))
    if change is not None and change.replacement_teacher_id is not None:
        planned = [t for t in course.teachers.all() if t.pk != change.replacement_teacher_id]
        if viewer_id is not None and viewer_id == change.replacement_teacher_id:
            who = ", ".join(person_name(t) for t in planned)
            states.append(State("replacing", _("Vous remplacez %(who)s") % {"who": who} if who
                                else _("Vous assurez ce cours en remplacement")))
        else:
            states.append(State("replaced", _("Remplacé par %(who)s") % {
                "who": person_name(change.replacement_teacher)}))
    if change is not None and change.new_room_id is not None and change.new_room_id != course.room_id:
        if course.room_id is not None:
            text = _("Changement de salle : %(new)s au lieu de %(old)s") % {
                "new": change.new_room, "old": course.room}
        else:
            text = _("Salle : %(new)s") % {"new": change.new_room}
        states.append(State("room", text))
    if change is not None and change.status == CourseChange.Status.MODIFIED and change.reason and not any(
            s.kind == "cancelled" for s in states):
        states.append(State("note", _("Motif : %(reason)s") % {"reason": change.reason}))
    if occurrence.note:
        states.append(State("note", _("Information : %(note)s") % {"note": occurrence.note}))
    return states


def room_name(room) -> str:
    return str(room) if room is not None else ""


def room_text(room) -> str:
    name = room_name(room)
    if not name or name.lower().startswith(_("salle").lower()) or not name[0].isdigit():
        return name
    return _("salle %(name)s") % {"name": name}


def occurrence_url(occurrence: Occurrence) -> str:
    return reverse("timetable:occurrence", args=[occurrence.course.pk, occurrence.date.isoformat()])


def targets_of(course: Course) -> list[str]:
    return [c.label for c in course.classes.all()] + [g.label for g in course.groups.all()]


def card(occurrence: Occurrence, viewer_id: int | None = None) -> Card:
    return Card(
        occurrence=occurrence, url=occurrence_url(occurrence),
        start=occurrence.start.astimezone(PARIS), end=occurrence.end.astimezone(PARIS),
        label=occurrence.label, teachers=[person_name(t) for t in occurrence.teachers],
        room=room_name(occurrence.room), room_text=room_text(occurrence.room), targets=targets_of(occurrence.course),
        states=states_of(occurrence, viewer_id), cancelled=occurrence.status == CANCELLED,
    )


def _as_time(value, default: datetime.time) -> datetime.time:
    """A calendar's time field: a time, or the model default's text ("08:00") on an instance just created."""
    if isinstance(value, datetime.time):
        return value
    try:
        return datetime.time.fromisoformat(str(value))
    except (TypeError, ValueError):
        return default


def _minutes(value: datetime.datetime) -> int:
    local = value.astimezone(PARIS)
    return local.hour * 60 + local.minute


def _place(cards: list[Card], window_start: int, rows: int) -> None:
    """Set each card's grid classes: rows from its times, lanes for the cards that overlap."""
    # Clusters of overlapping cards share lanes; a card takes the first lane free at its start.
    cluster: list[tuple[Card, int]] = []
    cluster_end = -1
    lane_ends: list[int] = []

    def flush():
        lanes = min(max((lane for _c, lane in cluster), default=0) + 1, MAX_LANES)
        for item, lane in cluster:
            item.placement += f" tt-lane-{min(lane, MAX_LANES - 1) + 1}-{lanes}"

    for item in sorted(cards, key=lambda c: (c.start, c.end)):
        start, end = _minutes(item.start), _minutes(item.end)
        if item.end.date() != item.start.date():
            end = 24 * 60
        first = min(max((start - window_start) // SLOT_MINUTES + 1, 1), rows)
        after = min(max(-(-(end - window_start) // SLOT_MINUTES) + 1, first + 1), rows + 1)
        item.placement = f"tt-rs-{first} tt-re-{after}"
        if start >= cluster_end and cluster:
            flush()
            cluster, lane_ends = [], []
        lane = next((i for i, lane_end in enumerate(lane_ends) if lane_end <= start), None)
        if lane is None:
            lane_ends.append(end)
            lane = len(lane_ends) - 1
        else:
            lane_ends[lane] = end
        cluster.append((item, lane))
        cluster_end = max(cluster_end, end)
    if cluster:
        flush()


def build_week(occurrences: list[Occurrence], *, monday: datetime.date, calendar, closed_periods=(),
               focus: datetime.date | None = None, events_by_day: dict | None = None,
               viewer_id: int | None = None, today: datetime.date | None = None) -> Week:
    """The week of `monday`: its days (school weekdays, and any other day with a course), their cards, closed days
    named after their period, and the grid geometry. `focus` is the day shown first on a narrow screen."""
    today = today or timezone.localdate()
    events_by_day = events_by_day or {}
    by_day: dict[datetime.date, list[Card]] = {}
    for occurrence in occurrences:
        by_day.setdefault(occurrence.day, []).append(card(occurrence, viewer_id))
    weekdays = school_weekdays(calendar) if calendar is not None else frozenset(range(5))
    days: list[Day] = []
    for offset in range(7):
        day = monday + datetime.timedelta(days=offset)
        if offset not in weekdays and day not in by_day and not events_by_day.get(day):
            continue
        entry = Day(day=day, cards=by_day.get(day, []), events=events_by_day.get(day, []), is_today=day == today)
        if calendar is not None and offset in weekdays and not is_school_day(calendar, day):
            entry.closed = next((p.label for p in closed_periods if p.first_day <= day <= p.last_day), "") or (
                "" if entry.cards else _("Hors de l'année scolaire") if not in_school_year(calendar, day)
                else _("Pas de cours"))
        days.append(entry)
    if days:
        wanted = focus if focus is not None and any(d.day == focus for d in days) else None
        if wanted is None and any(d.day == today for d in days):
            wanted = today
        if wanted is None:
            wanted = next((d.day for d in days if d.cards), days[0].day)
        for entry in days:
            entry.is_current = entry.day == wanted
    # The grid's hours: the calendar's school day, widened to the week's earliest and latest course.
    day_start = _as_time(calendar.day_start if calendar is not None else None, datetime.time(8))
    day_end = _as_time(calendar.day_end if calendar is not None else None, datetime.time(18))
    start_minutes = day_start.hour * 60
    end_minutes = max(day_end.hour * 60 + day_end.minute, start_minutes + 60)
    all_cards = [c for d in days for c in d.cards]
    if all_cards:
        start_minutes = min(start_minutes, min(_minutes(c.start) for c in all_cards) // 60 * 60)
        end_minutes = max(end_minutes, max(_minutes(c.end) if c.end.date() == c.start.date() else 24 * 60
                                           for c in all_cards))
    hours = min(max(-(-(end_minutes - start_minutes) // 60), 1), MAX_HOURS)
    rows = hours * 60 // SLOT_MINUTES
    for entry in days:
        _place(entry.cards, start_minutes, rows)
    gutter = []
    for index in range(hours):
        minute = start_minutes + index * 60
        first = index * 60 // SLOT_MINUTES + 1
        gutter.append((f"{minute // 60:02d}:{minute % 60:02d}", f"tt-rs-{first} tt-re-{first + 60 // SLOT_MINUTES}"))
    label = week_label(calendar, monday) if calendar is not None else ""
    return Week(monday=monday, days=days, label=label, rows_class=f"tt-rows-{hours}", hours=gutter)


def time_range(item) -> str:
    return f"{_time(item.start)} – {_time(item.end)}"
