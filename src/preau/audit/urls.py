from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.journal, name="journal"),
    path("moi/", views.reads_about_me, name="reads_about_me"),
]
