"""The year rollover (*bascule*) screens of the administration: confirmation (what will be archived, the new
year's label, dates and periods) and result. The work is `directory.rollover.school_year_rollover`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import rollover as rollover_service
from . import selectors
from .admin_views import apply_errors, establishment_view, posted
from .forms import SchoolYearForm
from .models import Establishment


class RolloverForm(SchoolYearForm):
    """The new year (label and dates, checked as SchoolYearForm does), its periods, and the confirmation."""

    label = forms.CharField(label=gettext_lazy("Libellé de la nouvelle année"), max_length=9,
                            help_text=gettext_lazy("Sous la forme 2027-2028."))
    make_current = None  # the new year always becomes the current one
    period_scheme = forms.ChoiceField(
        label=gettext_lazy("Découpage de la nouvelle année"), choices=Establishment.PeriodScheme.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("Les périodes sont créées à parts égales ; vous pourrez ajuster leurs dates "
                               "ensuite. Ce découpage devient celui de l'établissement."))
    copy_structure = forms.BooleanField(
        label=gettext_lazy("Recopier les classes et les groupes dans la nouvelle année"), required=False,
        help_text=gettext_lazy("Codes, libellés, niveaux et MEF, sans les élèves ni les enseignants : pour "
                               "inscrire les élèves à la main. Inutile si l'annuaire est alimenté par un import "
                               "(AAF…) : le prochain import crée les classes de la nouvelle année et y place "
                               "les élèves."))
    confirm = forms.BooleanField(label="", required=True, error_messages={
        "required": gettext_lazy("Cochez cette case pour confirmer la bascule.")})

    def __init__(self, *args, current, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = _(
            "J'ai compris que l'année %(label)s sera archivée : ses classes, groupes, inscriptions et services "
            "d'enseignement seront conservés mais ne pourront plus être modifiés.") % {"label": current.label}


@establishment_view
def rollover(request, establishment):
    preview = rollover_service.rollover_preview(actor=request.actor, establishment=establishment)
    if preview.current is None:
        return render(request, "directory/admin/rollover.html", {"establishment": establishment,
                                                                 "preview": preview},
                      status=400 if request.method == "POST" else 200)
    form = RolloverForm(posted(request), current=preview.current, initial={
        "label": preview.label, "start": preview.start, "end": preview.end, "period_scheme": preview.period_scheme})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = rollover_service.school_year_rollover(
                actor=request.actor, establishment=establishment, new_label=data["label"], new_start=data["start"],
                new_end=data["end"], period_scheme=data["period_scheme"], copy_structure=data["copy_structure"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("L'année %(old)s est archivée ; %(new)s est l'année en cours.") % {
                "old": result.archived.label, "new": result.school_year.label})
            return redirect("directory_admin:year_rollover_done", establishment.pk, result.school_year.pk)
    return render(request, "directory/admin/rollover.html", {
        "establishment": establishment, "preview": preview, "form": form,
        "fields": {name: form[name] for name in form.fields},
    }, status=400 if form.errors else 200)


@establishment_view
def rollover_done(request, establishment, yid):
    """What a rollover did, and what to do next: the new year and the archived one."""
    year = selectors.access_school_year(establishment, yid)
    archived = rollover_service.latest_archived_before(year)
    if archived is None or year.is_archived:
        raise Http404
    return render(request, "directory/admin/rollover_done.html", {
        "establishment": establishment, "year": year, "archived": archived,
        "periods": list(year.periods.order_by("index")),
        "new_counts": rollover_service.YearCounts.of(year), "archived_counts": rollover_service.YearCounts.of(archived),
    })
