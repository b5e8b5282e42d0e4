from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("", views.mailbox, {"box": "inbox"}, name="inbox"),
    path("envoyes/", views.mailbox, {"box": "sent"}, name="sent"),
    path("brouillons/", views.mailbox, {"box": "drafts"}, name="drafts"),
    path("corbeille/", views.mailbox, {"box": "trash"}, name="trash"),
    path("corbeille/vider/", views.empty_trash, name="empty_trash"),
    path("nouveaux/", views.new_rows, name="new_rows"),
    path("actions/", views.bulk, name="bulk"),
    path("dossiers/", views.folders, name="folders"),
    path("dossiers/<int:folder_id>/", views.mailbox, {"box": "folder"}, name="folder"),
    path("dossiers/<int:folder_id>/renommer/", views.folder_rename, name="folder_rename"),
    path("dossiers/<int:folder_id>/supprimer/", views.folder_delete, name="folder_delete"),
    path("recherche/", views.search, name="search"),
    path("ecrire/", views.compose, name="compose"),
    path("brouillons/<int:message_id>/", views.compose, name="draft"),
    path("brouillons/<int:message_id>/supprimer/", views.draft_delete, name="draft_delete"),
    path("destinataires/", views.suggestions, name="suggestions"),
    path("messages/<int:message_id>/", views.thread, name="thread"),
    path("messages/<int:message_id>/repondre/", views.reply, name="reply"),
    path("messages/<int:message_id>/repondre-a-tous/", views.reply_all, name="reply_all"),
    path("messages/<int:message_id>/transferer/", views.forward, name="forward"),
    path("messages/<int:message_id>/deplacer/", views.move, name="move"),
    path("messages/<int:message_id>/lectures/", views.receipts, name="receipts"),
    path("pieces-jointes/<int:attachment_id>/", views.attachment, name="attachment"),
]
