"""Timetable pages (/emploi-du-temps/, namespace "timetable"; docs/timetable-pages.md).

Views parse the request, ask the access policy (section "Timetable"), call the selectors and services of
`preau.timetable`, and render. A pupil, class, group, room, teacher or course the person may not see answers 404,
like a missing one; a page their role never uses answers 403.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import ProtectedError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from preau.access import policy
from preau.core import context
from preau.directory.admin_views import apply_errors
from preau.directory.models import ClassEnrolment, Membership, Role, SchoolYear, Service

from . import display, selectors
from .models import Course
from .occurrences import monday_of, school_weekdays

DAY_VIEW = "jour"
SEARCH_LIMIT = 30
COURSES_PER_PAGE = 50
MAX_SLOTS = 40  # usual slots offered by the free-room finder


# --- Parsing --------------------------------------------------------------------------------------------------

def parse_day(value, default: datetime.date | None = None) -> datetime.date | None:
    """A YYYY-MM-DD date, or `default` when missing or malformed (never an error)."""
    try:
        return datetime.date.fromisoformat(str(value)) if value else default
    except (TypeError, ValueError):
        return default


def _requested_day(request) -> datetime.date:
    today = timezone.localdate()
    day = parse_day(request.GET.get("date"), today)
    # Years far away are not a school's business (and keep date arithmetic far from its limits).
    return day if 1900 < day.year < 2200 else today


def _planned_date(value: str) -> datetime.date:
    day = parse_day(value)
    if day is None:
        raise Http404
    return day


# --- The common week / day page --------------------------------------------------------------------------------

def _current_year(establishment_ids) -> SchoolYear | None:
    ids = sorted(set(establishment_ids))
    if not ids:
        return None
    return SchoolYear.objects.filter(establishment_id__in=ids, is_current=True).order_by("establishment_id").first()


def _calendar(occurrences, school_year: SchoolYear | None):
    """The calendar of the page: the school year's, else the one of the first occurrence (cached calendars)."""
    if school_year is not None:
        return selectors.calendar_with_periods(school_year)
    for occurrence in occurrences:
        year_id = occurrence.course.school_year_id
        return selectors.calendars_for_years([year_id]).get(year_id)
    return None


def _events_by_day(events, first_day: datetime.date, last_day: datetime.date) -> dict:
    from . import agenda

    by_day: dict[datetime.date, list] = {}
    for event in events:
        day = max(timezone.localtime(event.starts_at).date(), first_day)
        last = min(agenda.last_day(event), last_day)
        while day <= last:
            by_day.setdefault(day, []).append(event)
            day += datetime.timedelta(days=1)
    return by_day


def _nav_url(path: str, **params) -> str:
    params = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(params)}" if params else path


