from django.apps import AppConfig


class TimetableConfig(AppConfig):
    name = "preau.timetable"
    label = "timetable"
    verbose_name = "Emploi du temps et agenda"

    def ready(self):
        from . import signals  # noqa: F401  (cached calendars follow their rows)
