from django.urls import path

from . import views as v

app_name = "attendance"

urlpatterns = [
    path("", v.dashboard, name="dashboard"),
    path("appels/", v.my_roll_calls, name="my_roll_calls"),
    path("appel/<int:course_id>/<str:day>/", v.roll_call, name="roll_call"),
    path("eleve/<int:pupil_id>/", v.pupil, name="pupil"),
    path("absences/nouvelle/", v.record_absence, name="record_absence"),
    path("classes/", v.classes, name="classes"),
    path("classe/<int:class_id>/", v.class_counts, name="class_counts"),
    path("classe/<int:class_id>/export/", v.class_export, name="class_export"),
    path("exports/", v.establishment_export, name="exports"),
]

# The family, justification and discipline pages (attendance/family_urls.py) share the namespace.
from . import family_urls  # noqa: E402

urlpatterns += family_urls.urlpatterns

# Vie scolaire's management pages and the family's « Signaler une absence » (attendance/manage_urls.py).
from . import manage_urls  # noqa: E402

urlpatterns += manage_urls.urlpatterns
