"""The audit log's pages: the administrators' journal (/journal/), one's own account activity on the profile, and
"who read my data" (/journal/moi/)."""

import datetime
import html
import re

import pytest
from django.test import RequestFactory
from django.utils import timezone

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.audit.selectors import short_user_agent
from preau.audit.services import record, record_sensitive_read
from preau.core.services import dashboard_services

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def text(response) -> str:
    body = response.content.decode()
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body))


def request_from(ip="203.0.113.9", user_agent=FIREFOX_WINDOWS):
    return RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)


def page_ids(response) -> set[int]:
    return {event.pk for event in response.context["page"].object_list}


@pytest.fixture
def events(world):
    """One event about each of a few people of both schools, plus establishment-level and anonymous ones."""
    one, two = world.one, world.two
    return {
        "login_one": record(Action.LOGIN, actor=one.pupil_b, subject=one.pupil_b, request=request_from()),
        "read_one": record_sensitive_read(actor=one.cpe, subject=one.pupil_b, target="directory.contact"),
        "role_one": record(Action.ROLE_GRANTED, actor=one.ent_admin, subject=one.teacher_a,
                           establishment_id=one.establishment.pk),
        "charter_one": record(Action.CHARTER_PUBLISHED, actor=world.global_admin,
                              establishment_id=one.establishment.pk),
        "login_two": record(Action.LOGIN, actor=two.pupil_b, subject=two.pupil_b, request=request_from()),
        "read_two": record_sensitive_read(actor=two.cpe, subject=two.pupil_b, target="directory.contact"),
        "charter_two": record(Action.CHARTER_PUBLISHED, actor=world.global_admin,
                              establishment_id=two.establishment.pk),
        "anonymous_failure": record(Action.LOGIN_FAILED, request=request_from(), username_tried="nobody"),
    }


# --- Policy ---------------------------------------------------------------------------------------------------

def test_audit_policy_ent_admin_sees_own_establishment_people_and_events(world, events):
    visible = set(policy.audit_events_visible_to(policy.actor_for(world.one.ent_admin)).values_list("pk", flat=True))
    assert visible == {events[k].pk for k in ("login_one", "read_one", "role_one", "charter_one")}


def test_audit_policy_global_admin_sees_everything(world, events):
    visible = set(policy.audit_events_visible_to(policy.actor_for(world.global_admin)).values_list("pk", flat=True))
    assert visible == {e.pk for e in events.values()}


def test_audit_policy_anonymous_sees_nothing(db):
    assert not policy.audit_events_visible_to(None).exists()


# --- The journal: who may open it ----------------------------------------------------------------------------

NON_ADMINS = ["pupil_a", "pupil_b", "mother_b", "father_b", "guardian_a", "teacher_a", "teacher_b",
              "group_teacher", "head", "cpe", "secretary", "nurse"]


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_journal_list_non_admin_forbidden(client, world, events, persona):
    user = getattr(world.one, persona)
    assert not policy.audit_events_visible_to(policy.actor_for(user)).exists()
    client.force_login(user)
    assert client.get("/journal/").status_code == 403
    assert client.get(f"/journal/?personne={user.pk}").status_code == 403


def test_journal_list_anonymous_redirected_to_login(client, db):
    response = client.get("/journal/")
    assert response.status_code == 302 and "/compte/" in response["Location"]


def test_journal_list_ent_admin_sees_own_establishment_only(client, world, events):
    client.force_login(world.one.ent_admin)
    response = client.get("/journal/")
    assert response.status_code == 200
    assert page_ids(response) == {events[k].pk for k in ("login_one", "read_one", "role_one", "charter_one")}
    body = text(response)
    assert "Journal de sécurité" in body
    assert "Consultation de données personnelles" in body and "Coordonnées" in body
    assert world.two.pupil_b.username not in body


def test_journal_list_ent_admin_of_two_does_not_see_one(client, world, events):
    client.force_login(world.two.ent_admin)
    response = client.get("/journal/")
    assert page_ids(response) == {events[k].pk for k in ("login_two", "read_two", "charter_two")}


def test_journal_list_global_admin_sees_all(client, world, events):
    client.force_login(world.global_admin)
    response = client.get("/journal/")
    assert response.status_code == 200
    assert page_ids(response) == {e.pk for e in events.values()}
    assert "inconnu (identifiant saisi : nobody)" in text(response)


def test_journal_list_accessible_table_and_french(client, world, events):
    client.force_login(world.one.ent_admin)
    body = client.get("/journal/").content.decode()
    assert '<th scope="col">' in body and '<th scope="row">' in body
    assert '<label for="id_action">' in body and '<label for="id_du">' in body and '<label for="id_q">' in body
    assert "style=" not in body
    assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", body))  # no inline script: files only


