"""Forms of the attendance pages (roll call, absence over a period, filters): they parse and label in French; the
services (preau.attendance.services) decide and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import AttendanceRecord

PRESENT, ABSENT, LATE = "present", "absent", "late"
STATUS_CHOICES = [(PRESENT, _("Présent")), (ABSENT, _("Absent")), (LATE, _("En retard"))]
# Marks vie scolaire may have set on a roll call (attendance.services): shown as a fourth choice, kept if untouched.
OTHER_STATUSES = {"early_leave": _("Parti plus tôt"), "exclusion": _("Exclu du cours")}
QUICK_LATE_MINUTES = (5, 10, 15)
MAX_LATE_MINUTES = 240


class RollCallForm(forms.Form):
    """One radio group (present / absent / late) and one minutes field per pupil of the occurrence.

    Field names carry the pupil id (`statut-<id>`, `retard-<id>`); only the pupils of the occurrence have fields, so
    a posted id of anybody else is ignored. `marks()` gives the service's input for every pupil."""

    def __init__(self, *args, pupils, marks=None, covered=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.covered = set(covered)
        # Pupils absent on a record made elsewhere (sickness over several days...) have no field: the roll call
        # keeps that record.
        self.pupils = [p for p in pupils if p.pk not in self.covered]
        self.all_pupils = list(pupils)
        marks = marks or {}
        for pupil in self.pupils:
            mark = marks.get(pupil.pk) or {}
            status = mark.get("status") or PRESENT
            choices = list(STATUS_CHOICES)
            if status in OTHER_STATUSES:  # set by vie scolaire: kept unless changed
                choices.append((status, OTHER_STATUSES[status]))
            elif status not in (PRESENT, ABSENT, LATE):
                status = ABSENT
            self.fields[self.status_name(pupil)] = forms.ChoiceField(
                label=pupil.full_name, choices=choices, initial=status, widget=forms.RadioSelect,
                error_messages={
                    "required": gettext("Choisissez présent, absent ou en retard."),
                    "invalid_choice": gettext("Choisissez présent, absent ou en retard."),
                })
            self.fields[self.minutes_name(pupil)] = forms.IntegerField(
                label=gettext("Minutes de retard de %(name)s") % {"name": pupil.full_name}, required=False,
                min_value=1, max_value=MAX_LATE_MINUTES, initial=mark.get("late_minutes"),
                error_messages={
                    "invalid": gettext("Indiquez un nombre entier de minutes."),
                    "min_value": gettext("Un retard compte au moins une minute."),
                    "max_value": gettext("Un retard de plus de %(max)s minutes est une absence.")
                    % {"max": MAX_LATE_MINUTES},
                })

    @staticmethod
    def status_name(pupil) -> str:
        return f"statut-{pupil.pk}"

    @staticmethod
    def minutes_name(pupil) -> str:
        return f"retard-{pupil.pk}"

    def clean(self):
        cleaned = super().clean()
        for pupil in self.pupils:
            name = self.minutes_name(pupil)
            if cleaned.get(self.status_name(pupil)) != LATE:
                # Minutes left in the field of a pupil who is not late (visible without JavaScript) do not count.
                self._errors.pop(name, None)
                cleaned[name] = None
            elif not cleaned.get(name) and name not in self._errors:
                self.add_error(name, gettext("Indiquez les minutes de retard."))
        return cleaned

    def marks(self) -> dict[int, dict]:
        result = {}
        for pupil in self.pupils:
            status = self.cleaned_data[self.status_name(pupil)]
            minutes = self.cleaned_data.get(self.minutes_name(pupil)) if status == LATE else None
            result[pupil.pk] = {"status": status, "late_minutes": minutes}
        return result

    def current(self, pupil) -> tuple[str, int | None]:
        """The status and minutes shown for a pupil: the posted ones when bound, else the initial ones."""
        status_field, minutes_field = self[self.status_name(pupil)], self[self.minutes_name(pupil)]
        status = status_field.value() or PRESENT
        minutes = minutes_field.value()
        return str(status), minutes

    def rows(self, extra: dict[int, dict] | None = None) -> list[dict]:
        """What the template shows per pupil, in order: the fields and current choice (none for a pupil covered
        by an absence recorded elsewhere), and `extra[pupil_id]` (that absence, an exemption...)."""
        extra = extra or {}
        rows = []
        for pupil in self.all_pupils:
            row = {"pupil": pupil, "covered": pupil.pk in self.covered, **extra.get(pupil.pk, {})}
            if not row["covered"]:
                status, minutes = self.current(pupil)
                row.update({"status": status, "minutes": minutes if minutes not in (None, "") else "",
                            "status_field": self[self.status_name(pupil)],
                            "minutes_field": self[self.minutes_name(pupil)]})
            else:
                row["status"] = ABSENT
            rows.append(row)
        return rows

    def counts(self) -> dict[str, int]:
        """Present / absent / late, as the form stands (pupils covered by another record count as absent)."""
        counts = {PRESENT: 0, ABSENT: len(self.covered & {p.pk for p in self.all_pupils}), LATE: 0}
        for pupil in self.pupils:
            status, _minutes = self.current(pupil)
            counts[status if status in counts else ABSENT] += 1
        return counts


class SpanMixin:
    """Forms with `starts_at` and `ends_at`: the end after the start."""

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", gettext("La fin doit être après le début."))
        return cleaned


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class AbsenceForm(SpanMixin, forms.Form):
    """An absence (or lateness, early leaving, exclusion) over a period, entered by vie scolaire."""

    pupil = forms.ModelChoiceField(
        label=_("Élève"), queryset=None, widget=forms.RadioSelect, empty_label=None,
        error_messages={"required": _("Choisissez l'élève."),
                        "invalid_choice": _("Choisissez un élève de la liste.")})
    kind = forms.ChoiceField(label=_("Type"), choices=AttendanceRecord.Kind.choices,
                             initial=AttendanceRecord.Kind.ABSENCE,
                             error_messages={"invalid_choice": _("Choisissez un type de la liste.")})
    starts_at = forms.DateTimeField(label=_("Du"), widget=LocalDateTimeInput(),
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                    error_messages={"required": _("Indiquez le début."),
                                                    "invalid": _("Indiquez une date et une heure valides.")})
    ends_at = forms.DateTimeField(label=_("Au"), widget=LocalDateTimeInput(),
                                  input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                  error_messages={"required": _("Indiquez la fin."),
                                                  "invalid": _("Indiquez une date et une heure valides.")})
    reason = forms.ModelChoiceField(label=_("Motif"), queryset=None, required=False,
                                    empty_label=_("— sans motif pour l'instant —"),
                                    error_messages={"invalid_choice": _("Choisissez un motif de la liste.")})
    comment = forms.CharField(label=_("Commentaire"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"max_length": _("Le commentaire dépasse 500 caractères.")})

    def __init__(self, *args, pupils, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pupil"].queryset = pupils
        self.fields["pupil"].label_from_instance = self.pupil_label
        self.fields["reason"].queryset = reasons

    @staticmethod
    def pupil_label(pupil) -> str:
        return f"{pupil.last_name} {pupil.first_name}"


class DayForm(forms.Form):
    jour = forms.DateField(label=_("Jour"), required=False, input_formats=["%Y-%m-%d"],
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                           error_messages={"invalid": _("Indiquez une date valide.")})


class ExportForm(forms.Form):
    """The whole establishment's CSV over a period (built in the background)."""

    kind = forms.ChoiceField(label=_("Contenu"), choices=[("counts", _("Décomptes en demi-journées")),
                                                         ("records", _("Absences et retards"))],
                             error_messages={"invalid_choice": _("Choisissez un contenu de la liste.")})
    first_day = forms.DateField(label=_("Du"), input_formats=["%Y-%m-%d"],
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                error_messages={"required": _("Indiquez le premier jour."),
                                                "invalid": _("Indiquez une date valide.")})
    last_day = forms.DateField(label=_("Au"), input_formats=["%Y-%m-%d"],
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                               error_messages={"required": _("Indiquez le dernier jour."),
                                               "invalid": _("Indiquez une date valide.")})

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", gettext("Le dernier jour doit suivre le premier."))
        return cleaned
