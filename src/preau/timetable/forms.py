"""Forms of the timetable pages: they parse and label, in French; the services (`timetable.services`) decide."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import Role, Subject

from .models import ClosedPeriod, Course, CourseChange, SchoolCalendar
from .occurrences import MOVED, PARIS, Occurrence, monday_of

WEEKDAY_LABELS = [(0, _("Lundi")), (1, _("Mardi")), (2, _("Mercredi")), (3, _("Jeudi")), (4, _("Vendredi")),
                  (5, _("Samedi")), (6, _("Dimanche"))]
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%Hh"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


def date_field(label, required=True, **kwargs):
    return forms.DateField(label=label, required=required, widget=DateInput(), error_messages={
        "required": _("Indiquez une date."), "invalid": _("Indiquez une date valide (jj/mm/aaaa).")}, **kwargs)


def time_field(label, required=True, **kwargs):
    return forms.TimeField(label=label, required=required, widget=TimeInput(), input_formats=TIME_FORMATS,
                           error_messages={"required": _("Indiquez une heure."),
                                           "invalid": _("Indiquez une heure valide (hh:mm).")}, **kwargs)


MAX_ID = 2 ** 63 - 1


class ChoicesField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows that refuses ids no database could hold (instead of an overflow, a 500)."""

    def _check_values(self, value):
        for pk in value:
            try:
                number = int(str(pk))
            except (TypeError, ValueError):
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                            params={"pk": pk}) from None
            if not 0 < number <= MAX_ID:
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                            params={"value": pk})
        return super()._check_values(value)


def _person_label(user) -> str:
    return f"{user.last_name} {user.first_name}".strip()


def _label(item) -> str:
    return item.label or str(item)


def establishment_teachers(actor, establishment_id: int) -> QuerySet[User]:
    """The teachers of an establishment the actor sees in the directory (replacement and course pickers)."""
    return (policy.timetable_teachers_visible_to(actor).filter(
        memberships__establishment_id=establishment_id, memberships__role=Role.TEACHER, memberships__is_active=True)
        .distinct().order_by("last_name", "first_name"))


def course_choices(actor, establishment, school_year) -> dict:
    """What a course may name: the establishment's subjects, teachers, classes and groups of the year, rooms."""
    return {
        "subjects": Subject.objects.filter(establishment=establishment).order_by("label"),
        "teachers": establishment_teachers(actor, establishment.pk),
        "classes": policy.timetable_classes_visible_to(actor)
        .filter(establishment=establishment, school_year=school_year).order_by("level", "code"),
        "groups": policy.timetable_groups_visible_to(actor)
        .filter(establishment=establishment, school_year=school_year).order_by("code"),
        "rooms": policy.rooms_visible_to(actor).filter(establishment=establishment, is_active=True).order_by("code"),
    }


def _ordered_times(form, start: str, end: str) -> None:
    data = form.cleaned_data
    if data.get(start) and data.get(end) and data[end] <= data[start]:
        form.add_error(end, _("L'heure de fin doit suivre l'heure de début."))


# --- Free rooms ---------------------------------------------------------------------------------------------------

class FreeRoomsForm(forms.Form):
    """A date and a slot: one of the school's usual slots, or any start and end."""

    date = date_field(_("Date"))
    slot = forms.ChoiceField(label=_("Créneau"), required=False,
                             help_text=_("Un créneau habituel de l'établissement, ou les heures ci-dessous."),
                             error_messages={"invalid_choice": _("Choisissez un créneau de la liste.")})
    start = time_field(_("De"), required=False)
    end = time_field(_("À"), required=False)
    field_order = ["date", "slot", "start", "end"]

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [("", _("— heures ci-dessous —"))] + [
            (f"{a:%H:%M}-{b:%H:%M}", f"{a:%H:%M} – {b:%H:%M}") for a, b in slots]
        if not slots:
            del self.fields["slot"]

    def clean(self):
        data = super().clean()
        if data.get("slot"):
            first, last = data["slot"].split("-")
            data["start"] = datetime.time.fromisoformat(first)
            data["end"] = datetime.time.fromisoformat(last)
        elif "start" not in self.errors and "end" not in self.errors:
            if not data.get("start"):
                self.add_error("start", _("Indiquez une heure."))
            if not data.get("end"):
                self.add_error("end", _("Indiquez une heure."))
        _ordered_times(self, "start", "end")
        return data

    def interval(self) -> tuple[datetime.datetime, datetime.datetime]:
        data = self.cleaned_data
        return (datetime.datetime.combine(data["date"], data["start"], tzinfo=PARIS),
                datetime.datetime.combine(data["date"], data["end"], tzinfo=PARIS))


