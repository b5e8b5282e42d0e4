"""A course whose roll was taken is never deleted: its roll calls (and attendance history) would go with it."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from preau.attendance.models import RollCall
from preau.timetable import services
from preau.timetable.models import Course

from .fixtures_core import make_calendar, make_course

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 11, 30)


def _roll_call(course, day, by):
    return RollCall.objects.create(course=course, date=day, establishment=course.establishment, taken_by=by)


def test_a_recurring_course_with_a_roll_call_is_not_deleted(world):
    school = world.one
    make_calendar(school)
    course = make_course(school, weekday=0)
    _roll_call(course, MONDAY, school.teacher_a)
    with pytest.raises(ValidationError, match="date de fin"):
        services.delete_course(course, by=school.head)
    assert Course.objects.filter(pk=course.pk).exists()
    assert RollCall.objects.filter(course=course).count() == 1


def test_a_one_off_course_with_a_roll_call_is_not_deleted(world):
    school = world.one
    make_calendar(school)
    course = make_course(school, kind=Course.Kind.EXTRA, date=MONDAY)
    _roll_call(course, MONDAY, school.teacher_a)
    with pytest.raises(ValidationError, match="Annulez-le"):
        services.delete_course(course, by=school.head)
    assert Course.objects.filter(pk=course.pk).exists()


def test_the_page_and_the_api_say_why_in_french(world, client):
    school = world.one
    make_calendar(school)
    course = make_course(school, weekday=0)
    _roll_call(course, MONDAY, school.teacher_a)
    client.force_login(school.head)
    response = client.delete(f"/api/v1/timetable/courses/{course.pk}")
    assert response.status_code == 400
    assert "ne peut pas être supprimé" in response.json()["detail"]
    assert Course.objects.filter(pk=course.pk).exists()


def test_a_course_without_history_is_still_deleted(world):
    school = world.one
    make_calendar(school)
    course = make_course(school, weekday=0)
    services.delete_course(course, by=school.head)
    assert not Course.objects.filter(pk=course.pk).exists()
