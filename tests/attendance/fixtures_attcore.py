"""Helpers of the attendance domain tests (attcore): courses on the persona world, dated moments in Paris."""

import datetime
import io
from zoneinfo import ZoneInfo

from preau.timetable.models import ClosedPeriod, Course
from preau.timetable.selectors import calendar_for

PARIS = ZoneInfo("Europe/Paris")
D = datetime.date
T = datetime.time
MONDAY = D(2026, 10, 5)  # a school Monday of the persona world's year


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, T(hour, minute), tzinfo=PARIS)


def make_course(school, *, weekday=0, start=None, end=None, teachers=None, classes=None, groups=None, subject=None):
    course = Course.objects.create(establishment=school.establishment, school_year=school.year, weekday=weekday,
                                   start_time=start or T(8), end_time=end or T(9),
                                   subject=subject or school.subject)
    course.teachers.set(teachers if teachers is not None else [school.teacher_b])
    course.classes.set(classes if classes is not None else [school.class_b])
    if groups:
        course.groups.set(groups)
    return course


def close(school, first, last, label="Vacances", kind=ClosedPeriod.Kind.HOLIDAYS):
    calendar = calendar_for(school.year)
    from preau.timetable.selectors import forget_calendar

    period = ClosedPeriod.objects.create(calendar=calendar, kind=kind, label=label, first_day=first, last_day=last)
    forget_calendar(school.year.pk)
    return period


def pdf_file(name="certificat.pdf", size=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    if size:
        content = content + b"0" * (size - len(content))
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def fake_pdf_html(name="certificat.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"<html><script>alert(1)</script></html>", content_type="application/pdf")


def png_file(name="photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def use_media(settings, tmp_path):
    """Store files under a temporary directory."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path
