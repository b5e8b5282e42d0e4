"""Imports beside other feeds and other work: a full import marks leaving only the people its own feed manages;
a run stops rather than write into a year rolled over under it."""

import datetime

import pytest

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GuardianLink,
    Membership,
    Role,
    SchoolYear,
    TeachingAssignment,
)
from preau.imports.aaf import AafImporter
from preau.imports.engine import RunAborted
from preau.imports.report import Report
from preau.imports.services import import_run

from .test_aaf import aaf_file, add, pupil, school_files
from .test_csvgeneric import csv_file
from .test_siecle import eleve, structures
from .test_siecle import pupils_file as siecle_pupils
from .test_sts import UAI as STS_UAI
from .test_sts import sts_file

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



def test_imports_run_stops_when_the_year_is_rolled_over_under_it(tmp_path, monkeypatch):
    import_run(kind="aaf", paths=school_files(tmp_path))
    old_year = SchoolYear.objects.get(is_current=True)
    later = tmp_path / "later"
    later.mkdir()
    files = school_files(later, pupils=[pupil(f"n{i}", classes="9001$4A") for i in range(6)])
    monkeypatch.setattr(AafImporter, "batch_size", 2)

    def roll_over_once(records_done, current_file):
        if "Eleve" in current_file and SchoolYear.objects.filter(pk=old_year.pk, is_current=True).exists():
            SchoolYear.objects.filter(pk=old_year.pk).update(is_current=False, is_archived=True)
            SchoolYear.objects.create(establishment=old_year.establishment, label="2099-2100",
                                      start=datetime.date(2099, 9, 1), end=datetime.date(2100, 7, 31),
                                      is_current=True)

    with pytest.raises(RunAborted, match="basculée pendant l'import"):
        AafImporter(Report(), progress=roll_over_once).run(files)
    # The first batch of pupils went into the year then current; nothing after the rollover did.
    assert ClassEnrolment.objects.filter(pupil__external_id__startswith="n").count() == 2
    assert not ClassEnrolment.objects.filter(school_class__school_year__label="2099-2100").exists()


def test_imports_aaf_finds_the_pupil_another_feed_brought_by_ine(tmp_path):
    files = school_files(tmp_path)
    import_run(kind="aaf", paths=files[:2])  # the establishment and the MEFs
    import_run(kind="siecle", paths=[siecle_pupils(tmp_path, [eleve("1001", ine="1234567890A")],
                                                   [structures("1001", "5B")])])
    lea = User.objects.get(ine="1234567890A")
    assert lea.external_id == "siecle:0699001A:1001"

    eleves = next(path for path in files if "_Eleve_" in path.name)
    eleves.write_text(eleves.read_text().replace(
        '<attr name="ENTPersonJointure"><value>e1</value></attr>',
        '<attr name="ENTPersonJointure"><value>e1</value></attr>'
        '<attr name="ENTEleveINE"><value>1234567890A</value></attr>'), encoding="utf-8")
    _run, report = import_run(kind="aaf", paths=files)
    assert User.objects.filter(ine="1234567890A").count() == 1 and not User.objects.filter(external_id="e1").exists()
    assert report.get("pupils", "created") == 1  # Hugo only
    assert set(GuardianLink.objects.filter(pupil=lea).values_list("guardian__external_id", flat=True)) == {"g1",
                                                                                                           "g2"}
    membership = Membership.objects.get(user=lea, role=Role.PUPIL)
    assert membership.leaving_since is None and membership.source == "aaf"  # the AAF lists her now


def test_imports_aaf_takes_over_the_teacher_sts_brought_in(tmp_path):
    school = Establishment.objects.create(uai=STS_UAI, name="CLG JEAN MOULIN", kind="college", external_id="9001")
    SchoolYear.objects.create(establishment=school, label="2026-2027", start=datetime.date(2026, 9, 1),
                              end=datetime.date(2027, 7, 4), is_current=True)
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    michel = User.objects.get(external_id=f"sts:{STS_UAI}:8949")
    services = set(TeachingAssignment.objects.filter(teacher=michel).values_list("pk", flat=True))
    assert services

    record = add("categoriePersonne", "PersEducNat", "p7", ENTPersonJointure="p7", sn="DURAND", givenName="Michel",
                 ENTPersonDateNaissance="12/03/1975", ENTPersonStructRattach="9001",
                 ENTPersonFonctions="9001$ENS$ENSEIGNEMENT$L1300$MATHEMATIQUES", PersEducNatPresenceDevantEleves="O")
    _run, report = import_run(kind="aaf", paths=[aaf_file(tmp_path, "X_Delta_20261001_PersEducNat_0000.xml",
                                                          record)])
    michel.refresh_from_db()
    assert michel.external_id == "p7" and report.get("staff", "created") == 0
    assert User.objects.filter(first_name="Michel", last_name__iexact="durand").count() == 1
    assert Membership.objects.get(user=michel, role=Role.TEACHER).external_id == "p7"

    # STS-Web finds him again by name (its key is gone) and keeps the AAF's; services untouched, nobody leaving.
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    michel.refresh_from_db()
    assert michel.external_id == "p7"
    assert set(TeachingAssignment.objects.filter(teacher=michel).values_list("pk", flat=True)) == services
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
