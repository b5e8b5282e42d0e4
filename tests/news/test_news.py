"""News: writing through the pages and the services, notification of the audience at publication (scheduled items
when their window opens), images served under access control, bounded query counts."""

import datetime
import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from preau.audit.models import AuditEvent
from preau.news import services
from preau.news.models import NewsImage, NewsItem

from .conftest import actor, image_bytes, publish

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {"title": "Conseil de classe", "body": "Le conseil aura lieu <strong>jeudi</strong>.",
            "scope": "targets", "classes": [], "groups": [], "audience": ["pupils", "guardians"],
            "publish_at": "", "unpublish_at": "", "image_alt": "", "action": "publish"}
    data.update(overrides)
    return data


def test_news_teacher_publishes_to_a_class_and_its_audience_is_notified(world, client, notified):
    one = world.one
    client.force_login(one.teacher_b)
    with notified():
        response = client.post(reverse("news:create"), form_data(classes=[one.class_b.pk]))
    item = NewsItem.objects.get()
    assert response.status_code == 302 and response.url == reverse("news:detail", args=[item.pk])
    assert item.author == one.teacher_b and not item.is_draft and item.notified_at is not None
    assert item.body == "Le conseil aura lieu <strong>jeudi</strong>."
    assert notified.recipients("news") == sorted([one.pupil_b.pk, one.pupil_b2.pk, one.mother_b.pk,
                                                  one.father_b.pk])
    event = AuditEvent.objects.get(action=AuditEvent.Action.NEWS_PUBLISHED)
    assert event.actor == one.teacher_b and event.establishment_id == one.establishment.pk
    assert event.details["news"] == item.pk and event.details["audience"] == ["pupils", "guardians"]
    # Readers open it; another class's family cannot (404).
    client.force_login(one.mother_b)
    page = client.get(reverse("news:detail", args=[item.pk])).content.decode()
    assert "Conseil de classe" in page and "<strong>jeudi</strong>" in page
    client.force_login(one.guardian_a)
    assert client.get(reverse("news:detail", args=[item.pk])).status_code == 404


def test_news_whole_establishment_notifies_every_chosen_role(world, notified):
    one = world.one
    with notified():
        publish(one.head, one.establishment, audience=["teachers", "staff"])
    expected = {one.teacher_a.pk, one.teacher_b.pk, one.group_teacher.pk, one.cpe.pk, one.secretary.pk,
                one.nurse.pk}
    assert set(notified.recipients("news")) == expected  # not the head (author), nobody of the other school


def test_news_draft_then_publish_notifies_once(world, notified):
    one = world.one
    with notified():
        item = publish(one.cpe, one.establishment, draft=True)
    assert notified.recipients("news") == [] and item.notified_at is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.NEWS_PUBLISHED).exists()
    kwargs = {"title": "Nouveau titre", "body": "Texte", "audience": ["guardians"]}
    with notified():
        item = services.news_update(actor=actor(one.cpe), item=item, **kwargs)
    first = notified.recipients("news")
    assert first == sorted([one.mother_b.pk, one.father_b.pk, one.guardian_a.pk])
    with notified():
        services.news_update(actor=actor(one.cpe), item=item, **{**kwargs, "title": "Corrigé"})
    assert notified.recipients("news") == first
    assert AuditEvent.objects.filter(action=AuditEvent.Action.NEWS_PUBLISHED).count() == 1
    # Once announced, it cannot go back to draft.
    with pytest.raises(Exception) as excinfo:
        services.news_update(actor=actor(one.cpe), item=item, draft=True, **kwargs)
    assert "brouillon" in str(excinfo.value)


def test_news_scheduled_notifies_when_its_window_opens(world, notified):
    one = world.one
    now = timezone.now()
    with notified():
        item = publish(one.head, one.establishment, audience=["guardians"],
                       publish_at=now + datetime.timedelta(hours=2))
    assert notified.recipients("news") == []
    with notified():
        assert services.news_notify_due(now=now) == 0
    assert notified.recipients("news") == []
    NewsItem.objects.filter(pk=item.pk).update(publish_at=now - datetime.timedelta(minutes=1))
    with notified():
        assert services.news_notify_due() == 1
        assert services.news_notify_due() == 0  # idempotent
    assert notified.recipients("news") == sorted([one.mother_b.pk, one.father_b.pk, one.guardian_a.pk])


