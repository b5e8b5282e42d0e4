"""Keep the cached calendars (selectors.calendars_for_years) in step with their rows, whoever writes them."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from preau.directory.models import SchoolYear

from .models import ClosedPeriod, SchoolCalendar


def _forget(school_year_id):
    from .selectors import forget_calendar

    if school_year_id is not None:
        forget_calendar(school_year_id)


@receiver([post_save, post_delete], sender=SchoolCalendar, dispatch_uid="timetable_calendar_changed")
def calendar_changed(sender, instance, **kwargs):
    _forget(instance.school_year_id)


@receiver([post_save, post_delete], sender=ClosedPeriod, dispatch_uid="timetable_closed_period_changed")
def closed_period_changed(sender, instance, **kwargs):
    year_id = (SchoolCalendar.objects.filter(pk=instance.calendar_id).values_list("school_year_id", flat=True)
               .first())
    _forget(year_id)


@receiver(post_save, sender=SchoolYear, dispatch_uid="timetable_school_year_changed")
def school_year_changed(sender, instance, **kwargs):
    _forget(instance.pk)
