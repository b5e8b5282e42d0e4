from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "preau.realtime"
    label = "realtime"
    verbose_name = "Temps réel"
