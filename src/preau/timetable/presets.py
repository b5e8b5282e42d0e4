"""French school holidays (zones A, B, C) and public holidays, to fill a school calendar's closed periods.

Holidays are written as the closed days themselves: from the first day without school (the Saturday after the last
class) to the day before classes resume (the official calendar says "reprise des cours le lundi matin", so the
period ends on the Sunday). Summer holidays are outside the school year and are not listed.

Sources and confidence (docs/timetable.md, "Presets"):
- 2025-2026: the national calendar (arrêté of 2022 fixing 2023-2024 to 2025-2026), cross-checked against the
  open-data set of holidays by zone (data.gouv.fr "Vacances scolaires par zones"): CONFIRMED.
- 2026-2027: the dates announced by the ministry for 2026-2027 as we know them; they could not be re-checked
  against the published text while writing this module: TO CONFIRM (`confirmed=False`) before relying on them.
- 2027-2028: no official calendar could be found: PROVISIONAL, derived from the usual pattern (zone rotation of
  the winter and spring holidays, two weeks each); `confirmed=False`. Schools check and edit their closed periods.

Public holidays are computed (fixed dates, Easter Monday, Ascension Thursday and the Friday after it — the
national "pont de l'Ascension", no class on that Friday — and Whit Monday).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

D = datetime.date


@dataclass(frozen=True)
class Holiday:
    label: str
    first_day: datetime.date
    last_day: datetime.date  # inclusive


@dataclass(frozen=True)
class YearPreset:
    label: str  # "2026-2027"
    start: datetime.date  # rentrée des élèves
    end: datetime.date  # last day before the summer holidays (the Friday of the last week of classes)
    common: tuple[Holiday, ...]  # Toussaint, Noël: the same for every zone
    by_zone: dict[str, tuple[Holiday, ...]]  # winter and spring holidays per zone
    confirmed: bool


def _h(label, first, last):
    return Holiday(label, first, last)


TOUSSAINT, NOEL, HIVER, PRINTEMPS = ("Vacances de la Toussaint", "Vacances de Noël", "Vacances d'hiver",
                                     "Vacances de printemps")

YEARS: dict[str, YearPreset] = {
    "2025-2026": YearPreset(
        label="2025-2026", start=D(2025, 9, 1), end=D(2026, 7, 3), confirmed=True,
        common=(_h(TOUSSAINT, D(2025, 10, 18), D(2025, 11, 2)), _h(NOEL, D(2025, 12, 20), D(2026, 1, 4))),
        by_zone={
            "A": (_h(HIVER, D(2026, 2, 7), D(2026, 2, 22)), _h(PRINTEMPS, D(2026, 4, 4), D(2026, 4, 19))),
            "B": (_h(HIVER, D(2026, 2, 14), D(2026, 3, 1)), _h(PRINTEMPS, D(2026, 4, 11), D(2026, 4, 26))),
            "C": (_h(HIVER, D(2026, 2, 21), D(2026, 3, 8)), _h(PRINTEMPS, D(2026, 4, 18), D(2026, 5, 3))),
        }),
    # TO CONFIRM against the published arrêté (see the module docstring).
    "2026-2027": YearPreset(
        label="2026-2027", start=D(2026, 9, 1), end=D(2027, 7, 2), confirmed=False,
        common=(_h(TOUSSAINT, D(2026, 10, 17), D(2026, 11, 1)), _h(NOEL, D(2026, 12, 19), D(2027, 1, 3))),
        by_zone={
            "A": (_h(HIVER, D(2027, 2, 13), D(2027, 2, 28)), _h(PRINTEMPS, D(2027, 4, 10), D(2027, 4, 25))),
            "B": (_h(HIVER, D(2027, 2, 20), D(2027, 3, 7)), _h(PRINTEMPS, D(2027, 4, 17), D(2027, 5, 2))),
            "C": (_h(HIVER, D(2027, 2, 6), D(2027, 2, 21)), _h(PRINTEMPS, D(2027, 4, 3), D(2027, 4, 18))),
        }),
    # PROVISIONAL: no official calendar found; derived from the usual rotation (see the module docstring).
    "2027-2028": YearPreset(
        label="2027-2028", start=D(2027, 9, 1), end=D(2028, 6, 30), confirmed=False,
        common=(_h(TOUSSAINT, D(2027, 10, 23), D(2027, 11, 7)), _h(NOEL, D(2027, 12, 18), D(2028, 1, 2))),
        by_zone={
            "A": (_h(HIVER, D(2028, 2, 26), D(2028, 3, 12)), _h(PRINTEMPS, D(2028, 4, 22), D(2028, 5, 7))),
            "B": (_h(HIVER, D(2028, 2, 12), D(2028, 2, 27)), _h(PRINTEMPS, D(2028, 4, 8), D(2028, 4, 23))),
            "C": (_h(HIVER, D(2028, 2, 19), D(2028, 3, 5)), _h(PRINTEMPS, D(2028, 4, 15), D(2028, 4, 30))),
        }),
}

ZONES = ("A", "B", "C")

# Académies by zone (since 2016), by département code, for a default zone from a postal code.
_ZONE_A_DEPARTMENTS = {"25", "39", "70", "90", "24", "33", "40", "47", "64", "03", "15", "43", "63", "21", "58",
                       "71", "89", "07", "26", "38", "73", "74", "19", "23", "87", "01", "42", "69", "16", "17",
                       "79", "86"}
_ZONE_C_DEPARTMENTS = {"77", "93", "94", "75", "78", "91", "92", "95", "11", "30", "34", "48", "66", "09", "12",
                       "31", "32", "46", "65", "81", "82"}


def zone_for_postal_code(postal_code: str) -> str:
    """The holiday zone of a metropolitan postal code ("" for Corsica, overseas or unknown)."""
    code = (postal_code or "").strip()
    if len(code) != 5 or not code.isdigit():
        return ""
    department = code[:2]
    if department == "20" or department in {"97", "98"}:
        return ""
    if department in _ZONE_A_DEPARTMENTS:
        return "A"
    if department in _ZONE_C_DEPARTMENTS:
        return "C"
    return "B"


def easter_sunday(year: int) -> datetime.date:
    """Gregorian Easter (anonymous Gregorian algorithm, "Meeus/Jones/Butcher")."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return D(year, month, day + 1)


