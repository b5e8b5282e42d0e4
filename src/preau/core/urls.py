from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("contexte/etablissement", views.switch_establishment, name="switch_establishment"),
    path("contexte/enfant", views.switch_child, name="switch_child"),
]
