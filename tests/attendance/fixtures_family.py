"""Helpers of the family and discipline page tests (attfamily): a frozen school day, records written through the
services, the pages' URLs."""

from __future__ import annotations

import html

import time_machine

from preau.attendance import services

from .fixtures_attcore import MONDAY, PARIS, at, fake_pdf_html, pdf_file, png_file, use_media  # noqa: F401

# "Today" in these tests: Wednesday 7 October 2026, 10:00 in Paris (first trimester of the persona world's year).
TODAY = at(MONDAY.replace(day=7), 10)


def frozen_school(school, settings, tmp_path):
    """For a fixture: `yield from frozen_school(world.one, settings, tmp_path)` — the clock stopped at TODAY, files
    stored under tmp_path (the school has no calendar yet: the first page creates it)."""
    use_media(settings, tmp_path)
    with time_machine.travel(TODAY, tick=False):
        yield school


def text(response) -> str:
    return html.unescape(response.content.decode())


def absence(school, pupil, day=MONDAY, start=8, end=10, *, kind="absence", by=None):
    """An unjustified absence (or lateness) recorded by vie scolaire, through the service."""
    return services.record_absence(pupil=pupil, starts_at=at(day, start), ends_at=at(day, end), by=by or school.cpe,
                                   kind=kind, now=TODAY)


def main(response) -> str:
    """The page's own content (the shell's header names the guardian's children whatever the service)."""
    page = text(response)
    return page[page.index("<main"):page.index("</main>")]


def family_url(pupil) -> str:
    return f"/vie-scolaire/famille/{pupil.pk}/"


def justify_url(pupil) -> str:
    return f"/vie-scolaire/famille/{pupil.pk}/justifier/"


QUEUE_URL = "/vie-scolaire/justifications/"


def justification_url(item) -> str:
    return f"/vie-scolaire/justifications/{item.pk}/"


def document_url(item) -> str:
    return f"/vie-scolaire/justifications/{item.pk}/document/"


def reason(school, code="MAL"):
    return services.reasons_for(school.establishment.pk).get(code=code)
