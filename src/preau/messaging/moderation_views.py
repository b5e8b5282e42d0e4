"""Moderation pages under /messagerie/ (namespace "messaging_moderation"): the queue of held sends and reports, the
decisions on them, reporting and recalling a message, blocking a conversation, and the establishment's rules.

The queue is for moderators (403 for everybody else), the rules for ENT admins and the leadership (403 otherwise);
an object the person may not act on answers 404. Decisions are POST forms answering with a redirect and a message.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from preau.access import policy
from preau.core import context

from . import moderation, moderation_selectors, safety
from .errors import MessagingError
from .moderation_forms import BlockForm, DecisionForm, ReportForm, RulesForm


def moderator_required(view):
    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not policy.is_messaging_moderator(request.actor):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                                   require_https=request.is_secure()):
        return target
    return default


def _queue_url(request) -> str:
    return _next(request, reverse("messaging_moderation:queue"))


def _inbox_url() -> str:
    return moderation.mailbox_url("inbox") or "/"


def _run(request, action, success: str, default_url: str):
    """Call a moderation service; its French refusal becomes an error message. Http404 passes through."""
    try:
        action()
    except MessagingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect(_next(request, default_url))


# --- The queue -------------------------------------------------------------------------------------------------

@moderator_required
@never_cache
def queue(request):
    queue = moderation_selectors.moderation_queue(request.actor, establishment_id=request.GET.get("etablissement"))
    return render(request, "messaging/moderation/queue.html", {
        "queue": queue, "decision_form": DecisionForm(), "block_form": BlockForm(),
        "can_manage_rules": policy.messaging_rules_establishments(request.actor).exists(),
    })


def _decision(service, id_name: str, success, form_class=None):
    """A moderator's POST decision on one object: calls `service(actor=..., <id_name>=..., request=...)` (with the
    form's `reason` when `form_class` is given), then back to the queue (or `next`) with a message."""

    @moderator_required
    @require_POST
    def view(request, **ids):
        kwargs = {"actor": request.actor, id_name: ids[id_name], "request": request}
        if form_class is not None:
            form = form_class(request.POST)
            if not form.is_valid():
                messages.error(request, " ".join(form.errors.get("reason", [])))
                return redirect(_queue_url(request))
            kwargs["reason"] = form.cleaned_data["reason"]
        return _run(request, lambda: service(**kwargs), str(success), _queue_url(request))

    view.__name__ = service.__name__
    return view


release = _decision(moderation.release_held, "message_id",
                    gettext_lazy("Le message est distribué à ses destinataires."))
refuse = _decision(moderation.refuse_held, "message_id", gettext_lazy(
    "Le message est refusé : il ne sera distribué à personne, son expéditeur est prévenu."), DecisionForm)
hide = _decision(moderation.hide_message, "message_id",
                 gettext_lazy("Le message est masqué dans toutes les boîtes de réception."))
dismiss = _decision(moderation.dismiss_report, "report_id", gettext_lazy("Le signalement est classé sans suite."))
block = _decision(moderation.block_conversation, "conversation_id",
                  gettext_lazy("La conversation est bloquée : plus personne ne peut y répondre."), BlockForm)
unblock = _decision(moderation.unblock_conversation, "conversation_id", gettext_lazy("La conversation est débloquée."))


# --- Recipients and senders ------------------------------------------------------------------------------------

@login_required
@never_cache
def report(request, message_id):
    """A recipient reports a message: a confirmation page with an optional reason (GET), the report (POST)."""
    from .selectors import access_delivery

    delivery = access_delivery(request.actor, message_id)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation.report_message(actor=request.actor, message_id=message_id,
                                      reason=form.cleaned_data["reason"], request=request)
        except MessagingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Merci : le message est signalé à l'établissement, qui va l'examiner."))
            return redirect(_next(request, _inbox_url()))
    return render(request, "messaging/moderation/report.html", {
        "message": delivery.message, "form": form, "next": _next(request, ""),
    }, status=400 if form.errors else 200)


@login_required
@never_cache
def recall(request, message_id):
    """The sender recalls their message from every inbox: a confirmation page (GET), the recall (POST)."""
    message = policy.access_own_sent_message(request.actor, message_id)
    refusal = moderation.recall_refusal(request.actor, message)
    error = ""
    if request.method == "POST" and not refusal:
        try:
            moderation.recall_message(actor=request.actor, message_id=message_id, request=request)
        except MessagingError as exc:
            error = str(exc)
        else:
            messages.success(request, _("Le message est retiré de toutes les boîtes de réception."))
            return redirect(_next(request, _inbox_url()))
    return render(request, "messaging/moderation/recall.html", {
        "message": message, "refusal": refusal or error, "next": _next(request, ""),
    }, status=400 if request.method == "POST" else 200)


# --- Rules -----------------------------------------------------------------------------------------------------

@login_required
@never_cache
def rules(request):
    establishments = list(policy.messaging_rules_establishments(request.actor))
    if not establishments:
        raise PermissionDenied
    wanted = request.POST.get("etablissement") or request.GET.get("etablissement")
    establishment = next((e for e in establishments if str(e.pk) == str(wanted)), None)
    if establishment is None:
        current = context.establishment(request)
        establishment = next((e for e in establishments if current is not None and e.pk == current.pk),
                             establishments[0])
    current_rules = safety.rules_for(establishment.pk)
    if request.method == "POST":
        form = RulesForm(request.POST)
        if form.is_valid():
            try:
                moderation.update_rules(actor=request.actor, establishment_id=establishment.pk, request=request,
                                        **form.cleaned_data)
            except MessagingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Les règles de la messagerie sont enregistrées."))
                return redirect(f"{reverse('messaging_moderation:rules')}?etablissement={establishment.pk}")
    else:
        form = RulesForm(initial=RulesForm.initial_from(current_rules))
    return render(request, "messaging/moderation/rules.html", {
        "form": form, "establishment": establishment, "establishments": establishments, "rules": current_rules,
    }, status=400 if form.errors else 200)
