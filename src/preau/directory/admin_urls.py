from django.urls import path

from . import admin_views

app_name = "directory_admin"
urlpatterns = [
    path("", admin_views.home, name="home"),
]
