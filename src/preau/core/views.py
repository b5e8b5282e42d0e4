from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import context, health
from .selectors import home_summary
from .services import ROLE_LABELS, dashboard_services


@require_GET
@never_cache
def healthz(request):
    result = health.report()
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)


@login_required
def home(request):
    actor = request.actor
    establishment = context.establishment(request)
    summary = home_summary(actor, establishment, context.child(request))
    return render(request, "core/home.html", {
        "services": dashboard_services(actor, establishment),
        "role_labels": [ROLE_LABELS[role] for role in sorted(summary["roles"])],
        "summary": summary,
    })


@require_GET
def favicon(request):
    return redirect(static("preau/favicon.svg"), permanent=True)


def _back(request):
    target = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    # Not redirect(): it would try `target` as a URL pattern name first (a NoReverseMatch, so a 500, for "abc").
    return HttpResponseRedirect(target)


@login_required
@require_POST
def switch_establishment(request):
    wanted = request.POST.get("establishment")
    if any(str(e.pk) == wanted for e in request.actor.establishments):
        request.session[context.SESSION_ESTABLISHMENT] = int(wanted)
    return _back(request)


@login_required
@require_POST
def switch_child(request):
    wanted = request.POST.get("child")
    if any(str(link.pupil_id) == wanted for link in request.actor.child_links):
        request.session[context.SESSION_CHILD] = int(wanted)
    return _back(request)


def _error(request, status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "Requête invalide", "La requête n'a pas pu être comprise.")


def permission_denied(request, exception=None):
    return _error(request, 403, "Accès refusé", "Vous n'avez pas le droit d'effectuer cette action.")


def page_not_found(request, exception=None):
    return _error(request, 404, "Page introuvable",
                  "Cette page n'existe pas, ou vous n'avez pas le droit de la consulter.")


def server_error(request):
    return _error(request, 500, "Erreur du serveur",
                  "Une erreur inattendue s'est produite. L'équipe technique a été prévenue.")
