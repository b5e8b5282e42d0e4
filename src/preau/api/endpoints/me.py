"""GET /me: who is calling, with their roles, establishments, children and current school year."""

from __future__ import annotations

from ninja import Router

from preau.core import context

from .. import selectors
from ..errors import responses
from ..schemas import MeOut

router = Router(tags=["compte"])


def year_out(year):
    if year is None:
        return None
    return {"id": year.pk, "label": year.label, "start": year.start, "end": year.end, "is_current": year.is_current}


@router.get("/me", response=responses(MeOut), summary="Mon identité, mes rôles et mes enfants")
def me(request):
    actor = request.actor
    user = actor.user
    years = selectors.current_years(actor.establishment_ids())
    classes = selectors.children_classes(actor=actor)
    current = context.establishment(request)
    return {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_global_admin": actor.is_global_admin,
        "auth": "token" if getattr(request, "api_token", None) else "session",
        "roles": [
            {"establishment_id": m.establishment_id, "uai": m.establishment.uai,
             "establishment_name": m.establishment.name, "role": m.role,
             "role_label": str(selectors.ROLE_LABELS.get(m.role, m.role)), "functions": list(m.functions or [])}
            for m in actor.memberships
        ],
        "establishments": [
            {"id": e.pk, "uai": e.uai, "name": e.name, "school_year": year_out(years.get(e.pk))}
            for e in actor.establishments
        ],
        "children": [
            {"id": link.pupil_id, "first_name": link.pupil.first_name, "last_name": link.pupil.last_name,
             "relation": link.relation, "denied_services": list(link.denied_services or []),
             "school_class": _class_ref(classes.get(link.pupil_id)),
             "establishment_id": classes[link.pupil_id].establishment_id if link.pupil_id in classes else None}
            for link in actor.child_links
        ],
        "current_establishment_id": current.pk if current else None,
        "school_year": year_out(years.get(current.pk)) if current else None,
    }


def _class_ref(school_class):
    if school_class is None:
        return None
    return {"id": school_class.pk, "code": school_class.code, "label": school_class.label}