def _timetable_page(request, *, heading: str, subtitle: str = "", load, school_year=None, events=None,
                    viewer_id=None, extra=None):
    """Render a person's / class's / group's / room's week (or day with ?vue=jour).

    `load(first_day, last_day)` returns the occurrences; `events(first_day, last_day)` the agenda events shown
    beside them (or None)."""
    day = _requested_day(request)
    day_view = request.GET.get("vue") == DAY_VIEW
    if not request.GET.get("date") and school_year is not None:
        # After the last school day of the week (the weekend), "today" is the coming week.
        weekdays = school_weekdays(selectors.calendar_with_periods(school_year))
        if weekdays and day.weekday() > max(weekdays):
            day += datetime.timedelta(days=7 - day.weekday())
    monday = monday_of(day)
    sunday = monday + datetime.timedelta(days=6)
    occurrences = load(monday, sunday)
    calendar = _calendar(occurrences, school_year)
    closed = list(selectors.closed_periods_of(calendar).filter(first_day__lte=sunday, last_day__gte=monday)) \
        if calendar is not None and calendar.pk else []
    events_by_day = _events_by_day(events(monday, sunday), monday, sunday) if events is not None else {}
    week = display.build_week(occurrences, monday=monday, calendar=calendar, closed_periods=closed, focus=day,
                              events_by_day=events_by_day, viewer_id=viewer_id)
    path = request.path
    mode = DAY_VIEW if day_view else ""
    shown = next((d for d in week.days if d.day == day), None)
    if day_view:
        step = datetime.timedelta(days=1)
        nav = {"prev": _nav_url(path, date=(day - step).isoformat(), vue=mode),
               "next": _nav_url(path, date=(day + step).isoformat(), vue=mode)}
    else:
        step = datetime.timedelta(days=7)
        nav = {"prev": _nav_url(path, date=(monday - step).isoformat()),
               "next": _nav_url(path, date=(monday + step).isoformat())}
    nav.update({
        "today": _nav_url(path, vue=mode),
        "week": _nav_url(path, date=day.isoformat()),
        "day": _nav_url(path, date=(shown.day if shown else day).isoformat(), vue=DAY_VIEW),
        "path": path,
    })
    day_tabs = [{"day": d.day, "url": _nav_url(path, date=d.day.isoformat(), vue=DAY_VIEW), "anchor": d.anchor,
                 "current": d.day == day, "today": d.is_today} for d in week.days]
    if day_view and shown is None:
        shown = display.Day(day=day, is_today=day == timezone.localdate())
        if calendar is not None:
            shown.closed = next((p.label for p in closed if p.first_day <= day <= p.last_day), "")
    return render(request, "timetable/week.html", {
        "heading": heading, "subtitle": subtitle, "week": week, "day_view": day_view, "day": day, "shown": shown,
        "nav": nav, "day_tabs": day_tabs, "sunday": sunday, "week_days": len(week.days),
        "can_consult": _can_consult(request), "can_change": _can_change(request),
        **(extra or {}),
    })


def _can_consult(request) -> bool:
    establishment = context.establishment(request)
    return establishment is not None and policy.can_find_free_rooms(request.actor, establishment.pk)


def _can_change(request) -> bool:
    establishment = context.establishment(request)
    return establishment is not None and policy.can_change_occurrences(request.actor, establishment.pk)


def _children_tabs(actor, current_id) -> list[dict]:
    return [{"pupil": link.pupil, "current": link.pupil_id == current_id,
             "url": reverse("timetable:pupil_week", args=[link.pupil_id])}
            for link in actor.child_links if link.allows(Service.TIMETABLE)]


def _pupil_year(pupil) -> tuple[SchoolYear | None, object]:
    """(school year, class) of the pupil's current class: one query."""
    enrolment = (ClassEnrolment.objects.filter(pupil_id=pupil.pk, school_class__school_year__is_current=True)
                 .select_related("school_class__school_year").order_by("pk").first())
    if enrolment is None:
        return None, None
    return enrolment.school_class.school_year, enrolment.school_class


def _pupil_page(request, pupil, *, own: bool):
    from . import agenda

    actor = request.actor
    year, school_class = _pupil_year(pupil)
    heading = _("Mon emploi du temps") if own else _("Emploi du temps de %(name)s") % {"name": pupil.full_name}
    subtitle = school_class.label if school_class is not None else ""
    return _timetable_page(
        request, heading=heading, subtitle=subtitle, school_year=year,
        load=lambda first, last: selectors.occurrences_for_pupil(pupil, first, last),
        events=lambda first, last: agenda.events_for_pupil(pupil, first, last, viewer=actor),
        # Agenda events link to their page on one's own timetable only: a guardian or a teacher may be shown an
        # event addressed to the pupils that their own agenda does not hold.
        extra={"children": _children_tabs(actor, pupil.pk) if not own else [], "pupil": pupil,
               "link_events": own},
    )