# --- The journal: filters ------------------------------------------------------------------------------------

def test_journal_filter_action(client, world, events):
    client.force_login(world.global_admin)
    response = client.get("/journal/", {"action": Action.SENSITIVE_READ})
    assert page_ids(response) == {events["read_one"].pk, events["read_two"].pk}


def test_journal_filter_unknown_action_shows_error_not_500(client, world, events):
    client.force_login(world.global_admin)
    response = client.get("/journal/", {"action": "drop_table"})
    assert response.status_code == 200
    assert response.context["form"].errors["action"]
    assert page_ids(response) == {e.pk for e in events.values()}


def test_journal_filter_person_search_by_name_and_login(client, world, events):
    client.force_login(world.one.ent_admin)
    by_name = client.get("/journal/", {"q": "léa martin"})
    assert page_ids(by_name) == {events["login_one"].pk, events["read_one"].pk}
    by_login = client.get("/journal/", {"q": world.one.teacher_a.username})
    assert page_ids(by_login) == {events["role_one"].pk}


def test_journal_filter_person_search_never_reaches_other_establishment(client, world, events):
    client.force_login(world.one.ent_admin)
    response = client.get("/journal/", {"q": world.two.pupil_b.username})
    assert page_ids(response) == set()


def test_journal_filter_date_range(client, world, events):
    old = AuditEvent.objects.create(action=Action.LOGIN, actor=world.one.pupil_a, subject=world.one.pupil_a,
                                    at=timezone.now() - datetime.timedelta(days=40))
    client.force_login(world.one.ent_admin)
    today = timezone.localdate()
    recent = client.get("/journal/", {"du": (today - datetime.timedelta(days=1)).isoformat()})
    assert old.pk not in page_ids(recent) and events["login_one"].pk in page_ids(recent)
    before = client.get("/journal/", {"au": (today - datetime.timedelta(days=30)).isoformat()})
    assert page_ids(before) == {old.pk}
    exact = old.at.astimezone(timezone.get_current_timezone()).date().isoformat()
    assert page_ids(client.get("/journal/", {"du": exact, "au": exact})) == {old.pk}


def test_journal_filter_inverted_dates_show_linked_error(client, world, events):
    client.force_login(world.one.ent_admin)
    response = client.get("/journal/", {"du": "2026-11-20", "au": "2026-11-01", "action": Action.LOGIN})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'aria-describedby="id_au_error"' in body and 'id="id_au_error"' in body
    assert "La date de fin doit être postérieure" in html.unescape(body)
    # The valid filter still applies.
    assert page_ids(response) == {events["login_one"].pk}


