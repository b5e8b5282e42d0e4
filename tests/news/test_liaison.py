"""Carnet de liaison: who writes to whom, recipients resolved at send time, "lu et signé", the authors' dashboard,
reminders (by hand and automatic), and query counts for 1,800 families."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from preau.access import policy
from preau.audit.models import AuditEvent
from preau.directory.models import GuardianLink, Service
from preau.directory.testing import make_guardian
from preau.news import selectors, services
from preau.news.models import LiaisonDelivery, LiaisonNote, LiaisonTarget

from .conftest import actor, bulk_families, send_note

pytestmark = pytest.mark.django_db


def entry(note, pupil):
    return LiaisonTarget.objects.get(note=note, pupil=pupil)


def test_liaison_teacher_writes_to_a_class_families(world, notified):
    one = world.one
    with notified():
        note = send_note(one.teacher_b, one.establishment, classes=[one.class_b])
    assert note.author == one.teacher_b and (note.pupil_count, note.guardian_count) == (2, 2)
    assert set(note.targets.values_list("pupil_id", flat=True)) == {one.pupil_b.pk, one.pupil_b2.pk}
    assert set(LiaisonDelivery.objects.filter(note=note).values_list("guardian_id", flat=True)) == {
        one.mother_b.pk, one.father_b.pk}
    assert notified.recipients("liaison") == sorted([one.mother_b.pk, one.father_b.pk])
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIAISON_NOTE_SENT)
    assert event.actor == one.teacher_b and event.details["pupils"] == 2 and event.details["guardians"] == 2


def test_liaison_guardian_of_two_children_is_one_recipient_with_two_entries(world, notified, client):
    one = world.one
    both = make_guardian(one.establishment, one.pupil_b, one.pupil_b2, username="parent_deux")
    with notified():
        note = send_note(one.cpe, one.establishment, classes=[one.class_b])
    assert notified.recipients("liaison").count(both.pk) == 1
    assert LiaisonDelivery.objects.filter(note=note, guardian=both).count() == 2
    client.force_login(both)
    page = client.get(reverse("liaison:carnet") + f"?enfant={one.pupil_b2.pk}").content.decode()
    assert "Sortie scolaire" in page and f"Carnet de liaison de {one.pupil_b2.first_name}" in page
    page = client.get(reverse("liaison:carnet") + f"?enfant={one.pupil_b.pk}").content.decode()
    assert "Sortie scolaire" in page and "2 à signer" not in page and "1 à signer" in page


def test_liaison_delivery_respects_authority_correspondence_and_denied_messaging(world, notified):
    one = world.one
    GuardianLink.objects.filter(guardian=one.father_b).update(receives_correspondence=False)
    carer = make_guardian(one.establishment, one.pupil_b, relation="carer")
    GuardianLink.objects.filter(guardian=carer).update(legal_authority=False)
    limited = make_guardian(one.establishment, one.pupil_b, denied=[Service.MESSAGING])
    with notified():
        note = send_note(one.head, one.establishment, pupils=[one.pupil_b])
    assert list(LiaisonDelivery.objects.filter(note=note).values_list("guardian_id", flat=True)) == [one.mother_b.pk]
    assert notified.recipients("liaison") == [one.mother_b.pk]
    # Those left out do not see the entry.
    for user in (one.father_b, carer, limited):
        assert not policy.liaison_targets_visible_to(actor(user)).exists()
    assert policy.liaison_targets_visible_to(actor(one.mother_b)).count() == 1


def test_liaison_who_may_write_to_whom(world):
    one = world.one
    with pytest.raises(PermissionDenied):
        send_note(one.teacher_b, one.establishment, classes=[one.class_a])
    with pytest.raises(ValidationError):
        send_note(one.teacher_b, one.establishment, pupils=[one.pupil_a])
    with pytest.raises(PermissionDenied):
        send_note(one.nurse, one.establishment, classes=[one.class_a])
    with pytest.raises(PermissionDenied):
        send_note(one.ent_admin, one.establishment, classes=[one.class_a])
    with pytest.raises(PermissionDenied):
        send_note(world.two.head, one.establishment, classes=[one.class_a])
    with pytest.raises(ValidationError):  # another establishment's class
        send_note(one.head, one.establishment, classes=[world.two.class_a])
    with pytest.raises(ValidationError):
        send_note(one.head, one.establishment)
    with pytest.raises(ValidationError):
        send_note(one.head, one.establishment, classes=[one.class_a],
                  due_date=timezone.localdate() - datetime.timedelta(days=1))
    note = send_note(one.group_teacher, one.establishment, groups=[one.group])
    assert list(note.targets.values_list("pupil_id", flat=True)) == [one.pupil_a.pk]
    note = send_note(one.teacher_b, one.establishment, pupils=[one.pupil_b2])
    assert list(note.targets.values_list("pupil_id", flat=True)) == [one.pupil_b2.pk]
    for user in (one.secretary, one.cpe):
        assert policy.can_write_liaison(actor(user), one.establishment.pk)
    assert not LiaisonNote.objects.filter(author=one.nurse).exists()


def test_liaison_acknowledgement_flow(world, client):
    one = world.one
    note = send_note(one.teacher_b, one.establishment, classes=[one.class_b])
    target = entry(note, one.pupil_b)
    client.force_login(one.mother_b)
    page = client.get(reverse("liaison:carnet")).content.decode()
    assert "Pas encore signé" in page and reverse("liaison:sign", args=[target.pk]) in page
    response = client.post(reverse("liaison:sign", args=[target.pk]))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.acknowledged_by == one.mother_b and target.acknowledged_at is not None
    first = target.acknowledged_at
    page = client.get(reverse("liaison:carnet")).content.decode()
    assert "Lu et signé" in page and reverse("liaison:sign", args=[target.pk]) not in page
    # The other parent signs too: recorded on their delivery; the family's signature stays the first one.
    services.liaison_acknowledge(actor=actor(one.father_b), target=target)
    target.refresh_from_db()
    assert target.acknowledged_by == one.mother_b and target.acknowledged_at == first
    assert LiaisonDelivery.objects.filter(target=target, acknowledged_at__isnull=False).count() == 2
    services.liaison_acknowledge(actor=actor(one.father_b), target=target)  # twice: nothing changes
    assert LiaisonDelivery.objects.get(target=target, guardian=one.father_b).acknowledged_at is not None
    # Another family cannot see it (404); the pupil reads it but cannot sign.
    client.force_login(one.guardian_a)
    assert client.post(reverse("liaison:sign", args=[target.pk])).status_code == 404
    client.force_login(one.pupil_b)
    page = client.get(reverse("liaison:carnet")).content.decode()
    assert "Sortie scolaire" in page and "Lu et signé" in page
    assert reverse("liaison:sign", args=[target.pk]) not in page
    with pytest.raises(PermissionDenied):
        services.liaison_acknowledge(actor=actor(one.pupil_b), target=entry(note, one.pupil_b))
    client.post(reverse("liaison:sign", args=[target.pk]))
    assert LiaisonDelivery.objects.filter(guardian=one.pupil_b).count() == 0


def test_liaison_dashboard_counts_and_filter(world, client):
    one = world.one
    note = send_note(one.teacher_b, one.establishment, classes=[one.class_b])
    services.liaison_acknowledge(actor=actor(one.mother_b), target=entry(note, one.pupil_b))
    assert selectors.note_counts(note) == {"total": 2, "signed": 1, "unsigned": 1, "unreached": 1}
    client.force_login(one.teacher_b)
    url = reverse("liaison:dashboard", args=[note.pk])
    page = client.get(url).content.decode()
    assert one.pupil_b.last_name in page and one.pupil_b2.last_name in page
    assert f"par {one.mother_b.full_name}" in page
    page = client.get(url + "?filtre=non-signes").content.decode()
    assert one.pupil_b2.last_name in page and f"par {one.mother_b.full_name}" not in page
    followed = client.get(reverse("liaison:followed")).content.decode()
    assert "Sortie scolaire" in followed and "1 / 2" in followed
    # Leadership follows every note of the establishment; a colleague, a family, another school: 404.
    client.force_login(one.head)
    assert client.get(url).status_code == 200
    for user in (one.teacher_a, one.mother_b, one.secretary, world.two.head):
        client.force_login(user)
        assert client.get(url).status_code == 404
    with pytest.raises(Http404):
        policy.access_followed_liaison_note(actor(one.pupil_b), note.pk)


def test_liaison_reminder_targets_only_families_who_have_not_signed(world, notified, settings):
    one = world.one
    other = make_guardian(one.establishment, one.pupil_b2)
    note = send_note(one.teacher_b, one.establishment, classes=[one.class_b])
    services.liaison_acknowledge(actor=actor(one.mother_b), target=entry(note, one.pupil_b))
    with notified():
        assert services.liaison_remind(actor=actor(one.teacher_b), note=note) == 1
    assert notified.recipients("liaison", f"news.liaison_note:{note.pk}:reminder") == [other.pk]
    note.refresh_from_db()
    assert note.reminder_count == 1 and note.last_reminded_at is not None
    with pytest.raises(ValidationError) as excinfo:  # too soon
        services.liaison_remind(actor=actor(one.teacher_b), note=note)
    assert "moins de 60 minutes" in excinfo.value.messages[0]
    settings.PREAU_LIAISON_REMIND_INTERVAL_MINUTES = 0
    services.liaison_acknowledge(actor=actor(other), target=entry(note, one.pupil_b2))
    with pytest.raises(ValidationError):  # everybody signed
        services.liaison_remind(actor=actor(one.teacher_b), note=note)
    with pytest.raises(PermissionDenied):
        services.liaison_remind(actor=actor(one.teacher_a), note=note)


def test_liaison_remind_button(world, client, notified):
    one = world.one
    note = send_note(one.cpe, one.establishment, classes=[one.class_b])
    client.force_login(one.cpe)
    with notified():
        response = client.post(reverse("liaison:remind", args=[note.pk]), follow=True)
    assert "Relance envoyée à 2 responsable(s)." in response.content.decode()
    assert len(notified.recipients("liaison", f"news.liaison_note:{note.pk}:reminder")) == 2
    response = client.post(reverse("liaison:remind", args=[note.pk]), follow=True)
    assert "Une relance a déjà été envoyée" in response.content.decode()
    client.force_login(one.teacher_a)
    assert client.post(reverse("liaison:remind", args=[note.pk])).status_code == 404


def test_liaison_automatic_reminder_once_after_n_days(world, notified, settings):
    from preau.news.tasks import liaison_remind_due

    one = world.one
    settings.PREAU_LIAISON_REMINDER_DAYS = 3
    note = send_note(one.teacher_b, one.establishment, classes=[one.class_b])
    done = send_note(one.teacher_b, one.establishment, pupils=[one.pupil_b], title="Déjà signé")
    services.liaison_acknowledge(actor=actor(one.mother_b), target=entry(done, one.pupil_b))
    with notified():
        assert services.liaison_remind_due() == 0  # too early
    LiaisonNote.objects.update(sent_at=timezone.now() - datetime.timedelta(days=4))
    with notified():
        liaison_remind_due.delay()
        assert services.liaison_remind_due() == 0  # once only
    assert notified.recipients("liaison", "news.liaison_note:") == sorted([one.mother_b.pk, one.father_b.pk])
    assert LiaisonNote.objects.filter(auto_reminded_at__isnull=False).count() == 2
    note.refresh_from_db()
    assert note.reminder_count == 1
    settings.PREAU_LIAISON_REMINDER_DAYS = 0
    assert services.liaison_remind_due() == 0


def test_liaison_compose_page(world, client):
    one = world.one
    client.force_login(one.teacher_b)
    page = client.get(reverse("liaison:create")).content.decode()
    assert one.class_b.label in page and f'value="{one.class_a.pk}"' not in page
    # Pupils are listed « NOM Prénom »; the full form, as a last name alone may be shared by someone shown.
    assert f"{one.pupil_b.last_name} {one.pupil_b.first_name}" in page
    assert f"{one.pupil_a.last_name} {one.pupil_a.first_name}" not in page
    response = client.post(reverse("liaison:create"), {"title": "", "body": "x"})
    assert response.status_code == 400 and "Donnez un objet." in response.content.decode()
    response = client.post(reverse("liaison:create"), {"title": "Photo de classe", "body": "Signez"})
    assert response.status_code == 400 and "Choisissez au moins une classe" in response.content.decode()
    response = client.post(reverse("liaison:create"), {"title": "Photo", "body": "Signez",
                                                       "classes": [one.class_a.pk]})
    assert response.status_code == 400
    response = client.post(reverse("liaison:create"), {"title": "Photo", "body": "Signez",
                                                       "pupils": [one.pupil_b.pk]})
    note = LiaisonNote.objects.get()
    assert response.status_code == 302 and response.url == reverse("liaison:dashboard", args=[note.pk])
    client.force_login(one.nurse)
    assert client.get(reverse("liaison:create")).status_code == 403
    # The tile shows to every staff member: the carnet leads a nurse to an empty follow-up list, not an error.
    assert client.get(reverse("liaison:carnet")).status_code == 302
    followed = client.get(reverse("liaison:followed"))
    assert followed.status_code == 200 and "Aucun mot envoyé." in followed.content.decode()
    assert "Écrire un mot" not in followed.content.decode()
    client.force_login(world.global_admin)
    assert client.get(reverse("liaison:carnet")).status_code == 403
    client.force_login(one.teacher_b)
    assert client.get(reverse("liaison:carnet")).status_code == 302  # writers go to their follow-up list


def test_liaison_1800_families_in_a_handful_of_queries(world, client, django_assert_max_num_queries, notified):
    one = world.one
    pupils, guardians = bulk_families(one.class_a, 1800)
    with notified(), CaptureQueriesContext(connection) as sent:
        note = send_note(one.cpe, one.establishment, classes=[one.class_a])
    # Reads are constant (the recipients in one query); rows are written in bulk batches (SQLite allows fewer rows
    # per statement than PostgreSQL: 199 against 1,000 here).
    statements = [q["sql"].split()[0] for q in sent.captured_queries]
    assert statements.count("SELECT") <= 5 and len(statements) <= 30
    assert note.pupil_count == 1801 and LiaisonDelivery.objects.filter(note=note).count() == 1801
    assert len(notified.recipients("liaison")) == 1801
    done = LiaisonTarget.objects.filter(note=note, pupil__in=pupils[:700])
    now = timezone.now()
    done.update(acknowledged_at=now, acknowledged_by=guardians[0])
    client.force_login(one.cpe)
    url = reverse("liaison:dashboard", args=[note.pk])
    client.get(url)
    with django_assert_max_num_queries(14):
        response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200 and "1801" in page and "700" in page and "1101" in page
    with django_assert_max_num_queries(14):
        assert client.get(url + "?filtre=non-signes&page=3").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("liaison:followed")).status_code == 200