def _teacher_page(request, teacher, *, own: bool):
    from . import agenda

    actor = request.actor
    establishment = context.establishment(request)
    if own:
        ids = [establishment.pk] if establishment is not None else actor.establishment_ids(Role.TEACHER)
        heading = _("Mon emploi du temps")

        def events(first, last):
            return agenda.events_visible_to(actor, first, last, establishment=establishment)
    else:
        ids = list(Membership.objects.filter(user_id=teacher.pk, role=Role.TEACHER, is_active=True)
                   .values_list("establishment_id", flat=True))
        if establishment is not None and establishment.pk in ids:
            ids = [establishment.pk]
        heading = _("Emploi du temps de %(name)s") % {"name": teacher.full_name}
        events = None
    return _timetable_page(
        request, heading=heading, school_year=_current_year(ids), viewer_id=teacher.pk,
        load=lambda first, last: selectors.occurrences_for_teacher(teacher, first, last), events=events,
        extra={"teacher": teacher, "is_own_teacher": own, "link_events": own,
               # A teacher who is also a parent reaches their children's weeks from their own.
               "children": _children_tabs(actor, None) if own else []},
    )


@login_required
@never_cache
def week(request):
    """My timetable: a pupil's, a teacher's; a guardian goes to a child's; staff to the consultation page."""
    actor = request.actor
    if actor.has_role(Role.PUPIL):
        return _pupil_page(request, actor.user, own=True)
    establishment = context.establishment(request)
    teaches = (Role.TEACHER in actor.roles_in(establishment.pk)) if establishment is not None else \
        actor.has_role(Role.TEACHER)
    if teaches:
        return _teacher_page(request, actor.user, own=True)
    if actor.child_links:
        allowed = [link.pupil_id for link in actor.child_links if link.allows(Service.TIMETABLE)]
        if not allowed:
            return render(request, "timetable/no_timetable.html", {
                "message": _("Aucun de vos enfants n'a d'emploi du temps que vous pouvez consulter.")})
        child = context.child(request)
        chosen = child.pk if child is not None and child.pk in allowed else allowed[0]
        query = request.GET.urlencode()
        return redirect(reverse("timetable:pupil_week", args=[chosen]) + (f"?{query}" if query else ""))
    if _can_consult(request):
        return redirect("timetable:consult")
    return render(request, "timetable/no_timetable.html", {
        "message": _("Vous n'avez pas d'emploi du temps dans cet établissement.")})


@login_required
@never_cache
def pupil_week(request, pupil_id):
    actor = request.actor
    pupil = policy.access_timetable_pupil(actor, pupil_id)
    return _pupil_page(request, pupil, own=pupil.pk == actor.id)


@login_required
@never_cache
def teacher_week(request, teacher_id):
    actor = request.actor
    teacher = policy.access_timetable_teacher(actor, teacher_id)
    return _teacher_page(request, teacher, own=teacher.pk == actor.id)


@login_required
@never_cache
def class_week(request, class_id):
    from . import agenda

    school_class = policy.access_timetable_class(request.actor, class_id)
    return _timetable_page(
        request, heading=_("Emploi du temps de la classe %(label)s") % {"label": school_class.label},
        school_year=school_class.school_year,
        load=lambda first, last: selectors.occurrences_for_class(school_class, first, last),
        events=lambda first, last: agenda.events_for_division(request.actor, first, last, school_class=school_class),
        extra={"school_class": school_class, "link_events": True})


@login_required
@never_cache
def group_week(request, group_id):
    from . import agenda

    group = policy.access_timetable_group(request.actor, group_id)
    return _timetable_page(
        request, heading=_("Emploi du temps du groupe %(label)s") % {"label": group.label},
        school_year=group.school_year,
        load=lambda first, last: selectors.occurrences_for_group(group, first, last),
        events=lambda first, last: agenda.events_for_division(request.actor, first, last, group=group),
        extra={"group": group, "link_events": True})


