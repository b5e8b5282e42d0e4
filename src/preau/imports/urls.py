from django.urls import path

from . import views as v

app_name = "imports"

R = "<int:rid>/"

urlpatterns = [
    path("", v.run_list, name="run_list"),
    path("nouveau/", v.run_create, name="run_create"),
    path(R, v.run_detail, name="run_detail"),
    path(R + "colonnes/", v.run_columns, name="run_columns"),
    path(R + "confirmer/", v.run_confirm, name="run_confirm"),
    path(R + "rejets.csv", v.rejections_csv, name="rejections_csv"),
]
