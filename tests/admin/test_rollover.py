"""The year rollover (bascule): the service, the archived year kept read-only, the screens, and the import after."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from preau.access import policy
from preau.accounts.models import User
from preau.audit.models import AuditEvent
from preau.core import selectors as home_selectors
from preau.directory import rollover, selectors, services
from preau.directory.models import (
    ClassEnrolment,
    GroupMembership,
    Mef,
    Membership,
    Period,
    Role,
    SchoolClass,
    SchoolYear,
    TeachingAssignment,
    TeachingGroup,
)
from preau.directory.testing import UserFactory
from preau.imports.services import import_run

from .conftest import admin_url

pytestmark = pytest.mark.django_db

ARCHIVED = "Cette année scolaire est archivée : ses classes et groupes ne peuvent plus être modifiés."
D = datetime.date
NEXT_START, NEXT_END = D(2027, 9, 1), D(2028, 7, 4)


def actor(user):
    """A fresh Actor (an Actor memoises its classes on the user object)."""
    return policy.actor_for(User.objects.get(pk=user.pk))


def roll(school, by=None, label="2027-2028", start=NEXT_START, end=NEXT_END, **options):
    return rollover.school_year_rollover(actor=actor(by or school.ent_admin), establishment=school.establishment,
                                         new_label=label, new_start=start, new_end=end, **options)


def snapshot(school):
    """Everything a rollover must leave as it was, for the old year and the other establishment."""
    return {
        "enrolments": sorted(ClassEnrolment.objects.values_list("pupil_id", "school_class_id")),
        "groups": sorted(GroupMembership.objects.values_list("pupil_id", "group_id")),
        "assignments": sorted(TeachingAssignment.objects.values_list("pk", "school_year_id", "school_class_id",
                                                                     "group_id")),
        "classes": sorted(SchoolClass.objects.values_list("pk", "school_year_id", "code")),
        "periods": sorted(Period.objects.values_list("pk", "school_year_id", "start", "end")),
    }


# --- The service ------------------------------------------------------------------------------------------------

def test_rollover_archives_the_year_and_opens_the_next(world):
    one = world.one
    before = snapshot(one)
    result = roll(one)
    old = SchoolYear.objects.get(pk=one.year.pk)
    new = SchoolYear.objects.get(establishment=one.establishment, label="2027-2028")
    assert (old.is_current, old.is_archived) == (False, True)
    assert (new.is_current, new.is_archived, new.start, new.end) == (True, False, D(2027, 9, 1), D(2028, 7, 4))
    assert result.school_year == new and result.archived == old
    periods = list(new.periods.order_by("index"))
    assert [p.label for p in periods] == ["Trimestre 1", "Trimestre 2", "Trimestre 3"]
    assert (periods[0].start, periods[-1].end) == (new.start, new.end)
    # The old year's classes, groups, enrolments and services stay attached to it; nothing is copied.
    assert snapshot(one)["enrolments"] == before["enrolments"]
    assert snapshot(one)["assignments"] == before["assignments"]
    assert snapshot(one)["classes"] == before["classes"]
    assert not SchoolClass.objects.filter(school_year=new).exists()
    assert (result.counts.classes, result.counts.groups, result.counts.enrolments, result.counts.group_memberships,
            result.counts.assignments) == (2, 1, 3, 1, 3)
    # The other establishment is untouched.
    two = SchoolYear.objects.get(pk=world.two.year.pk)
    assert (two.is_current, two.is_archived) == (True, False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.SCHOOL_YEAR_ROLLOVER)
    assert (event.actor_id, event.establishment_id) == (one.ent_admin.pk, one.establishment.pk)
    assert event.details["archived"] == "2026-2027" and event.details["opened"] == "2027-2028"
    assert event.details["enrolments"] == 3 and event.details["copied_classes"] == 0


def test_rollover_copies_the_structure_without_pupils_or_teachers(world):
    one = world.one
    mef = Mef.objects.create(code="10110001110", label="5EME")
    SchoolClass.objects.filter(pk=one.class_b.pk).update(mef=mef, external_id="imported-5B")
    result = roll(one, copy_structure=True)
    new = result.school_year
    classes = {c.code: c for c in SchoolClass.objects.filter(school_year=new)}
    assert set(classes) == {"5A", "5B"}
    assert (classes["5B"].label, classes["5B"].level, classes["5B"].mef_id) == ("5e B", "5e", mef.pk)
    assert classes["5B"].external_id is None  # the import's join key stays with the archived class
    group = TeachingGroup.objects.get(school_year=new)
    assert (group.code, group.label, group.kind) == ("LAT", "Latin 5e", TeachingGroup.Kind.OPTION)
    assert set(group.classes.all()) == {classes["5A"], classes["5B"]}
    assert not ClassEnrolment.objects.filter(school_class__school_year=new).exists()
    assert not GroupMembership.objects.filter(group__school_year=new).exists()
    assert not TeachingAssignment.objects.filter(school_year=new).exists()
    assert (result.copied_classes, result.copied_groups) == (2, 1)
    # The archived ones are still there, with their pupils.
    assert ClassEnrolment.objects.filter(school_class=one.class_b).count() == 2


def test_rollover_period_scheme_becomes_the_establishments(world):
    result = roll(world.one, period_scheme="semesters")
    assert [p.label for p in result.school_year.periods.order_by("index")] == ["Semestre 1", "Semestre 2"]
    world.one.establishment.refresh_from_db()
    assert world.one.establishment.period_scheme == "semesters"


def test_rollover_global_admin_may(world):
    assert roll(world.one, by=world.global_admin).school_year.is_current


def test_rollover_preview_counts_and_suggestion(world):
    preview = rollover.rollover_preview(actor=actor(world.one.ent_admin), establishment=world.one.establishment)
    assert preview.current == world.one.year
    assert preview.counts == rollover.YearCounts(classes=2, groups=1, enrolments=3, group_memberships=1,
                                                 assignments=3)
    # The same dates one year later: 1 September 2026 - 4 July 2027 gives 1 September 2027 - 4 July 2028.
    assert (preview.label, preview.start, preview.end) == ("2027-2028", D(2027, 9, 1), D(2028, 7, 4))
    assert preview.period_scheme == "trimesters"


def test_rollover_suggestion_starts_after_the_year_end_and_survives_29_february(world):
    year = SchoolYear(label="2027-2028", start=D(2027, 8, 20), end=D(2028, 2, 29))
    label, start, end = rollover.suggested_next_year(year)
    assert (label, start, end) == ("2028-2029", D(2028, 8, 20), D(2029, 2, 28))
    year = SchoolYear(label="2027-2028", start=D(2027, 9, 1), end=D(2028, 8, 31))
    assert rollover.suggested_next_year(year)[1:] == (D(2028, 9, 1), D(2029, 8, 31))
    year = SchoolYear(label="2027-2028", start=D(2027, 9, 1), end=D(2028, 9, 15))  # longer than a year
    assert rollover.suggested_next_year(year)[1] == D(2028, 9, 16)


def test_rollover_preview_without_current_year(world):
    SchoolYear.objects.filter(pk=world.one.year.pk).update(is_current=False)
    preview = rollover.rollover_preview(actor=actor(world.one.ent_admin), establishment=world.one.establishment)
    assert preview.current is None and preview.counts is None


@pytest.mark.parametrize("who", ["teacher_a", "head", "pupil_b", "other_admin"])
def test_rollover_refused_to_non_admins(world, who):
    user = world.two.ent_admin if who == "other_admin" else getattr(world.one, who)
    with pytest.raises(PermissionDenied):
        roll(world.one, by=user)
    with pytest.raises(PermissionDenied):
        rollover.rollover_preview(actor=actor(user), establishment=world.one.establishment)
    assert SchoolYear.objects.get(pk=world.one.year.pk).is_current
    assert SchoolYear.objects.count() == 2
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"label": "2026-2027"}, "label", "Cette année scolaire existe déjà pour l'établissement."),
    ({"label": "2027/2028"}, "label", "Le libellé s'écrit sous la forme 2026-2027."),
    ({"label": "2027-2029"}, "label", "Les deux années du libellé doivent se suivre"),
    ({"label": "2025-2026", "start": D(2025, 9, 1), "end": D(2026, 7, 4)}, "label",
     "La nouvelle année doit suivre l'année en cours (2026-2027)."),
    ({"label": "2028-2029"}, "label", "Le libellé ne correspond pas aux dates"),
    ({"start": D(2027, 7, 1)}, "start", "La nouvelle année doit commencer après la fin de l'année en cours "
                                        "(le 4 juillet 2027)."),
    ({"end": D(2027, 8, 1)}, "end", "La date de fin doit être postérieure à la date de début."),
    ({"period_scheme": "quarters"}, "period_scheme", "Choisissez des trimestres ou des semestres."),
])
def test_rollover_refused_new_year_french_error_nothing_written(world, kwargs, field, message):
    before = snapshot(world.one)
    with pytest.raises(ValidationError) as error:
        roll(world.one, **kwargs)
    assert any(message in text for text in error.value.message_dict[field])
    assert SchoolYear.objects.get(pk=world.one.year.pk).is_current
    assert not SchoolYear.objects.filter(is_archived=True).exists()
    assert SchoolYear.objects.filter(establishment=world.one.establishment).count() == 1
    assert snapshot(world.one) == before
    assert not AuditEvent.objects.exists()


def test_rollover_refused_when_overlapping_another_year(world):
    SchoolYear.objects.create(establishment=world.one.establishment, label="2028-2029", start=D(2028, 6, 1),
                              end=D(2029, 7, 4))
    with pytest.raises(ValidationError) as error:
        roll(world.one)
    assert error.value.message_dict["start"] == ["Ces dates chevauchent l'année scolaire 2028-2029."]
    assert SchoolYear.objects.get(pk=world.one.year.pk).is_current


def test_rollover_refused_without_current_year(world):
    SchoolYear.objects.filter(pk=world.one.year.pk).update(is_current=False)
    with pytest.raises(ValidationError) as error:
        roll(world.one)
    assert "n'a pas d'année scolaire en cours" in error.value.messages[0]
    assert not SchoolYear.objects.filter(label="2027-2028").exists()


def test_rollover_twice_in_a_row_refused_the_second_time(world):
    roll(world.one)
    with pytest.raises(ValidationError) as error:
        roll(world.one)  # the same form submitted twice: the current year is now 2027-2028
    assert "label" in error.value.message_dict
    assert SchoolYear.objects.filter(establishment=world.one.establishment, is_current=True).get().label == "2027-2028"


# --- The archived year is read-only -----------------------------------------------------------------------------

def _writes(one, a):
    """Every directory write touching a class, group, enrolment, group membership, service or period."""
    year = SchoolYear.objects.get(pk=one.year.pk)
    school_class = SchoolClass.objects.select_related("school_year").get(pk=one.class_a.pk)
    group = TeachingGroup.objects.select_related("school_year").get(pk=one.group.pk)
    assignment = TeachingAssignment.objects.get(teacher=one.teacher_b)
    periods = [(p, p.label, p.start, p.end) for p in year.periods.all()]
    return {
        "class_create": lambda: services.class_create(actor=a, school_year=year, code="6Z", label="6e Z"),
        "class_update": lambda: services.class_update(actor=a, school_class=school_class, code="5A", label="x"),
        "class_delete": lambda: services.class_delete(actor=a, school_class=SchoolClass.objects.create(
            school_year=year, establishment=one.establishment, code="EMPTY", label="vide")),
        "group_create": lambda: services.group_create(actor=a, school_year=year, code="ALL", label="Allemand"),
        "group_update": lambda: services.group_update(actor=a, group=group, code="LAT", label="x", kind="option",
                                                      classes=[]),
        "group_delete": lambda: services.group_delete(actor=a, group=TeachingGroup.objects.create(
            school_year=year, establishment=one.establishment, code="EMPTY", label="vide")),
        "group_set_members": lambda: services.group_set_members(actor=a, group=group, pupils=[one.pupil_b]),
        "enrolment_set": lambda: services.enrolment_set(actor=a, pupil=one.pupil_b, school_class=school_class),
        "person_create": lambda: services.person_create(actor=a, establishment=one.establishment, first_name="Y",
                                                        last_name="Z", role=Role.PUPIL, school_class=school_class),
        "assignment_create": lambda: services.assignment_create(actor=a, teacher=one.teacher_b, subject=one.subject,
                                                                school_class=school_class),
        "assignment_delete": lambda: services.assignment_delete(actor=a, assignment=assignment),
        "periods_update": lambda: services.periods_update(actor=a, school_year=year, periods=periods),
        "school_year_update": lambda: services.school_year_update(actor=a, school_year=year, label=year.label,
                                                                  start=year.start, end=year.end),
    }


WRITES = ["class_create", "class_update", "class_delete", "group_create", "group_update", "group_delete",
          "group_set_members", "enrolment_set", "person_create", "assignment_create", "assignment_delete",
          "periods_update", "school_year_update"]


@pytest.mark.parametrize("name", WRITES)
def test_rollover_archived_year_refuses_every_write(world, name):
    one = world.one
    a = actor(one.ent_admin)
    write = _writes(one, a)[name]  # objects loaded before the rollover, as a form opened the day before would
    roll(one)
    before = snapshot(one)
    people = User.objects.count()
    with pytest.raises(ValidationError) as error:
        write()
    assert error.value.messages[0].startswith("Cette année scolaire est archivée : ")
    if name not in ("periods_update", "school_year_update"):
        assert error.value.messages == [ARCHIVED]
    after = snapshot(one)
    if name in ("class_delete", "group_delete"):  # the empty class or group made for the test is still there
        assert SchoolClass.objects.filter(code="EMPTY").exists() or TeachingGroup.objects.filter(code="EMPTY").exists()
        after["classes"] = [row for row in after["classes"] if row[2] != "EMPTY"]
        before["classes"] = [row for row in before["classes"] if row[2] != "EMPTY"]
    assert after == before
    assert User.objects.count() == people
    assert SchoolClass.objects.get(pk=one.class_a.pk).label == "5e A"


@pytest.mark.parametrize("name", ["class_create", "group_create", "enrolment_set", "assignment_create",
                                  "group_set_members", "periods_update"])
def test_rollover_same_writes_allowed_before_the_rollover(world, name):
    """The guard is about archived years only: the same calls succeed on the (still current) year."""
    _writes(world.one, actor(world.one.ent_admin))[name]()


def test_rollover_new_year_is_writable(world):
    new = roll(world.one).school_year
    a = actor(world.one.ent_admin)
    school_class = services.class_create(actor=a, school_year=new, code="4B", label="4e B")
    services.enrolment_set(actor=a, pupil=world.one.pupil_b, school_class=school_class)
    # Enrolling in the new year leaves the archived enrolment alone.
    assert set(ClassEnrolment.objects.filter(pupil=world.one.pupil_b).values_list("school_class_id", flat=True)) == {
        world.one.class_b.pk, school_class.pk}


def test_rollover_revoking_a_role_keeps_the_archived_history(world):
    one = world.one
    roll(one, copy_structure=True)
    a = actor(one.ent_admin)
    new_b = SchoolClass.objects.get(school_year__is_current=True, establishment=one.establishment, code="5B")
    services.enrolment_set(actor=a, pupil=one.pupil_b, school_class=new_b)
    services.membership_grant(actor=a, establishment=one.establishment, person=one.pupil_b, role=Role.GUARDIAN)
    services.membership_revoke(actor=a, membership=Membership.objects.get(user=one.pupil_b, role=Role.PUPIL))
    assert list(ClassEnrolment.objects.filter(pupil=one.pupil_b).values_list("school_class_id", flat=True)) == [
        one.class_b.pk]
    services.membership_grant(actor=a, establishment=one.establishment, person=one.teacher_a, role=Role.STAFF)
    services.membership_revoke(actor=a, membership=Membership.objects.get(user=one.teacher_a, role=Role.TEACHER))
    assert TeachingAssignment.objects.filter(teacher=one.teacher_a, school_class=one.class_a).exists()


def test_rollover_reopening_the_archived_year_makes_it_writable_again(world):
    one = world.one
    roll(one)
    services.school_year_set_current(actor=actor(one.ent_admin), school_year=SchoolYear.objects.get(pk=one.year.pk))
    old = SchoolYear.objects.get(pk=one.year.pk)
    assert (old.is_current, old.is_archived) == (True, False)
    services.class_create(actor=actor(one.ent_admin), school_year=old, code="6Z", label="6e Z")
    assert AuditEvent.objects.filter(details__change="reopened", details__label="2026-2027").exists()


# --- Current-year views after the rollover ------------------------------------------------------------------------

def test_rollover_pupils_and_teachers_see_the_current_year_only(world, client):
    one = world.one
    roll(one)
    pupil, teacher = actor(one.pupil_b), actor(one.teacher_b)
    assert pupil.own_class_ids == set()
    assert teacher.taught == (set(), set())
    assert home_selectors._class_of(one.pupil_b.pk) is None
    assert not selectors.visible_classes(actor(one.head)).filter(establishment=one.establishment).exists()
    # The teacher no longer reads last year's pupils' school data...
    assert not policy.pupils_visible_to(teacher, "grades").filter(pk=one.pupil_b.pk).exists()
    # ...but the school's staff still find the archived class in the annuaire, marked as such.
    client.force_login(one.head)
    response = client.get(f"/annuaire/classes/{one.class_b.pk}/")
    assert response.status_code == 200
    assert "2026-2027 (année archivée)" in response.content.decode()


# --- The screens --------------------------------------------------------------------------------------------------

def _form(**overrides):
    data = {"label": "2027-2028", "start": "2027-09-01", "end": "2028-07-04", "period_scheme": "trimesters",
            "confirm": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _csp_safe(body):
    assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", body))  # no inline script: files only
    assert " style=" not in body
    assert body.count("<h1") == 1


def test_rollover_screen_preview_and_prefilled_form(world, as_user):
    response = as_user(world.one.ent_admin).get(admin_url("year_rollover", world.one.establishment.pk))
    assert response.status_code == 200
    body = response.content.decode()
    _csp_safe(body)
    assert "Ce qui sera archivé : l'année 2026-2027" in body
    assert "<dt>Élèves inscrits dans une classe</dt><dd>3</dd>" in body
    assert "<dt>Services d'enseignement</dt><dd>3</dd>" in body
    assert 'name="label" value="2027-2028"' in body
    assert 'name="start" value="2027-09-01"' in body and 'name="end" value="2028-07-04"' in body
    assert 'value="trimesters" required id="id_period_scheme_0" checked' in body
    assert "<legend>Libellé et dates</legend>" in body and "<legend>Confirmation</legend>" in body
    assert world.two.establishment.name not in body


def test_rollover_years_page_offers_the_rollover(world, as_user):
    client = as_user(world.one.ent_admin)
    body = client.get(admin_url("year_list", world.one.establishment.pk)).content.decode()
    assert admin_url("year_rollover", world.one.establishment.pk) in body
    assert "Passer à l'année suivante (bascule)" in body


def test_rollover_screen_success_then_result_page(world, as_user):
    one = world.one
    client = as_user(one.ent_admin)
    response = client.post(admin_url("year_rollover", one.establishment.pk), _form(copy_structure="on"))
    new = SchoolYear.objects.get(establishment=one.establishment, is_current=True)
    assert new.label == "2027-2028"
    assert response.status_code == 302
    assert response["Location"] == admin_url("year_rollover_done", one.establishment.pk, new.pk)
    response = client.get(response["Location"])
    body = response.content.decode()
    assert response.status_code == 200
    _csp_safe(body)
    assert "L&#x27;année 2026-2027 est archivée ; 2027-2028 est l&#x27;année en cours." in body
    assert "2 classes, 1 groupe, " in body
    assert f"?annee={one.year.pk}" in body  # the way to the archived classes
    assert SchoolClass.objects.filter(school_year=new).count() == 2


def test_rollover_screen_errors_shown_next_to_fields(world, as_user):
    one = world.one
    response = as_user(one.ent_admin).post(admin_url("year_rollover", one.establishment.pk),
                                           _form(label="2026-2027", confirm=None))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Cochez cette case pour confirmer la bascule." in body
    # The service's error is not reached without the confirmation; with it, it is shown on its field.
    response = as_user(one.ent_admin).post(admin_url("year_rollover", one.establishment.pk),
                                           _form(label="2026-2027"))
    body = response.content.decode()
    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_label_error"><li>Cette année scolaire existe déjà' in body
    assert 'aria-invalid="true" aria-describedby="id_label_helptext id_label_error" id="id_label"' in body
    assert '<a href="#id_label">' in body  # the error summary links to the field
    response = as_user(one.ent_admin).post(admin_url("year_rollover", one.establishment.pk),
                                           _form(start="2027-06-01"))
    assert "commencer après la fin de l&#x27;année en cours (le 4 juillet 2027)" in response.content.decode()
    response = as_user(one.ent_admin).post(admin_url("year_rollover", one.establishment.pk),
                                           _form(start="pas une date", period_scheme="quarters"))
    assert response.status_code == 400
    assert SchoolYear.objects.get(pk=one.year.pk).is_current
    assert not SchoolYear.objects.filter(is_archived=True).exists()


def test_rollover_screen_without_current_year(world, as_user):
    SchoolYear.objects.filter(pk=world.one.year.pk).update(is_current=False)
    client = as_user(world.one.ent_admin)
    response = client.get(admin_url("year_rollover", world.one.establishment.pk))
    assert response.status_code == 200
    assert "pas d'année scolaire en cours" in response.content.decode()
    assert client.post(admin_url("year_rollover", world.one.establishment.pk), _form()).status_code == 400
    assert not SchoolYear.objects.filter(label="2027-2028").exists()


def test_rollover_result_page_needs_an_archived_predecessor(world, as_user):
    url = admin_url("year_rollover_done", world.one.establishment.pk, world.one.year.pk)
    assert as_user(world.one.ent_admin).get(url).status_code == 404


def test_rollover_screens_other_establishments_admin_404(world, as_user):
    client = as_user(world.two.ent_admin)
    e = world.one.establishment.pk
    assert client.get(admin_url("year_rollover", e)).status_code == 404
    assert client.post(admin_url("year_rollover", e), _form()).status_code == 404
    roll(world.one)
    new = SchoolYear.objects.get(establishment_id=e, is_current=True)
    assert client.get(admin_url("year_rollover_done", e, new.pk)).status_code == 404
    # Their own establishment's id with the other's year: 404 too.
    assert client.get(admin_url("year_rollover_done", world.two.establishment.pk, new.pk)).status_code == 404
    assert SchoolYear.objects.get(pk=world.two.year.pk).is_current
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SCHOOL_YEAR_ROLLOVER).count() == 1


@pytest.mark.parametrize("persona", ["teacher_b", "head", "pupil_b", "mother_b"])
def test_rollover_screens_non_admin_403(world, as_user, persona):
    client = as_user(getattr(world.one, persona))
    e = world.one.establishment.pk
    assert client.get(admin_url("year_rollover", e)).status_code == 403
    assert client.post(admin_url("year_rollover", e), _form()).status_code == 403
    assert client.get(admin_url("year_rollover_done", e, world.one.year.pk)).status_code == 403
    assert SchoolYear.objects.get(pk=world.one.year.pk).is_current


def test_rollover_screen_anonymous_redirected_to_login(world, client):
    response = client.get(admin_url("year_rollover", world.one.establishment.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_rollover_archived_pages_read_only(world, as_user):
    one = world.one
    roll(one)
    client = as_user(one.ent_admin)
    e = one.establishment.pk
    pages = {
        "year_detail": admin_url("year_detail", e, one.year.pk),
        "class_list": admin_url("class_list", e) + f"?annee={one.year.pk}",
        "group_list": admin_url("group_list", e) + f"?annee={one.year.pk}",
        "class_detail": admin_url("class_detail", e, one.class_b.pk),
        "group_detail": admin_url("group_detail", e, one.group.pk),
        "person_detail": admin_url("person_detail", e, one.teacher_b.pk),
    }
    bodies = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        bodies[name] = response.content.decode()
        _csp_safe(bodies[name])
        assert "archivée" in bodies[name], name
    assert "5e B" in bodies["class_list"] and "Latin 5e" in bodies["group_list"]
    assert bodies["class_detail"].count(one.pupil_b.last_name) >= 1  # the archived class keeps its pupils
    assert admin_url("class_edit", e, one.class_b.pk) not in bodies["class_detail"]
    assert admin_url("group_edit", e, one.group.pk) not in bodies["group_detail"]
    assert 'name="pupils"' not in bodies["group_detail"]
    assert 'name="action" value="periods"' not in bodies["year_detail"]
    assert "Année archivée" in bodies["person_detail"]  # the archived service has no remove button


def test_rollover_archived_class_edit_and_service_removal_refused_on_screen(world, as_user):
    one = world.one
    roll(one)
    client = as_user(one.ent_admin)
    e = one.establishment.pk
    response = client.post(admin_url("class_edit", e, one.class_b.pk), {"code": "5B", "label": "renamed"})
    assert response.status_code == 400
    assert "Cette année scolaire est archivée" in response.content.decode()
    assignment = TeachingAssignment.objects.get(teacher=one.teacher_b)
    response = client.post(admin_url("assignment_remove", e, one.teacher_b.pk, assignment.pk), follow=True)
    assert "Cette année scolaire est archivée" in response.content.decode()
    assert TeachingAssignment.objects.filter(pk=assignment.pk).exists()
    response = client.post(admin_url("year_detail", e, one.year.pk), {
        "action": "year", "label": "2026-2027", "start": "2026-09-02", "end": "2027-07-05"})
    assert response.status_code == 400
    assert "ses dates et ses périodes ne peuvent plus être modifiées" in response.content.decode()
    assert SchoolYear.objects.get(pk=one.year.pk).start == D(2026, 9, 1)
    assert SchoolClass.objects.get(pk=one.class_b.pk).label == "5e B"


# --- The next import places pupils in the new year's classes --------------------------------------------------------

def _attrs(**values):
    return "".join(f'<attr name="{name}">' + "".join(f"<value>{v}</value>" for v in
                                                     (value if isinstance(value, list) else [value])) + "</attr>"
                   for name, value in values.items())


def _aaf(tmp_path, name, category_attr, category, identifier, **values):
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ficAlimMENESR><addRequest><operationalAttributes>'
        f'<attr name="{category_attr}"><value>{category}</value></attr></operationalAttributes>'
        f"<identifier><id>{identifier}</id></identifier><attributes>{_attrs(**values)}</attributes>"
        "</addRequest></ficAlimMENESR>", encoding="utf-8")
    return path


def _import(tmp_path, stamp, class_code):
    folder = tmp_path / stamp
    folder.mkdir()
    files = [
        _aaf(folder, f"X_Delta_{stamp}_EtabEducNat_0000.xml", "categorieStructure", "EtabEducNat", "9001",
             ENTStructureJointure="9001", ENTStructureUAI="0699001A", ENTStructureNomCourant="CLG JEAN MOULIN",
             ENTStructureTypeStruct="CLG"),
        _aaf(folder, f"X_Delta_{stamp}_Eleve_0000.xml", "categoriePersonne", "Eleve", "e1",
             ENTPersonJointure="e1", sn="Martin", givenName="Léa", ENTPersonStructRattach="9001",
             ENTEleveClasses=f"9001${class_code}"),
    ]
    run, report = import_run(kind="aaf", paths=files)
    assert run.status == "succeeded", report.lines()
    return User.objects.get(external_id="e1")


def test_rollover_then_import_places_the_pupil_in_the_new_years_class(world, tmp_path):
    lea = _import(tmp_path, "20260901", "5B")
    old_year = SchoolYear.objects.get(establishment__uai="0699001A", is_current=True)
    old_class = ClassEnrolment.objects.get(pupil=lea).school_class
    assert (old_class.code, old_class.school_year) == ("5B", old_year)
    admin = UserFactory(is_global_admin=True)
    label, start, end = rollover.suggested_next_year(old_year)
    rollover.school_year_rollover(actor=actor(admin), establishment=old_year.establishment, new_label=label,
                                  new_start=start, new_end=end)

    lea = _import(tmp_path, "20270901", "4B")  # a year later, Léa is in 4e B

    new_year = SchoolYear.objects.get(establishment=old_year.establishment, is_current=True)
    assert new_year.label == label
    enrolments = {e.school_class.school_year_id: e.school_class for e in
                  ClassEnrolment.objects.filter(pupil=lea).select_related("school_class")}
    assert set(enrolments) == {old_year.pk, new_year.pk}
    assert enrolments[new_year.pk].code == "4B"
    assert enrolments[old_year.pk] == old_class  # the archived enrolment is kept, as history
    assert SchoolYear.objects.get(pk=old_year.pk).is_archived
    assert actor(lea).own_class_ids == {enrolments[new_year.pk].pk}
    # Archived classes were not touched by the import; the same code in the new year is a new class.
    lea_again = _import(tmp_path, "20270902", "5B")
    new_5b = ClassEnrolment.objects.get(pupil=lea_again, school_class__school_year=new_year).school_class
    assert new_5b.code == "5B" and new_5b.pk != old_class.pk
    assert ClassEnrolment.objects.filter(pupil=lea, school_class=old_class).exists()


def test_rollover_opens_a_year_prepared_in_advance_with_its_classes(world):
    school = world.one
    prepared = SchoolYear.objects.create(establishment=school.establishment, label="2027-2028", start=NEXT_START,
                                         end=NEXT_END)
    Period.objects.create(school_year=prepared, index=1, label="Semestre 1", start=NEXT_START,
                          end=D(2028, 1, 31))
    Period.objects.create(school_year=prepared, index=2, label="Semestre 2", start=D(2028, 2, 1), end=NEXT_END)
    ready = SchoolClass.objects.create(school_year=prepared, establishment=school.establishment, code="6A",
                                       label="6e A préparée")
    preview = rollover.rollover_preview(actor=actor(school.ent_admin), establishment=school.establishment)
    assert (preview.label, preview.start, preview.end) == ("2027-2028", NEXT_START, NEXT_END)

    result = roll(school, copy_structure=True)
    assert result.school_year.pk == prepared.pk
    prepared.refresh_from_db()
    assert prepared.is_current and not prepared.is_archived
    assert list(prepared.periods.values_list("label", flat=True)) == ["Semestre 1", "Semestre 2"]  # kept
    assert SchoolClass.objects.get(pk=ready.pk).label == "6e A préparée"  # the prepared class is not replaced
    old_codes = set(SchoolClass.objects.filter(school_year=world.one.year).values_list("code", flat=True))
    assert set(SchoolClass.objects.filter(school_year=prepared).values_list("code", flat=True)) == old_codes | {"6A"}
    assert SchoolYear.objects.filter(establishment=school.establishment).count() == 2
    assert AuditEvent.objects.get(action="school_year_rollover").details["prepared"] is True
