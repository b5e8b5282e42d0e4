from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from preau.accounts.middleware import is_exempt

register = template.Library()


@register.simple_tag(takes_context=True)
def realtime_script(context):
    """The real-time client's script tag (realtime/realtime.js), for a logged-in person when real time is on.

    Not on the account steps' pages (activation, charter, second factor, password...): a person with a pending step
    is sent back to it from anywhere else, so a stream opened there would only be redirected, again and again, each
    time leaving a message for the next page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not settings.PREAU_REALTIME_ENABLED or user is None or not user.is_authenticated:
        return ""
    if is_exempt(request.path_info):
        return ""
    return format_html('<script src="{}" data-realtime-url="{}" defer></script>', static("realtime/realtime.js"),
                       reverse("realtime:stream"))
