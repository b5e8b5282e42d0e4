"""The notification pages, under /notifications/ (namespace "notifications").

- /notifications/: the person's list, unread first; mark one or all read.
- /notifications/<id>/ouvrir/ (POST): mark it read and go to what it is about.
- /notifications/preferences/: the kind × channel grid and the quiet hours.
Everyone sees only their own notifications: another person's id answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import PreferencesForm


def _back(request):
    """Back to the list page the person came from (same page number), never elsewhere."""
    page = request.POST.get("page", "")
    url = reverse("notifications:list")
    return redirect(f"{url}?page={page}" if page.isdigit() else url)


@never_cache
@login_required
def notification_list(request):
    page = Paginator(selectors.notification_list(request.actor), selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    unread = sum(1 for n in page.object_list if n.read_at is None)
    return render(request, "notifications/list.html", {"page": page, "unread_on_page": unread})


@require_POST
@login_required
def mark_read(request, notification_id):
    services.notification_mark_read(actor=request.actor, notification_id=notification_id)
    return _back(request)


@require_POST
@login_required
def mark_all_read(request):
    count = services.notification_mark_all_read(actor=request.actor)
    if count:
        messages.success(request, _("Toutes vos notifications sont marquées comme lues."))
    return _back(request)


@require_POST
@login_required
def open_notification(request, notification_id):
    notification = services.notification_mark_read(actor=request.actor, notification_id=notification_id)
    url = notification.url
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return redirect(url)
    return _back(request)


@never_cache
@login_required
def preferences(request):
    actor = request.actor
    prefs = selectors.preferences_of(actor)
    grid = selectors.preference_grid(actor, prefs)
    initial = {"quiet_start": prefs.quiet_start, "quiet_end": prefs.quiet_end, "quiet_weekends": prefs.quiet_weekends}
    form = PreferencesForm(request.POST or None, grid=grid, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.preferences_update(actor=actor, channels=form.channels(),
                                    quiet_start=form.cleaned_data["quiet_start"],
                                    quiet_end=form.cleaned_data["quiet_end"],
                                    quiet_weekends=form.cleaned_data["quiet_weekends"])
        messages.success(request, _("Vos préférences de notification sont enregistrées."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form, "rows": form.bound_cells()})
