from django.urls import path

from . import views as v

app_name = "liaison"

urlpatterns = [
    path("", v.carnet, name="carnet"),
    path("mots/<int:target_id>/signer/", v.carnet_sign, name="sign"),
    path("suivi/", v.liaison_followed, name="followed"),
    path("nouveau/", v.liaison_create, name="create"),
    path("suivi/<int:note_id>/", v.liaison_dashboard, name="dashboard"),
    path("suivi/<int:note_id>/relancer/", v.liaison_remind, name="remind"),
]