def test_news_scheduled_task_runs_through_celery(world, notified):
    from preau.news.tasks import notify_due

    one = world.one
    item = publish(one.head, one.establishment, audience=["guardians"],
                   publish_at=timezone.now() + datetime.timedelta(hours=1))
    NewsItem.objects.filter(pk=item.pk).update(publish_at=timezone.now() - datetime.timedelta(seconds=1))
    with notified():
        notify_due.delay()
    assert len(notified.recipients("news")) == 3


def test_news_form_errors_in_french_and_nothing_written(world, client):
    one = world.one
    client.force_login(one.teacher_b)
    response = client.post(reverse("news:create"), form_data(title="", classes=[]))
    page = response.content.decode()
    assert response.status_code == 400 and "Donnez un titre." in page
    # A teacher cannot choose the whole establishment, nor a class they do not teach.
    response = client.post(reverse("news:create"), form_data(scope="whole"))
    assert response.status_code == 400
    response = client.post(reverse("news:create"), form_data(classes=[one.class_a.pk]))
    assert response.status_code == 400
    response = client.post(reverse("news:create"), form_data(
        classes=[one.class_b.pk], publish_at="2027-01-10T10:00", unpublish_at="2027-01-09T10:00"))
    assert response.status_code == 400 and "La date de retrait doit suivre" in response.content.decode()
    assert not NewsItem.objects.exists()


def test_news_pages_forbidden_to_roles_that_cannot_write(world, client):
    client.force_login(world.one.pupil_b)
    assert client.get(reverse("news:create")).status_code == 403
    client.force_login(world.one.nurse)
    assert client.get(reverse("news:create")).status_code == 403
    item = publish(world.one.head, world.one.establishment)
    assert client.get(reverse("news:edit", args=[item.pk])).status_code == 404
    assert client.post(reverse("news:delete", args=[item.pk])).status_code == 404


