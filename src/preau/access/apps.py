from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "preau.access"
    label = "access"