# --- Changes to one occurrence ------------------------------------------------------------------------------------

def _kept(occurrence: Occurrence) -> dict:
    """The current change's fields, so that one form (a note, a room) does not undo another (a replacement)."""
    change = occurrence.change
    if change is None:
        return {}
    kept = {"reason": change.reason, "new_room": change.new_room, "replacement_teacher": change.replacement_teacher,
            "note": change.note, "is_exam": change.is_exam}
    if change.status == CourseChange.Status.MOVED:
        kept.update(new_date=change.new_date, new_start_time=change.new_start_time,
                    new_end_time=change.new_end_time)
    return kept


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Motif de l'annulation"), max_length=200,
                             help_text=_("Affiché aux élèves, à leurs responsables et aux enseignants."),
                             error_messages={"required": _("Indiquez le motif de l'annulation.")})
    success_message = _("Cours annulé : les personnes concernées sont prévenues.")

    @staticmethod
    def initial_for(occurrence: Occurrence) -> dict:
        return {"reason": occurrence.reason} if occurrence.status == "cancelled" else {}

    def service_kwargs(self) -> dict:
        return {"status": CourseChange.Status.CANCELLED, "reason": self.cleaned_data["reason"].strip()}


class MoveForm(forms.Form):
    new_date = date_field(_("Nouvelle date"))
    new_start_time = time_field(_("Nouvelle heure de début"), required=False,
                                help_text=_("Vide : l'heure prévue."))
    new_end_time = time_field(_("Nouvelle heure de fin"), required=False, help_text=_("Vide : l'heure prévue."))
    new_room = forms.ModelChoiceField(label=_("Salle"), queryset=None, required=False,
                                      empty_label=_("— salle prévue —"),
                                      error_messages={"invalid_choice": _("Choisissez une salle de la liste.")})
    reason = forms.CharField(label=_("Motif"), max_length=200, required=False)
    success_message = _("Cours déplacé : les personnes concernées sont prévenues.")

    def __init__(self, *args, rooms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_room"].queryset = rooms
        self.fields["new_room"].label_from_instance = _label

    @staticmethod
    def initial_for(occurrence: Occurrence) -> dict:
        change = occurrence.change
        if change is None or change.status != CourseChange.Status.MOVED:
            return {"new_date": occurrence.date}
        return {"new_date": change.new_date or occurrence.date, "new_start_time": change.new_start_time,
                "new_end_time": change.new_end_time, "new_room": change.new_room_id, "reason": change.reason}

    def clean(self):
        data = super().clean()
        _ordered_times(self, "new_start_time", "new_end_time")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"status": CourseChange.Status.MOVED, "new_date": data["new_date"],
                "new_start_time": data.get("new_start_time"), "new_end_time": data.get("new_end_time"),
                "new_room": data.get("new_room"), "reason": data.get("reason", "").strip()}


