"""STS-Web import (sts_emp_UAI_YEAR.xml): hand-built files, malformed ones, idempotence, moves, leaving teachers."""

import datetime

import pytest
from django.core.management import CommandError, call_command

from preau.accounts.models import User
from preau.directory.models import (
    Establishment,
    Mef,
    Membership,
    Role,
    SchoolClass,
    StaffFunction,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)
from preau.directory.testing import EstablishmentFactory, SchoolYearFactory, UserFactory, add_membership
from preau.imports.models import ImportRejection, ImportRun
from preau.imports.services import import_run
from preau.imports.sts import iter_records

pytestmark = pytest.mark.django_db

UAI = "0699001A"
NAME = f"sts_emp_{UAI}_2026.xml"
SUBJECTS = (("061300", "MATHS", "MATHEMATIQUES"), ("020100", "FRANC", "FRANCAIS"), ("020700", "LCALA", "LATIN"))


# --- Building files -------------------------------------------------------------------------------------------


def individu(sts_id, last, first, *, birth="1975-03-12", function="ENS", main_of=(), birth_name=None, kind="epp"):
    pp = "".join(f"<PROF_PRINC><CODE_STRUCTURE>{code}</CODE_STRUCTURE><DATE_DEBUT>2026-09-01</DATE_DEBUT>"
                 f"<DATE_FIN>{end}</DATE_FIN></PROF_PRINC>" for code, end in main_of)
    id_attr = f' ID="{sts_id}"' if sts_id is not None else ""
    return (f'<INDIVIDU{id_attr} TYPE="{kind}"><SEXE>1</SEXE><CIVILITE>1</CIVILITE><NOM_USAGE>{last}</NOM_USAGE>'
            f"<NOM_PATRONYMIQUE>{birth_name or last}</NOM_PATRONYMIQUE><PRENOM>{first}</PRENOM>"
            f"<DATE_NAISSANCE>{birth}</DATE_NAISSANCE><GRADE>CERTIFIE</GRADE>"
            + (f"<FONCTION>{function}</FONCTION>" if function else "")
            + (f"<PROFS_PRINC>{pp}</PROFS_PRINC>" if pp else "")
            + '<DISCIPLINES><DISCIPLINE CODE="L1300"><LIBELLE_COURT>MATHS</LIBELLE_COURT></DISCIPLINE></DISCIPLINES>'
            "</INDIVIDU>")


def service(subject, *teachers, mode="CG"):
    return (f'<SERVICE CODE_MATIERE="{subject}" CODE_MOD_COURS="{mode}"><ENSEIGNANTS>'
            + "".join(f'<ENSEIGNANT ID="{teacher}" TYPE="epp"/>' for teacher in teachers)
            + "</ENSEIGNANTS></SERVICE>")


def division(code, label, *services, mef="10010012110"):
    mefs = f'<MEFS_APPARTENANCE><MEF_APPARTENANCE CODE="{mef}"/></MEFS_APPARTENANCE>' if mef else ""
    return (f'<DIVISION CODE="{code}"><LIBELLE_LONG>{label}</LIBELLE_LONG>{mefs}'
            f'<SERVICES>{"".join(services)}</SERVICES></DIVISION>')


def groupe(code, label, classes, *services):
    members = "".join(f'<DIVISION_APPARTENANCE CODE="{c}"/>' for c in classes)
    return (f'<GROUPE CODE="{code}"><LIBELLE_LONG>{label}</LIBELLE_LONG>'
            f"<DIVISIONS_APPARTENANCE>{members}</DIVISIONS_APPARTENANCE><SERVICES>{''.join(services)}</SERVICES>"
            "</GROUPE>")


DEFAULT_DIVISIONS = (
    division("6A", "6EME A", service("061300", "8949"), service("061300", "8949", mode="TP"),
             service("020100", "8950")),
    division("6B", "6EME B", service("061300", "8949")),
)
DEFAULT_GROUPES = (groupe("LAT6", "6EME LATIN", ["6A", "6B"], service("020700", "8949")),)
DEFAULT_INDIVIDUS = (
    individu("8949", "DURAND", "Michel", main_of=[("6A", "2027-07-04")]),
    individu("8950", "PETIT", "Hélène", birth="1980-07-25"),
    individu("9001", "LEROY", "Anne", birth="1968-01-30", function="DIR"),
    individu("9002", "MOREAU", "Paul", birth="1985-11-02", function="EDU"),
)


