"""Helpers of the attendance pages tests (attpages): a Monday course of 5e A with teacher_a, more pupils."""

from preau.directory.testing import make_pupil

from .fixtures_attcore import MONDAY, T, at, make_course  # noqa: F401


def roll_call_url(course, day=MONDAY) -> str:
    return f"/vie-scolaire/appel/{course.pk}/{day.isoformat()}/"


def make_course_a(school):
    """Maths of 5e A (pupil_a) with teacher_a, Mondays 10:00-11:00."""
    return make_course(school, weekday=0, start=T(10), end=T(11), teachers=[school.teacher_a],
                       classes=[school.class_a])


def add_pupils(school_class, count: int, prefix: str = "extra") -> list:
    return [make_pupil(school_class, username=f"{prefix}{school_class.pk}_{i}", last_name=f"Zed{i:02d}")
            for i in range(count)]
