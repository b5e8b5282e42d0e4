"""Helpers for the browser journeys: launching Chromium, logging in through the form, and axe-core checks."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

CHROMIUM = Path(os.environ.get("PREAU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (install Debian's chromium: apt-get install chromium)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the test extra installs both
        return f"Python package missing: {exc.name}"
    return None


SKIP_REASON = _skip_reason()

# Impacts that fail a journey; "moderate" and "minor" findings are printed but tolerated.
BLOCKING_IMPACTS = {"serious", "critical"}
# Pages already found clean in this process, by a fingerprint of their markup (without CSRF tokens): the login
# page seen by every journey is audited once, not twenty times.
_CLEAN_PAGES: set[str] = set()
_VOLATILE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def axe_script() -> Path:
    import axe_playwright_python

    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core found {len(violations)} blocking violation(s) on {url}:"]
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            summary = " / ".join(line.strip() for line in node.get("failureSummary", "").splitlines() if line.strip())
            lines.append(f"    at {' '.join(node['target'])}: {summary}")
            lines.append(f"       {node['html'][:200]}")
    return "\n".join(lines)


class Journey:
    """A Playwright page bound to the live server. Every `visit`/`submit` ends with an axe-core check."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.checked: list[str] = []

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def visit(self, path: str, *, check: bool = True):
        response = self.page.goto(self.url(path))
        if check:
            self.assert_accessible()
        return response

    def assert_accessible(self):
        page = self.page
        page.wait_for_load_state("load")
        fingerprint = hashlib.sha256(_VOLATILE.sub("", page.content()).encode()).hexdigest()
        fingerprint += f":{page.viewport_size}"
        if fingerprint in _CLEAN_PAGES:
            self.checked.append(self.path)
            return
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(axe_script()))
        result = page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html,
                                              failureSummary: n.failureSummary || ''}))}));
            }"""
        )
        self.checked.append(self.path)
        blocking = [v for v in result if v["impact"] in BLOCKING_IMPACTS]
        others = [v for v in result if v["impact"] not in BLOCKING_IMPACTS]
        if others:
            print(f"axe-core (tolerated) on {self.path}: " + ", ".join(f"{v['id']} [{v['impact']}]" for v in others))
        assert not blocking, format_violations(self.path, blocking)
        _CLEAN_PAGES.add(fingerprint)

    def login(self, username: str, password: str, *, check: bool = True):
        """Log in through the real login form, as a person would."""
        self.visit("/compte/connexion/", check=check)
        self.fill_login(username, password)
        if check:
            self.assert_accessible()

    def fill_login(self, username: str, password: str):
        form = self.page.locator("main form").filter(has=self.page.locator("input[name=password]"))
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        with self.page.expect_navigation():
            form.locator("button[type=submit]").first.click()

    def logout(self):
        with self.page.expect_navigation():
            self.page.locator("form[action$='/deconnexion/'] button[type=submit]").first.click()