@login_required
@never_cache
def room_week(request, room_id):
    room = policy.access_room(request.actor, room_id)
    return _timetable_page(
        request, heading=_("Occupation de la salle %(label)s") % {"label": room},
        school_year=_current_year([room.establishment_id]),
        load=lambda first, last: selectors.occurrences_for_room(room, first, last), extra={"room": room})


# --- Consultation (staff and teachers) ------------------------------------------------------------------------

def _consult_establishment(request):
    establishment = context.establishment(request)
    if establishment is None or not policy.can_find_free_rooms(request.actor, establishment.pk):
        raise PermissionDenied
    return establishment


@login_required
@never_cache
def consult(request):
    """Pickers: the classes, groups, rooms and teachers of the establishment, and a pupil search, among what the
    policy lets the person see."""
    actor = request.actor
    establishment = _consult_establishment(request)
    classes = (policy.timetable_classes_visible_to(actor)
               .filter(establishment=establishment, school_year__is_current=True).order_by("level", "code"))
    groups = (policy.timetable_groups_visible_to(actor)
              .filter(establishment=establishment, school_year__is_current=True).order_by("code"))
    rooms = policy.rooms_visible_to(actor).filter(establishment=establishment, is_active=True).order_by("code")
    teachers = (policy.timetable_teachers_visible_to(actor).filter(
        memberships__establishment=establishment, memberships__role=Role.TEACHER, memberships__is_active=True)
        .distinct().order_by("last_name", "first_name"))
    query = (request.GET.get("q") or "").strip()[:100]
    pupils = []
    if query:
        found = policy.timetable_pupils_visible_to(actor).filter(
            memberships__establishment=establishment, memberships__role=Role.PUPIL)
        for word in query.split()[:4]:
            found = found.filter(_name_q(word))
        pupils = list(found.distinct().order_by("last_name", "first_name")[:SEARCH_LIMIT])
    return render(request, "timetable/consult.html", {
        "establishment": establishment, "classes": list(classes), "groups": list(groups), "rooms": list(rooms),
        "teachers": list(teachers), "query": query, "pupils": pupils, "search_limit": SEARCH_LIMIT,
        "can_change": policy.can_change_occurrences(actor, establishment.pk),
        "can_manage": policy.can_manage_timetable(actor, establishment.pk),
        "has_own": bool(actor.roles_in(establishment.pk) & {Role.PUPIL, Role.TEACHER}) or bool(actor.child_links),
    })


def _name_q(word: str):
    from django.db.models import Q

    return Q(last_name__icontains=word) | Q(first_name__icontains=word)


@login_required
@never_cache
def free_rooms(request):
    """Free-room finder: a date and a slot → the rooms of the establishment with no course then."""
    from .forms import FreeRoomsForm

    actor = request.actor
    establishment = _consult_establishment(request)
    year = _current_year([establishment.pk])
    slots = (policy.courses_visible_to(actor).filter(establishment=establishment, school_year=year,
                                                     kind=Course.Kind.RECURRING)
             .values_list("start_time", "end_time").distinct().order_by("start_time", "end_time")
             if year is not None else [])
    form = FreeRoomsForm(request.GET or None, slots=list(slots)[:MAX_SLOTS],
                         initial={"date": timezone.localdate()})
    rooms = None
    if form.is_bound and form.is_valid():
        start, end = form.interval()
        visible = set(policy.rooms_visible_to(actor).filter(establishment=establishment)
                      .values_list("pk", flat=True))
        rooms = [r for r in selectors.free_rooms(establishment, start, end) if r.pk in visible]
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "timetable/free_rooms.html", {
        "form": form, "rooms": rooms, "establishment": establishment}, status=status)


# --- One occurrence -------------------------------------------------------------------------------------------

def _occurrence_or_404(actor, course_id, date: str):
    course = policy.access_course(actor, course_id)
    planned = _planned_date(date)
    found = selectors.occurrence(course.pk, planned)
    if found is None:
        raise Http404
    return found


