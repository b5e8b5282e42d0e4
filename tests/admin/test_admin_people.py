"""People: list with filters, search and pagination; create; edit; roles; class; deactivate/reactivate."""

import pytest

from preau.access import policy
from preau.accounts.models import User
from preau.audit.models import AuditEvent
from preau.directory.models import ClassEnrolment, Membership, Role
from preau.directory.testing import add_membership, make_pupil

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def _list(client, s, **params):
    return client.get(admin_url("person_list", s.establishment.pk), params)


def test_admin_people_list_ent_admin_own_establishment_only(world, as_user):
    s = world.one
    response = _list(as_user(s.ent_admin), s)
    people = {p.pk for p in response.context["page"].paginator.object_list}
    assert {s.pupil_b.pk, s.mother_b.pk, s.teacher_b.pk, s.head.pk, s.ent_admin.pk} <= people
    assert not people & {world.two.pupil_b.pk, world.two.ent_admin.pk, world.global_admin.pk}


def test_admin_people_list_filter_role_and_class(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    guardians = {p.pk for p in _list(client, s, role="guardian").context["page"]}
    assert guardians == {s.mother_b.pk, s.father_b.pk, s.guardian_a.pk}
    in_class = {p.pk for p in _list(client, s, classe=s.class_b.pk).context["page"]}
    assert in_class == {s.pupil_b.pk, s.pupil_b2.pk}
    # A class id of the other establishment is ignored rather than leaking anything.
    other = {p.pk for p in _list(client, s, classe=world.two.class_b.pk).context["page"]}
    assert world.two.pupil_b.pk not in other


def test_admin_people_list_search_by_name_and_login(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    assert [p.pk for p in _list(client, s, q="léa martin").context["page"]] == [s.pupil_b.pk]
    assert [p.pk for p in _list(client, s, q="mother_b").context["page"]] == [s.mother_b.pk]
    assert list(_list(client, s, q=world.two.pupil_b.username).context["page"]) == []


def test_admin_people_list_many_rows_paginated_bounded_queries(world, as_user, django_assert_max_num_queries):
    s = world.one
    for _ in range(110):
        make_pupil(s.class_a)
    client = as_user(s.ent_admin)
    with django_assert_max_num_queries(15):
        response = _list(client, s, role="pupil")
    page = response.context["page"]
    assert page.paginator.count == 113 and len(page.object_list) == 50 and page.paginator.num_pages == 3
    body = response.content.decode()
    assert "Élève" in body and "5e A" in body
    assert "page=2" in body and "role=pupil" in body  # pagination keeps the filters
    with django_assert_max_num_queries(15):
        page3 = _list(client, s, role="pupil", page=3).context["page"]
    assert len(page3.object_list) == 13


def test_admin_people_create_pupil_with_class(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_create", s.establishment.pk), {
        "first_name": "Zoé", "last_name": "Lefèvre-Durand", "role": "pupil", "school_class": s.class_b.pk,
        "birth_date": "2014-05-02"})
    pupil = User.objects.get(username="zoe.lefevredurand")
    assert response.status_code == 302 and response["Location"] == admin_url("person_detail", s.establishment.pk,
                                                                              pupil.pk)
    assert Membership.objects.filter(user=pupil, establishment=s.establishment, role=Role.PUPIL).exists()
    assert ClassEnrolment.objects.filter(pupil=pupil, school_class=s.class_b).exists()
    assert not pupil.has_usable_password() and pupil.activated_at is None
    assert AuditEvent.objects.filter(action="role_granted", subject=pupil, actor=s.ent_admin).exists()


def test_admin_people_create_same_name_gets_next_username(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    for _ in range(2):
        client.post(admin_url("person_create", s.establishment.pk), {
            "first_name": "Jean", "last_name": "Dupont", "role": "teacher"})
    created = User.objects.filter(first_name="Jean", last_name="Dupont", username__startswith="jean.dupont")
    assert set(created.values_list("username", flat=True)) == {"jean.dupont", "jean.dupont2"}


def test_admin_people_create_pupil_without_class_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_create", s.establishment.pk), {
        "first_name": "Zoé", "last_name": "Sans-Classe", "role": "pupil"})
    assert response.status_code == 400
    assert "Un élève doit être inscrit dans une classe." in response.content.decode()
    assert not User.objects.filter(last_name="Sans-Classe").exists()


