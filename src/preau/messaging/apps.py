from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "preau.messaging"
    label = "messaging"
    verbose_name = "Messagerie"

    def ready(self):
        from preau.notifications.counters import register_counter

        from . import selectors

        # The header's and the API's unread-messages badge: unread copies in the inbox (one indexed count).
        register_counter("messages", selectors.unread_queryset)
