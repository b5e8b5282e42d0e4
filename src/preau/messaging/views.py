"""The messaging pages, under /messagerie/ (namespace "messaging").

- Mailbox: /messagerie/ (inbox), envoyes/, brouillons/, corbeille/, dossiers/<id>/ — keyset "more" pagination
  (?apres=<cursor>), unread-only filter (?non-lus=1), bulk actions (actions/), empty trash (corbeille/vider/);
  nouveaux/ renders the inbox rows newer than the newest shown (the live update fetches it).
- Folders: dossiers/ (list, create), dossiers/<id>/renommer/, dossiers/<id>/supprimer/.
- A thread: messages/<id>/ (the person's copies of the conversation's messages), repondre/, repondre-a-tous/,
  transferer/, deplacer/, lectures/ (the sender's read receipts); pieces-jointes/<id>/ downloads an attachment.
- Compose: ecrire/, brouillons/<id>/ (a draft), brouillons/<id>/supprimer/; destinataires/ answers the recipient
  picker's suggestions (JSON).
- Search: recherche/?q=...

Every read goes through the selectors (the person's own copies: another person's message answers 404) and every
write through the services; a service's refusal (`MessagingError`, in French) is shown on the page.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from preau.access import policy
from preau.core import context

from . import addresses as address_book
from . import attachments as files
from . import moderation, selectors, services
from .errors import MessagingError
from .forms import (
    BulkForm,
    ComposeForm,
    FolderForm,
    ForwardForm,
    MoveForm,
    ReplyForm,
    body_html,
    parse_token,
    token,
)
from .models import Delivery, Message

PAGE_SIZE = 50
# Addresses offered in the recipient lists without a search (the groups a person writes to most).
COMMON_SUGGESTIONS = 40
SUGGESTIONS_LIMIT = 20
Box = Delivery.Box

BOX_TITLES = {
    Box.INBOX: _("Boîte de réception"),
    Box.SENT: _("Messages envoyés"),
    Box.DRAFTS: _("Brouillons"),
    Box.TRASH: _("Corbeille"),
}
BOX_URLS = {Box.INBOX: "messaging:inbox", Box.SENT: "messaging:sent", Box.DRAFTS: "messaging:drafts",
            Box.TRASH: "messaging:trash"}


# --- helpers --------------------------------------------------------------------------------------------------

def _back(request, fallback: str):
    target = request.POST.get("next") or ""
    if target.startswith("/messagerie/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _establishment(request):
    """The establishment the person writes from: the header's current one when messaging is open to them there,
    else their first messaging establishment; None when they have none."""
    actor = request.actor
    allowed = list(policy.messaging_establishments(actor))
    current = context.establishment(request)
    if current is not None and any(e.pk == current.pk for e in allowed):
        return current
    return allowed[0] if allowed else None


def _folder_nav(request, counts: dict, folders: list, current: tuple[str, int | None]) -> list[dict]:
    """The mailbox navigation: system boxes then the person's folders, with their counts."""
    box, folder_id = current
    entries = [
        {"label": BOX_TITLES[Box.INBOX], "url": reverse("messaging:inbox"), "unread": counts.get("inbox_unread", 0),
         "current": box == Box.INBOX, "key": "inbox"},
        {"label": BOX_TITLES[Box.SENT], "url": reverse("messaging:sent"), "current": box == Box.SENT,
         "key": "sent"},
        {"label": BOX_TITLES[Box.DRAFTS], "url": reverse("messaging:drafts"), "total": counts.get("drafts", 0),
         "current": box == Box.DRAFTS, "key": "drafts"},
        {"label": BOX_TITLES[Box.TRASH], "url": reverse("messaging:trash"), "total": counts.get("trash", 0),
         "current": box == Box.TRASH, "key": "trash"},
    ]
    folder_counts = counts.get("folders", {})
    for folder in folders:
        entries.append({"label": folder.name, "url": reverse("messaging:folder", args=[folder.pk]),
                        "unread": folder_counts.get(folder.pk, 0), "current": box == Box.FOLDER and
                        folder_id == folder.pk, "key": f"folder-{folder.pk}", "folder": True})
    return entries


