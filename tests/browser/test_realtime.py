"""Real time in a real browser: a publish from the server updates the header's live counter of an open page
without reload, through EventSource on the live server (a threaded WSGI server and the in-process broker, or Redis
when REDIS_URL is set), under the real Content-Security-Policy too."""

from __future__ import annotations

import time

import pytest

from preau import realtime
from preau.directory.testing import TEST_PASSWORD
from preau.realtime.broker import get_broker

from .support import SKIP_REASON, Journey

if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = pytest.mark.browser

BADGE = '.site-header [data-live-count="notifications"]'


@pytest.fixture(autouse=True)
def _short_heartbeat(settings):
    # Streams of pages closed by the browser end at their next heartbeat: keep the live server's threads few.
    settings.PREAU_REALTIME_HEARTBEAT_SECONDS = 2


def open_stream(journey: Journey):
    """Wait until the page's stream is open (its person's channel subscribed, its counters resynchronised)."""
    journey.page.wait_for_selector("body[data-realtime-state=open]", state="attached")


def leave(page, person):
    """Leave the page and wait until the live server has ended its stream (noticed at the next heartbeat), so that
    no stream outlives the test and its database."""
    page.goto("about:blank")
    deadline = time.monotonic() + 10
    while get_broker().hub.count(person.pk) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get_broker().hub.count(person.pk) == 0
    time.sleep(0.3)  # the server thread finishes the response


def test_a_publish_updates_the_open_page_without_reload(journey, world):
    guardian = world.one.mother_b
    journey.login(guardian.username, TEST_PASSWORD)
    page = journey.page
    open_stream(journey)
    badge = page.locator(BADGE)
    assert badge.is_hidden()  # nothing unread: no badge
    page.evaluate("""() => { window.seen = [];
        document.addEventListener('preau:notification.new', e => window.seen.push(e.detail)); }""")
    loads = page.evaluate("() => performance.getEntriesByType('navigation').length")

    # Someone else's event never shows here.
    realtime.publish([world.one.father_b.pk], "counters", {"notifications": 9})
    # An increment carried by an event, then an absolute figure.
    realtime.publish([guardian.pk], "notification.new", {"id": 1, "counter_deltas": {"notifications": 1}})
    page.wait_for_function("() => window.seen.length === 1")
    assert page.evaluate("() => window.seen") == [{"id": 1, "counter_deltas": {"notifications": 1}}]
    assert badge.is_visible() and badge.inner_text() == "1"

    realtime.publish([guardian.pk], "counters", {"notifications": 3})
    page.wait_for_function(f"() => document.querySelector('{BADGE}').textContent === '3'")
    realtime.publish([guardian.pk], "counters", {"notifications": 0})
    page.wait_for_function(f"() => document.querySelector('{BADGE}').hidden")
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == loads  # no reload
    journey.assert_accessible()
    leave(page, guardian)


def test_the_stream_works_under_the_real_content_security_policy(chromium, live_server, world):
    """The journeys' browser context bypasses the CSP (to inject axe-core); this one enforces it."""
    context = chromium.new_context(locale="fr-FR", bypass_csp=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        journey = Journey(page, live_server.url)
        teacher = world.one.teacher_b
        journey.login(teacher.username, TEST_PASSWORD, check=False)
        open_stream(journey)
        realtime.publish([teacher.pk], "counters", {"notifications": 2})
        page.wait_for_function(f"() => document.querySelector('{BADGE}').textContent === '2'")
        assert page.locator(BADGE).is_visible()
        assert violations == []
        leave(page, teacher)
    finally:
        context.close()


def test_increases_are_announced_politely_and_grouped(journey, world):
    """A counter that says how (data-live-announce-one/-other) has its increases announced in one polite status
    region, a burst as one sentence; decreases say nothing."""
    pupil = world.one.pupil_b
    journey.login(pupil.username, TEST_PASSWORD)
    page = journey.page
    open_stream(journey)
    page.evaluate("""() => {
        const badge = document.createElement('span');
        badge.id = 'test-counter';
        badge.hidden = true;
        badge.textContent = '0';
        badge.setAttribute('data-live-count', 'test_items');
        badge.setAttribute('data-live-announce-one', 'Un nouvel élément');
        badge.setAttribute('data-live-announce-other', '{n} nouveaux éléments');
        document.querySelector('main').appendChild(badge);
    }""")
    for item in (1, 2):
        realtime.publish([pupil.pk], "test.item", {"id": item, "counter_deltas": {"test_items": 1}})
    page.wait_for_function("() => document.getElementById('test-counter').textContent === '2'")
    status = page.locator("[data-realtime-announcer]")
    assert status.get_attribute("role") == "status"
    page.wait_for_function(
        "() => (document.querySelector('[data-realtime-announcer]') || {}).textContent === '2 nouveaux éléments'")
    realtime.publish([pupil.pk], "counters", {"test_items": 0})
    page.wait_for_function("() => document.getElementById('test-counter').hidden")
    page.wait_for_timeout(2500)
    assert status.inner_text() == "2 nouveaux éléments"  # nothing said about the decrease
    journey.assert_accessible()
    leave(page, pupil)
