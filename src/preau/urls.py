from django.urls import include, path

from preau.api.urls import urlpatterns as api_urls

urlpatterns = [
    path("", include("preau.core.urls")),
    path("compte/", include("preau.accounts.urls")),
    path("annuaire/", include("preau.directory.urls")),
    path("admin/imports/", include("preau.imports.urls")),
    path("admin/", include("preau.directory.admin_urls")),
    path("journal/", include("preau.audit.urls")),
    path("notifications/", include("preau.notifications.urls")),
    path("temps-reel/", include("preau.realtime.urls")),
    path("actualites/", include("preau.news.urls")),
    path("carnet/", include("preau.news.liaison_urls")),
    path("agenda/", include("preau.timetable.agenda_urls")),
    path("emploi-du-temps/", include("preau.timetable.urls")),
    path("messagerie/", include("preau.messaging.moderation_urls")),
    path("messagerie/", include("preau.messaging.urls")),
    path("vie-scolaire/", include("preau.attendance.urls")),
    *api_urls,
]

handler400 = "preau.core.views.bad_request"
handler403 = "preau.core.views.permission_denied"
handler404 = "preau.core.views.page_not_found"
handler500 = "preau.core.views.server_error"
