"""The annuaire, under /annuaire/ (namespace "directory"): classes, groups and people, for everyone.

What a person sees is decided by the access policy only: classes_visible_to, groups_visible_to,
can_list_class_members, people_visible_to / access_person and can_read_contact_details. Staff reading another
person's contact details is written to the audit log.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from preau.access import policy
from preau.audit.services import record_sensitive_read
from preau.core import context

from . import forms, selectors
from .models import Role

ROLE_FILTERS = [(Role.PUPIL, Role.PUPIL.label), (Role.TEACHER, Role.TEACHER.label), (Role.STAFF, Role.STAFF.label),
                (Role.GUARDIAN, Role.GUARDIAN.label)]


@login_required
def home(request):
    """Classes and groups of the current establishment (the header's switcher) that the person may see."""
    actor = request.actor
    establishment = context.establishment(request)
    classes, groups = selectors.visible_classes(actor), selectors.visible_groups(actor)
    if establishment is not None:
        classes, groups = classes.filter(establishment=establishment), groups.filter(establishment=establishment)
    else:  # a global admin belongs to no establishment: the search is the way in
        classes, groups = classes.none(), groups.none()
    return render(request, "directory/home.html", {
        "classes": classes, "groups": groups, "establishment": establishment, "child_links": actor.child_links,
    })


@login_required
def class_detail(request, class_id):
    actor = request.actor
    school_class = policy.access_class(actor, class_id)
    can_list = policy.can_list_class_members(actor, school_class)
    page = {"school_class": school_class, "can_list": can_list}
    if can_list:
        page.update(selectors.class_members(school_class, actor))
    else:
        page["assignments"] = selectors.class_visible_assignments(school_class, actor)
    return render(request, "directory/class_detail.html", page)


@login_required
def group_detail(request, group_id):
    actor = request.actor
    group = selectors.access_visible_group(actor, group_id)
    return render(request, "directory/group_detail.html", {"group": group, **selectors.group_members(group, actor)})


@login_required
def person_list(request):
    actor = request.actor
    search = forms.SearchForm(request.GET)
    q = search.data.get("q", "")
    role = request.GET.get("role", "")
    queryset = selectors.search_people(actor, q, role)
    page = Paginator(queryset, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "directory/person_list.html", {
        "page": page, "q": q, "role": role, "roles": ROLE_FILTERS,
    })


def _is_family_read(actor: policy.Actor, person) -> bool:
    """A guardian reading their own child's card is family, not staff: not audited."""
    return person.pk == actor.id or person.pk in actor.child_ids()


@login_required
def person_card(request, person_id):
    actor = request.actor
    person = policy.access_person(actor, person_id)
    show_contact = policy.can_read_contact_details(actor, person)
    if show_contact and not _is_family_read(actor, person):
        record_sensitive_read(actor=request.user, subject=person, target="directory.contact", request=request)
    card = selectors.person_card(actor, person)
    card.update({"show_contact": show_contact, "is_self": person.pk == actor.id})
    return render(request, "directory/person_card.html", card)