def _shell(request, *, current=(None, None)) -> dict:
    """What every messaging page shows around its content: the navigation with counts (≤ 3 queries)."""
    actor = request.actor
    counts = selectors.mailbox_counts(actor)
    folders = list(selectors.folders_of(actor))
    return {"counts": counts, "folders": folders, "nav": _folder_nav(request, counts, folders, current)}


def _pager_urls(request, next_cursor, keep: dict) -> dict:
    """The "more" link (the next keyset page) and the way back to the first page, keeping the filters."""
    first = f"{request.path}?{urlencode(keep)}" if keep else request.path
    more = f"{request.path}?{urlencode({**keep, 'apres': next_cursor})}" if next_cursor else ""
    return {"first_url": first, "more_url": more}


def _newest_marker(items) -> str:
    if not items:
        return ""
    first = items[0]
    return f"{first.sent_at.isoformat()}|{first.pk}"


def _parse_marker(value: str):
    when, sep, pk = (value or "").partition("|")
    if not sep or not pk.isdigit():
        return None
    try:
        moment = datetime.datetime.fromisoformat(when)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return None
    return moment, int(pk)


# --- mailbox --------------------------------------------------------------------------------------------------

def _mailbox(request, box: str, folder_id: int | None = None):
    actor = request.actor
    shell = _shell(request, current=(box, folder_id))
    folder = None
    if box == Box.FOLDER:
        folder = next((f for f in shell["folders"] if f.pk == folder_id), None)
        if folder is None:
            raise Http404
    cursor = request.GET.get("apres") or None
    unread_only = request.GET.get("non-lus") == "1" and box in (Box.INBOX, Box.FOLDER)
    try:
        page = selectors.mailbox_page(actor, box=box, folder_id=folder_id, cursor=cursor, limit=PAGE_SIZE,
                                      unread_only=unread_only)
    except ValueError:
        return HttpResponseBadRequest(_("Page de messages invalide."))
    items = list(page.items)
    title = folder.name if folder else BOX_TITLES[box]
    return render(request, "messaging/mailbox.html", {
        **shell, **_pager_urls(request, page.next_cursor, {"non-lus": "1"} if unread_only else {}),
        "box": box, "folder": folder, "title": title, "items": items, "next_cursor": page.next_cursor,
        "is_first_page": cursor is None, "unread_only": unread_only, "newest": _newest_marker(items),
        "live": box == Box.INBOX and cursor is None and not unread_only,
        "bulk": BulkForm(folders=shell["folders"]), "next": request.get_full_path(),
    })


@never_cache
@login_required
def mailbox(request, box: str, folder_id: int | None = None):
    """A box (urls.py names the box of each path) or, with `folder_id`, one of the person's folders."""
    return _mailbox(request, box, folder_id)


@never_cache
@login_required
@require_GET
def new_rows(request):
    """The inbox rows newer than the newest one the page shows (`depuis`): the live update inserts them."""
    marker = _parse_marker(request.GET.get("depuis", ""))
    page = selectors.mailbox_page(request.actor, box=Box.INBOX, limit=PAGE_SIZE)
    items = [d for d in page.items if marker is None or (d.sent_at, d.pk) > marker]
    response = render(request, "messaging/_rows.html", {"items": items, "box": Box.INBOX, "fresh": True})
    response["X-Newest"] = _newest_marker(items)
    return response


