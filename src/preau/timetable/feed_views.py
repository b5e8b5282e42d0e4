"""The calendar feed: its settings page (/agenda/abonnement/: create, regenerate, revoke the secret URL) and the
feed itself (/agenda/ics/<token>.ics), served without a session to calendar clients (docs/agenda.md).

The feed answers 404 for an unknown or revoked token and for a deactivated account (the same answer), 429 past
PREAU_CALENDAR_FEED_RATE fetches per token (default 60 an hour), and 304 when the client's ETag is current. The
ETag is a digest of what the feed says, computed from the data without serialising it; the serialised text is
cached under it (building hundreds of events with icalendar is the costly part).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from preau.api.throttling import configured_rate, count_hit

from . import ics

SESSION_NEW_TOKEN = "preau_calendar_feed_once"
DEFAULT_RATE = "60/h"


@login_required
@never_cache
def feed_settings(request):
    """GET: the state of the person's feed (with the full URL right after it was made, once). POST: `action`
    create (also: regenerate) or revoke."""
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("create", "regenerate"):
            token = ics.feed_token_create(user=user, request=request)
            request.session[SESSION_NEW_TOKEN] = token
            messages.success(request, _("Nouveau lien créé. L'ancien lien, s'il y en avait un, ne fonctionne plus.")
                             if action == "regenerate" else _("Lien d'abonnement créé."))
        elif action == "revoke" and ics.feed_token_revoke(user=user, request=request):
            messages.success(request, _("Lien révoqué : les agendas abonnés ne reçoivent plus rien."))
        return redirect("agenda:feed_settings")
    new_token = request.session.pop(SESSION_NEW_TOKEN, None)
    row = ics.feed_token_of(user)
    if row is None or (new_token and ics.hash_token(new_token) != row.token_hash):
        new_token = None
    new_url = ics.feed_url(new_token) if new_token else None
    return render(request, "timetable/feed/settings.html", {
        "row": row, "new_url": new_url,
        # webcal:// opens the subscription in the phone's or the Mac's calendar application directly.
        "webcal_url": "webcal://" + new_url.split("://", 1)[1] if new_url else None,
        "weeks_back": ics.FEED_WEEKS_BACK, "weeks_ahead": ics.FEED_WEEKS_AHEAD,
    })


def _allowed(token_hash: str) -> tuple[bool, int]:
    """Count one fetch of this token (the API's fixed-window counter): (allowed, seconds until the window ends)."""
    rate = configured_rate("PREAU_CALENDAR_FEED_RATE", DEFAULT_RATE)
    if rate is None:
        return True, 0
    allowed, wait = count_hit(f"calendar-feed:{token_hash}", *rate)
    return allowed, max(1, int(wait))


@require_safe
def feed(request, token: str):
    """The feed, for calendar clients: no session or cookie needed, the token is the credential."""
    row = ics.feed_token_lookup(token)
    if row is None:
        raise Http404
    allowed, wait = _allowed(row.token_hash)
    if not allowed:
        response = HttpResponse(_("Trop de requêtes : réessayez plus tard."), status=429,
                                content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(wait)
        return response
    ics.touch(row)
    data = ics.collect(row.user)
    digest = ics.fingerprint(data)
    etag = f'"{digest}"'
    # Weak comparison (RFC 9110 §13.1.2): a proxy may have turned the tag into W/"…".
    sent = {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in sent or "*" in sent:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(ics.cached_render(data, digest), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="preau.ics"'
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    patch_vary_headers(response, ("Accept-Encoding",))
    return response