def roll_call_url(actor, occurrence) -> str | None:
    """The roll call link of an occurrence when the attendance policy lets the person take it (its teachers after
    replacement decide, without a query; vie scolaire takes any roll over)."""
    if occurrence.status == "cancelled":
        return None
    if not policy.can_take_roll_call(actor, occurrence.course, occurrence.date, occurrence=occurrence):
        return None
    return reverse("attendance:roll_call", args=[occurrence.course.pk, occurrence.date.isoformat()])


@login_required
@never_cache
def occurrence(request, course_id, date):
    actor = request.actor
    found = _occurrence_or_404(actor, course_id, date)
    course = found.course
    return render(request, "timetable/occurrence.html", {
        "o": found, "card": display.card(found, actor.id), "course": course,
        "planned_teachers": list(course.teachers.all()),
        "roll_call_url": roll_call_url(actor, found),
        "can_change": policy.can_change_occurrences(actor, course.establishment_id),
        "week_url": _nav_url(reverse("timetable:week"), date=found.day.isoformat()),
    })


def _warn(request, warnings) -> None:
    """Double bookings found by the services: saved anyway, shown as warnings."""
    for warning in warnings or ():
        messages.warning(request, warning)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _form_page(request, form, template: str, save, success: str, context_data: dict):
    """Run `save(form)` on a valid POST (services raise ValidationError in French); else (re)show the form."""
    if request.method == "POST" and form.is_valid():
        try:
            target = save(form)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
        else:
            messages.success(request, success)
            return redirect(target)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {"form": form, **context_data}, status=status)


@login_required
@never_cache
def change(request, course_id, date):
    """Staff: cancel, move, replace, change room, mark as exam, add a note, or revert one occurrence."""
    from . import forms, services

    actor = request.actor
    found = _occurrence_or_404(actor, course_id, date)
    course = found.course
    _require(policy.can_change_occurrences(actor, course.establishment_id))
    action = request.POST.get("action", "") if request.method == "POST" else ""
    rooms = policy.rooms_visible_to(actor).filter(establishment_id=course.establishment_id, is_active=True)
    teachers = forms.establishment_teachers(actor, course.establishment_id)
    posted = request.POST if request.method == "POST" else None
    cancel_form = forms.CancelForm(posted if action == "cancel" else None, prefix="cancel",
                                   initial=forms.CancelForm.initial_for(found))
    move_form = forms.MoveForm(posted if action == "move" else None, prefix="move", rooms=rooms,
                               initial=forms.MoveForm.initial_for(found))
    modify_form = forms.ModifyForm(posted if action == "modify" else None, prefix="modify", rooms=rooms,
                                   teachers=teachers, initial=forms.ModifyForm.initial_for(found))
    bound = {"cancel": cancel_form, "move": move_form, "modify": modify_form}.get(action)
    url = reverse("timetable:occurrence", args=[course.pk, found.date.isoformat()])
    if action == "revert" and found.change is not None:
        try:
            services.revert_change(course=course, planned_date=found.date, by=request.user, request=request)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Le cours a retrouvé son horaire, sa salle et son enseignant prévus."))
            return redirect(url)
    elif bound is not None and bound.is_valid():
        try:
            saved = services.change_occurrence(course=course, planned_date=found.date, by=request.user,
                                               request=request, **forms.change_kwargs(bound, found))
        except ValidationError as error:
            apply_errors(bound, error)
        except PermissionDenied as error:
            bound.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
        else:
            messages.success(request, bound.success_message)
            _warn(request, getattr(saved, "warnings", ()))
            return redirect(url)
    status = 400 if bound is not None and bound.errors else 200
    return render(request, "timetable/change.html", {
        "o": found, "card": display.card(found, actor.id), "course": course, "url": url,
        "cancel_form": cancel_form, "move_form": move_form, "modify_form": modify_form,
    }, status=status)


# --- Extra courses and exams, recurring courses (staff) -------------------------------------------------------

