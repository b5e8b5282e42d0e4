from django.urls import path

from . import views as v

app_name = "news"

urlpatterns = [
    path("", v.news_list, name="list"),
    path("nouvelle/", v.news_create, name="create"),
    path("<int:news_id>/", v.news_detail, name="detail"),
    path("<int:news_id>/modifier/", v.news_edit, name="edit"),
    path("<int:news_id>/supprimer/", v.news_delete, name="delete"),
    path("<int:news_id>/images/<int:image_id>/", v.news_image, name="image"),
    path("<int:news_id>/images/<int:image_id>/retirer/", v.news_image_delete, name="image_delete"),
]
