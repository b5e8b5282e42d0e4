"""Demo attendance (attcore): `seed_attendance` fills the demo collège once its timetable exists, deterministic and
idempotent, with data the counts and the policy read like real data."""

import datetime

import pytest

from preau.attendance import halfdays
from preau.attendance.models import AttendanceRecord, ExitRegime, Justification, Punishment, RollCall
from preau.attendance.seeding import seed_attendance
from preau.directory.models import Establishment
from preau.directory.seeding import SeedOptions, seed_directory
from preau.timetable.seeding import seed_timetables

from .fixtures_attcore import at

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 9)  # a Wednesday of the demo school year


def test_seed_attendance_for_the_demo_college():
    seed_directory(SeedOptions(seed=3, establishments=2, pupils=120, batch_size=2000), progress=lambda _m: None)
    seed_timetables(3)
    counts = seed_attendance(3, today=TODAY, now=at(TODAY, 7))
    college = Establishment.objects.filter(kind="college").get()
    assert counts["roll_calls"] == RollCall.objects.filter(establishment=college).count() > 50
    records = AttendanceRecord.objects.filter(establishment=college)
    assert records.filter(kind="absence").exists() and records.filter(kind="late").exists()
    assert records.filter(state="justified").exists() and records.filter(state="pending").exists()
    assert not records.filter(starts_at__gte=at(TODAY, 0)).exists()  # nothing in the future
    assert Justification.objects.filter(state="pending").exists() and Punishment.objects.exists()
    assert ExitRegime.objects.count() == counts["exit_regimes"] > 0
    assert not AttendanceRecord.objects.exclude(establishment=college).exists()  # the école is left alone
    pupils = list(records.values_list("pupil_id", flat=True).distinct())
    totals = halfdays.half_day_counts(pupils, TODAY - datetime.timedelta(days=30), TODAY)
    assert sum(c["absent"] for c in totals.values()) > 0
    # The printed demo pupil has an absence to justify.
    from preau.directory.seeding import sample_accounts

    entries, _note = sample_accounts(seed=3, password="x", issue_codes=False)
    demo = next(e["username"] for e in entries if e["role"] == "pupil")
    assert records.filter(pupil__username=demo, kind="absence", state="unjustified").exists()
    # A second run changes nothing.
    assert seed_attendance(3, today=TODAY, now=at(TODAY, 7)) == {}
    assert RollCall.objects.count() == counts["roll_calls"]