def sts_file(directory, *, name=NAME, uai=UAI, year="2026", subjects=SUBJECTS, divisions=DEFAULT_DIVISIONS,
             groupes=DEFAULT_GROUPES, individus=DEFAULT_INDIVIDUS, people_first=False, header="", root="STS_EDT",
             encoding="UTF-8"):
    matieres = "".join(f'<MATIERE CODE="{code}"><CODE_GESTION>{gestion}</CODE_GESTION>'
                       f"<LIBELLE_COURT>{gestion}</LIBELLE_COURT><LIBELLE_LONG>{label}</LIBELLE_LONG>"
                       f"<LIBELLE_EDITION>{label.title()}</LIBELLE_EDITION></MATIERE>"
                       for code, gestion, label in subjects)
    structure = (f"<STRUCTURE><DIVISIONS>{''.join(divisions)}</DIVISIONS><GROUPES>{''.join(groupes)}</GROUPES>"
                 "</STRUCTURE>")
    people = f"<INDIVIDUS>{''.join(individus)}</INDIVIDUS>"
    body = (f'<?xml version="1.0" encoding="{encoding}"?>\n{header}<{root}>'
            f'<PARAMETRES><UAJ CODE="{uai}"><ACADEMIE><CODE>10</CODE><LIBELLE>LYON</LIBELLE></ACADEMIE>'
            f"<SIGLE>CLG</SIGLE><DENOM_PRINC>COLLEGE</DENOM_PRINC><DENOM_COMPL>JEAN MOULIN</DENOM_COMPL></UAJ>"
            f'<ANNEE_SCOLAIRE ANNEE="{year}"><DATE_DEBUT>2026-09-01</DATE_DEBUT><DATE_FIN>2027-07-04</DATE_FIN>'
            f"</ANNEE_SCOLAIRE><HORODATAGE>01/09/2026 08:00:00</HORODATAGE></PARAMETRES>"
            f"<NOMENCLATURES><MATIERES>{matieres}</MATIERES><MEFS><MEF CODE=\"10010012110\">"
            "<FORMATION>6EME</FORMATION><LIBELLE_COURT>6EME</LIBELLE_COURT><LIBELLE_LONG>6EME</LIBELLE_LONG>"
            "</MEF></MEFS></NOMENCLATURES>"
            f"<DONNEES>{people + structure if people_first else structure + people}</DONNEES></{root}>")
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_bytes(body.encode("utf-8") if encoding == "UTF-8" else body.encode(encoding))
    return path


@pytest.fixture
def school():
    establishment = EstablishmentFactory(uai=UAI, name="CLG JEAN MOULIN", external_id="9001")
    SchoolYearFactory(establishment=establishment)  # 2026-2027, current
    return establishment


def rejections(run):
    return list(ImportRejection.objects.filter(run=run).values_list("file", "record", "attribute", "reason"))


def services_of(external_id):
    return sorted(TeachingAssignment.objects.filter(teacher__external_id=external_id).values_list(
        "subject__code", "school_class__code", "group__code", "is_main_teacher"), key=str)


def assert_nothing_changed(run):
    for kind, outcomes in run.counts.items():
        assert outcomes["created"] == outcomes["updated"] == outcomes["deactivated"] == 0, (kind, outcomes)
        assert outcomes["leaving"] == 0, (kind, outcomes)


# --- The happy path -------------------------------------------------------------------------------------------


