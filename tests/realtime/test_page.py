"""Pages load the real-time client for logged-in people only, and the security policy lets it connect."""

import re

from django.test import override_settings
from django.urls import reverse

from preau.core.middleware import CONTENT_SECURITY_POLICY

SCRIPT = re.compile(r'<script src="[^"]*realtime/realtime\.js" data-realtime-url="/temps-reel/" defer></script>')


def test_logged_in_pages_load_the_client(client, world):
    client.force_login(world.one.mother_b)
    html = client.get("/").content.decode()
    assert len(SCRIPT.findall(html)) == 1


def test_not_on_the_account_steps_pages(client, world):
    """A person with a pending step (charter, second factor...) is sent back to it from every other page: a stream
    opened from the step's page would only be redirected there too."""
    client.force_login(world.one.mother_b)
    page = client.get(reverse("accounts:password_change"))
    assert page.status_code == 200
    assert "realtime.js" not in page.content.decode()


def test_anonymous_pages_do_not(client, db):
    html = client.get("/compte/connexion/").content.decode()
    assert "realtime.js" not in html


@override_settings(PREAU_REALTIME_ENABLED=False)
def test_switched_off_pages_do_not(client, world):
    client.force_login(world.one.mother_b)
    assert "realtime.js" not in client.get("/").content.decode()


def test_the_content_security_policy_allows_the_stream_and_the_script():
    """EventSource and fetch obey connect-src, which falls back to default-src: same origin only."""
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    allowed = directives.get("connect-src", directives["default-src"])
    assert allowed.split() == ["'self'"]
    assert directives["script-src"].split() == ["'self'"]
