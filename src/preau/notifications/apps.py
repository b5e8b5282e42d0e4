from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "preau.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from .counters import register_counter
        from .selectors import unread

        register_counter("notifications", unread)