def test_imports_sts_creates_teachers_staff_classes_groups_and_services(school, tmp_path):
    run, report = import_run(kind="sts", paths=[sts_file(tmp_path)])
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    durand = User.objects.get(external_id=f"sts:{UAI}:8949")
    assert (durand.last_name, durand.first_name, durand.username) == ("DURAND", "Michel", "michel.durand")
    assert durand.birth_date == datetime.date(1975, 3, 12)
    assert not durand.has_usable_password() and durand.activated_at is None
    assert Membership.objects.get(user=durand, establishment=school).role == Role.TEACHER
    # Two modalities (CG, TP) of maths in 6A are one service; the main teacher of 6A is so on that service.
    assert services_of(durand.external_id) == [("LCALA", None, "LAT6", False), ("MATHS", "6A", None, True),
                                               ("MATHS", "6B", None, False)]
    assert services_of(f"sts:{UAI}:8950") == [("FRANC", "6A", None, False)]
    maths = Subject.objects.get(establishment=school, code="MATHS")
    assert maths.label == "MATHEMATIQUES"
    six_a = SchoolClass.objects.get(establishment=school, code="6A")
    assert six_a.label == "6EME A" and six_a.mef.code == "10010012110" and six_a.school_year.is_current
    latin = TeachingGroup.objects.get(establishment=school, code="LAT6")
    assert latin.label == "6EME LATIN" and set(latin.classes.values_list("code", flat=True)) == {"6A", "6B"}
    assert Membership.objects.get(user__external_id=f"sts:{UAI}:9001").functions == [StaffFunction.HEAD]
    cpe = Membership.objects.get(user__external_id=f"sts:{UAI}:9002")
    assert (cpe.role, cpe.functions) == (Role.STAFF, [StaffFunction.CPE])
    assert Mef.objects.get(code="10010012110").label == "6EME"
    assert report.get("staff", "created") == 4 and report.get("assignments", "created") == 4
    assert report.get("classes", "created") == 2 and report.get("groups", "created") == 1


def test_imports_sts_twice_changes_nothing(school, tmp_path):
    path = sts_file(tmp_path)
    import_run(kind="sts", paths=[path])
    counts = (User.objects.count(), TeachingAssignment.objects.count(), SchoolClass.objects.count())
    run, report = import_run(kind="sts", paths=[path])
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    assert (User.objects.count(), TeachingAssignment.objects.count(), SchoolClass.objects.count()) == counts
    assert_nothing_changed(run)
    assert report.get("staff", "unchanged") == 4 and report.get("classes", "unchanged") == 2


def test_imports_sts_people_listed_before_the_structure_also_read(school, tmp_path):
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path, people_first=True)])
    assert run.status == ImportRun.Status.SUCCEEDED
    assert len(services_of(f"sts:{UAI}:8949")) == 3


def test_imports_sts_service_moved_new_class_and_main_teacher_change_updated_in_place(school, tmp_path):
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    later = sts_file(tmp_path / "later", divisions=(
        division("6A", "6EME A", service("061300", "8949"), service("020100", "8950")),
        division("6B", "6EME B", service("061300", "8950")),  # maths 6B moves to Hélène Petit
        division("6C", "6EME C", service("020100", "8950")),  # a new class
    ), individus=(individu("8949", "DURAND", "Michel", main_of=[("6A", "2000-01-01")]),  # no longer main teacher
                  individu("8950", "PETIT-ROUX", "Hélène", birth="1980-07-25", main_of=[("6C", "2027-07-04")]),
                  *DEFAULT_INDIVIDUS[2:]))
    run, report = import_run(kind="sts", paths=[later])
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    assert services_of(f"sts:{UAI}:8949") == [("LCALA", None, "LAT6", False), ("MATHS", "6A", None, False)]
    assert services_of(f"sts:{UAI}:8950") == [("FRANC", "6A", None, False), ("FRANC", "6C", None, True),
                                              ("MATHS", "6B", None, False)]
    petit = User.objects.get(external_id=f"sts:{UAI}:8950")
    assert petit.last_name == "PETIT-ROUX" and petit.username == "helene.petit"
    assert User.objects.filter(external_id__startswith="sts:").count() == 4
    assert report.get("classes", "created") == 1 and report.get("assignments", "deactivated") == 1
    assert report.get("assignments", "created") == 2 and report.get("assignments", "updated") == 1
    assert report.get("staff", "updated") == 1


def test_imports_sts_dry_run_writes_nothing(school, tmp_path):
    run, report = import_run(kind="sts", paths=[sts_file(tmp_path)], dry_run=True)
    assert report.get("staff", "created") == 4 and report.get("assignments", "created") == 4
    assert not User.objects.exists() and not SchoolClass.objects.exists() and not Mef.objects.exists()
    assert run.dry_run and ImportRun.objects.get(pk=run.pk).counts["assignments"]["created"] == 4


# --- Who is who: the AAF join key is not in STS-Web -----------------------------------------------------------


