from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "preau.audit"
    label = "audit"
