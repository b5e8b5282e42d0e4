from django.urls import path

from . import agenda_views as v
from . import feed_views

app_name = "agenda"

urlpatterns = [
    path("", v.agenda_list, name="list"),
    path("nouveau/", v.agenda_create, name="create"),
    path("<int:event_id>/", v.agenda_event, name="event"),
    path("<int:event_id>/modifier/", v.agenda_edit, name="edit"),
    path("<int:event_id>/supprimer/", v.agenda_delete, name="delete"),
    path("abonnement/", feed_views.feed_settings, name="feed_settings"),
    path("ics/<str:token>.ics", feed_views.feed, name="ics"),
]