class ModifyForm(forms.Form):
    replacement_teacher = forms.ModelChoiceField(
        label=_("Enseignant remplaçant"), queryset=None, required=False, empty_label=_("— aucun —"),
        error_messages={"invalid_choice": _("Choisissez un enseignant de la liste.")})
    new_room = forms.ModelChoiceField(label=_("Autre salle"), queryset=None, required=False,
                                      empty_label=_("— salle prévue —"),
                                      error_messages={"invalid_choice": _("Choisissez une salle de la liste.")})
    is_exam = forms.BooleanField(label=_("Devoir surveillé"), required=False)
    note = forms.CharField(label=_("Information pour les élèves et les familles"), max_length=300,
                           required=False, help_text=_("Par exemple : « Apporter la calculatrice »."))
    success_message = _("Cours modifié : les personnes concernées sont prévenues.")

    def __init__(self, *args, rooms, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_room"].queryset = rooms
        self.fields["new_room"].label_from_instance = _label
        self.fields["replacement_teacher"].queryset = teachers
        self.fields["replacement_teacher"].label_from_instance = _person_label

    @staticmethod
    def initial_for(occurrence: Occurrence) -> dict:
        change = occurrence.change
        if change is None:
            return {}
        return {"replacement_teacher": change.replacement_teacher_id, "new_room": change.new_room_id,
                "is_exam": change.is_exam, "note": change.note}

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("replacement_teacher") or data.get("new_room") or data.get("is_exam")
                                    or (data.get("note") or "").strip()):
            raise forms.ValidationError(_("Indiquez au moins un changement : un remplaçant, une salle, un devoir "
                                          "surveillé ou une information."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"status": CourseChange.Status.MODIFIED, "replacement_teacher": data.get("replacement_teacher"),
                "new_room": data.get("new_room"), "is_exam": bool(data.get("is_exam")),
                "note": (data.get("note") or "").strip()}


def change_kwargs(form, occurrence: Occurrence) -> dict:
    """What to send to `services.change_occurrence`: the form's fields over the current change's, so that one form
    does not undo another (a room or a note on a moved course keeps it moved; a move keeps its replacement
    teacher, exam mark and note; a cancellation keeps the note)."""
    kwargs = form.service_kwargs()
    kept = _kept(occurrence)
    status = kwargs["status"]
    if status == CourseChange.Status.CANCELLED:
        return {"note": kept.get("note", ""), **kwargs}
    if status == CourseChange.Status.MOVED:
        base = {k: kept[k] for k in ("replacement_teacher", "note", "is_exam") if k in kept}
        return {**base, **kwargs}
    # Modified: on a moved occurrence, keep the move (and its reason).
    if occurrence.status == MOVED:
        return {**kept, **kwargs, "status": CourseChange.Status.MOVED}
    reason = kept.get("reason", "") if occurrence.status == CourseChange.Status.MODIFIED else ""
    return {"reason": reason, **kwargs}


# --- Courses ------------------------------------------------------------------------------------------------------

class _CourseFields(forms.Form):
    subject = forms.ModelChoiceField(label=_("Matière"), queryset=None, required=False, empty_label=_("— aucune —"),
                                     error_messages={"invalid_choice": _("Choisissez une matière de la liste.")})
    label = forms.CharField(label=_("Libellé"), max_length=120, required=False,
                            help_text=_("Facultatif avec une matière (« Vie de classe », « Permanence »…)."))
    teachers = ChoicesField(
        label=_("Enseignants"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"invalid_choice": _("Choisissez des enseignants de la liste."),
                        "invalid_pk_value": _("Choisissez des enseignants de la liste.")})
    classes = ChoicesField(
        label=_("Classes"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"invalid_choice": _("Choisissez des classes de la liste."),
                        "invalid_pk_value": _("Choisissez des classes de la liste.")})
    groups = ChoicesField(
        label=_("Groupes"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"invalid_choice": _("Choisissez des groupes de la liste."),
                        "invalid_pk_value": _("Choisissez des groupes de la liste.")})
    room = forms.ModelChoiceField(label=_("Salle"), queryset=None, required=False, empty_label=_("— aucune —"),
                                  error_messages={"invalid_choice": _("Choisissez une salle de la liste.")})
    start_time = time_field(_("Début"))
    end_time = time_field(_("Fin"))

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for name, key in (("subject", "subjects"), ("teachers", "teachers"), ("classes", "classes"),
                          ("groups", "groups"), ("room", "rooms")):
            self.fields[name].queryset = choices[key]
        self.fields["teachers"].label_from_instance = _person_label
        for name in ("subject", "classes", "groups", "room"):
            self.fields[name].label_from_instance = _label

    def clean(self):
        data = super().clean()
        _ordered_times(self, "start_time", "end_time")
        if not self.errors:
            if not data.get("subject") and not (data.get("label") or "").strip():
                self.add_error("label", _("Choisissez une matière ou donnez un libellé."))
            if not data.get("classes") and not data.get("groups"):
                self.add_error("classes", _("Choisissez au moins une classe ou un groupe."))
        return data

    def common_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"subject": data.get("subject"), "label": (data.get("label") or "").strip(),
                "teachers": list(data.get("teachers") or ()), "classes": list(data.get("classes") or ()),
                "groups": list(data.get("groups") or ()), "room": data.get("room"),
                "start_time": data["start_time"], "end_time": data["end_time"]}


class ExtraCourseForm(_CourseFields):
    kind = forms.ChoiceField(label=_("Type"), widget=forms.RadioSelect, initial=Course.Kind.EXTRA,
                             choices=[(Course.Kind.EXTRA, _("Cours exceptionnel")),
                                      (Course.Kind.EXAM, _("Devoir surveillé / examen"))],
                             error_messages={"required": _("Choisissez le type."),
                                             "invalid_choice": _("Choisissez le type dans la liste.")})
    date = date_field(_("Date"))
    field_order = ["kind", "date", "start_time", "end_time", "subject", "label", "teachers", "classes", "groups",
                   "room"]

    def service_kwargs(self) -> dict:
        return {**self.common_kwargs(), "is_exam": self.cleaned_data["kind"] == Course.Kind.EXAM,
                "date": self.cleaned_data["date"]}


