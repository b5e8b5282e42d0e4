"""Celery application. Without a broker configured, tasks run eagerly in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.dev")

app = Celery("preau")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