@login_required
@require_POST
def bulk(request):
    actor = request.actor
    folders = list(selectors.folders_of(actor))
    form = BulkForm(request.POST, folders=folders)
    fallback = reverse("messaging:inbox")
    if not form.is_valid():
        for error in form.non_field_errors() or [_("Sélection invalide.")]:
            messages.error(request, error)
        return _back(request, fallback)
    data = form.cleaned_data
    ids, action = data["ids"], data["action"]
    try:
        if action in ("read", "unread"):
            count = services.mark_read(actor=actor, message_ids=ids, read=action == "read")
            text = (ngettext("%(n)s message marqué comme lu.", "%(n)s messages marqués comme lus.", count)
                    if action == "read" else
                    ngettext("%(n)s message marqué comme non lu.", "%(n)s messages marqués comme non lus.", count))
        elif action == "move":
            count = services.move(actor=actor, message_ids=ids, box=data["box"], folder_id=data["folder_id"])
            text = ngettext("%(n)s message déplacé.", "%(n)s messages déplacés.", count)
        elif action == "trash":
            count = services.move(actor=actor, message_ids=ids, box=Box.TRASH)
            text = ngettext("%(n)s message mis à la corbeille.", "%(n)s messages mis à la corbeille.", count)
        else:
            count = services.restore(actor=actor, message_ids=ids)
            text = ngettext("%(n)s message restauré.", "%(n)s messages restaurés.", count)
    except MessagingError as exc:
        messages.error(request, str(exc))
        return _back(request, fallback)
    if count:
        messages.success(request, text % {"n": count})
    else:
        messages.info(request, _("Aucun des messages sélectionnés n'a changé."))
    return _back(request, fallback)


@login_required
@require_POST
def empty_trash(request):
    count = services.empty_trash(actor=request.actor)
    messages.success(request, ngettext("La corbeille est vidée (%(n)s message supprimé).",
                                       "La corbeille est vidée (%(n)s messages supprimés).", count) % {"n": count})
    return redirect("messaging:trash")


# --- folders --------------------------------------------------------------------------------------------------

@never_cache
@login_required
def folders(request):
    actor = request.actor
    form = FolderForm(request.POST or None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_folder(actor=actor, name=form.cleaned_data["name"])
        except MessagingError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, _("Dossier « %(name)s » créé.") % {"name": created.name})
            return redirect("messaging:folders")
    shell = _shell(request, current=("folders", None))
    return render(request, "messaging/folders.html", {
        **shell, "form": form, "rename_forms": [
            (f, FolderForm(prefix=f"f{f.pk}", initial={"name": f.name})) for f in shell["folders"]],
    })


@login_required
@require_POST
def folder_rename(request, folder_id):
    actor = request.actor
    form = FolderForm(request.POST, prefix=f"f{folder_id}")
    if form.is_valid():
        try:
            services.rename_folder(actor=actor, folder_id=folder_id, name=form.cleaned_data["name"])
        except MessagingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Dossier renommé en « %(name)s ».") % {"name": form.cleaned_data["name"]})
    else:
        messages.error(request, form.errors["name"][0])
    return redirect("messaging:folders")


@login_required
@require_POST
def folder_delete(request, folder_id):
    try:
        services.delete_folder(actor=request.actor, folder_id=folder_id)
    except MessagingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Dossier supprimé : ses messages sont revenus dans la boîte de réception."))
    return redirect("messaging:folders")


# --- search ---------------------------------------------------------------------------------------------------

@never_cache
@login_required
def search(request):
    actor = request.actor
    query = " ".join((request.GET.get("q") or "").split())[:200]
    cursor = request.GET.get("apres") or None
    shell = _shell(request, current=("search", None))
    items, next_cursor = [], None
    if query:
        try:
            page = selectors.search(actor, query, cursor=cursor, limit=PAGE_SIZE)
        except ValueError:
            return HttpResponseBadRequest(_("Page de résultats invalide."))
        items, next_cursor = list(page.items), page.next_cursor
    return render(request, "messaging/search.html", {
        **shell, **_pager_urls(request, next_cursor, {"q": query}),
        "query": query, "items": items, "next_cursor": next_cursor, "is_first_page": cursor is None,
        "bulk": BulkForm(folders=shell["folders"]), "next": request.get_full_path(), "box": "search",
    })


# --- a thread -------------------------------------------------------------------------------------------------

def _access(request, message_id) -> Delivery:
    return selectors.access_delivery(request.actor, message_id)


