"""Template helpers of news and the carnet de liaison, including the home dashboard's latest news."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from preau.core import context as request_context

from .. import selectors

register = template.Library()

ROLE_LABELS = (("for_pupils", gettext_lazy("élèves")), ("for_guardians", gettext_lazy("responsables")),
               ("for_teachers", gettext_lazy("enseignants")), ("for_staff", gettext_lazy("personnels")))
HOME_NEWS = 3


@register.simple_tag(takes_context=True)
def latest_news(context, limit: int = HOME_NEWS):
    """The few latest news the person may read in the current establishment (one query)."""
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is None:
        return []
    return selectors.latest_news(actor, request_context.establishment(request), limit)


@register.simple_tag
def news_audience(item) -> str:
    """"Élèves, responsables — 5e B, Latin 5e" (classes and groups prefetched or listed on the item)."""
    roles = [str(label) for flag, label in ROLE_LABELS if getattr(item, flag)]
    who = ", ".join(roles).capitalize()
    if item.whole_establishment:
        return _("%(who)s — tout l'établissement") % {"who": who}
    classes = getattr(item, "class_list", None)
    groups = getattr(item, "group_list", None)
    classes = classes if classes is not None else item.classes.all()
    groups = groups if groups is not None else item.groups.all()
    where = ", ".join([c.label for c in classes] + [g.label for g in groups])
    return f"{who} — {where}"


STATUS_LABELS = {"draft": gettext_lazy("Brouillon"), "scheduled": gettext_lazy("Programmée"),
                 "published": gettext_lazy("Publiée"), "withdrawn": gettext_lazy("Retirée")}


@register.filter
def news_status_label(item) -> str:
    return str(STATUS_LABELS[item.status()])
