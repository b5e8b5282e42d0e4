from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("tout-lire/", views.mark_all_read, name="mark_all_read"),
    path("<int:notification_id>/lue/", views.mark_read, name="mark_read"),
    path("<int:notification_id>/ouvrir/", views.open_notification, name="open"),
    path("preferences/", views.preferences, name="preferences"),
]
