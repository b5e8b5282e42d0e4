"""The audit log's pages, under /journal/ (namespace "audit").

- /journal/: the administrators' journal (ENT admins: their establishments' people and events; the global admin:
  everything). Anyone else gets 403. ?personne=<id> narrows it to one person the actor administers (404 otherwise).
- /journal/moi/: "who read my data", for everyone: reads of the person's (and their children's) sensitive data.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from preau.access import policy

from . import selectors
from .forms import JournalFilterForm


def _decorate(page) -> None:
    page.object_list = list(page.object_list)  # one query, reused by every helper and the template
    for event in page.object_list:
        event.action_label = selectors.action_label(event.action)
        event.target_label = selectors.target_label(event.target)
        event.short_user_agent = selectors.short_user_agent(event.user_agent)
        event.is_failure = event.action in selectors.FAILURE_ACTIONS


@never_cache
@login_required
def journal(request):
    actor = request.actor
    if not policy.is_admin(actor):
        raise PermissionDenied
    person = None
    if request.GET.get("personne"):
        person = selectors.administered_person(actor, request.GET["personne"])
        if person is None:
            raise Http404
    form = JournalFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {"action": form.cleaned_data["action"] or None, "q": form.cleaned_data["q"],
                   "start": form.cleaned_data["du"], "end": form.cleaned_data["au"]}
    elif form.is_bound:
        # Keep the valid filters, ignore only the faulty ones (their errors show next to them).
        data = getattr(form, "cleaned_data", {})
        filters = {"action": data.get("action") or None, "q": data.get("q", "")}
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": f"id_{name}_error"})
    events = selectors.journal_events(actor, person=person, **filters)
    page = Paginator(events, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    _decorate(page)
    names = selectors.establishment_names(page.object_list)
    linkable = selectors.administered_among(actor, page.object_list)
    for event in page.object_list:
        event.establishment_name = names.get(event.establishment_id, "")
        event.actor_linked = event.actor_id in linkable and (person is None or event.actor_id != person.pk)
        event.subject_linked = event.subject_id in linkable and (person is None or event.subject_id != person.pk)
    return render(request, "audit/journal.html", {
        "form": form, "page": page, "person": person, "is_global_admin": actor.is_global_admin,
    })


@never_cache
@login_required
def reads_about_me(request):
    actor = request.actor
    page = Paginator(selectors.reads_about_me(actor), selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    _decorate(page)
    roles = selectors.reader_roles(page.object_list)
    for event in page.object_list:
        event.reader_roles = roles.get(event.actor_id, "")
        if not event.reader_roles and event.actor is not None and event.actor.is_global_admin:
            event.reader_roles = _("Administrateur de la plateforme")
    return render(request, "audit/reads_about_me.html", {
        "page": page, "has_children": bool(actor.child_ids()),
    })