def _writing_establishment(request, allowed):
    establishment = context.establishment(request)
    if establishment is None or not allowed(request.actor, establishment.pk):
        raise PermissionDenied
    return establishment


def _course_choices(actor, establishment):
    from . import forms

    year = _current_year([establishment.pk])
    if year is None:
        raise Http404
    return year, forms.course_choices(actor, establishment, year)


@login_required
@never_cache
def extra_create(request):
    """An exceptional extra course or an exam, on one date."""
    from . import forms, services

    actor = request.actor
    establishment = _writing_establishment(request, policy.can_change_occurrences)
    year, choices = _course_choices(actor, establishment)
    form = forms.ExtraCourseForm(request.POST or None, choices=choices,
                                 initial={"date": parse_day(request.GET.get("date"))})

    def save(form):
        saved = services.create_extra_course(establishment=establishment, school_year=year, by=request.user,
                                             request=request, **form.service_kwargs())
        _warn(request, saved.warnings)
        return reverse("timetable:occurrence", args=[saved.course.pk, saved.course.date.isoformat()])

    return _form_page(request, form, "timetable/extra_form.html", save,
                      _("Cours ajouté : les personnes concernées sont prévenues."),
                      {"establishment": establishment})


@login_required
@never_cache
def courses(request):
    """Managers: the recurring courses of the current school year, filtered by class, teacher or room."""
    from . import forms

    actor = request.actor
    establishment = _writing_establishment(request, policy.can_manage_timetable)
    year, choices = _course_choices(actor, establishment)
    filters = forms.CourseFilterForm(request.GET or None, choices=choices)
    queryset = (policy.courses_visible_to(actor).filter(establishment=establishment, school_year=year,
                                                        kind=Course.Kind.RECURRING)
                .select_related("subject", "room").prefetch_related("teachers", "classes", "groups")
                .order_by("weekday", "start_time", "pk"))
    if filters.is_valid():
        queryset = filters.apply(queryset)
    page = Paginator(queryset, COURSES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "timetable/courses.html", {
        "page": page, "filters": filters, "establishment": establishment, "year": year,
        "weekdays": forms.WEEKDAY_LABELS,
    })


def _managed_course(request, course_id) -> Course:
    """A course the actor sets up: recurring courses for the timetable managers; one-off courses (extra courses,
    exams) also for those who change occurrences (who create them)."""
    course = policy.access_course(request.actor, course_id)
    allowed = policy.can_manage_timetable(request.actor, course.establishment_id) or (
        course.kind != Course.Kind.RECURRING and policy.can_change_occurrences(request.actor, course.establishment_id))
    _require(allowed)
    return course


@login_required
@never_cache
def course_create(request):
    from . import forms, services

    actor = request.actor
    establishment = _writing_establishment(request, policy.can_manage_timetable)
    year, choices = _course_choices(actor, establishment)
    form = forms.CourseForm(request.POST or None, choices=choices)

    def save(form):
        saved = services.create_course(establishment=establishment, school_year=year, by=request.user,
                                       request=request, **form.service_kwargs())
        _warn(request, saved.warnings)
        return reverse("timetable:courses")

    return _form_page(request, form, "timetable/course_form.html", save, _("Cours créé."),
                      {"establishment": establishment, "item": None})


@login_required
@never_cache
def course_edit(request, course_id):
    from . import forms, services

    actor = request.actor
    course = _managed_course(request, course_id)
    if course.kind != Course.Kind.RECURRING:  # one-off courses are changed on their occurrence's page
        return redirect("timetable:change", course.pk, course.date.isoformat())
    _require(policy.can_manage_timetable(actor, course.establishment_id))
    establishment = course.establishment
    choices = forms.course_choices(actor, establishment, course.school_year)
    form = forms.CourseForm(request.POST or None, choices=choices, initial=forms.CourseForm.initial_for(course))

    def save(form):
        saved = services.update_course(course, by=request.user, request=request, **form.service_kwargs())
        _warn(request, saved.warnings)
        return reverse("timetable:courses")

    return _form_page(request, form, "timetable/course_form.html", save, _("Cours enregistré."),
                      {"establishment": establishment, "item": course})


