"""Holiday presets and public holidays (core)."""

import pytest

from preau.timetable import presets

from .fixtures_core import D


@pytest.mark.parametrize(("year", "easter"), [(2025, D(2025, 4, 20)), (2026, D(2026, 4, 5)),
                                              (2027, D(2027, 3, 28)), (2028, D(2028, 4, 16))])
def test_easter(year, easter):
    assert presets.easter_sunday(year) == easter


def test_public_holidays_2027():
    days = {h.label: h.first_day for h in presets.public_holidays(2027)}
    assert days["Lundi de Pâques"] == D(2027, 3, 29)
    assert days["Ascension"] == D(2027, 5, 6)
    assert days["Pont de l'Ascension"] == D(2027, 5, 7)
    assert days["Lundi de Pentecôte"] == D(2027, 5, 17)
    assert days["Armistice 1918"] == D(2027, 11, 11) and days["Victoire 1945"] == D(2027, 5, 8)
    assert len(days) == 12


def test_school_holidays_per_zone_2025_2026_confirmed():
    preset = presets.YEARS["2025-2026"]
    assert preset.confirmed
    a = presets.school_holidays(D(2025, 9, 1), D(2026, 7, 3), "A")
    assert [(h.label, h.first_day, h.last_day) for h in a] == [
        ("Vacances de la Toussaint", D(2025, 10, 18), D(2025, 11, 2)),
        ("Vacances de Noël", D(2025, 12, 20), D(2026, 1, 4)),
        ("Vacances d'hiver", D(2026, 2, 7), D(2026, 2, 22)),
        ("Vacances de printemps", D(2026, 4, 4), D(2026, 4, 19))]
    c = presets.school_holidays(D(2025, 9, 1), D(2026, 7, 3), "C")
    assert c[-1].first_day == D(2026, 4, 18) and c[-1].last_day == D(2026, 5, 3)


def test_every_zone_has_four_holiday_periods_ending_on_sunday():
    for label, preset in presets.YEARS.items():
        for zone in presets.ZONES:
            holidays = presets.school_holidays(preset.start, preset.end, zone)
            assert len(holidays) == 4, (label, zone)
            for h in holidays:
                assert h.first_day.weekday() == 5 and h.last_day.weekday() == 6, (label, zone, h)
                assert (h.last_day - h.first_day).days == 15
        # Winter and spring holidays differ between zones.
        winters = {presets.school_holidays(preset.start, preset.end, z)[2].first_day for z in presets.ZONES}
        assert len(winters) == 3


def test_unknown_year_or_zone():
    assert presets.school_holidays(D(2031, 9, 1), D(2032, 7, 3), "A") == []
    assert presets.school_holidays(D(2026, 9, 1), D(2027, 7, 4), "") == []


def test_holidays_clipped_to_the_year():
    holidays = presets.school_holidays(D(2026, 9, 1), D(2026, 10, 20), "B")
    assert [(h.first_day, h.last_day) for h in holidays] == [(D(2026, 10, 17), D(2026, 10, 20))]


@pytest.mark.parametrize(("postal_code", "zone"), [("69001", "A"), ("33000", "A"), ("75011", "C"),
                                                   ("31000", "C"), ("59000", "B"), ("13001", "B"),
                                                   ("20000", ""), ("97400", ""), ("", ""), ("abc", "")])
def test_zone_for_postal_code(postal_code, zone):
    assert presets.zone_for_postal_code(postal_code) == zone
