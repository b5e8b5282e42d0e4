"""HTML pages to manage one's own API tokens: /compte/jetons-api/ (list + create), revoke with a confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import TokenCreateForm


def _list_context(request, form):
    tokens = list(selectors.api_tokens_of(actor=request.actor))
    return {"form": form, "active_tokens": [t for t in tokens if t.status == "active"],
            "inactive_tokens": [t for t in tokens if t.status != "active"][:50]}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                token, clear = services.api_token_create(
                    actor=request.actor, name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"], request=request)
            except services.TokenError as exc:
                form.add_error(None, str(exc))
            else:
                # Rendered, not redirected: the clear token exists only in this answer (never_cache: not stored).
                return render(request, "api/token_created.html", {"token": token, "clear": clear}, status=201)
        return render(request, "api/tokens.html", _list_context(request, form), status=400)
    return render(request, "api/tokens.html", _list_context(request, TokenCreateForm()))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id: int):
    token = selectors.access_api_token(actor=request.actor, token_id=token_id)
    if request.method == "POST":
        if token.is_revoked:
            messages.info(request, _("Ce jeton était déjà révoqué."))
        else:
            services.api_token_revoke(actor=request.actor, token=token, request=request)
            messages.success(request, _("Le jeton « %(name)s » est révoqué : il ne permet plus d'accéder à l'API.")
                             % {"name": token.name})
        return redirect("api_tokens:list")
    return render(request, "api/token_revoke.html", {"token": token})
