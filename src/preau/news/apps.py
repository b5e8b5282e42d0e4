from django.apps import AppConfig


class NewsConfig(AppConfig):
    name = "preau.news"
    label = "news"
    verbose_name = "Actualités et carnet de liaison"
