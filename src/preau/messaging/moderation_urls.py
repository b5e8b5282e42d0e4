"""Moderation pages, included under /messagerie/ with the namespace "messaging_moderation" (see moderation_views)."""

from django.urls import path

from . import moderation_views as views

app_name = "messaging_moderation"
urlpatterns = [
    path("moderation/", views.queue, name="queue"),
    path("moderation/retenus/<int:message_id>/distribuer/", views.release, name="release"),
    path("moderation/retenus/<int:message_id>/refuser/", views.refuse, name="refuse"),
    path("moderation/messages/<int:message_id>/masquer/", views.hide, name="hide"),
    path("moderation/signalements/<int:report_id>/classer/", views.dismiss, name="dismiss"),
    path("moderation/conversations/<int:conversation_id>/bloquer/", views.block, name="block"),
    path("moderation/conversations/<int:conversation_id>/debloquer/", views.unblock, name="unblock"),
    path("moderation/signaler/<int:message_id>/", views.report, name="report"),
    path("moderation/rappeler/<int:message_id>/", views.recall, name="recall"),
    path("regles/", views.rules, name="rules"),
]
