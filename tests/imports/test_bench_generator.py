"""The benchmark's AAF generator (bench/imports/generate_aaf.py) stays valid: what it writes imports without a
rejection, with exactly the counts its manifest announces, and its next-night variants (Complet and Delta) move,
remove and add the people it says."""

import filecmp
import importlib.util
import sys
from pathlib import Path

import pytest

from preau.accounts.models import User
from preau.directory.models import ClassEnrolment, GuardianLink, Membership, Role, TeachingAssignment
from preau.imports.models import ImportRun
from preau.imports.services import import_run

pytestmark = pytest.mark.django_db

GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "imports" / "generate_aaf.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("bench_generate_aaf", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


generator = load_generator()
SIZE = {"people": 200, "establishments": 2, "part_size": 40}
ONE_SCHOOL = {"people": 400, "establishments": 1, "part_size": 100}  # two classes per level: pupils can move
CHANGES = {"moves": 10, "leavers": 5, "arrivals": 5}


def generate(out: Path, size: dict = SIZE, **options) -> tuple[dict, list[Path]]:
    manifest = generator.generate(out, generator.Plan(**size, **options))
    return manifest, sorted(out.glob("*.xml"))


def test_generated_set_imports_with_the_announced_counts(tmp_path):
    manifest, files = generate(tmp_path / "base")
    counts = manifest["counts"]
    assert manifest["people_in_files"] == 200
    assert counts["staff"] + counts["pupils"] + counts["guardians"] == 200
    assert 0.3 < counts["pupils"] / 200 < 0.4 and counts["staff"] >= 10 and counts["teachers"] > 0
    assert len(manifest["files"]["PersRelEleve"]) > 1  # numbered parts, as real exports
    run, report = import_run(kind="aaf", paths=files)
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    for kind in ("establishments", "mefs", "national_subjects", "staff", "pupils", "guardians", "links",
                 "classes", "groups", "subjects", "assignments"):
        assert report.get(kind, "created") == counts[kind], kind
    assert User.objects.count() == 200
    assert ClassEnrolment.objects.count() == counts["pupils"]
    assert GuardianLink.objects.count() == counts["links"]
    assert TeachingAssignment.objects.filter(is_main_teacher=True).values("school_class").distinct().count() == (
        counts["main_classes"])
    assert Membership.objects.filter(role=Role.GUARDIAN).values("user").distinct().count() == counts["guardians"]
    again, report = import_run(kind="aaf", paths=files)
    assert report.get("pupils", "unchanged") == counts["pupils"] and report.get("links", "created") == 0


def test_generator_is_deterministic(tmp_path):
    first, first_files = generate(tmp_path / "one")
    second, second_files = generate(tmp_path / "two")
    assert first == second
    assert [path.name for path in first_files] == [path.name for path in second_files]
    assert all(filecmp.cmp(a, b, shallow=False) for a, b in zip(first_files, second_files, strict=True))


def next_night(tmp_path, **options) -> tuple[dict, object]:
    """Import the one-school base set, then its next-night variant: (variant counts, variant report)."""
    _base, files = generate(tmp_path / "base", ONE_SCHOOL)
    import_run(kind="aaf", paths=files)
    variant, variant_files = generate(tmp_path / "next", ONE_SCHOOL, **CHANGES, **options)
    counts = variant["counts"]
    assert counts["moved"] and counts["leaving_pupils"] and counts["arrived_pupils"]
    run, report = import_run(kind="aaf", paths=variant_files)
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    assert report.get("pupils", "created") == counts["arrived_pupils"]
    assert report.get("pupils", "updated") == counts["moved"]
    assert report.get("links", "created") == counts["arrived_links"]
    return counts, report


def test_generated_next_night_complet(tmp_path):
    counts, report = next_night(tmp_path, variant_seed=1)
    assert report.get("pupils", "leaving") == counts["leaving_pupils"]
    assert report.get("guardians", "created") == counts["arrived_guardians"]


def test_generated_next_night_delta(tmp_path):
    counts, report = next_night(tmp_path, variant_seed=2, delta=True)
    assert report.get("pupils", "deactivated") == counts["leaving_pupils"]
    assert report.get("guardians", "deactivated") == counts["leaving_guardians"]
    assert report.get("guardians", "created") == counts["arrived_guardians"]
