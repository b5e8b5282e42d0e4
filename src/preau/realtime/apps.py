from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "preau.realtime"
    label = "realtime"
    verbose_name = "Temps réel"

    def ready(self):
        from . import signals  # noqa: F401 - connects the receivers
