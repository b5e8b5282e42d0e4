from django.urls import path

from . import admin_views as v
from . import rollover_views

app_name = "directory_admin"

E = "etablissements/<int:eid>/"
P = E + "personnes/<int:pid>/"

urlpatterns = [
    path("", v.home, name="home"),
    path("etablissements/", v.establishment_list, name="establishment_list"),
    path("etablissements/nouveau/", v.establishment_create, name="establishment_create"),
    path(E, v.establishment_detail, name="establishment_detail"),
    path(E + "modifier/", v.establishment_edit, name="establishment_edit"),
    path(E + "desactiver/", v.establishment_set_active, {"active": False}, name="establishment_deactivate"),
    path(E + "reactiver/", v.establishment_set_active, {"active": True}, name="establishment_reactivate"),
    # School years and periods
    path(E + "annees/", v.year_list, name="year_list"),
    path(E + "annees/<int:yid>/", v.year_detail, name="year_detail"),
    path(E + "annees/<int:yid>/en-cours/", v.year_set_current, name="year_set_current"),
    path(E + "annees/bascule/", rollover_views.rollover, name="year_rollover"),
    path(E + "annees/<int:yid>/bascule/", rollover_views.rollover_done, name="year_rollover_done"),
    # Subjects
    path(E + "matieres/", v.subject_list, name="subject_list"),
    # Classes
    path(E + "classes/", v.class_list, name="class_list"),
    path(E + "classes/nouvelle/", v.class_create, name="class_create"),
    path(E + "classes/<int:cid>/", v.class_detail, name="class_detail"),
    path(E + "classes/<int:cid>/modifier/", v.class_edit, name="class_edit"),
    path(E + "classes/<int:cid>/supprimer/", v.class_delete, name="class_delete"),
    path(E + "classes/<int:cid>/codes/", v.class_codes, name="class_codes"),
    # Groups
    path(E + "groupes/", v.group_list, name="group_list"),
    path(E + "groupes/nouveau/", v.group_create, name="group_create"),
    path(E + "groupes/<int:gid>/", v.group_detail, name="group_detail"),
    path(E + "groupes/<int:gid>/modifier/", v.group_edit, name="group_edit"),
    path(E + "groupes/<int:gid>/supprimer/", v.group_delete, name="group_delete"),
    # People
    path(E + "personnes/", v.person_list, name="person_list"),
    path(E + "personnes/nouvelle/", v.person_create, name="person_create"),
    path(P, v.person_detail, name="person_detail"),
    path(P + "modifier/", v.person_edit, name="person_edit"),
    path(P + "roles/", v.person_role_add, name="person_role_add"),
    path(P + "roles/<int:mid>/retirer/", v.person_role_remove, name="person_role_remove"),
    path(P + "classe/", v.person_set_class, name="person_set_class"),
    path(P + "desactiver/", v.person_set_active, {"active": False}, name="person_deactivate"),
    path(P + "reactiver/", v.person_set_active, {"active": True}, name="person_reactivate"),
    path(P + "responsables/ajouter/", v.guardian_link_add, name="guardian_link_add"),
    path(P + "responsables/<int:lid>/", v.guardian_link_edit, name="guardian_link_edit"),
    path(P + "responsables/<int:lid>/supprimer/", v.guardian_link_remove, name="guardian_link_remove"),
    path(P + "services/", v.assignment_add, name="assignment_add"),
    path(P + "services/<int:aid>/supprimer/", v.assignment_remove, name="assignment_remove"),
    path(P + "code-activation/", v.person_activation_code, name="person_activation_code"),
    path(P + "mot-de-passe/", v.person_password_reset, name="person_password_reset"),
]