@never_cache
@login_required
def thread(request, message_id):
    actor = request.actor
    delivery = _access(request, message_id)
    if delivery.message.state == Message.State.DRAFT:
        return redirect("messaging:draft", message_id=delivery.message_id)
    items = selectors.thread(actor, delivery)
    unread = [d.message_id for d in items if d.read_at is None and d.role != Delivery.Role.SENDER]
    if unread:
        services.mark_read(actor=actor, message_ids=unread, read=True)
    shown_all = selectors.shown_addresses_of(actor, [item.message for item in items])
    for item, shown in zip(items, shown_all, strict=True):
        item.shown = shown
        item.is_mine = item.role == Delivery.Role.SENDER
        item.is_focus = item.message_id == delivery.message_id
        item.can_reply = policy.can_reply(actor, item.message, holds_copy=True)  # its own state, no query
        item.can_recall = item.is_mine and moderation.can_recall(actor, item.message)
    shell = _shell(request, current=(delivery.box, delivery.folder_id))
    message = delivery.message
    return render(request, "messaging/thread.html", {
        **shell, "delivery": delivery, "message": message, "items": items,
        "can_moderate": policy.can_moderate(actor, message.conversation.establishment_id),
        "move_form": MoveForm(folders=shell["folders"], initial={"folder": _move_initial(delivery)}),
        "back_url": _box_url(delivery),
    })


def _move_initial(delivery) -> str:
    return str(delivery.folder_id) if delivery.box == Box.FOLDER and delivery.folder_id else delivery.box


def _box_url(delivery) -> str:
    if delivery.box == Box.FOLDER and delivery.folder_id:
        return reverse("messaging:folder", args=[delivery.folder_id])
    return reverse(BOX_URLS.get(delivery.box, "messaging:inbox"))


@login_required
@require_POST
def move(request, message_id):
    actor = request.actor
    delivery = _access(request, message_id)
    form = MoveForm(request.POST, folders=list(selectors.folders_of(actor)))
    if not form.is_valid():
        messages.error(request, _("Choisissez le dossier de destination."))
        return redirect("messaging:thread", message_id=delivery.message_id)
    box, folder_id = form.destination()
    services.move(actor=actor, message_ids=[delivery.message_id], box=box, folder_id=folder_id)
    if box == Box.TRASH:
        messages.success(request, _("Message mis à la corbeille."))
        return redirect(_box_url(delivery))
    messages.success(request, _("Message déplacé."))
    return redirect("messaging:thread", message_id=delivery.message_id)


@never_cache
@login_required
def receipts(request, message_id):
    actor = request.actor
    cursor = request.GET.get("apres") or None
    try:
        result = selectors.read_receipts(actor, message_id, cursor=cursor)
    except ValueError:
        return HttpResponseBadRequest(_("Page invalide."))
    shell = _shell(request, current=(Box.SENT, None))
    return render(request, "messaging/receipts.html", {**shell, "receipts": result, "message": result.message})


@never_cache
@login_required
@require_GET
def attachment(request, attachment_id):
    return files.download_response(selectors.access_attachment(request.actor, attachment_id))


# --- writing --------------------------------------------------------------------------------------------------

def _after_send(request, message: Message, sent_text: str):
    if message.state == Message.State.HELD:
        messages.warning(request, _("Message retenu pour vérification : un membre de l'équipe de l'établissement "
                                    "le relira avant sa distribution."))
    else:
        messages.success(request, sent_text)


def _recipient_options(actor, establishment, form, *, found=(), chosen: list[dict] = ()) -> list[dict]:
    """The options of the recipient lists: what is chosen, what a search found, and the common groups."""
    wanted = [parse_token(value) for value in form.chosen_tokens()] if form.is_bound else list(chosen)
    options: dict[str, dict] = {}
    for address, label in zip(wanted, address_book.labels(wanted), strict=True):
        options[token(address)] = {"value": token(address), "label": label, "group": address["type"] != "person"}
    common = (selectors.address_suggestions(actor, establishment, "", limit=COMMON_SUGGESTIONS)
              if establishment is not None else [])
    for item in [*found, *common]:
        group = item["type"] != "person"
        label = f"{item['label']} ({item['count']})" if group and item.get("count") else item["label"]
        options.setdefault(token(item), {"value": token(item), "label": label, "group": group})
    return list(options.values())


