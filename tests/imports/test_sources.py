"""Several feeds for one establishment: a full import marks leaving only the people its own feed manages."""

import pytest

from preau.directory.models import Establishment, Membership, Role
from preau.imports.services import import_run

from .test_aaf import school_files
from .test_csvgeneric import csv_file

pytestmark = pytest.mark.django_db

HEADER = ["Id", "Nom", "Prénom"]
MAPPING = {"external_id": "Id", "last_name": "Nom", "first_name": "Prénom"}


def teachers_csv(tmp_path, name, *rows):
    return csv_file(tmp_path, name, [HEADER, *rows])


def test_imports_full_csv_does_not_mark_the_aaf_teachers_leaving(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    school = Establishment.objects.get(uai="0699001A")
    paul = Membership.objects.get(user__external_id="p1", role=Role.TEACHER)
    assert paul.source == "aaf"

    options = {"profile": "teacher", "mapping": MAPPING, "full": True}
    import_run(kind="csv", paths=[teachers_csv(tmp_path, "a.csv", ["T1", "Roux", "Marc"], ["T2", "Petit", "Lou"])],
               establishment=school, options=options)
    _run, report = import_run(kind="csv", paths=[teachers_csv(tmp_path, "b.csv", ["T1", "Roux", "Marc"])],
                              establishment=school, options=options)
    leaving = set(Membership.objects.filter(leaving_since__isnull=False).values_list("user__external_id", "source"))
    assert leaving == {("csv:0699001A:pers:T2", "csv")}
    assert report.get("staff", "leaving") == 1

    # The next full AAF import marks its own absent people, never the CSV's.
    files = school_files(tmp_path)
    teachers = next(path for path in files if "PersEducNat" in path.name)
    teachers.write_text(teachers.read_text().replace("p1", "p9"), encoding="utf-8")
    import_run(kind="aaf", paths=files)
    leaving = set(Membership.objects.filter(leaving_since__isnull=False).values_list("user__external_id", flat=True))
    assert leaving == {"csv:0699001A:pers:T2", "p1"}
    assert Membership.objects.get(user__external_id="csv:0699001A:pers:T1").leaving_since is None

