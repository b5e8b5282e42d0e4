"""The year rollover (*bascule*): close the current school year and open the next one.

In one transaction the current year is archived (no longer current, kept read-only: its classes, groups,
enrolments, group memberships and teaching services stay attached to it, as the history that grades and logbooks
point to), and the new year is created with its periods and made current. Optionally the class and group
*structure* (codes, labels, levels, MEFs, which classes a group spans; never pupils nor teachers) is copied into
the new year, for schools that enrol by hand. Otherwise the next import (which always writes to the current year)
creates the new year's classes and puts the pupils in them.

The way back from a rollover made by mistake is to make the archived year current again
(`services.school_year_set_current`), which reopens it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from preau.access import policy
from preau.audit.services import Action, record

from .models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    SchoolClass,
    SchoolYear,
    TeachingAssignment,
    TeachingGroup,
)
from .services import _check_year_dates, _require_admin_of, _unique, create_default_periods

LABEL_RE = re.compile(r"^(\d{4})-(\d{4})$")


@dataclass(frozen=True)
class YearCounts:
    """What a school year holds, as the rollover confirmation shows it."""

    classes: int
    groups: int
    enrolments: int
    group_memberships: int
    assignments: int

    @classmethod
    def of(cls, school_year: SchoolYear) -> YearCounts:
        """The five counts in one query (one scalar subquery each)."""
        def count(model, path):
            rows = model.objects.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(n=Count("*"))
            return Coalesce(Subquery(rows.values("n")[:1]), 0)

        fields = {"classes": count(SchoolClass, "school_year"), "groups": count(TeachingGroup, "school_year"),
                  "enrolments": count(ClassEnrolment, "school_class__school_year"),
                  "group_memberships": count(GroupMembership, "group__school_year"),
                  "assignments": count(TeachingAssignment, "school_year")}
        # Aliased (n_...): "classes" and "groups" are also the year's reverse relations.
        values = SchoolYear.objects.filter(pk=school_year.pk).values(
            **{f"n_{name}": expression for name, expression in fields.items()}).get()
        return cls(**{name: values[f"n_{name}"] for name in fields})

    def as_dict(self) -> dict[str, int]:
        return {"classes": self.classes, "groups": self.groups, "enrolments": self.enrolments,
                "group_memberships": self.group_memberships, "assignments": self.assignments}


@dataclass(frozen=True)
class RolloverPreview:
    """The current year, what archiving it concerns, and the suggested next year (label, dates, periods)."""

    current: SchoolYear | None
    counts: YearCounts | None
    label: str
    start: datetime.date | None
    end: datetime.date | None
    period_scheme: str


@dataclass(frozen=True)
class RolloverResult:
    archived: SchoolYear
    school_year: SchoolYear
    counts: YearCounts
    copied_classes: int
    copied_groups: int


def _one_year_later(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def suggested_next_year(current: SchoolYear) -> tuple[str, datetime.date, datetime.date]:
    """The year after `current`: a year prepared in advance when there is one, else the next label and the same
    dates one year later (1 September - 31 July stays 1 September - 31 July), starting after the current year's
    end in any case."""
    prepared = (SchoolYear.objects.filter(establishment_id=current.establishment_id, is_current=False,
                                          is_archived=False, start__gt=current.end).order_by("start").first())
    if prepared is not None:
        return prepared.label, prepared.start, prepared.end
    match = LABEL_RE.match(current.label or "")
    first = int(match.group(1)) + 1 if match else current.start.year + 1
    start = max(_one_year_later(current.start), current.end + datetime.timedelta(days=1))
    end = max(_one_year_later(current.end), start + datetime.timedelta(days=1))
    return f"{first}-{first + 1}", start, end


def rollover_preview(*, actor: policy.Actor, establishment: Establishment) -> RolloverPreview:
    _require_admin_of(actor, establishment.pk)
    current = SchoolYear.objects.filter(establishment=establishment, is_current=True).first()
    if current is None:
        return RolloverPreview(current=None, counts=None, label="", start=None, end=None,
                               period_scheme=establishment.period_scheme)
    label, start, end = suggested_next_year(current)
    return RolloverPreview(current=current, counts=YearCounts.of(current), label=label, start=start, end=end,
                           period_scheme=establishment.period_scheme)


def _check_next_year(establishment: Establishment, current: SchoolYear, label: str, start, end,
                     period_scheme: str, prepared: SchoolYear | None = None) -> None:
    """The new year must be well-formed, unused (but for a year prepared in advance under that label), after the
    current one, and overlap no other year."""
    exclude_pk = prepared.pk if prepared else None
    _check_year_dates(establishment, label, start, end, exclude_pk=exclude_pk)  # format, uniqueness, end > start
    errors: dict[str, str] = {}
    if period_scheme not in Establishment.PeriodScheme.values:
        errors["period_scheme"] = _("Choisissez des trimestres ou des semestres.")
    first, second = (int(part) for part in LABEL_RE.match(label).groups())
    current_match = LABEL_RE.match(current.label or "")
    if current_match and first <= int(current_match.group(1)):
        errors["label"] = _("La nouvelle année doit suivre l'année en cours (%(label)s).") % {
            "label": current.label}
    elif start.year != first or end.year > second:
        errors["label"] = _("Le libellé ne correspond pas aux dates : l'année %(label)s commence en %(first)s "
                            "et se termine au plus tard en %(second)s.") % {
            "label": label, "first": first, "second": second}
    if start <= current.end:
        errors["start"] = _("La nouvelle année doit commencer après la fin de l'année en cours (le %(date)s).") % {
            "date": date_format(current.end, "j F Y")}
    else:
        other = (SchoolYear.objects.filter(establishment=establishment, start__lte=end, end__gte=start)
                 .exclude(pk=exclude_pk).order_by("start").first())
        if other is not None:
            errors["start"] = _("Ces dates chevauchent l'année scolaire %(label)s.") % {"label": other.label}
    if errors:
        raise ValidationError(errors)


def _copy_structure(old: SchoolYear, new: SchoolYear) -> tuple[int, int]:
    """Copy the classes and groups of `old` into `new` (codes, labels, levels, MEFs, the classes each group
    spans): no pupil, no teacher, no import join key. Codes `new` already has (a year prepared in advance) stay
    as they were prepared."""
    by_code = {c.code: c for c in SchoolClass.objects.filter(school_year=new)}
    classes = SchoolClass.objects.bulk_create([
        SchoolClass(school_year=new, establishment_id=new.establishment_id, code=c.code, label=c.label,
                    level=c.level, mef_id=c.mef_id)
        for c in SchoolClass.objects.filter(school_year=old).order_by("pk") if c.code not in by_code])
    by_code = {c.code: c for c in SchoolClass.objects.filter(school_year=new)}
    prepared_groups = set(TeachingGroup.objects.filter(school_year=new).values_list("code", flat=True))
    old_groups = [g for g in TeachingGroup.objects.filter(school_year=old).prefetch_related("classes").order_by("pk")
                  if g.code not in prepared_groups]
    TeachingGroup.objects.bulk_create([
        TeachingGroup(school_year=new, establishment_id=new.establishment_id, code=g.code, label=g.label,
                      kind=g.kind) for g in old_groups])
    new_groups = {g.code: g for g in TeachingGroup.objects.filter(school_year=new)}
    TeachingGroup.classes.through.objects.bulk_create([
        TeachingGroup.classes.through(teachinggroup_id=new_groups[g.code].pk, schoolclass_id=by_code[c.code].pk)
        for g in old_groups for c in g.classes.all() if c.code in by_code])
    return len(classes), len(old_groups)


def school_year_rollover(*, actor: policy.Actor, establishment: Establishment, new_label: str,
                         new_start: datetime.date, new_end: datetime.date, period_scheme: str | None = None,
                         copy_structure: bool = False) -> RolloverResult:
    """Archive the current year and open `new_label` as the current year, with its periods (`period_scheme`,
    the establishment's by default, which it then becomes)."""
    _require_admin_of(actor, establishment.pk)
    label = (new_label or "").strip()
    scheme = period_scheme or establishment.period_scheme
    with _unique({"label": _("Cette année scolaire existe déjà pour l'établissement.")}), transaction.atomic():
        # The lock makes a second rollover submitted at the same time wait, then see the new current year.
        current = (SchoolYear.objects.select_for_update()
                   .filter(establishment=establishment, is_current=True).first())
        if current is None:
            raise ValidationError(_("L'établissement n'a pas d'année scolaire en cours : créez-la (Années et "
                                    "périodes) avant de passer à l'année suivante."))
        # A year an administrator prepared in advance under that label (classes made before the rollover) is
        # the one opened, with what it holds.
        prepared = SchoolYear.objects.filter(establishment=establishment, label=label, is_current=False,
                                             is_archived=False).first()
        _check_next_year(establishment, current, label, new_start, new_end, scheme, prepared)
        counts = YearCounts.of(current)
        current.is_current, current.is_archived = False, True
        current.save(update_fields=["is_current", "is_archived"])
        if prepared is None:
            year = SchoolYear.objects.create(establishment=establishment, label=label, start=new_start,
                                             end=new_end, is_current=True)
        else:
            year = prepared
            dates_changed = (year.start, year.end) != (new_start, new_end)
            year.start, year.end, year.is_current = new_start, new_end, True
            year.save(update_fields=["start", "end", "is_current"])
            if dates_changed or scheme != establishment.period_scheme:
                year.periods.all().delete()
        if not year.periods.exists():
            create_default_periods(year, scheme)
        if scheme != establishment.period_scheme:
            establishment.period_scheme = scheme
            establishment.save(update_fields=["period_scheme"])
        copied_classes, copied_groups = _copy_structure(current, year) if copy_structure else (0, 0)
        record(Action.SCHOOL_YEAR_ROLLOVER, actor=actor.user, establishment_id=establishment.pk,
               target="directory.school_year", archived=current.label, opened=label,
               start=new_start.isoformat(), end=new_end.isoformat(), period_scheme=scheme,
               copied_classes=copied_classes, copied_groups=copied_groups, prepared=prepared is not None,
               **counts.as_dict())
    return RolloverResult(archived=current, school_year=year, counts=counts, copied_classes=copied_classes,
                          copied_groups=copied_groups)


def latest_archived_before(school_year: SchoolYear) -> SchoolYear | None:
    """The archived year a rollover closed to open `school_year` (the last archived one before it)."""
    return (SchoolYear.objects.filter(establishment_id=school_year.establishment_id, is_archived=True,
                                      start__lt=school_year.start).order_by("-start").first())