def _recipient_lists(form, options: list[dict], initial: dict | None = None) -> list[dict]:
    """The three lists (to, cc, bcc) with the same options, each marking what was chosen in it; groups first."""
    options = sorted(options, key=lambda o: not o["group"])
    lists = []
    for name in ("to", "cc", "bcc"):
        chosen = (set(form.data.getlist(name)) if form.is_bound
                  else {token(a) for a in (initial or {}).get(name, [])})
        lists.append({"field": form[name], "options": [{**o, "selected": o["value"] in chosen} for o in options]})
    return lists


def _search_recipients(request, actor, establishment) -> tuple[list[dict], bool]:
    """The no-JavaScript recipient search ("Chercher"): what matches the typed text, and whether one was typed."""
    term = (request.POST.get("term") or "").strip()[:100]
    if not term:
        return [], False
    return selectors.address_suggestions(actor, establishment, term, limit=SUGGESTIONS_LIMIT), True


def _draft(request, message_id) -> Message:
    delivery = _access(request, message_id)
    # A draft is the sender's message in the draft state, wherever it is filed (drafts, or the trash).
    if delivery.role != Delivery.Role.SENDER or delivery.message.state != Message.State.DRAFT:
        raise Http404
    return delivery.message


def _chosen_in(addresses: dict) -> list[dict]:
    """Every address of a message's to, cc and bcc lists, once."""
    seen, result = set(), []
    for name in ("to", "cc", "bcc"):
        for address in (addresses or {}).get(name, []):
            if token(address) not in seen:
                seen.add(token(address))
                result.append(address)
    return result


@never_cache
@login_required
def compose(request, message_id=None):
    actor = request.actor
    establishment = _establishment(request)
    draft = _draft(request, message_id) if message_id is not None else None
    if establishment is None:
        return render(request, "messaging/unavailable.html", _shell(request, current=("compose", None)),
                      status=403)
    existing = list(draft.attachments.all()) if draft else []
    action = request.POST.get("action") if request.POST.get("action") in ("send", "draft", "search") else "send"
    initial = {}
    if draft is not None:
        initial = {"subject": draft.subject, "body": draft.body_text, **(draft.addresses or {})}
    elif request.method == "GET":
        initial = _prefill(actor, establishment, request.GET.get("a", ""))
    form = ComposeForm(request.POST or None, request.FILES or None, action=action, attachments=existing,
                       initial=initial)
    found, searched = [], False
    if request.method == "POST":
        if action == "search":
            found, searched = _search_recipients(request, actor, establishment)
        elif form.is_valid():
            data = form.cleaned_data
            try:
                if action == "draft":
                    saved = services.save_draft(
                        actor=actor, establishment=establishment, draft_id=draft.pk if draft else None,
                        addresses=form.addresses(), subject=data["subject"], body=body_html(data["body"]),
                        attachments=data["attachments"], remove_attachment_ids=data["remove_attachments"])
                    messages.success(request, _("Brouillon enregistré."))
                    return redirect("messaging:draft", message_id=saved.pk)
                sent_message = services.send_message(
                    actor=actor, establishment=establishment, addresses=form.addresses(), subject=data["subject"],
                    body=body_html(data["body"]), attachments=data["attachments"],
                    draft_id=draft.pk if draft else None, request=request)
            except MessagingError as exc:
                form.add_error(None, str(exc))
            else:
                _after_send(request, sent_message, _("Message envoyé."))
                return redirect("messaging:inbox")
    return render(request, "messaging/compose.html", {
        **_shell(request, current=("compose", None)), "form": form, "draft": draft, "attachments": existing,
        "establishment": establishment, "searched": searched, "found": found,
        "recipient_lists": _recipient_lists(
            form, _recipient_options(actor, establishment, form, found=found, chosen=_chosen_in(initial)), initial),
    })


