"""The request's working context: the current establishment and, for guardians, the current child.

Both are chosen in the header switchers and kept in the session; each is computed once per request.
"""

from __future__ import annotations

SESSION_ESTABLISHMENT = "preau_establishment"
SESSION_CHILD = "preau_child"
_UNSET = object()


def establishment(request):
    cached = getattr(request, "_preau_establishment", _UNSET)
    if cached is not _UNSET:
        return cached
    actor = getattr(request, "actor", None)
    result = None
    if actor is not None and actor.establishments:
        chosen = request.session.get(SESSION_ESTABLISHMENT)
        result = next((e for e in actor.establishments if e.pk == chosen), actor.establishments[0])
    request._preau_establishment = result
    return result


def child(request):
    cached = getattr(request, "_preau_child", _UNSET)
    if cached is not _UNSET:
        return cached
    actor = getattr(request, "actor", None)
    result = None
    if actor is not None and actor.child_links:
        chosen = request.session.get(SESSION_CHILD)
        link = next((lk for lk in actor.child_links if lk.pupil_id == chosen), actor.child_links[0])
        result = link.pupil
    request._preau_child = result
    return result
