"""Administration screens for ENT administrators, under /admin/ (namespace "directory_admin").

An ENT admin administers their establishments, the global admin all of them. Every screen of an establishment
lives under /admin/etablissements/<id>/: an establishment the actor does not administer answers 404, as does any
object that does not belong to it; a person who administers nothing gets 403 on every screen. Views validate input
with forms and call directory.services for every write.
"""

from __future__ import annotations

import copy
import functools

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from preau.access import policy
from preau.accounts.models import User

from . import forms, selectors, services
from .models import GuardianLink, Membership, Role, SchoolClass, Service

PAGE_SIZE = selectors.PAGE_SIZE


# --- Helpers --------------------------------------------------------------------------------------------------

def admin_required(view):
    """Logged in and administering at least one establishment (else 403)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not policy.is_admin(request.actor):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def establishment_view(view):
    """Resolve <eid> to an establishment the actor administers (404 otherwise)."""

    @admin_required
    @functools.wraps(view)
    def wrapper(request, eid, *args, **kwargs):
        establishment = selectors.access_administered_establishment(request.actor, eid)
        return view(request, establishment, *args, **kwargs)

    return wrapper


def posted(request):
    """The submitted data, or None for a GET (an empty POST still binds the form, so it shows its errors)."""
    return request.POST if request.method == "POST" else None


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def apply_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to its field when there is one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for item in errors:
                form.add_error(target, item)
    else:
        for message in error.messages:
            form.add_error(None, message)


def flash_errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def person_url(establishment, person) -> str:
    return reverse("directory_admin:person_detail", args=[establishment.pk, person.pk])


def form_page(request, establishment, form, *, title, submit, cancel_url, intro="", danger=False, status=None):
    """A page with one form; 400 when a submitted form has errors."""
    if status is None:
        status = 400 if form.is_bound and form.errors else 200
    return render(request, "directory/admin/form_page.html", {
        "establishment": establishment, "form": form, "title": title, "submit": submit, "cancel_url": cancel_url,
        "intro": intro, "danger": danger}, status=status)


def _accounts_services():
    from preau.accounts import services as account_services  # lazy: written by the accounts helper

    return account_services


def _render_pdf(*, establishment, rows) -> bytes:
    from preau.accounts.activation_sheets import render_pdf  # lazy: written by the accounts helper

    return render_pdf(establishment=establishment, rows=rows)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Home and establishments ----------------------------------------------------------------------------------

@admin_required
def home(request):
    actor = request.actor
    establishments = selectors.administered_establishments(actor)
    total = establishments.count()
    return render(request, "directory/admin/home.html", {
        "establishments": establishments[:10], "total": total, "is_global_admin": actor.is_global_admin,
    })


@admin_required
def establishment_list(request):
    search = forms.SearchForm(request.GET)
    q = search.data.get("q", "")
    queryset = selectors.administered_establishments(request.actor, q).annotate(
        class_count=Count("classes", filter=Q(classes__school_year__is_current=True), distinct=True))
    return render(request, "directory/admin/establishment_list.html", {
        "page": paginate(request, queryset), "search": search, "q": q,
        "can_create": request.actor.is_global_admin,
    })


@admin_required
def establishment_create(request):
    if not request.actor.is_global_admin:
        raise PermissionDenied
    form = forms.EstablishmentForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            establishment = services.establishment_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Établissement créé."))
            return redirect("directory_admin:establishment_detail", establishment.pk)
    return form_page(request, None, form, title=_("Nouvel établissement"), submit=_("Créer l'établissement"),
                     cancel_url=reverse("directory_admin:establishment_list"))


@establishment_view
def establishment_detail(request, establishment):
    year = selectors.current_year(establishment)
    role_counts = dict(Membership.objects.filter(establishment=establishment, is_active=True)
                       .values_list("role").annotate(n=Count("pk")).values_list("role", "n"))
    return render(request, "directory/admin/establishment_detail.html", {
        "establishment": establishment, "year": year,
        "role_counts": [(label, role_counts.get(value, 0), value) for value, label in Role.choices],
        "class_count": establishment.classes.filter(school_year=year).count() if year else 0,
        "group_count": establishment.groups.filter(school_year=year).count() if year else 0,
        "is_global_admin": request.actor.is_global_admin,
    })


@establishment_view
def establishment_edit(request, establishment):
    form = forms.EstablishmentForm(posted(request), instance=copy.copy(establishment))
    if request.method == "POST" and form.is_valid():
        try:
            services.establishment_update(actor=request.actor, establishment=establishment, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Établissement enregistré."))
            return redirect("directory_admin:establishment_detail", establishment.pk)
    return form_page(request, establishment, form, title=_("Modifier l'établissement"), submit=_("Enregistrer"),
                     cancel_url=reverse("directory_admin:establishment_detail", args=[establishment.pk]))


@establishment_view
@require_POST
def establishment_set_active(request, establishment, active: bool):
    if not request.actor.is_global_admin:
        raise PermissionDenied
    services.establishment_set_active(actor=request.actor, establishment=establishment, active=active)
    messages.success(request, _("Établissement réactivé.") if active else _("Établissement désactivé."))
    return redirect("directory_admin:establishment_detail", establishment.pk)


# --- School years and periods ---------------------------------------------------------------------------------

@establishment_view
def year_list(request, establishment):
    form = forms.SchoolYearForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            year = services.school_year_create(actor=request.actor, establishment=establishment, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Année scolaire créée avec ses périodes."))
            return redirect("directory_admin:year_detail", establishment.pk, year.pk)
    return render(request, "directory/admin/year_list.html", {
        "establishment": establishment, "years": selectors.school_years(establishment, with_periods=True), "form": form,
    }, status=400 if form.errors else 200)


@establishment_view
def year_detail(request, establishment, yid):
    year = selectors.access_school_year(establishment, yid)
    periods = list(year.periods.order_by("index"))
    year_form = forms.SchoolYearForm(initial={"label": year.label, "start": year.start, "end": year.end})
    del year_form.fields["make_current"]
    period_forms = [forms.PeriodForm(prefix=f"p{p.index}", initial={"label": p.label, "start": p.start,
                                                                     "end": p.end}) for p in periods]
    errors = []
    if request.method == "POST":
        if request.POST.get("action") == "year":
            year_form = forms.SchoolYearForm(request.POST)
            del year_form.fields["make_current"]
            if year_form.is_valid():
                data = year_form.cleaned_data
                try:
                    services.school_year_update(actor=request.actor, school_year=year, label=data["label"],
                                                start=data["start"], end=data["end"])
                except ValidationError as error:
                    apply_errors(year_form, error)
                else:
                    messages.success(request, _("Année scolaire enregistrée."))
                    return redirect("directory_admin:year_detail", establishment.pk, year.pk)
        else:
            period_forms = [forms.PeriodForm(request.POST, prefix=f"p{p.index}") for p in periods]
            if all(f.is_valid() for f in period_forms):
                rows = [(p, f.cleaned_data["label"], f.cleaned_data["start"], f.cleaned_data["end"])
                        for p, f in zip(periods, period_forms, strict=True)]
                try:
                    services.periods_update(actor=request.actor, school_year=year, periods=rows)
                except ValidationError as error:
                    errors = error.messages
                else:
                    messages.success(request, _("Périodes enregistrées."))
                    return redirect("directory_admin:year_detail", establishment.pk, year.pk)
    has_errors = bool(errors or year_form.errors or any(f.errors for f in period_forms))
    return render(request, "directory/admin/year_detail.html", {
        "establishment": establishment, "year": year, "year_form": year_form,
        "period_forms": list(zip(periods, period_forms, strict=True)), "period_errors": errors,
    }, status=400 if has_errors else 200)


@establishment_view
@require_POST
def year_set_current(request, establishment, yid):
    year = selectors.access_school_year(establishment, yid)
    services.school_year_set_current(actor=request.actor, school_year=year)
    messages.success(request, _("%(label)s est désormais l'année en cours.") % {"label": year.label})
    return redirect("directory_admin:year_list", establishment.pk)


# --- Subjects -------------------------------------------------------------------------------------------------

@establishment_view
def subject_list(request, establishment):
    form = forms.SubjectForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.subject_create(actor=request.actor, establishment=establishment, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Matière ajoutée."))
            return redirect("directory_admin:subject_list", establishment.pk)
    return render(request, "directory/admin/subject_list.html", {
        "establishment": establishment, "subjects": selectors.subjects(establishment), "form": form,
    }, status=400 if form.errors else 200)


# --- Classes --------------------------------------------------------------------------------------------------

def _year_from_request(request, establishment):
    """The school year a list shows: ?annee=<id> or the current one."""
    wanted = request.GET.get("annee")
    if wanted:
        try:
            return selectors.access_school_year(establishment, wanted)
        except Http404:
            pass  # a bad parameter falls back to the current year
    return selectors.current_year(establishment)


@establishment_view
def class_list(request, establishment):
    year = _year_from_request(request, establishment)
    search = forms.SearchForm(request.GET)
    q = search.data.get("q", "")
    return render(request, "directory/admin/class_list.html", {
        "establishment": establishment, "year": year, "years": selectors.school_years(establishment),
        "page": paginate(request, selectors.admin_classes(establishment, year, q)), "search": search, "q": q,
    })


@establishment_view
def class_create(request, establishment):
    form = forms.SchoolClassForm(posted(request), establishment=establishment,
                                 initial={"school_year": selectors.current_year(establishment)})
    if request.method == "POST" and form.is_valid():
        try:
            school_class = services.class_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Classe créée."))
            return redirect("directory_admin:class_detail", establishment.pk, school_class.pk)
    return form_page(request, establishment, form, title=_("Nouvelle classe"), submit=_("Créer la classe"),
                     cancel_url=reverse("directory_admin:class_list", args=[establishment.pk]))


@establishment_view
def class_detail(request, establishment, cid):
    school_class = selectors.access_admin_class(establishment, cid)
    pupils = selectors.class_pupils(school_class)
    return render(request, "directory/admin/class_detail.html", {
        "establishment": establishment, "school_class": school_class, "pupils": pupils,
        "assignments": selectors.class_assignments(school_class),
        "groups": school_class.groups.order_by("code"),
        "codes_form": forms.ClassCodesForm(),
    })


@establishment_view
def class_edit(request, establishment, cid):
    school_class = selectors.access_admin_class(establishment, cid)
    form = forms.SchoolClassForm(posted(request), establishment=establishment, editing=True, initial={
        "code": school_class.code, "label": school_class.label, "level": school_class.level,
        "mef": school_class.mef})
    if request.method == "POST" and form.is_valid():
        try:
            services.class_update(actor=request.actor, school_class=school_class, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Classe enregistrée."))
            return redirect("directory_admin:class_detail", establishment.pk, school_class.pk)
    return form_page(request, establishment, form, title=_("Modifier la classe %(label)s") % {
        "label": school_class.label}, submit=_("Enregistrer"),
        cancel_url=reverse("directory_admin:class_detail", args=[establishment.pk, school_class.pk]))


@establishment_view
def class_delete(request, establishment, cid):
    school_class = selectors.access_admin_class(establishment, cid)
    back = reverse("directory_admin:class_detail", args=[establishment.pk, school_class.pk])
    if request.method == "POST":
        try:
            services.class_delete(actor=request.actor, school_class=school_class)
        except ValidationError as error:
            flash_errors(request, error)
            return redirect(back)
        messages.success(request, _("Classe supprimée."))
        return redirect("directory_admin:class_list", establishment.pk)
    return form_page(request, establishment, django_forms.Form(),
                     title=_("Supprimer la classe %(label)s ?") % {"label": school_class.label},
                     intro=_("Seule une classe sans élève ni enseignant peut être supprimée."),
                     submit=_("Supprimer"), cancel_url=back, danger=True)


@establishment_view
@never_cache
def class_codes(request, establishment, cid):
    """Generate activation codes for a class (pupils and/or guardians) and download the printable sheets."""
    school_class = selectors.access_admin_class(establishment, cid)
    form = forms.ClassCodesForm(posted(request))
    if request.method == "POST" and form.is_valid():
        audience = set(form.cleaned_data["audience"])
        only_new = form.cleaned_data["only_not_activated"]
        pupils = list(selectors.class_pupils(school_class).filter(is_active=True))
        links = (GuardianLink.objects.filter(pupil__in=pupils, guardian__is_active=True,
                                             guardian__memberships__establishment=establishment,
                                             guardian__memberships__role=Role.GUARDIAN)
                 .select_related("guardian").order_by("contact_order") if "guardians" in audience else [])
        by_pupil: dict[int, list[User]] = {}
        for link in links:
            by_pupil.setdefault(link.pupil_id, []).append(link.guardian)
        users: list[User] = []
        seen: set[int] = set()
        for pupil in pupils:
            for person in ([pupil] if "pupils" in audience else []) + by_pupil.get(pupil.pk, []):
                if person.pk not in seen and not (only_new and person.is_activated):
                    seen.add(person.pk)
                    users.append(person)
        if not users:
            form.add_error(None, _("Aucun compte ne correspond : tous sont peut-être déjà activés."))
        else:
            codes = _accounts_services().issue_activation_codes(actor=request.actor, users=users)
            rows = [(user, codes[user.pk]) for user in users if user.pk in codes]
            content = _render_pdf(establishment=establishment, rows=rows)
            return pdf_response(content, f"codes-{slugify(school_class.code)}.pdf")
    return form_page(request, establishment, form,
                     title=_("Codes d'activation de la classe %(label)s") % {"label": school_class.label},
                     intro=_("Les nouveaux codes remplacent les codes précédents de ces personnes. "
                             "Le fichier PDF contient une fiche par personne, à distribuer."),
                     submit=_("Générer et télécharger le PDF"),
                     cancel_url=reverse("directory_admin:class_detail", args=[establishment.pk, school_class.pk]))


# --- Groups ---------------------------------------------------------------------------------------------------

@establishment_view
def group_list(request, establishment):
    year = _year_from_request(request, establishment)
    search = forms.SearchForm(request.GET)
    q = search.data.get("q", "")
    return render(request, "directory/admin/group_list.html", {
        "establishment": establishment, "year": year, "years": selectors.school_years(establishment),
        "page": paginate(request, selectors.admin_groups(establishment, year, q)), "search": search, "q": q,
    })


@establishment_view
def group_create(request, establishment):
    year = selectors.current_year(establishment)
    form = forms.GroupForm(posted(request), establishment=establishment, year=year,
                           initial={"school_year": year})
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Groupe créé."))
            return redirect("directory_admin:group_detail", establishment.pk, group.pk)
    return form_page(request, establishment, form, title=_("Nouveau groupe"), submit=_("Créer le groupe"),
                     cancel_url=reverse("directory_admin:group_list", args=[establishment.pk]))


@establishment_view
def group_detail(request, establishment, gid):
    group = selectors.access_admin_group(establishment, gid)
    candidates = selectors.group_candidates(group)
    form = forms.GroupMembersForm(posted(request), candidates=candidates,
                                  initial={"pupils": [p for p in candidates if p.in_group]})
    if request.method == "POST" and form.is_valid():
        try:
            services.group_set_members(actor=request.actor, group=group, pupils=form.cleaned_data["pupils"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Élèves du groupe enregistrés."))
            return redirect("directory_admin:group_detail", establishment.pk, group.pk)
    return render(request, "directory/admin/group_detail.html", {
        "establishment": establishment, "group": group, "classes": group.classes.order_by("level", "code"),
        "pupils": selectors.group_pupils(group), "assignments": group.assignments.select_related(
            "teacher", "subject").order_by("subject__label"), "form": form,
    }, status=400 if form.errors else 200)


@establishment_view
def group_edit(request, establishment, gid):
    group = selectors.access_admin_group(establishment, gid)
    form = forms.GroupForm(posted(request), establishment=establishment, year=group.school_year, editing=True,
                           initial={"code": group.code, "label": group.label, "kind": group.kind,
                                    "classes": list(group.classes.all())})
    if request.method == "POST" and form.is_valid():
        try:
            services.group_update(actor=request.actor, group=group, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Groupe enregistré."))
            return redirect("directory_admin:group_detail", establishment.pk, group.pk)
    return form_page(request, establishment, form, title=_("Modifier le groupe %(label)s") % {"label": group.label},
                     submit=_("Enregistrer"),
                     cancel_url=reverse("directory_admin:group_detail", args=[establishment.pk, group.pk]))


@establishment_view
def group_delete(request, establishment, gid):
    group = selectors.access_admin_group(establishment, gid)
    back = reverse("directory_admin:group_detail", args=[establishment.pk, group.pk])
    if request.method == "POST":
        try:
            services.group_delete(actor=request.actor, group=group)
        except ValidationError as error:
            flash_errors(request, error)
            return redirect(back)
        messages.success(request, _("Groupe supprimé."))
        return redirect("directory_admin:group_list", establishment.pk)
    return form_page(request, establishment, django_forms.Form(),
                     title=_("Supprimer le groupe %(label)s ?") % {"label": group.label},
                     intro=_("Seul un groupe sans élève ni enseignant peut être supprimé."),
                     submit=_("Supprimer"), cancel_url=back, danger=True)


# --- People ---------------------------------------------------------------------------------------------------

@establishment_view
def person_list(request, establishment):
    year = selectors.current_year(establishment)
    search = forms.SearchForm(request.GET)
    q = search.data.get("q", "")
    role = request.GET.get("role", "")
    class_id = request.GET.get("classe", "")
    status = request.GET.get("statut", "")
    classes = list(SchoolClass.objects.filter(establishment=establishment, school_year=year).order_by(
        "level", "code")) if year else []
    if class_id not in {str(c.pk) for c in classes}:
        class_id = ""
    queryset = selectors.admin_people(request.actor, establishment, q=q, role=role, class_id=class_id or None,
                                      status=status)
    return render(request, "directory/admin/person_list.html", {
        "establishment": establishment, "page": paginate(request, queryset), "search": search, "q": q,
        "role": role, "roles": Role.choices, "class_id": class_id, "classes": classes, "status": status,
    })


@establishment_view
def person_create(request, establishment):
    year = selectors.current_year(establishment)
    classes = SchoolClass.objects.filter(establishment=establishment, school_year=year).order_by("level", "code")
    # ?enfant=<pupil id>: creating a guardian from a pupil's page links them to that pupil at once.
    child = None
    if request.GET.get("enfant"):
        child = selectors.access_admin_person(request.actor, establishment, request.GET["enfant"])
    initial = {"role": Role.GUARDIAN if child else request.GET.get("role", Role.PUPIL),
               "school_class": request.GET.get("classe")}
    form = forms.PersonCreateForm(posted(request), classes=classes, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                person = services.person_create(actor=request.actor, establishment=establishment,
                                                **form.cleaned_data)
                link = None
                if child is not None and person.memberships.filter(role=Role.GUARDIAN).exists():
                    link = services.guardian_link_create(
                        actor=request.actor, establishment=establishment, guardian=person, pupil=child,
                        relation=GuardianLink.Relation.OTHER,
                        contact_order=len(selectors.guardians_of(child)) + 1)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Personne créée avec l'identifiant %(username)s.") % {
                "username": person.username})
            if link is not None:
                messages.info(request, _("Précisez maintenant le lien avec %(name)s.") % {"name": child.full_name})
                return redirect("directory_admin:guardian_link_edit", establishment.pk, child.pk, link.pk)
            return redirect(person_url(establishment, person))
    title = (_("Nouveau responsable de %(name)s") % {"name": child.full_name}) if child else _("Nouvelle personne")
    return form_page(request, establishment, form, title=title, submit=_("Créer"),
                     intro=_("Le compte sera activé par la personne avec un code d'activation, "
                             "à générer ensuite depuis sa fiche."),
                     cancel_url=person_url(establishment, child) if child else reverse(
                         "directory_admin:person_list", args=[establishment.pk]))


def _person_context(request, establishment, person, **extra):
    year = selectors.current_year(establishment)
    memberships = selectors.person_memberships(person, establishment)
    roles = {m.role for m in memberships}
    classes, groups = selectors.teaching_targets(establishment, year)
    context = {
        "establishment": establishment, "person": person, "memberships": memberships, "roles": roles,
        "year": year, "is_self": person.pk == request.actor.id,
        "membership_form": forms.MembershipForm(),
        "enrolments": selectors.person_enrolments(person, establishment) if Role.PUPIL in roles else [],
        "enrolment_form": forms.EnrolmentForm(classes=SchoolClass.objects.filter(
            establishment=establishment, school_year=year).order_by("level", "code")) if Role.PUPIL in roles else None,
        "guardian_links": selectors.guardians_of(person) if Role.PUPIL in roles else [],
        "child_links": selectors.children_of(person) if Role.GUARDIAN in roles else [],
        "assignments": selectors.teacher_assignments(person, establishment) if Role.TEACHER in roles else [],
        "assignment_form": forms.AssignmentForm(subjects=selectors.subjects(establishment), classes=classes,
                                                groups=groups) if Role.TEACHER in roles else None,
        "staff_functions": forms.MembershipForm.base_fields["functions"].choices,
        "active_here": any(m.is_active for m in memberships) and person.is_active,
    }
    services_labels = dict(Service.choices)
    for link in context["guardian_links"]:
        link.denied_labels = [str(services_labels.get(value, value)) for value in link.denied_services or []]
    context.update(extra)
    return context


@establishment_view
def person_detail(request, establishment, pid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    return render(request, "directory/admin/person_detail.html", _person_context(request, establishment, person))


@establishment_view
def person_edit(request, establishment, pid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    form = forms.PersonIdentityForm(posted(request), initial={
        name: getattr(person, name) for name in services.PERSON_FIELDS})
    if request.method == "POST" and form.is_valid():
        services.person_update(actor=request.actor, establishment=establishment, person=person, **form.cleaned_data)
        messages.success(request, _("Fiche enregistrée."))
        return redirect(person_url(establishment, person))
    return form_page(request, establishment, form, title=_("Modifier %(name)s") % {"name": person.full_name},
                     submit=_("Enregistrer"), cancel_url=person_url(establishment, person))


@establishment_view
@require_POST
def person_role_add(request, establishment, pid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    form = forms.MembershipForm(request.POST)
    if form.is_valid():
        try:
            services.membership_grant(actor=request.actor, establishment=establishment, person=person,
                                      role=form.cleaned_data["role"], functions=form.cleaned_data["functions"])
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, _("Rôle enregistré."))
    else:
        messages.error(request, _("Choisissez un rôle valide."))
    return redirect(person_url(establishment, person))


@establishment_view
@require_POST
def person_role_remove(request, establishment, pid, mid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    membership = next((m for m in selectors.person_memberships(person, establishment) if m.pk == mid), None)
    if membership is None:
        raise Http404
    membership.user = person
    try:
        services.membership_revoke(actor=request.actor, membership=membership)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, _("Rôle retiré."))
    return redirect(person_url(establishment, person))


@establishment_view
@require_POST
def person_set_class(request, establishment, pid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    year = selectors.current_year(establishment)
    form = forms.EnrolmentForm(request.POST, classes=SchoolClass.objects.filter(
        establishment=establishment, school_year=year))
    if form.is_valid():
        try:
            services.enrolment_set(actor=request.actor, pupil=person, school_class=form.cleaned_data["school_class"])
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, _("Classe enregistrée."))
    else:
        messages.error(request, _("Choisissez une classe de l'année en cours."))
    return redirect(person_url(establishment, person))


@establishment_view
@require_POST
def person_set_active(request, establishment, pid, active: bool):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    try:
        services.person_set_active(actor=request.actor, establishment=establishment, person=person, active=active)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, _("Compte réactivé.") if active else _("Compte désactivé dans l'établissement."))
    return redirect(person_url(establishment, person))


# --- Guardian links -------------------------------------------------------------------------------------------

@establishment_view
def guardian_link_add(request, establishment, pid):
    pupil = selectors.access_admin_person(request.actor, establishment, pid)
    if not Membership.objects.filter(user=pupil, establishment=establishment, role=Role.PUPIL).exists():
        raise Http404
    form = forms.GuardianLinkCreateForm(posted(request), guardians=selectors.guardians_in(establishment),
                                        initial={"legal_authority": True, "receives_correspondence": True,
                                                 "contact_order": len(selectors.guardians_of(pupil)) + 1})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.guardian_link_create(actor=request.actor, establishment=establishment, pupil=pupil, **data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Responsable ajouté."))
            return redirect(person_url(establishment, pupil))
    return form_page(request, establishment, form,
                     title=_("Ajouter un responsable à %(name)s") % {"name": pupil.full_name},
                     submit=_("Ajouter"), cancel_url=person_url(establishment, pupil))


@establishment_view
def guardian_link_edit(request, establishment, pid, lid):
    pupil = selectors.access_admin_person(request.actor, establishment, pid)
    link = selectors.access_guardian_link(establishment, pupil, lid)
    form = forms.GuardianLinkForm(posted(request), initial={
        "relation": link.relation, "legal_authority": link.legal_authority,
        "receives_correspondence": link.receives_correspondence, "contact_order": link.contact_order,
        "denied_services": link.denied_services})
    if request.method == "POST" and form.is_valid():
        try:
            services.guardian_link_update(actor=request.actor, establishment=establishment, link=link,
                                          **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Lien enregistré."))
            return redirect(person_url(establishment, pupil))
    return form_page(request, establishment, form,
                     title=_("Lien entre %(guardian)s et %(pupil)s") % {"guardian": link.guardian.full_name,
                                                                        "pupil": pupil.full_name},
                     submit=_("Enregistrer"), cancel_url=person_url(establishment, pupil))


@establishment_view
@require_POST
def guardian_link_remove(request, establishment, pid, lid):
    pupil = selectors.access_admin_person(request.actor, establishment, pid)
    link = selectors.access_guardian_link(establishment, pupil, lid)
    services.guardian_link_delete(actor=request.actor, establishment=establishment, link=link)
    messages.success(request, _("Lien supprimé."))
    return redirect(person_url(establishment, pupil))


# --- Teaching assignments -------------------------------------------------------------------------------------

@establishment_view
@require_POST
def assignment_add(request, establishment, pid):
    teacher = selectors.access_admin_person(request.actor, establishment, pid)
    classes, groups = selectors.teaching_targets(establishment, selectors.current_year(establishment))
    form = forms.AssignmentForm(request.POST, subjects=selectors.subjects(establishment), classes=classes,
                                groups=groups)
    if form.is_valid():
        kind, target = form.cleaned_data["target"]
        try:
            services.assignment_create(
                actor=request.actor, teacher=teacher, subject=form.cleaned_data["subject"],
                school_class=target if kind == "class" else None, group=target if kind == "group" else None,
                is_main_teacher=form.cleaned_data["is_main_teacher"])
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, _("Service d'enseignement ajouté."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect(person_url(establishment, teacher))


@establishment_view
@require_POST
def assignment_remove(request, establishment, pid, aid):
    teacher = selectors.access_admin_person(request.actor, establishment, pid)
    assignment = selectors.access_assignment(establishment, teacher, aid)
    try:
        services.assignment_delete(actor=request.actor, assignment=assignment)
    except ValidationError as error:  # a service of an archived year
        flash_errors(request, error)
    else:
        messages.success(request, _("Service d'enseignement retiré."))
    return redirect(person_url(establishment, teacher))


# --- Activation codes and password reset ----------------------------------------------------------------------

@establishment_view
@require_POST
@never_cache
def person_activation_code(request, establishment, pid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    if not policy.can_administer_person(request.actor, person):
        raise PermissionDenied
    codes = _accounts_services().issue_activation_codes(actor=request.actor, users=[person])
    code = codes[person.pk]
    if request.POST.get("format") == "pdf":
        content = _render_pdf(establishment=establishment, rows=[(person, code)])
        return pdf_response(content, f"code-{slugify(person.username)}.pdf")
    return render(request, "directory/admin/code_shown.html", {
        "establishment": establishment, "person": person, "code": code,
        "title": _("Code d'activation de %(name)s") % {"name": person.full_name},
        "explanation": _("Communiquez ce code à la personne : elle l'utilisera avec son identifiant pour activer "
                         "son compte et choisir son mot de passe. Il ne sera plus affiché."),
    })


@establishment_view
@require_POST
@never_cache
def person_password_reset(request, establishment, pid):
    person = selectors.access_admin_person(request.actor, establishment, pid)
    if not policy.can_administer_person(request.actor, person) or person.pk == request.actor.id:
        raise PermissionDenied
    code = _accounts_services().admin_reset_password(actor=request.actor, user=person)
    return render(request, "directory/admin/code_shown.html", {
        "establishment": establishment, "person": person, "code": code,
        "title": _("Réinitialisation du mot de passe de %(name)s") % {"name": person.full_name},
        "explanation": _("Communiquez ce code à la personne : elle l'utilisera avec son identifiant pour choisir "
                         "un nouveau mot de passe (l'ancien reste valable jusque-là). Tout code précédent est "
                         "annulé. Ce code ne sera plus affiché."),
    })