def test_news_list_pinned_first_then_newest_and_bounded_queries(world, client, django_assert_max_num_queries):
    one = world.one
    now = timezone.now()
    for day in range(25):
        publish(one.head, one.establishment, title=f"Info {day}", publish_at=now - datetime.timedelta(days=day + 1))
    for day in range(5):
        publish(one.teacher_b, one.establishment, title=f"Classe {day}", whole_establishment=False,
                classes=[one.class_b], publish_at=now - datetime.timedelta(hours=day + 1))
    publish(one.head, one.establishment, title="Épinglée", pinned=True, publish_at=now - datetime.timedelta(days=40))
    client.force_login(one.mother_b)
    client.get(reverse("news:list"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("news:list")).content.decode()
    titles = [t for t in ("Épinglée", "Classe 0", "Classe 4", "Info 0") if t in page]
    assert titles == ["Épinglée", "Classe 0", "Classe 4", "Info 0"]
    assert page.index("Épinglée") < page.index("Classe 0") < page.index("Classe 4") < page.index("Info 0")
    client.force_login(one.guardian_a)
    page = client.get(reverse("news:list")).content.decode()
    assert "Classe 0" not in page and "Info 0" in page


def test_news_home_dashboard_shows_the_latest(world, client):
    one = world.one
    publish(one.head, one.establishment, title="Fermeture exceptionnelle")
    client.force_login(one.pupil_b)
    page = client.get("/").content.decode()
    assert "Dernières actualités" in page and "Fermeture exceptionnelle" in page
    client.force_login(world.two.pupil_b)
    assert "Fermeture exceptionnelle" not in client.get("/").content.decode()


def test_news_image_upload_and_access_control(world, client):
    one = world.one
    client.force_login(one.teacher_b)
    upload = SimpleUploadedFile("sortie.png", image_bytes("PNG"), content_type="image/png")
    response = client.post(reverse("news:create"), form_data(classes=[one.class_b.pk], image=upload,
                                                             image_alt="La classe au musée"))
    assert response.status_code == 302
    item = NewsItem.objects.get()
    image = NewsImage.objects.get(news=item)
    assert image.content_type == "image/png" and image.alt == "La classe au musée"
    assert default_storage.exists(image.path)
    url = reverse("news:image", args=[item.pk, image.pk])
    client.force_login(one.pupil_b)
    assert f'src="{url}"' in client.get(reverse("news:detail", args=[item.pk])).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert "private" in response["Cache-Control"]
    # Not in the audience, another school, anonymous, a wrong pair of ids: all look missing (or go to login).
    for user in (one.pupil_a, one.guardian_a, world.two.pupil_b, world.two.head):
        client.force_login(user)
        assert client.get(url).status_code == 404
    other = publish(one.head, one.establishment)
    client.force_login(one.pupil_b)
    assert client.get(reverse("news:image", args=[other.pk, image.pk])).status_code == 404
    assert client.get(reverse("news:image", args=[item.pk, image.pk + 1000])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    # A withdrawn item's image is gone for readers, still there for its author.
    NewsItem.objects.filter(pk=item.pk).update(unpublish_at=timezone.now())
    client.force_login(one.pupil_b)
    assert client.get(url).status_code == 404
    client.force_login(one.teacher_b)
    assert client.get(url).status_code == 200
    # The author removes it: row and file gone.
    client.post(reverse("news:image_delete", args=[item.pk, image.pk]))
    assert not NewsImage.objects.exists()


def test_news_image_refused_leaves_nothing_behind(world, client):
    one = world.one
    client.force_login(one.head)
    upload = SimpleUploadedFile("virus.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = client.post(reverse("news:create"), form_data(scope="whole", image=upload, image_alt="x"))
    assert response.status_code == 400
    assert "n&#x27;est pas une image" in response.content.decode() or "n'est pas une image" in \
        response.content.decode()
    assert not NewsItem.objects.exists() and not NewsImage.objects.exists()
    # An image without a description is refused too (accessibility).
    upload = SimpleUploadedFile("photo.png", image_bytes("PNG"))
    response = client.post(reverse("news:create"), form_data(scope="whole", image=upload))
    assert response.status_code == 400 and "Décrivez l" in response.content.decode()


def test_news_images_per_item_limit(world, settings):
    one = world.one
    settings.PREAU_NEWS_MAX_IMAGES = 1
    item = publish(one.head, one.establishment, image=SimpleUploadedFile("a.png", image_bytes()), image_alt="A")
    with pytest.raises(Exception) as excinfo:
        services.news_add_image(actor=actor(one.head), item=item, upload=SimpleUploadedFile("b.png", image_bytes()))
    assert "au plus 1 images" in str(excinfo.value)


def test_news_edit_changes_targets_and_delete(world, client):
    one = world.one
    item = publish(one.head, one.establishment, image=SimpleUploadedFile("a.png", image_bytes()), image_alt="A",
                   whole_establishment=False, classes=[one.class_a])
    client.force_login(one.head)
    page = client.get(reverse("news:edit", args=[item.pk])).content.decode()
    assert "Sortie au musée" in page and "Retirer l'image 1" in page
    response = client.post(reverse("news:edit", args=[item.pk]), form_data(
        title="Sortie au musée (heure changée)", classes=[one.class_a.pk, one.class_b.pk]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.title == "Sortie au musée (heure changée)"
    assert set(item.classes.values_list("pk", flat=True)) == {one.class_a.pk, one.class_b.pk}
    response = client.post(reverse("news:delete", args=[item.pk]))
    assert response.status_code == 302 and not NewsItem.objects.exists() and not NewsImage.objects.exists()


def test_news_delete_deletes_files(world, django_capture_on_commit_callbacks):
    one = world.one
    item = publish(one.head, one.establishment, image=SimpleUploadedFile("a.png", image_bytes()), image_alt="A")
    path = item.images.get().path
    with django_capture_on_commit_callbacks(execute=True):
        services.news_delete(actor=actor(one.head), item=item)
    assert not default_storage.exists(path)


def test_news_draft_published_later_is_dated_when_published(world, client):
    one = world.one
    item = publish(one.head, one.establishment, draft=True)
    NewsItem.objects.filter(pk=item.pk).update(publish_at=timezone.now() - datetime.timedelta(days=10))
    client.force_login(one.head)
    page = client.get(reverse("news:edit", args=[item.pk])).content.decode()
    field = re.search(r'<input type="datetime-local" name="publish_at"[^>]*>', page).group(0)
    assert "value=" not in field  # empty: publishing means now
    response = client.post(reverse("news:edit", args=[item.pk]), form_data(scope="whole"))
    assert response.status_code == 302
    item.refresh_from_db()
    assert not item.is_draft and timezone.now() - item.publish_at < datetime.timedelta(minutes=1)


def test_news_window_passed_unannounced_is_not_announced_nor_rescanned(world, notified):
    one = world.one
    now = timezone.now()
    item = publish(one.head, one.establishment, publish_at=now + datetime.timedelta(hours=1),
                   unpublish_at=now + datetime.timedelta(hours=2))
    NewsItem.objects.filter(pk=item.pk).update(publish_at=now - datetime.timedelta(hours=2),
                                               unpublish_at=now - datetime.timedelta(hours=1))
    with notified():
        assert services.news_notify_due() == 0
    assert notified.recipients("news") == []