def public_holidays(year: int) -> list[Holiday]:
    """French public holidays of a calendar year, with the Friday after Ascension (no class that day)."""
    easter = easter_sunday(year)
    ascension = easter + datetime.timedelta(days=39)
    days = [
        ("Jour de l'an", D(year, 1, 1)),
        ("Lundi de Pâques", easter + datetime.timedelta(days=1)),
        ("Fête du Travail", D(year, 5, 1)),
        ("Victoire 1945", D(year, 5, 8)),
        ("Ascension", ascension),
        ("Pont de l'Ascension", ascension + datetime.timedelta(days=1)),
        ("Lundi de Pentecôte", easter + datetime.timedelta(days=50)),
        ("Fête nationale", D(year, 7, 14)),
        ("Assomption", D(year, 8, 15)),
        ("Toussaint", D(year, 11, 1)),
        ("Armistice 1918", D(year, 11, 11)),
        ("Noël", D(year, 12, 25)),
    ]
    return sorted((Holiday(label, day, day) for label, day in days), key=lambda h: h.first_day)


def public_holidays_between(first_day: datetime.date, last_day: datetime.date) -> list[Holiday]:
    result = []
    for year in range(first_day.year, last_day.year + 1):
        result += [h for h in public_holidays(year) if first_day <= h.first_day <= last_day]
    return result


def preset_for(start: datetime.date, end: datetime.date) -> YearPreset | None:
    """The preset of the school year running from `start` to `end` (matched on the year label)."""
    label = f"{start.year}-{start.year + 1}" if start.month >= 8 else f"{start.year - 1}-{start.year}"
    preset = YEARS.get(label)
    if preset is None or end < preset.common[0].first_day:
        return None
    return preset


def school_holidays(start: datetime.date, end: datetime.date, zone: str) -> list[Holiday]:
    """The school holidays of a zone falling in [start, end] (clipped); [] when no preset covers that year."""
    preset = preset_for(start, end)
    if preset is None or zone not in ZONES:
        return []
    holidays = []
    for h in (*preset.common, *preset.by_zone[zone]):
        if h.last_day < start or h.first_day > end:
            continue
        holidays.append(Holiday(h.label, max(h.first_day, start), min(h.last_day, end)))
    return sorted(holidays, key=lambda h: h.first_day)