def test_imports_sts_teacher_from_the_aaf_found_by_name_and_birth_date(school, tmp_path):
    aaf = UserFactory(first_name="Michel", last_name="Durand", birth_date=datetime.date(1975, 3, 12),
                      external_id="aaf-1234")
    Membership.objects.create(user=aaf, establishment=school, role=Role.TEACHER, external_id="aaf-1234")
    aaf_maths = Subject.objects.create(establishment=school, code="061300", label="Mathématiques")
    run, report = import_run(kind="sts", paths=[sts_file(tmp_path)])
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    aaf.refresh_from_db()
    assert not User.objects.filter(external_id=f"sts:{UAI}:8949").exists()
    assert (aaf.external_id, aaf.last_name) == ("aaf-1234", "Durand")  # the AAF keeps owning the person
    # The subject the AAF made under the national code is reused, not doubled by STS-Web's management code.
    assert set(TeachingAssignment.objects.filter(teacher=aaf).values_list("subject", flat=True)) == {
        aaf_maths.pk, Subject.objects.get(code="LCALA").pk}
    assert not Subject.objects.filter(establishment=school, code="MATHS").exists()
    assert Membership.objects.get(user=aaf, establishment=school).leaving_since is None
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path)])
    assert_nothing_changed(run)


def test_imports_sts_homonyms_not_guessed_teacher_typed_by_hand_adopted(school, tmp_path):
    for _twin in range(2):
        add_membership(UserFactory(first_name="Hélène", last_name="Petit", birth_date=datetime.date(1980, 7, 25)),
                       school, Role.TEACHER)
    by_hand = UserFactory(first_name="Michel", last_name="Durand", birth_date=datetime.date(1975, 3, 12))
    add_membership(by_hand, school, Role.TEACHER)
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path)])
    by_hand.refresh_from_db()
    assert by_hand.external_id == f"sts:{UAI}:8949"
    assert Membership.objects.get(user=by_hand, establishment=school).external_id == f"sts:{UAI}:8949"
    assert User.objects.filter(last_name__iexact="petit").count() == 3  # ambiguous: a new account, reported
    assert any(attr == "NOM_USAGE" and "2 personnes" in reason for _f, _n, attr, reason in rejections(run))


# --- A full export: who is leaving ----------------------------------------------------------------------------


def test_imports_sts_absent_teacher_marked_leaving_and_loses_services(school, tmp_path, settings):
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    manual = UserFactory()
    add_membership(manual, school, Role.TEACHER)  # typed by hand: never marked by an import
    without_durand = sts_file(tmp_path / "later", divisions=(
        division("6A", "6EME A", service("020100", "8950")), division("6B", "6EME B")), groupes=(),
        individus=DEFAULT_INDIVIDUS[1:])
    run, report = import_run(kind="sts", paths=[without_durand])
    durand = Membership.objects.get(user__external_id=f"sts:{UAI}:8949")
    assert durand.is_active and durand.leaving_since is not None
    assert services_of(f"sts:{UAI}:8949") == []
    assert report.get("staff", "leaving") == 1 and report.get("assignments", "deactivated") == 3
    assert Membership.objects.get(user=manual).leaving_since is None
    staff = Membership.objects.get(user__external_id=f"sts:{UAI}:9001")
    assert staff.leaving_since is None  # only teachers are marked: STS-Web may not list every staff member
    settings.PREAU_IMPORT_LEAVING_GRACE_DAYS = 0
    _run, report = import_run(kind="sts", paths=[without_durand])
    durand.refresh_from_db()
    assert not durand.is_active and report.get("staff", "deactivated") == 1


def test_imports_sts_person_without_function_kept_as_is(school, tmp_path):
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    on_leave = (individu("8949", "DURAND", "Michel", function=""), *DEFAULT_INDIVIDUS[1:])
    run, report = import_run(kind="sts", paths=[sts_file(tmp_path / "later", individus=on_leave)])
    membership = Membership.objects.get(user__external_id=f"sts:{UAI}:8949")
    assert membership.is_active and membership.leaving_since is None
    assert len(services_of(f"sts:{UAI}:8949")) == 3  # kept as they were
    lines = rejections(run)
    assert any(attr == "FONCTION" and "Aucune fonction" in reason for _f, _n, attr, reason in lines)
    assert any("ENSEIGNANT[@ID=8949]" in attr and "fonction ENS" in reason for _f, _n, attr, reason in lines)