def _prefill(actor, establishment, value: str) -> dict:
    """?a=type:id (a link "écrire à" from elsewhere): prefilled only when the person may address it."""
    address = parse_token(value)
    if address is None or not policy.can_address(actor, establishment.pk, address):
        return {}
    return {"to": [address]}


@login_required
@require_POST
def draft_delete(request, message_id):
    draft = _draft(request, message_id)
    services.delete_draft(actor=request.actor, message_id=draft.pk)
    messages.success(request, _("Brouillon supprimé."))
    return redirect("messaging:drafts")


@never_cache
@login_required
@require_GET
def suggestions(request):
    """The recipient picker's suggestions: what the person may address that matches the typed text."""
    actor = request.actor
    establishment = _establishment(request)
    term = " ".join((request.GET.get("q") or "").split())[:100]
    if establishment is None or not term:
        return JsonResponse({"results": []})
    items = selectors.address_suggestions(actor, establishment, term, limit=SUGGESTIONS_LIMIT)
    return JsonResponse({"results": [
        {"value": token(item), "label": item["label"], "count": item.get("count"),
         "group": item["type"] != "person"} for item in items]})


def _reply_targets(actor, message, reply_all: bool) -> list[str]:
    if not reply_all:
        return [message.sender.full_name]
    shown = selectors.shown_addresses(actor, message)
    names = [message.sender.full_name] + list(shown.get("to", [])) + list(shown.get("cc", []))
    return list(dict.fromkeys(n for n in names if n))


@never_cache
@login_required
def reply(request, message_id, reply_all=False):
    actor = request.actor
    delivery = _access(request, message_id)
    message = delivery.message
    if not policy.can_reply(actor, message):
        raise PermissionDenied(_("Cette conversation est fermée : on ne peut plus y répondre."))
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            answer = services.reply(actor=actor, message_id=message.pk, body=body_html(form.cleaned_data["body"]),
                                    reply_all=reply_all, attachments=form.cleaned_data["attachments"],
                                    request=request)
        except MessagingError as exc:
            form.add_error(None, str(exc))
        else:
            _after_send(request, answer, _("Réponse envoyée."))
            return redirect(reverse("messaging:thread", args=[message.pk]) + f"#message-{answer.pk}")
    return render(request, "messaging/reply.html", {
        **_shell(request, current=(delivery.box, delivery.folder_id)), "form": form, "message": message,
        "delivery": delivery, "reply_all": reply_all, "targets": _reply_targets(actor, message, reply_all),
    })


@never_cache
@login_required
def reply_all(request, message_id):
    return reply(request, message_id, reply_all=True)


@never_cache
@login_required
def forward(request, message_id):
    actor = request.actor
    delivery = _access(request, message_id)
    message = delivery.message
    establishment = _establishment(request)
    if establishment is None:
        return render(request, "messaging/unavailable.html", _shell(request, current=("compose", None)),
                      status=403)
    action = request.POST.get("action") if request.POST.get("action") in ("send", "search") else "send"
    form = ForwardForm(request.POST or None, action=action)
    found, searched = [], False
    if request.method == "POST":
        if action == "search":
            found, searched = _search_recipients(request, actor, establishment)
        elif form.is_valid():
            try:
                forwarded = services.forward(actor=actor, message_id=message.pk, addresses=form.addresses(),
                                             body=body_html(form.cleaned_data["body"]), request=request)
            except MessagingError as exc:
                form.add_error(None, str(exc))
            else:
                _after_send(request, forwarded, _("Message transféré."))
                return redirect("messaging:thread", message_id=message.pk)
    return render(request, "messaging/forward.html", {
        **_shell(request, current=(delivery.box, delivery.folder_id)), "form": form, "message": message,
        "delivery": delivery, "attachments": list(message.attachments.all()), "searched": searched,
        "found": found, "recipient_lists": _recipient_lists(
            form, _recipient_options(actor, establishment, form, found=found)),
    })