def test_journal_filter_garbage_dates_and_page_no_500(client, world, events):
    client.force_login(world.one.ent_admin)
    response = client.get("/journal/", {"du": "hier", "au": "2026-13-45", "page": "x"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"du", "au"}


def test_journal_person_view_ent_admin(client, world, events):
    s = world.one
    failure = record(Action.LOGIN_FAILED, request=request_from(), username_tried=s.pupil_b.username)
    client.force_login(s.ent_admin)
    response = client.get("/journal/", {"personne": s.pupil_b.pk})
    assert response.status_code == 200
    assert page_ids(response) == {events["login_one"].pk, events["read_one"].pk, failure.pk}
    assert "Journal de Léa Martin" in text(response)


def test_journal_person_view_other_establishment_person_404(client, world, events):
    client.force_login(world.one.ent_admin)
    assert client.get("/journal/", {"personne": world.two.pupil_b.pk}).status_code == 404
    assert client.get("/journal/", {"personne": 999999}).status_code == 404
    assert client.get("/journal/", {"personne": "abc"}).status_code == 404
    assert client.get("/journal/", {"personne": "99999999999999999999"}).status_code == 404
    assert client.get("/journal/", {"personne": world.global_admin.pk}).status_code == 404


def test_journal_list_names_link_to_person_journal_when_administered(client, world, events):
    s = world.one
    client.force_login(s.ent_admin)
    body = client.get("/journal/").content.decode()
    assert f'href="/journal/?personne={s.pupil_b.pk}"' in body and f'href="/journal/?personne={s.cpe.pk}"' in body
    # The global admin published the charter but is not administered by an ENT admin: plain name, no link.
    assert f'href="/journal/?personne={world.global_admin.pk}"' not in body
    assert world.global_admin.full_name in html.unescape(body)


def test_journal_person_page_links_to_person_journal(client, world):
    s = world.one
    client.force_login(s.ent_admin)
    body = client.get(f"/admin/etablissements/{s.establishment.pk}/personnes/{s.pupil_b.pk}/").content.decode()
    assert f'href="/journal/?personne={s.pupil_b.pk}"' in body


def test_journal_pagination_50_per_page(client, world):
    s = world.one
    AuditEvent.objects.bulk_create([AuditEvent(action=Action.LOGIN, actor=s.pupil_a, subject=s.pupil_a)
                                    for _ in range(120)])
    client.force_login(s.ent_admin)
    first = client.get("/journal/", {"action": Action.LOGIN})
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.num_pages == 3
    assert "page=2" in first.content.decode()
    last = client.get("/journal/", {"action": Action.LOGIN, "page": 3})
    assert len(last.context["page"].object_list) == 20


def test_journal_list_bounded_queries(client, world, django_assert_max_num_queries):
    one, two = world.one, world.two
    people = [one.pupil_a, one.pupil_b, one.teacher_a, one.cpe, two.pupil_a, two.cpe]
    AuditEvent.objects.bulk_create([
        AuditEvent(action=Action.SENSITIVE_READ if i % 2 else Action.LOGIN, actor=people[i % 6],
                   subject=people[(i + 1) % 6], establishment_id=one.establishment.pk if i % 3 else None,
                   user_agent=FIREFOX_WINDOWS, ip="198.51.100.4")
        for i in range(200)])
    for user in (one.ent_admin, world.global_admin):
        client.force_login(user)
        client.get("/journal/")  # warm the session and the actor
        with django_assert_max_num_queries(12):
            response = client.get("/journal/")
        assert len(response.context["page"].object_list) == 50
        with django_assert_max_num_queries(12):
            client.get("/journal/", {"q": "a", "action": Action.LOGIN, "du": "2026-01-01", "page": 2})


def test_journal_tile_for_admins_only(world):
    assert "journal" in {t["key"] for t in dashboard_services(policy.actor_for(world.one.ent_admin))}
    assert "journal" not in {t["key"] for t in dashboard_services(policy.actor_for(world.one.head))}


# --- The profile: recent activity of my account ---------------------------------------------------------------

def test_profile_recent_activity_pupil_sees_own_logins_and_failures(client, world):
    s = world.one
    record(Action.LOGIN, actor=s.pupil_b, subject=s.pupil_b, request=request_from("203.0.113.50"))
    record(Action.LOGIN_FAILED, request=request_from("192.0.2.66"), username_tried=s.pupil_b.username)
    record(Action.PASSWORD_CHANGE, actor=s.pupil_b, subject=s.pupil_b, request=request_from())
    record(Action.TOTP_ENABLED, actor=s.pupil_b, subject=s.pupil_b, request=request_from())
    record(Action.LOGIN, actor=s.pupil_a, subject=s.pupil_a, request=request_from("198.51.100.99"))
    record(Action.LOGIN_FAILED, request=request_from("198.51.100.98"), username_tried=s.pupil_a.username)
    client.force_login(s.pupil_b)
    body = text(client.get("/compte/profil/"))
    assert "Activité récente de mon compte" in body
    assert "203.0.113.50" in body and "192.0.2.66" in body
    assert "Connexion" in body and "Échec de connexion" in body
    assert "Changement de mot de passe" in body and "Double authentification activée" in body
    assert "Firefox sur Windows" in body
    assert "198.51.100.99" not in body and "198.51.100.98" not in body
    assert "Qui a consulté mes données" in body


def test_profile_recent_activity_shows_last_ten_newest_first(client, world):
    s = world.one
    now = timezone.now()
    AuditEvent.objects.bulk_create([
        AuditEvent(action=Action.LOGIN, actor=s.teacher_a, subject=s.teacher_a, ip=f"192.0.2.{i}",
                   at=now - datetime.timedelta(hours=i)) for i in range(1, 16)])
    client.force_login(s.teacher_a)
    body = client.get("/compte/profil/").content.decode()
    section = body.split('data-testid="recent-activity"')[1].split("</section>")[0]
    ips = re.findall(r"192\.0\.2\.(\d+)", section)
    assert ips == [str(i) for i in range(1, 11)]


def test_profile_recent_activity_admin_action_names_the_admin(client, world):
    s = world.one
    record(Action.PASSWORD_RESET_BY_ADMIN, actor=s.ent_admin, subject=s.pupil_b)
    client.force_login(s.pupil_b)
    body = text(client.get("/compte/profil/"))
    assert f"par {s.ent_admin.full_name}" in body
    assert "Journal de sécurité des établissements" not in body


def test_profile_recent_activity_admin_gets_journal_link(client, world):
    client.force_login(world.one.ent_admin)
    assert 'href="/journal/"' in client.get("/compte/profil/").content.decode()


def test_profile_recent_activity_bounded_queries(client, world, django_assert_max_num_queries):
    s = world.one
    AuditEvent.objects.bulk_create([AuditEvent(action=Action.LOGIN, actor=s.pupil_b, subject=s.pupil_b)
                                    for _ in range(50)])
    client.force_login(s.pupil_b)
    client.get("/compte/profil/")
    with django_assert_max_num_queries(25):
        client.get("/compte/profil/")


def test_short_user_agent():
    assert short_user_agent(FIREFOX_WINDOWS) == "Firefox sur Windows"
    assert short_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1") == "Safari sur iPhone"
    assert short_user_agent("curl/8.5.0") == "curl/8.5.0"
    assert short_user_agent("x" * 100).endswith("…") and len(short_user_agent("x" * 100)) == 40
    assert short_user_agent("") == ""


# --- Who read my data ----------------------------------------------------------------------------------------

def test_reads_about_me_pupil_sees_who_read_their_data(client, world):
    s = world.one
    mine = record_sensitive_read(actor=s.cpe, subject=s.pupil_b, target="directory.contact")
    other = record_sensitive_read(actor=s.head, subject=s.pupil_a, target="directory.contact")
    record(Action.LOGIN, actor=s.pupil_b, subject=s.pupil_b)
    client.force_login(s.pupil_b)
    response = client.get("/journal/moi/")
    assert response.status_code == 200
    assert page_ids(response) == {mine.pk}
    assert other.pk not in page_ids(response)
    body = text(response)
    assert "Qui a consulté mes données" in body
    assert s.cpe.full_name in body and "Collège Jean Moulin" in body
    assert "Coordonnées" in body
    assert "Concernant" not in body


def test_reads_about_me_guardian_sees_reads_about_child(client, world):
    s = world.one
    about_child = record_sensitive_read(actor=s.secretary, subject=s.pupil_b, target="grades")
    about_me = record_sensitive_read(actor=s.cpe, subject=s.mother_b, target="directory.contact")
    record_sensitive_read(actor=s.cpe, subject=s.pupil_a, target="directory.contact")
    record_sensitive_read(actor=s.cpe, subject=s.father_b, target="directory.contact")
    client.force_login(s.mother_b)
    response = client.get("/journal/moi/")
    assert page_ids(response) == {about_child.pk, about_me.pk}
    body = text(response)
    assert "Concernant" in body and "Léa Martin" in body and "Vous" in body
    assert "Notes" in body and s.secretary.full_name in body


def test_reads_about_me_reader_role_is_professional_only(client, world):
    from preau.directory.models import Role
    from preau.directory.testing import add_membership

    s = world.one
    add_membership(s.teacher_b, world.two.establishment, Role.GUARDIAN)
    record_sensitive_read(actor=s.teacher_b, subject=s.pupil_b, target="grades")
    record_sensitive_read(actor=world.global_admin, subject=s.pupil_b, target="directory.contact")
    client.force_login(s.pupil_b)
    body = text(client.get("/journal/moi/"))
    assert "Enseignant — Collège Jean Moulin" in body
    assert "Responsable légal" not in body and "Collège Victor Hugo" not in body
    assert "Administrateur de la plateforme" in body


def test_reads_about_me_other_family_guardian_sees_nothing_of_lea(client, world):
    s = world.one
    record_sensitive_read(actor=s.cpe, subject=s.pupil_b, target="grades")
    client.force_login(s.guardian_a)
    response = client.get("/journal/moi/")
    assert response.status_code == 200 and page_ids(response) == set()
    assert "Personne n'a consulté ces données" in text(response)


def test_reads_about_me_anonymous_redirected(client, db):
    assert client.get("/journal/moi/").status_code == 302


def test_reads_about_me_bounded_queries(client, world, django_assert_max_num_queries):
    s = world.one
    readers = [s.cpe, s.head, s.secretary, s.teacher_b, s.ent_admin]
    AuditEvent.objects.bulk_create([
        AuditEvent(action=Action.SENSITIVE_READ, actor=readers[i % 5], subject=s.pupil_b if i % 2 else s.mother_b,
                   target="directory.contact") for i in range(200)])
    client.force_login(s.mother_b)
    client.get("/journal/moi/")
    with django_assert_max_num_queries(12):
        response = client.get("/journal/moi/")
    assert len(response.context["page"].object_list) == 50