# --- Bad records and bad files --------------------------------------------------------------------------------


def test_imports_sts_missing_individual_id_rejected_rest_imported(school, tmp_path):
    path = sts_file(tmp_path, individus=(individu(None, "SANSID", "Jean"), *DEFAULT_INDIVIDUS))
    run, report = import_run(kind="sts", paths=[path])
    assert run.status == ImportRun.Status.PARTIAL
    assert not User.objects.filter(last_name="SANSID").exists() and report.get("staff", "created") == 4
    assert any(attr == "INDIVIDU/@ID" and "manquant" in reason for _f, number, attr, reason in rejections(run))


def test_imports_sts_unknown_uai_rejects_the_file(school, tmp_path):
    run, report = import_run(kind="sts", paths=[sts_file(tmp_path, uai="0999999Z", name="sts_emp_0999999Z_2026.xml")])
    assert run.status == ImportRun.Status.FAILED and not User.objects.exists()
    [(file, record, attribute, reason)] = rejections(run)
    assert (file, record, attribute) == ("sts_emp_0999999Z_2026.xml", None, "UAJ")
    assert "Établissement 0999999Z inconnu de l'annuaire" in reason and "Fichier ignoré" in reason


def test_imports_sts_file_of_another_year_or_another_export_rejected(school, tmp_path):
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path, year="2025")])
    assert run.status == ImportRun.Status.FAILED and not User.objects.exists()
    assert "2025-2026" in rejections(run)[0][3] and "2026-2027" in rejections(run)[0][3]
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path / "edt", root="EDT_STS")])
    assert "logiciel d'emploi du temps" in rejections(run)[0][3]
    other = EstablishmentFactory(uai="0699002B")
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path)], establishment=other)
    assert run.status == ImportRun.Status.FAILED and not User.objects.exists()
    assert "pas de 0699002B" in rejections(run)[0][3]


def test_imports_sts_service_to_missing_teacher_and_unknown_subject_reported(school, tmp_path):
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    path = sts_file(tmp_path / "later", divisions=(
        division("6A", "6EME A", service("061300", "8949", "4242"), service("020100", "8950")),
        division("6B", "6EME B", service("999999", "8949")),  # subject missing from the nomenclature
    ))
    run, report = import_run(kind="sts", paths=[path])
    lines = rejections(run)
    assert any("ENSEIGNANT[@ID=4242]" in attr and "absent de la section INDIVIDUS" in reason
               for _f, _n, attr, reason in lines)
    assert any("CODE_MATIERE=999999" in attr and "absente de la nomenclature" in reason
               for _f, _n, attr, reason in lines)
    # His maths in 6B cannot be told from the file: his services are kept, none removed.
    assert services_of(f"sts:{UAI}:8949") == [("LCALA", None, "LAT6", False), ("MATHS", "6A", None, True),
                                              ("MATHS", "6B", None, False)]
    assert run.status == ImportRun.Status.PARTIAL and report.get("assignments", "deactivated") == 0


def test_imports_sts_broken_xml_keeps_earlier_records_and_marks_nobody(school, tmp_path):
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    path = sts_file(tmp_path / "later", individus=DEFAULT_INDIVIDUS[1:])  # Michel Durand no longer listed...
    path.write_text(path.read_text(encoding="utf-8")[:-300], encoding="utf-8")  # ...and the file cut short
    run, report = import_run(kind="sts", paths=[path])
    lines = rejections(run)
    assert any("illisible à partir d'ici" in reason for _f, _n, _a, reason in lines)
    assert any("pas mis à jour" in reason for _f, _n, _a, reason in lines)
    assert not any("absent de la section INDIVIDUS" in reason for _f, _n, _a, reason in lines)  # no noise
    assert report.get("staff", "unchanged") >= 1
    assert Membership.objects.get(user__external_id=f"sts:{UAI}:8949").leaving_since is None
    assert len(services_of(f"sts:{UAI}:8949")) == 3


