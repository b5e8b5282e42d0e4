from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("", views.home, name="home"),
    path("classes/<int:class_id>/", views.class_detail, name="class_detail"),
    path("groupes/<int:group_id>/", views.group_detail, name="group_detail"),
    path("personnes/", views.person_list, name="person_list"),
    path("personnes/<int:person_id>/", views.person_card, name="person_card"),
]
