"""Regressions found by the code review: hostile input never gives a 5xx, NUL characters answer 400, and the
other defects fixed along the way. Runs on SQLite and on PostgreSQL (which rejects NUL in text)."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, SchoolClass, Subject, TeachingAssignment
from tests.admin.conftest import school_urls

HOSTILE = ["", "x" * 5000, "abc", "-1", "2026-02-30", "a\x00b", "99999999999999999999", "c99999999"]
# Every field name of the admin, accounts, annuaire and token forms, plus the GET parameters views read.
FIELDS = [
    "uai", "name", "kind", "address", "postal_code", "city", "period_scheme", "require_staff_2fa", "label", "start",
    "end", "make_current", "code", "level", "mef", "school_year", "classes", "pupils", "short_label", "first_name",
    "last_name", "email", "phone", "birth_date", "ine", "username", "role", "functions", "school_class", "relation",
    "legal_authority", "receives_correspondence", "contact_order", "denied_services", "guardian", "subject",
    "target", "is_main_teacher", "audience", "only_not_activated", "action", "p1-label", "p1-start", "p1-end",
    "p2-label", "p2-start", "p2-end", "p3-label", "p3-start", "p3-end", "format", "next", "establishment", "child",
    "password", "new_password1", "new_password2", "old_password", "title", "text", "confirm", "contact-language",
    "contact-email", "contact-phone", "expires_in_days", "q", "page", "statut", "classe", "annee", "enfant",
]


def _all_form_urls(world) -> list[str]:
    s = world.one
    urls = [url for _method, url in school_urls(s)]
    urls += [reverse("directory_admin:home"), reverse("directory_admin:establishment_list"),
             reverse("directory_admin:establishment_create")]
    urls += [reverse(f"accounts:{name}") for name in (
        "login", "login_second_factor", "logout", "activation", "activation_password", "password_reset",
        "password_change", "charter_accept", "totp_setup", "recovery_codes", "recovery_codes_regenerate",
        "totp_disable", "profile", "charter_admin_list")]
    urls.append(reverse("accounts:charter_admin_detail", args=[s.establishment.pk]))
    urls += ["/", reverse("core:switch_establishment"), reverse("core:switch_child"), "/annuaire/",
             "/annuaire/personnes/", "/compte/jetons-api/", f"/annuaire/classes/{s.class_a.pk}/",
             f"/annuaire/groupes/{s.group.pk}/", f"/annuaire/personnes/{s.pupil_a.pk}/"]
    return urls


def _call(client, method, url, data):
    try:
        return getattr(client, method)(url, data).status_code
    except Exception as error:  # noqa: BLE001 - the test reports every crash at once
        return f"{type(error).__name__}: {str(error)[:120]}"


def test_forms_post_hostile_values_admin_accounts_no_server_error(world):
    failures = []
    urls = _all_form_urls(world)
    for user in (world.global_admin, world.one.ent_admin, None):
        client = Client()
        if user is not None:
            client.force_login(user)
        for url in urls:
            for value in HOSTILE:
                data = dict.fromkeys(FIELDS, value)
                for method in ("get", "post"):
                    status = _call(client, method, url, data)
                    if not isinstance(status, int) or status >= 500:
                        failures.append((getattr(user, "username", None), method, url, value[:12], status))
    assert not failures


@pytest.mark.parametrize("url_name", ["directory_admin:establishment_list", "directory:person_list"])
def test_search_get_nul_query_global_admin_400(world, client, url_name):
    client.force_login(world.global_admin)
    assert client.get(reverse(url_name), {"q": "Mar\x00tin"}).status_code == 400
    assert client.get(reverse(url_name), {"q": "Martin"}).status_code == 200


def test_admin_lists_get_nul_parameters_ent_admin_400(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    e = s.establishment.pk
    for name in ("class_list", "group_list", "person_list"):
        url = reverse(f"directory_admin:{name}", args=[e])
        assert client.get(url, {"q": "\x00"}).status_code == 400
        assert client.get(url, {"role": "pupil\x00", "statut": "x"}).status_code == 400


def test_forms_post_nul_value_ent_admin_400_nothing_written(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:subject_list", args=[s.establishment.pk])
    response = client.post(url, {"code": "NUL", "label": "Phys\x00ique"})
    assert response.status_code == 400
    assert not s.establishment.subjects.filter(code="NUL").exists()


def test_api_get_and_json_body_nul_400(world, client):
    client.force_login(world.global_admin)
    response = client.get("/api/v1/people", {"q": "a\x00"})
    assert response.status_code == 400
    assert response.json()["detail"]
    response = client.post("/api/v1/tokens", data='{"name": "jeton\\u0000"}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_switchers_post_relative_next_without_slash_redirects_not_500(world, client):
    s = world.one
    client.force_login(s.mother_b)
    response = client.post(reverse("core:switch_child"), {"child": s.pupil_b.pk, "next": "abc"})
    assert response.status_code == 302
    assert response["Location"] == "abc"
    response = client.post(reverse("core:switch_establishment"), {"establishment": "x", "next": "home"})
    assert response.status_code == 302
    assert response["Location"] == "home"  # a relative URL, not resolved as a URL pattern name


def test_switchers_post_external_next_ignored(world, client):
    client.force_login(world.one.mother_b)
    response = client.post(reverse("core:switch_child"), {"child": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_admin_group_create_post_huge_class_id_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:group_create", args=[s.establishment.pk])
    response = client.post(url, {"school_year": s.year.pk, "code": "BIG", "label": "Big", "kind": "other",
                                 "classes": ["99999999999999999999"]})
    assert response.status_code == 400
    assert not s.establishment.groups.filter(code="BIG").exists()


def test_admin_group_members_post_huge_pupil_id_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:group_detail", args=[s.establishment.pk, s.group.pk])
    response = client.post(url, {"pupils": [str(s.pupil_a.pk), "99999999999999999999"]})
    assert response.status_code == 400
    assert list(s.group.members.values_list("pupil_id", flat=True)) == [s.pupil_a.pk]


@contextmanager
def _concurrent_insert(model, make, *, check: str | None = None):
    """Insert a conflicting row right after the service's uniqueness check (its `exists()` query, or the query
    matching `check`) answered "free": what a second, simultaneous submission of the same form does. Django's
    execute_wrapper hook, no mock."""
    done = []
    check = re.compile(check or rf'^SELECT (1|%s) AS "a" FROM "{model._meta.db_table}"')

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not done and check.match(sql):
            done.append(True)
            make()
        return result

    with connection.execute_wrapper(wrapper):
        yield
    assert done


def test_admin_subject_create_concurrent_duplicate_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:subject_list", args=[s.establishment.pk])
    with _concurrent_insert(Subject, lambda: Subject.objects.create(establishment=s.establishment, code="PC",
                                                                     label="Physique")):
        response = client.post(url, {"code": "pc", "label": "Physique-chimie"})
    assert response.status_code == 400
    assert "Une matière porte déjà ce code" in response.content.decode()
    assert s.establishment.subjects.filter(code="PC").count() == 1


def test_admin_class_create_concurrent_duplicate_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:class_create", args=[s.establishment.pk])
    with _concurrent_insert(SchoolClass, lambda: SchoolClass.objects.create(
            school_year=s.year, establishment=s.establishment, code="4C", label="4e C")):
        response = client.post(url, {"school_year": s.year.pk, "code": "4C", "label": "4e C", "level": "4e"})
    assert response.status_code == 400
    assert SchoolClass.objects.filter(school_year=s.year, code="4C").count() == 1


def test_admin_guardian_link_add_concurrent_duplicate_ent_admin_form_error_audit_unchanged(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:guardian_link_add", args=[s.establishment.pk, s.pupil_a.pk])
    audit_before = AuditEvent.objects.count()
    with _concurrent_insert(GuardianLink, lambda: GuardianLink.objects.create(
            guardian=s.mother_b, pupil=s.pupil_a, relation="mother")):
        response = client.post(url, {"guardian": s.mother_b.username, "relation": "mother", "contact_order": 2})
    assert response.status_code == 400
    assert "Ce lien existe déjà" in response.content.decode()
    assert GuardianLink.objects.filter(guardian=s.mother_b, pupil=s.pupil_a).count() == 1
    assert AuditEvent.objects.count() == audit_before  # the failed write left no audit row behind


def test_admin_assignment_add_concurrent_duplicate_ent_admin_flash_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:assignment_add", args=[s.establishment.pk, s.teacher_a.pk])
    with _concurrent_insert(TeachingAssignment, lambda: TeachingAssignment.objects.create(
            teacher=s.teacher_a, establishment=s.establishment, school_year=s.year, subject=s.subject,
            school_class=s.class_b)):
        response = client.post(url, {"subject": s.subject.pk, "target": f"c{s.class_b.pk}"})
    assert response.status_code == 302
    assert TeachingAssignment.objects.filter(teacher=s.teacher_a, school_class=s.class_b).count() == 1


def test_admin_year_create_post_year_ending_9999_12_31_ent_admin_no_500(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:year_list", args=[s.establishment.pk])
    response = client.post(url, {"label": "2030-2031", "start": "9999-09-01", "end": "9999-12-31"})
    assert response.status_code == 302
    year = s.establishment.school_years.get(label="2030-2031")
    periods = list(year.periods.order_by("index"))
    assert [p.index for p in periods] == [1, 2, 3]
    assert periods[-1].end.isoformat() == "9999-12-31"


def test_admin_person_edit_post_email_over_254_characters_ent_admin_form_error(world, client):
    s = world.one
    client.force_login(s.ent_admin)
    url = reverse("directory_admin:person_edit", args=[s.establishment.pk, s.pupil_a.pk])
    email = "a" * 61 + "." + "b" * 60 + "@" + "c" * 60 + "." + "d" * 60 + ".example.fr"  # a valid shape, 255 characters
    assert len(email) > 254
    response = client.post(url, {"first_name": "Ana", "last_name": "Lopez", "email": email})
    assert response.status_code == 400
    s.pupil_a.refresh_from_db()
    assert s.pupil_a.email != email


def test_accounts_totp_setup_get_concurrent_first_visit_staff_no_500(world, client):
    import pyotp

    from preau.accounts import crypto
    from preau.accounts.models import TOTPDevice

    user = world.one.head
    client.force_login(user)
    secret = crypto.encrypt_secret(pyotp.random_base32())
    with _concurrent_insert(TOTPDevice, lambda: TOTPDevice.objects.create(user=user, encrypted_secret=secret),
                            check=r'^SELECT "accounts_totpdevice"\."id"'):
        response = client.get(reverse("accounts:totp_setup"))
    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_accounts_charter_publish_concurrent_first_version_ent_admin_french_error(world):
    from preau.access import policy
    from preau.accounts import services as account_services
    from preau.accounts.models import Charter

    s = world.one
    actor = policy.actor_for(s.ent_admin)
    other = Charter(establishment=s.establishment, version=1, title="Charte", text="Texte publié à l'instant",
                    published_at=timezone.now(), published_by=s.head)
    with _concurrent_insert(Charter, other.save, check=r'^SELECT "accounts_charter".*LIMIT 1'), \
            pytest.raises(account_services.AccountError, match="Une autre version de la charte"):
        account_services.charter_publish(actor=actor, establishment=s.establishment, text="Ma charte")
    # (the simulated rival row shares the service's transaction here, so it is rolled back with it)
    assert not Charter.objects.filter(text="Ma charte").exists()