def test_imports_sts_wrong_encoding_reported_not_crash(school, tmp_path):
    path = sts_file(tmp_path)
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))  # declared UTF-8, is Latin-1 (Hélène)
    run, report = import_run(kind="sts", paths=[path])
    assert any("illisible" in reason for _f, _n, _a, reason in rejections(run))
    assert User.objects.filter(external_id=f"sts:{UAI}:8949").exists()  # read before the bad byte
    assert not TeachingAssignment.objects.exists()


def test_imports_sts_declared_latin1_file_read(school, tmp_path):
    run, _report = import_run(kind="sts", paths=[sts_file(tmp_path, encoding="ISO-8859-1")])
    assert run.status == ImportRun.Status.SUCCEEDED
    assert User.objects.get(external_id=f"sts:{UAI}:8950").first_name == "Hélène"


@pytest.mark.parametrize("declaration, where", [
    ('<!ENTITY x SYSTEM "file:///etc/passwd">', "text"),
    ('<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">', "attribute"),
])
def test_imports_sts_entity_declarations_refuse_the_file(school, tmp_path, declaration, where):
    people = (individu("8949", "&x;" if where == "text" else "DURAND", "Michel"),)
    divisions = (division("6A", "6EME A", service("061300", "8949" if where == "text" else "&b;")),)
    path = sts_file(tmp_path, individus=people, divisions=divisions, groupes=(),
                    header=f"<!DOCTYPE STS_EDT [{declaration}]>\n")
    run, _report = import_run(kind="sts", paths=[path])
    assert run.status == ImportRun.Status.FAILED
    assert not User.objects.exists() and not SchoolClass.objects.exists()
    assert "Déclaration d'entités XML refusée" in rejections(run)[0][3]


def test_imports_sts_entity_reference_rejects_its_record_only(school, tmp_path):
    import_run(kind="sts", paths=[sts_file(tmp_path)])
    # An undeclared entity (a DOCTYPE naming an external DTD, never read) is left in the tree, never resolved.
    path = sts_file(tmp_path / "later", header='<!DOCTYPE STS_EDT SYSTEM "sts_emp.dtd">\n', divisions=(
        division("6A", "6EME &x;", service("061300", "8949")),  # a class naming Michel Durand, unreadable...
        division("6B", "6EME B", service("061300", "8950")),
    ), individus=(*DEFAULT_INDIVIDUS, individu("9100", "&x;", "Intrus")))
    run, _report = import_run(kind="sts", paths=[path])
    lines = rejections(run)
    assert sum("Entité XML refusée" in reason for _f, _n, _a, reason in lines) == 2
    assert not User.objects.filter(external_id=f"sts:{UAI}:9100").exists()
    # ...so none of his services is removed (maths in 6B included); Hélène Petit's follow the file.
    assert services_of(f"sts:{UAI}:8949") == [("LCALA", None, "LAT6", False), ("MATHS", "6A", None, True),
                                              ("MATHS", "6B", None, False)]
    assert services_of(f"sts:{UAI}:8950") == [("MATHS", "6B", None, False)]


def test_imports_sts_reader_frees_the_records_it_skips(tmp_path):
    divisions = [division(f"C{n}", f"Classe {n}", service("061300", "8949")) for n in range(60)]
    path = sts_file(tmp_path, divisions=divisions, individus=DEFAULT_INDIVIDUS)
    seen = 0
    for _number, element in iter_records(path, frozenset({"INDIVIDU"})):
        held = element.getroottree().getroot().find("DONNEES/STRUCTURE/DIVISIONS")
        assert len(held) <= 1 and all(len(kept) == 0 for kept in held)  # skipped divisions already freed
        seen += 1
    assert seen == len(DEFAULT_INDIVIDUS)


# --- The command ----------------------------------------------------------------------------------------------


def test_imports_command_sts_prints_report_and_dry_run(school, tmp_path, capsys):
    path = sts_file(tmp_path)
    call_command("import", "sts", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "Simulation" in out and "Personnels et enseignants : 4 créés" in out
    assert not User.objects.exists()
    call_command("import", "sts", str(path))
    assert "Services d'enseignement : 4 créés" in capsys.readouterr().out
    assert TeachingAssignment.objects.count() == 4
    Establishment.objects.filter(pk=school.pk).update(uai="0699002B")
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        call_command("import", "sts", str(path))