@login_required
@require_POST
def course_delete(request, course_id):
    from . import services

    course = _managed_course(request, course_id)
    try:
        services.delete_course(course, by=request.user, request=request)
    except (ValidationError, ProtectedError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [])) or _("Ce cours ne peut pas être supprimé."))
        return redirect("timetable:course_edit", course.pk)  # (one-off courses: on to their change page)
    messages.success(request, _("Cours supprimé."))
    return redirect("timetable:courses" if course.kind == Course.Kind.RECURRING else "timetable:consult")


# --- The calendar (managers) ----------------------------------------------------------------------------------

@login_required
@never_cache
def calendar_setup(request):
    """Zone preset, week mode (A/B, custom list of weeks, editable), closed periods."""
    from . import forms, services

    establishment = _writing_establishment(request, policy.can_manage_timetable)
    year = _current_year([establishment.pk])
    if year is None:
        raise Http404
    calendar = selectors.calendar_for(year)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    posted = request.POST if request.method == "POST" else None
    zone_form = forms.ZoneForm(posted if action == "zone" else None, prefix="zone",
                               initial={"zone": calendar.zone})
    settings_form = forms.CalendarSettingsForm(posted if action == "settings" else None, prefix="settings",
                                               initial=forms.CalendarSettingsForm.initial_for(calendar))
    weeks_form = forms.WeekLabelsForm(posted if action == "weeks" else None, prefix="weeks", calendar=calendar)
    period_form = forms.ClosedPeriodForm(posted if action == "period_add" else None, prefix="period")
    here = reverse("timetable:calendar")
    try:
        if action == "zone" and zone_form.is_valid():
            services.apply_zone_preset(calendar, zone_form.cleaned_data["zone"], by=request.user, request=request)
            messages.success(request, _("Vacances de la zone appliquées au calendrier."))
            return redirect(here)
        if action == "settings" and settings_form.is_valid():
            services.update_calendar(calendar, by=request.user, request=request, **settings_form.service_kwargs())
            messages.success(request, _("Calendrier enregistré ; la liste des semaines est recalculée."))
            return redirect(here)
        if action == "weeks" and weeks_form.is_valid():
            services.update_calendar(calendar, by=request.user, request=request, week_labels=weeks_form.labels())
            messages.success(request, _("Semaines enregistrées."))
            return redirect(here)
        if action == "period_add" and period_form.is_valid():
            services.add_closed_period(calendar=calendar, by=request.user, request=request,
                                       **period_form.service_kwargs())
            messages.success(request, _("Période sans cours ajoutée."))
            return redirect(here)
        if action == "period_delete":
            period = selectors.closed_periods_of(calendar).filter(pk=_int(request.POST.get("period"))).first()
            if period is None:
                raise Http404
            services.delete_closed_period(period, by=request.user, request=request)
            messages.success(request, _("Période sans cours retirée."))
            return redirect(here)
    except ValidationError as error:
        target = {"zone": zone_form, "settings": settings_form, "weeks": weeks_form,
                  "period_add": period_form}.get(action)
        if target is not None:
            apply_errors(target, error)
        else:
            for message in error.messages:
                messages.error(request, message)
    bound = {"zone": zone_form, "settings": settings_form, "weeks": weeks_form,
             "period_add": period_form}.get(action)
    status = 400 if bound is not None and bound.is_bound and bound.errors else 200
    return render(request, "timetable/calendar.html", {
        "calendar": calendar, "year": year, "establishment": establishment, "zone_form": zone_form,
        "settings_form": settings_form, "weeks_form": weeks_form, "period_form": period_form,
        "periods": list(selectors.closed_periods_of(calendar)),
    }, status=status)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

