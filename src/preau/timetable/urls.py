from django.urls import path

from . import import_views as iv
from . import views as v

app_name = "timetable"

urlpatterns = [
    path("", v.week, name="week"),
    path("eleve/<int:pupil_id>/", v.pupil_week, name="pupil_week"),
    path("enseignant/<int:teacher_id>/", v.teacher_week, name="teacher_week"),
    path("classe/<int:class_id>/", v.class_week, name="class_week"),
    path("groupe/<int:group_id>/", v.group_week, name="group_week"),
    path("salle/<int:room_id>/", v.room_week, name="room_week"),
    path("consulter/", v.consult, name="consult"),
    path("salles-libres/", v.free_rooms, name="free_rooms"),
    path("cours/nouveau/", v.extra_create, name="extra_create"),
    path("cours/<int:course_id>/<str:date>/", v.occurrence, name="occurrence"),
    path("cours/<int:course_id>/<str:date>/modifier/", v.change, name="change"),
    path("gestion/cours/", v.courses, name="courses"),
    path("gestion/cours/nouveau/", v.course_create, name="course_create"),
    path("gestion/cours/<int:course_id>/", v.course_edit, name="course_edit"),
    path("gestion/cours/<int:course_id>/supprimer/", v.course_delete, name="course_delete"),
    path("gestion/calendrier/", v.calendar_setup, name="calendar"),
    # Timetable imports by the establishment's timetable managers (import_views.py).
    path("import/", iv.import_home, name="import"),
    path("import/<int:rid>/", iv.import_run, name="import_run"),
    path("import/<int:rid>/confirmer/", iv.import_confirm, name="import_confirm"),
    path("import/<int:rid>/rejets.csv", iv.import_rejections, name="import_rejections"),
]
