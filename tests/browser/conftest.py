"""Real-browser journeys: Debian's Chromium driven by Playwright against pytest-django's live server.

One Chromium process per test module, a fresh browser context (cookies, storage) per test. When
/usr/bin/chromium (or $PREAU_CHROMIUM) is missing, every browser module skips itself and the terminal summary
says so, so that a CI log never hides that the journeys did not run.
"""

from __future__ import annotations

import os

import pytest

from .support import CHROMIUM, CHROMIUM_ARGS, SKIP_REASON, Journey

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if SKIP_REASON:
        terminalreporter.write_sep("=", "browser tests", yellow=True, bold=True)
        terminalreporter.write_line(f"NOTICE: real-browser tests were SKIPPED: {SKIP_REASON}", yellow=True, bold=True)


@pytest.fixture(scope="module")
def chromium():
    """Chromium for one module.

    While Playwright's sync API is started, its asyncio loop counts as running in the main thread, and Django
    refuses ORM calls there unless DJANGO_ALLOW_ASYNC_UNSAFE is set. It is set only for as long as Playwright
    runs (module scope), so that the rest of the suite, and subprocesses such as `check --deploy`, never see it.
    """
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def browser_context(chromium):
    # bypass_csp: axe-core is injected as a script tag, which a strict Content-Security-Policy would refuse.
    context = chromium.new_context(locale="fr-FR", timezone_id="Europe/Paris", bypass_csp=True,
                                   viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def phone_context(chromium):
    context = chromium.new_context(locale="fr-FR", timezone_id="Europe/Paris", bypass_csp=True,
                                   viewport={"width": 390, "height": 844}, device_scale_factor=3,
                                   is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def journey(browser_context, live_server):
    """A desktop-sized page on the live server that checks accessibility of every page it lands on."""
    return Journey(browser_context.new_page(), live_server.url)


@pytest.fixture
def phone_journey(phone_context, live_server):
    return Journey(phone_context.new_page(), live_server.url)


@pytest.fixture
def world(transactional_db):
    from preau.directory.testing import make_world

    return make_world()