class CourseForm(_CourseFields):
    weekday = forms.TypedChoiceField(label=_("Jour"), choices=WEEKDAY_LABELS, coerce=int,
                                     error_messages={"required": _("Choisissez le jour."),
                                                     "invalid_choice": _("Choisissez un jour de la liste.")})
    week_pattern = forms.ChoiceField(label=_("Semaines"), choices=Course.WeekPattern.choices,
                                     initial=Course.WeekPattern.EVERY,
                                     error_messages={"invalid_choice": _("Choisissez dans la liste.")})
    custom_weeks = forms.CharField(
        label=_("Semaines choisies"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Pour « Semaines choisies » : les dates des lundis (aaaa-mm-jj ou jj/mm/aaaa), séparées par "
                    "des espaces ou des virgules."))
    valid_from = date_field(_("À partir du"), required=False, help_text=_("Vide : dès le début de l'année."))
    valid_until = date_field(_("Jusqu'au"), required=False, help_text=_("Vide : jusqu'à la fin de l'année."))
    field_order = ["subject", "label", "teachers", "classes", "groups", "room", "weekday", "start_time",
                   "end_time", "week_pattern", "custom_weeks", "valid_from", "valid_until"]

    def clean_custom_weeks(self) -> list[str]:
        text = self.cleaned_data.get("custom_weeks") or ""
        weeks = []
        for token in text.replace(",", " ").replace(";", " ").split():
            day = None
            for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
                try:
                    day = datetime.datetime.strptime(token, fmt).date()
                    break
                except ValueError:
                    continue
            if day is None:
                raise forms.ValidationError(_("« %(value)s » n'est pas une date."), params={"value": token[:20]})
            weeks.append(monday_of(day).isoformat())
        return sorted(set(weeks))

    def clean(self):
        data = super().clean()
        if data.get("week_pattern") == Course.WeekPattern.CUSTOM and not data.get("custom_weeks") \
                and "custom_weeks" not in self.errors:
            self.add_error("custom_weeks", _("Indiquez au moins une semaine."))
        if data.get("valid_from") and data.get("valid_until") and data["valid_until"] < data["valid_from"]:
            self.add_error("valid_until", _("La fin doit suivre le début."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {**self.common_kwargs(), "weekday": data["weekday"], "week_pattern": data["week_pattern"],
                "custom_weeks": data.get("custom_weeks") or [], "valid_from": data.get("valid_from"),
                "valid_until": data.get("valid_until")}

    @staticmethod
    def initial_for(course: Course) -> dict:
        return {"subject": course.subject_id, "label": course.label, "teachers": list(course.teachers.all()),
                "classes": list(course.classes.all()), "groups": list(course.groups.all()),
                "room": course.room_id, "weekday": course.weekday, "start_time": course.start_time,
                "end_time": course.end_time, "week_pattern": course.week_pattern,
                "custom_weeks": " ".join(course.custom_weeks or []), "valid_from": course.valid_from,
                "valid_until": course.valid_until}


class CourseFilterForm(forms.Form):
    classe = forms.ModelChoiceField(label=_("Classe"), queryset=None, required=False, empty_label=_("Toutes"))
    enseignant = forms.ModelChoiceField(label=_("Enseignant"), queryset=None, required=False,
                                        empty_label=_("Tous"))
    salle = forms.ModelChoiceField(label=_("Salle"), queryset=None, required=False, empty_label=_("Toutes"))

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classe"].queryset = choices["classes"]
        self.fields["enseignant"].queryset = choices["teachers"]
        self.fields["salle"].queryset = choices["rooms"]
        self.fields["classe"].label_from_instance = _label
        self.fields["enseignant"].label_from_instance = _person_label
        self.fields["salle"].label_from_instance = _label

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("classe"):
            queryset = queryset.filter(classes=data["classe"])
        if data.get("enseignant"):
            queryset = queryset.filter(teachers=data["enseignant"])
        if data.get("salle"):
            queryset = queryset.filter(room=data["salle"])
        return queryset


# --- The calendar -------------------------------------------------------------------------------------------------

class ZoneForm(forms.Form):
    zone = forms.ChoiceField(label=_("Zone de vacances"),
                             choices=[(z, label) for z, label in SchoolCalendar.Zone.choices if z],
                             help_text=_("Remplace les vacances scolaires et les jours fériés du calendrier par "
                                         "ceux de la zone ; les journées banalisées ajoutées à la main restent."),
                             error_messages={"required": _("Choisissez la zone A, B ou C."),
                                             "invalid_choice": _("Choisissez la zone A, B ou C.")})


class CalendarSettingsForm(forms.Form):
    week_mode = forms.ChoiceField(label=_("Semaines"), choices=SchoolCalendar.WeekMode.choices,
                                  widget=forms.RadioSelect,
                                  error_messages={"required": _("Choisissez comment les semaines se suivent."),
                                                  "invalid_choice": _("Choisissez dans la liste.")})
    first_week_label = forms.ChoiceField(label=_("Première semaine de l'année"), choices=[("A", "A"), ("B", "B")],
                                         error_messages={"invalid_choice": _("Choisissez A ou B.")})
    holidays_count_in_alternation = forms.BooleanField(
        label=_("Les semaines de vacances comptent dans l'alternance"), required=False)
    school_days = forms.TypedMultipleChoiceField(
        label=_("Jours de classe"), choices=WEEKDAY_LABELS, coerce=int, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Cochez au moins un jour de classe."),
                        "invalid_choice": _("Choisissez des jours de la liste.")})
    day_start = time_field(_("Début de la journée"))
    day_end = time_field(_("Fin de la journée"))
    half_day_split = time_field(_("Séparation matin / après-midi"),
                                help_text=_("Sert au décompte des absences en demi-journées."))

    def clean(self):
        data = super().clean()
        _ordered_times(self, "day_start", "day_end")
        split = data.get("half_day_split")
        if split and data.get("day_start") and data.get("day_end") and not data["day_start"] < split < data["day_end"]:
            self.add_error("half_day_split", _("La séparation doit tomber pendant la journée."))
        return data

    @staticmethod
    def initial_for(calendar: SchoolCalendar) -> dict:
        return {"week_mode": calendar.week_mode, "first_week_label": calendar.first_week_label or "A",
                "holidays_count_in_alternation": calendar.holidays_count_in_alternation,
                "school_days": list(calendar.school_days or [0, 1, 2, 3, 4]), "day_start": calendar.day_start,
                "day_end": calendar.day_end, "half_day_split": calendar.half_day_split}

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


WEEK_LABEL_CHOICES = [("", "—"), ("A", _("Semaine A")), ("B", _("Semaine B"))]


class WeekLabelsForm(forms.Form):
    """One select per week of the school year (its Monday): the label of the week, editable by hand."""

    def __init__(self, *args, calendar: SchoolCalendar, **kwargs):
        super().__init__(*args, **kwargs)
        year = calendar.school_year
        labels = calendar.week_labels or {}
        monday = monday_of(year.start)
        self.mondays = []
        while monday <= year.end:
            key = monday.isoformat()
            self.fields[f"w{key}"] = forms.ChoiceField(
                label=key, choices=WEEK_LABEL_CHOICES, required=False, initial=labels.get(key, ""),
                error_messages={"invalid_choice": _("Choisissez A, B ou aucune étiquette.")})
            self.mondays.append(monday)
            monday += datetime.timedelta(days=7)

    def rows(self):
        return [(monday, self[f"w{monday.isoformat()}"]) for monday in self.mondays]

    def labels(self) -> dict[str, str]:
        return {m.isoformat(): self.cleaned_data[f"w{m.isoformat()}"] for m in self.mondays
                if self.cleaned_data.get(f"w{m.isoformat()}")}


class ClosedPeriodForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=ClosedPeriod.Kind.choices,
                             error_messages={"required": _("Choisissez le type."),
                                             "invalid_choice": _("Choisissez un type de la liste.")})
    label = forms.CharField(label=_("Libellé"), max_length=120,
                            error_messages={"required": _("Donnez un libellé (« Pont de l'Ascension »).")})
    first_day = date_field(_("Premier jour"))
    last_day = date_field(_("Dernier jour"), required=False, help_text=_("Vide : un seul jour."))

    def clean(self):
        data = super().clean()
        if data.get("first_day") and data.get("last_day") and data["last_day"] < data["first_day"]:
            self.add_error("last_day", _("Le dernier jour doit suivre le premier."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"kind": data["kind"], "label": data["label"].strip(), "first_day": data["first_day"],
                "last_day": data.get("last_day") or data["first_day"]}
