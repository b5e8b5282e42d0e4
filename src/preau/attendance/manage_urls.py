"""Vie scolaire's management pages and the family's « Signaler une absence »; appended to attendance/urls.py
(namespace "attendance", mounted at /vie-scolaire/)."""

from django.urls import path

from . import manage_views as m

urlpatterns = [
    path("suivi/", m.threshold, name="threshold"),
    path("motifs/", m.reasons, name="reasons"),
    path("motifs/nouveau/", m.reason_edit, name="reason_new"),
    path("motifs/<int:reason_id>/", m.reason_edit, name="reason_edit"),
    path("motifs/<int:reason_id>/deplacer/", m.reason_move, name="reason_move"),
    path("motifs/<int:reason_id>/activer/", m.reason_active, name="reason_active"),
    path("absences/<int:record_id>/modifier/", m.record_edit, name="record_edit"),
    path("absences/<int:record_id>/supprimer/", m.record_delete, name="record_delete"),
    path("famille/<int:pupil_id>/signaler/", m.announce, name="announce"),
]
