"""Who publishes news where, and who reads what (access/policy.py, news section)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from preau.access import policy
from preau.directory.testing import make_guardian

from .conftest import actor, publish

pytestmark = pytest.mark.django_db


def visible(user):
    return set(policy.news_visible_to(actor(user)).values_list("pk", flat=True))


def test_news_publishers_whole_establishment(world):
    one, two = world.one, world.two
    e = one.establishment.pk
    for user in (one.head, one.cpe, one.ent_admin, world.global_admin):
        assert policy.can_publish_news(actor(user), e), user.username
    for user in (one.secretary, one.nurse, one.teacher_b, one.pupil_b, one.mother_b, two.head, two.ent_admin):
        assert not policy.can_publish_news(actor(user), e), user.username


def test_news_teachers_publish_to_what_they_teach_only(world):
    one = world.one
    e = one.establishment.pk
    teacher = actor(one.teacher_b)
    assert policy.can_write_news(teacher, e)
    assert policy.can_publish_news(teacher, e, classes=[one.class_b.pk])
    assert not policy.can_publish_news(teacher, e, classes=[one.class_a.pk])
    assert not policy.can_publish_news(teacher, e, classes=[one.class_b.pk], groups=[one.group.pk])
    assert policy.can_publish_news(actor(one.group_teacher), e, groups=[one.group.pk])
    assert not policy.can_write_news(actor(one.nurse), e)
    assert not policy.can_write_news(actor(one.teacher_b), world.two.establishment.pk)
    with pytest.raises(PermissionDenied):
        publish(one.teacher_b, one.establishment, whole_establishment=False, classes=[one.class_a])
    with pytest.raises(PermissionDenied):
        publish(one.teacher_b, one.establishment)  # the whole establishment


def test_news_whole_establishment_audience_by_role(world):
    one, two = world.one, world.two
    item = publish(one.head, one.establishment, audience=["guardians"])
    for user in (one.mother_b, one.father_b, one.guardian_a, one.head, one.cpe, one.ent_admin, world.global_admin):
        assert item.pk in visible(user), user.username
    for user in (one.pupil_b, one.teacher_a, one.nurse, two.guardian_a, two.head, two.ent_admin):
        assert item.pk not in visible(user), user.username


def test_news_class_audience_reaches_the_class_and_its_families_only(world):
    one = world.one
    item = publish(one.teacher_b, one.establishment, whole_establishment=False, classes=[one.class_b],
                   audience=["pupils", "guardians", "teachers", "staff"])
    for user in (one.pupil_b, one.pupil_b2, one.mother_b, one.father_b, one.teacher_b, one.nurse, one.head):
        assert item.pk in visible(user), user.username
    for user in (one.pupil_a, one.guardian_a, one.teacher_a, one.group_teacher, world.two.pupil_b,
                 world.two.mother_b):
        assert item.pk not in visible(user), user.username


def test_news_group_audience_and_guardians_through_children(world):
    one = world.one
    item = publish(one.group_teacher, one.establishment, whole_establishment=False, groups=[one.group],
                   audience=["pupils", "guardians"])
    assert item.pk in visible(one.pupil_a) and item.pk in visible(one.guardian_a)
    assert item.pk not in visible(one.pupil_b) and item.pk not in visible(one.mother_b)
    # A guardian of two children sees the news through the child who is in the group.
    both = make_guardian(one.establishment, one.pupil_b, one.pupil_a)
    assert item.pk in visible(both)


def test_news_drafts_and_window_hidden_from_readers(world):
    one = world.one
    now = timezone.now()
    draft = publish(one.teacher_b, one.establishment, whole_establishment=False, classes=[one.class_b], draft=True)
    later = publish(one.head, one.establishment, publish_at=now + datetime.timedelta(days=2))
    gone = publish(one.head, one.establishment, publish_at=now - datetime.timedelta(days=3),
                   unpublish_at=now - datetime.timedelta(days=1))
    live = publish(one.head, one.establishment)
    assert visible(one.pupil_b) == {live.pk}
    # Authors and leadership manage drafts and scheduled items, and open them; readers get 404.
    assert {draft.pk, later.pk, gone.pk} <= set(policy.news_manageable_by(actor(one.head)).values_list("pk", flat=True))
    assert policy.access_news(actor(one.teacher_b), draft.pk, manage=True) == draft
    for news in (draft, later, gone):
        with pytest.raises(Http404):
            policy.access_news(actor(one.pupil_b), news.pk)
    # A teacher does not manage a colleague's news, nor another establishment's leadership.
    with pytest.raises(Http404):
        policy.access_news(actor(one.teacher_a), draft.pk, manage=True)
    with pytest.raises(Http404):
        policy.access_news(actor(world.two.head), live.pk)
    assert policy.can_manage_news(actor(one.cpe), draft)
    assert not policy.can_manage_news(actor(one.teacher_a), draft)