def test_admin_people_create_class_of_other_establishment_rejected(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_create", s.establishment.pk), {
        "first_name": "Zoé", "last_name": "Intruse", "role": "pupil", "school_class": world.two.class_b.pk})
    assert response.status_code == 400
    assert not User.objects.filter(last_name="Intruse").exists()


def test_admin_people_create_duplicate_username_french_error(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_create", s.establishment.pk), {
        "first_name": "Autre", "last_name": "Personne", "role": "teacher", "username": "PUPIL_B"})
    assert response.status_code == 400
    assert "Cet identifiant est déjà utilisé." in response.content.decode()


def test_admin_people_create_staff_with_functions(world, as_user):
    s = world.one
    as_user(s.ent_admin).post(admin_url("person_create", s.establishment.pk), {
        "first_name": "Anne", "last_name": "Adjointe", "role": "staff", "functions": ["deputy", "secretary"]})
    membership = Membership.objects.get(user__last_name="Adjointe")
    assert membership.role == "staff" and membership.functions == ["deputy", "secretary"]


def test_admin_people_edit_identity_and_contact_audited(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_edit", s.establishment.pk, s.mother_b.pk), {
        "first_name": s.mother_b.first_name, "last_name": "Martin", "email": "maman@example.org",
        "phone": "06 12 34 56 78"})
    assert response.status_code == 302
    s.mother_b.refresh_from_db()
    assert s.mother_b.phone == "06 12 34 56 78" and s.mother_b.last_name == "Martin"
    event = AuditEvent.objects.get(action="account_changed", subject=s.mother_b)
    assert set(event.details["fields"]) >= {"phone", "last_name", "email"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "pas-une-adresse", "Saisissez une adresse de courriel valide."),
    ("phone", "appelle-moi", "Le numéro de téléphone ne peut contenir que des chiffres"),
    ("birth_date", "31/02/2014", "Saisissez une date valide."),
    ("last_name", "", "Ce champ est obligatoire."),
])
def test_admin_people_edit_invalid_french_error_unchanged(world, as_user, field, value, message):
    s = world.one
    data = {"first_name": "Léa", "last_name": "Martin", "email": "lea@example.org", field: value}
    response = as_user(s.ent_admin).post(admin_url("person_edit", s.establishment.pk, s.pupil_b.pk), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    s.pupil_b.refresh_from_db()
    assert s.pupil_b.email == "pupil_b@example.org"


def test_admin_people_role_add_staff_functions_audited(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    url = admin_url("person_role_add", s.establishment.pk, s.teacher_b.pk)
    assert client.post(url, {"role": "staff", "functions": ["librarian"]}).status_code == 302
    membership = Membership.objects.get(user=s.teacher_b, role="staff")
    assert membership.functions == ["librarian"]
    event = AuditEvent.objects.get(action="role_granted", subject=s.teacher_b)
    assert event.details["role"] == "staff" and event.establishment_id == s.establishment.pk
    # Same role again with other functions: the functions are replaced, and audited.
    client.post(url, {"role": "staff", "functions": ["cpe"]})
    membership.refresh_from_db()
    assert membership.functions == ["cpe"]
    assert AuditEvent.objects.filter(action="role_granted", subject=s.teacher_b).count() == 2
    # The policy sees it at once: a CPE reads contact details.
    assert policy.can_read_contact_details(policy.Actor(s.teacher_b), s.pupil_a)


def test_admin_people_role_add_existing_role_message(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_role_add", s.establishment.pk, s.teacher_b.pk),
                                         {"role": "teacher"}, follow=True)
    assert "Cette personne a déjà ce rôle dans l&#x27;établissement." in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_admin_people_role_add_invalid_role_no_500(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_role_add", s.establishment.pk, s.teacher_b.pk),
                                         {"role": "king"}, follow=True)
    assert response.status_code == 200 and "Choisissez un rôle valide." in response.content.decode()


def test_admin_people_role_remove_audited(world, as_user):
    s = world.one
    staff = add_membership(s.teacher_b, s.establishment, Role.STAFF, ["librarian"])
    response = as_user(s.ent_admin).post(admin_url("person_role_remove", s.establishment.pk, s.teacher_b.pk,
                                                   staff.pk))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=staff.pk).exists()
    assert AuditEvent.objects.get(action="role_revoked", subject=s.teacher_b).details["role"] == "staff"


def test_admin_people_role_remove_last_role_refused(world, as_user):
    s = world.one
    membership = Membership.objects.get(user=s.teacher_b)
    response = as_user(s.ent_admin).post(admin_url("person_role_remove", s.establishment.pk, s.teacher_b.pk,
                                                   membership.pk), follow=True)
    assert "désactivez-la plutôt" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_people_role_remove_own_admin_role_refused(world, as_user):
    s = world.one
    add_membership(s.ent_admin, s.establishment, Role.TEACHER)
    membership = Membership.objects.get(user=s.ent_admin, role=Role.ENT_ADMIN)
    as_user(s.ent_admin).post(admin_url("person_role_remove", s.establishment.pk, s.ent_admin.pk, membership.pk))
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_people_role_remove_membership_of_other_person_404(world, as_user):
    s = world.one
    other = Membership.objects.get(user=s.teacher_a)
    response = as_user(s.ent_admin).post(admin_url("person_role_remove", s.establishment.pk, s.teacher_b.pk,
                                                   other.pk))
    assert response.status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()


def test_admin_people_set_class_moves_pupil(world, as_user):
    s = world.one
    response = as_user(s.ent_admin).post(admin_url("person_set_class", s.establishment.pk, s.pupil_b2.pk),
                                         {"school_class": s.class_a.pk})
    assert response.status_code == 302
    assert list(ClassEnrolment.objects.filter(pupil=s.pupil_b2).values_list("school_class_id", flat=True)) == [
        s.class_a.pk]


def test_admin_people_deactivate_and_reactivate_audited(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    client.post(admin_url("person_deactivate", s.establishment.pk, s.father_b.pk))
    s.father_b.refresh_from_db()
    assert not s.father_b.is_active
    assert not Membership.objects.get(user=s.father_b).is_active
    # A deactivated person can still be found by the admin (to reactivate them).
    found = client.get(admin_url("person_list", s.establishment.pk), {"statut": "inactive"}).context["page"]
    assert [p.pk for p in found] == [s.father_b.pk]
    client.post(admin_url("person_reactivate", s.establishment.pk, s.father_b.pk))
    s.father_b.refresh_from_db()
    assert s.father_b.is_active and Membership.objects.get(user=s.father_b).is_active
    changes = list(AuditEvent.objects.filter(action="account_changed", subject=s.father_b)
                   .order_by("at", "pk").values_list("details__change", flat=True))
    assert changes == ["deactivated", "reactivated"]


def test_admin_people_deactivate_keeps_account_open_elsewhere(world, as_user):
    s = world.one
    add_membership(s.teacher_b, world.two.establishment, Role.TEACHER)
    as_user(s.ent_admin).post(admin_url("person_deactivate", s.establishment.pk, s.teacher_b.pk))
    s.teacher_b.refresh_from_db()
    assert s.teacher_b.is_active
    assert not Membership.objects.get(user=s.teacher_b, establishment=s.establishment).is_active
    assert Membership.objects.get(user=s.teacher_b, establishment=world.two.establishment).is_active


def test_admin_people_deactivate_self_refused(world, as_user):
    s = world.one
    as_user(s.ent_admin).post(admin_url("person_deactivate", s.establishment.pk, s.ent_admin.pk))
    s.ent_admin.refresh_from_db()
    assert s.ent_admin.is_active


def test_admin_people_detail_shows_guardians_and_assignments(world, as_user):
    s = world.one
    client = as_user(s.ent_admin)
    body = client.get(admin_url("person_detail", s.establishment.pk, s.pupil_b.pk)).content.decode()
    assert s.mother_b.full_name in body and s.father_b.full_name in body
    assert "Notes et compétences" in body  # the father's denied service, by its label
    body = client.get(admin_url("person_detail", s.establishment.pk, s.teacher_b.pk)).content.decode()
    assert "Mathématiques" in body and "5e B" in body
