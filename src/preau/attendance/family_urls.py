"""The family, justification and discipline pages; appended to attendance/urls.py (namespace "attendance",
mounted at /vie-scolaire/)."""

from django.urls import path

from . import discipline_views as d
from . import family_views as f

urlpatterns = [
    path("famille/", f.family, name="family"),
    path("famille/<int:pupil_id>/", f.family_child, name="family_child"),
    path("famille/<int:pupil_id>/justifier/", f.justify, name="justify"),
    path("justifications/", f.justifications, name="justifications"),
    path("justifications/<int:justification_id>/", f.justification, name="justification"),
    path("justifications/<int:justification_id>/document/", f.justification_document,
         name="justification_document"),
    path("incidents/", d.incidents, name="incidents"),
    path("incidents/nouveau/", d.incident_new, name="incident_new"),
    path("punitions/", d.punishments, name="punishments"),
    path("punitions/nouvelle/", d.punishment_new, name="punishment_new"),
    path("punitions/<int:punishment_id>/etat/", d.punishment_state, name="punishment_state"),
    path("dispenses/", d.exemptions, name="exemptions"),
    path("dispenses/nouvelle/", d.exemption_new, name="exemption_new"),
    path("dispenses/<int:exemption_id>/certificat/", d.exemption_document, name="exemption_document"),
    path("regime-de-sortie/<int:pupil_id>/", d.exit_regime, name="exit_regime"),
]
