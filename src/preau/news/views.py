"""Pages of news (/actualites/, namespace "news") and of the carnet de liaison (/carnet/, namespace "liaison").

Views parse the request, call selectors and services, and render; who sees and does what is the access policy's
(news_visible_to, news_manageable_by, liaison_*). A news item, an image or a note the person may not see answers
404, like a missing one; a page their role never uses answers 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from preau.access import policy
from preau.core import context
from preau.directory.admin_views import apply_errors
from preau.directory.models import Role

from . import selectors, services
from .forms import LiaisonNoteForm, NewsForm

NEWS_PER_PAGE = 20
CARNET_PER_PAGE = 20
NOTES_PER_PAGE = 30
DASHBOARD_PER_PAGE = 100


def _writing_establishment(request, allowed):
    """The current establishment, when the actor may write there (else 403)."""
    establishment = context.establishment(request)
    if establishment is None or not allowed(request.actor, establishment.pk):
        raise PermissionDenied
    return establishment


# --- News -----------------------------------------------------------------------------------------------------

@login_required
def news_list(request):
    actor = request.actor
    establishment = context.establishment(request)
    page = Paginator(selectors.news_list(actor, establishment), NEWS_PER_PAGE).get_page(request.GET.get("page"))
    can_write = establishment is not None and policy.can_write_news(actor, establishment.pk)
    return render(request, "news/news_list.html", {
        "page": page, "can_write": can_write, "establishment": establishment,
        "unpublished": selectors.news_unpublished(actor, establishment),
    })


@login_required
def news_detail(request, news_id):
    actor = request.actor
    item = selectors.news_detail(actor, news_id)
    return render(request, "news/news_detail.html", {
        "item": item, "status": item.status(), "can_manage": policy.can_manage_news(actor, item),
    })


def _news_form_page(request, establishment, save, *, item=None):
    """The create/edit form: on a valid POST, run `save(draft=..., **fields)` (a service) and go to the item;
    else (re)show the form, 400 with the errors in French."""
    whole, classes, groups = selectors.news_targets(request.actor, establishment)
    posted = request.method == "POST"
    form = NewsForm(request.POST if posted else None, request.FILES if posted else None,
                    initial=NewsForm.initial_for(item) if item is not None else None,
                    whole_allowed=whole, classes=classes, groups=groups)
    if posted and form.is_valid():
        try:
            saved = save(draft=request.POST.get("action") == "draft", **form.service_kwargs())
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
        else:
            _saved_message(request, saved)
            return redirect("news:detail", saved.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "news/news_form.html", {
        "form": form, "item": item, "establishment": establishment,
        "images": list(item.images.all()) if item is not None else [],
    }, status=status)


def _saved_message(request, item) -> None:
    status = item.status()
    if status == "draft":
        messages.success(request, _("Brouillon enregistré : il n'est visible que par vous et la direction."))
    elif status == "scheduled":
        messages.success(request, _("Actualité programmée : elle paraîtra le %(d)s.") % {
            "d": timezone.localtime(item.publish_at).strftime("%d/%m/%Y %H:%M")})
    else:
        messages.success(request, _("Actualité enregistrée."))


@login_required
def news_create(request):
    actor = request.actor
    establishment = _writing_establishment(request, policy.can_write_news)
    return _news_form_page(request, establishment, lambda **kw: services.news_create(
        actor=actor, establishment=establishment, request=request, **kw))


@login_required
def news_edit(request, news_id):
    actor = request.actor
    item = policy.access_news(actor, news_id, manage=True)
    return _news_form_page(request, item.establishment, lambda **kw: services.news_update(
        actor=actor, item=item, request=request, **kw), item=item)


@login_required
@require_POST
def news_delete(request, news_id):
    item = policy.access_news(request.actor, news_id, manage=True)
    services.news_delete(actor=request.actor, item=item, request=request)
    messages.success(request, _("Actualité supprimée."))
    return redirect("news:list")


@login_required
@require_GET
def news_image(request, news_id, image_id):
    """An image, streamed from the storage to the people who may see its news item only."""
    image = selectors.access_news_image(request.actor, news_id, image_id)
    try:
        handle = default_storage.open(image.path, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=image.content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def news_image_delete(request, news_id, image_id):
    actor = request.actor
    item = policy.access_news(actor, news_id, manage=True)
    image = selectors.access_news_image(actor, item.pk, image_id)
    services.news_delete_image(actor=actor, image=image)
    messages.success(request, _("Image retirée."))
    return redirect("news:edit", item.pk)


# --- Carnet de liaison ----------------------------------------------------------------------------------------

def _chosen_child(request):
    """For a guardian: the child whose carnet is shown (?enfant=, else the header's current child)."""
    actor = request.actor
    wanted = request.GET.get("enfant", "")
    for link in actor.child_links:
        if str(link.pupil_id) == wanted:
            return link.pupil
    return context.child(request)


@login_required
@never_cache
def carnet(request):
    """The family's carnet: a guardian's, child by child; a pupil's (read-only). People who only write or follow
    notes go to their follow-up list."""
    actor = request.actor
    establishment = context.establishment(request)
    can_write = establishment is not None and policy.can_write_liaison(actor, establishment.pk)
    child = _chosen_child(request) if actor.child_links else None
    is_pupil = actor.has_role("pupil")
    if child is None and not is_pupil:
        if can_write or _school_side(actor) or policy.liaison_notes_followed_by(actor).exists():
            return redirect("liaison:followed")
        raise PermissionDenied
    entries = selectors.carnet_entries(actor, child.pk if child is not None else actor.id)
    page = Paginator(entries, CARNET_PER_PAGE).get_page(request.GET.get("page"))
    unsigned = selectors.unsigned_by_child(actor) if child is not None else {}
    return render(request, "news/carnet.html", {
        "page": page, "child": child, "is_guardian": child is not None, "can_write": can_write,
        "children": [{"pupil": link.pupil, "unsigned": unsigned.get(link.pupil_id, 0),
                      "current": child is not None and link.pupil_id == child.pk} for link in actor.child_links],
    })


@login_required
@require_POST
def carnet_sign(request, target_id):
    actor = request.actor
    target = selectors.access_carnet_entry(actor, target_id)
    try:
        services.liaison_acknowledge(actor=actor, target=target)
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Mot signé : l'établissement voit que vous l'avez lu."))
    return redirect(f"{reverse('liaison:carnet')}?enfant={target.pupil_id}#mot-{target.pk}")


def _school_side(actor) -> bool:
    return any(actor.has_role(role) for role in (Role.TEACHER, Role.STAFF, Role.ENT_ADMIN))


@login_required
@never_cache
def liaison_followed(request):
    actor = request.actor
    establishment = context.establishment(request)
    can_write = establishment is not None and policy.can_write_liaison(actor, establishment.pk)
    notes = selectors.followed_notes(actor, establishment)
    # Staff who neither write nor follow notes (a nurse, a librarian) see an empty list, not an error: the
    # carnet's tile is shown to every staff member.
    if not can_write and not _school_side(actor) and not notes.exists():
        raise PermissionDenied
    page = Paginator(notes, NOTES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "news/liaison_followed.html", {"page": page, "can_write": can_write})


@login_required
def liaison_create(request):
    actor = request.actor
    establishment = _writing_establishment(request, policy.can_write_liaison)
    classes, groups, enrolments = selectors.liaison_targets(actor, establishment)
    posted = request.method == "POST"
    form = LiaisonNoteForm(request.POST if posted else None, classes=classes, groups=groups, enrolments=enrolments)
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            note = services.liaison_send(
                actor=actor, establishment=establishment, title=data["title"], body=data["body"],
                due_date=data.get("due_date"), classes=data.get("classes") or (), groups=data.get("groups") or (),
                pupils=data.get("pupils") or (), request=request)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("Vous n'avez pas le droit d'effectuer cette action."))
        else:
            messages.success(request, _("Mot envoyé aux familles de %(n)s élève(s).") % {"n": note.pupil_count})
            return redirect("liaison:dashboard", note.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "news/liaison_form.html", {"form": form, "establishment": establishment}, status=status)


@login_required
@never_cache
def liaison_dashboard(request, note_id):
    actor = request.actor
    note = policy.access_followed_liaison_note(actor, note_id)
    only_unsigned = request.GET.get("filtre") == "non-signes"
    rows = selectors.note_dashboard_rows(note, only_unsigned=only_unsigned)
    page = Paginator(rows, DASHBOARD_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "news/liaison_dashboard.html", {
        "note": note, "counts": selectors.note_counts(note), "page": page, "only_unsigned": only_unsigned,
        **selectors.note_targets_display(note),
    })


@login_required
@require_POST
def liaison_remind(request, note_id):
    actor = request.actor
    note = policy.access_followed_liaison_note(actor, note_id)
    try:
        count = services.liaison_remind(actor=actor, note=note, request=request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Relance envoyée à %(n)s responsable(s).") % {"n": count})
    return redirect("liaison:dashboard", note.pk)
