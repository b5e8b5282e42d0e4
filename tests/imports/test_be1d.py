"""BE1D / ONDE import: hand-built extractions (pupils, teachers, guardians) with their real headers, in Latin-1
with `;`; derived join keys, idempotence, class moves, guardian links, full files, malformed input."""

import datetime
import io

import pytest
from django.core.management import call_command

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GuardianLink,
    Membership,
    Role,
    SchoolClass,
    StaffFunction,
    Subject,
    TeachingAssignment,
)
from preau.imports.models import ImportRun
from preau.imports.services import import_run

UAI = "0691234E"
# The Base élèves extraction (CSVExtraction-eleves.csv), and its ONDE successor.
PUPIL_HEADER = ["Nom Elève", "Nom d'usage Elève", "Prénom Elève", "Date naissance", "Sexe", "Adresse1", "Cp1",
                "Commune1", "Pays1", "Adresse2", "Cp2", "Commune2", "Pays2", " Cycle", "Niveau", "Classe",
                "Attestation fournie", "Autorisations associations", "Autorisations photos", "Décision de passage"]
ONDE_PUPIL_HEADER = ["Nom élève", "Nom d'usage élève", "Prénom élève", "Date naissance", "Sexe", "INE", "Adresse1",
                     "Cp1", "Commune1", "Pays1", "Adresse2", "Cp2", "Commune2", "Pays2", " Cycle", "Niveau",
                     "Libellé classe", "Identifiant classe", "Attestation fournie", "Autorisation associations",
                     "Autorisation photo", "Décision de passage"]
TEACHER_HEADER = ["Civilité", "Nom usage", "Nom", "Prénom", "Adresse", "CP", "Commune", "Pays", "Courriel",
                  "Téléphone domicile", "Téléphone portable", "Directeur", "Classe"]
CHILD = ["Nom d'usage enfant", "Nom de famille enfant", "Prénom enfant", "Classes enfants"]
GUARDIAN_HEADER = ["Civilité Responsable", "Nom usage responsable", "Nom responsable", "Prénom responsable",
                   "Adresse responsable", "CP responsable", "Commune responsable", "Pays", "Courriel",
                   "Téléphone domicile", "Téléphone travail", "Téléphone portable", *CHILD, *CHILD]
CP_CE1 = "01 COURS PREPARATOIRE-COURS ELEMENTAIRE 1"


def row(header, **values):
    """A row in the header's order, from values keyed by header (spaces and apostrophes as underscores)."""
    keys = {column: column.strip().replace(" ", "_").replace("'", "_") for column in header}
    return [values.get(keys[column], "") for column in header]


def pupil(last, first, born, level="CP", classe=CP_CE1, usage="", **extra):
    return row(PUPIL_HEADER, Nom_Elève=last, Nom_d_usage_Elève=usage, Prénom_Elève=first, Date_naissance=born,
               Sexe="F", Niveau=level, Classe=classe, Cycle="CYCLE II", **extra)


def teacher(last, first, classes=(), director="non", email=""):
    values = row(TEACHER_HEADER, Civilité="MME", Nom=last, Prénom=first, Courriel=email, Directeur=director)
    values[-1:] = list(classes)[:1] or [""]
    return values + list(classes)[1:]


def guardian(last, first, *children, email="", mobile=""):
    values = row(GUARDIAN_HEADER[:12], Civilité_Responsable="MME", Nom_responsable=last, Prénom_responsable=first,
                 Courriel=email, Téléphone_portable=mobile)
    for child in children:
        child_last, child_first, child_class, child_usage = (*child, "")[:4]
        values += [child_usage, child_last, child_first, child_class]
    return values + [""] * (len(GUARDIAN_HEADER) - len(values))


def write(tmp_path, name, header, rows, encoding="cp1252", quote=True):
    def cell(value):
        return f'"{value}"' if quote and value else value

    lines = [";".join(cell(value) for value in line) for line in [header, *rows]]
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return str(path)


@pytest.fixture
def school(db):
    return Establishment.objects.create(uai=UAI, name="École Jules Ferry", kind=Establishment.Kind.ECOLE)


def school_files(tmp_path, pupils=None, teachers=None, guardians=None, prefix=""):
    return [
        write(tmp_path, f"{prefix}CSVExtraction-responsables.csv", GUARDIAN_HEADER, guardians if guardians is not None
              else [guardian("MARTIN", "Claire", ("MARTIN", "Léa", CP_CE1), ("MARTIN", "Tom", "CM2"),
                             email="claire@example.org", mobile="0612345678"),
                    guardian("BERNARD", "Marc", ("BERNARD", "Hugo", CP_CE1, "BERNARD-PETIT"))]),
        write(tmp_path, f"{prefix}CSVExtraction-eleves.csv", PUPIL_HEADER, pupils if pupils is not None else [
            pupil("MARTIN", "Léa", "14/09/2019", level="CE1"),
            pupil("MARTIN", "Tom", "2015-03-02", level="CM2", classe="CM2"),
            pupil("BERNARD", "Hugo", "01/02/2020", usage="BERNARD-PETIT")]),
        write(tmp_path, f"{prefix}CSVExtraction-enseignants.csv", TEACHER_HEADER, teachers if teachers is not None
              else [teacher("DURAND", "Paul", [CP_CE1], director="oui", email="paul.durand@ac-lyon.fr"),
                    teacher("LEROY", "Anne", ["CM2", "CM1"])]),
    ]


def run_be1d(paths, school, **kwargs):
    return import_run(kind="be1d", paths=paths, establishment=school, **kwargs)


def user(first, last):
    return User.objects.get(first_name=first, last_name=last)


def test_be1d_school_files_create_the_directory(tmp_path, school):
    run, report = run_be1d(school_files(tmp_path), school)
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    lea = user("Léa", "MARTIN")
    assert lea.external_id.startswith(f"be1d:{UAI}:p:") and lea.birth_date == datetime.date(2019, 9, 14)
    assert not lea.has_usable_password() and lea.activated_at is None
    assert user("Tom", "MARTIN").birth_date == datetime.date(2015, 3, 2)
    assert user("Hugo", "BERNARD-PETIT").external_id.startswith(f"be1d:{UAI}:p:")  # the name in use is shown
    cp_ce1 = SchoolClass.objects.get(label=CP_CE1)
    assert len(cp_ce1.code) <= 32 and cp_ce1.code.startswith("01 COURS PREPARATOIRE")
    assert cp_ce1.level == "CE1" and cp_ce1.establishment == school and cp_ce1.school_year.is_current
    assert ClassEnrolment.objects.get(pupil=lea).school_class == cp_ce1
    assert Membership.objects.get(user=lea, role=Role.PUPIL).establishment == school
    paul = user("Paul", "DURAND")
    assert paul.email == "paul.durand@ac-lyon.fr" and paul.external_id.startswith(f"be1d:{UAI}:e:")
    assert Membership.objects.get(user=paul, role=Role.STAFF).functions == [StaffFunction.DIRECTOR]
    assert {(a.school_class.label, a.subject.code, a.is_main_teacher)
            for a in TeachingAssignment.objects.filter(teacher__in=[paul, user("Anne", "LEROY")])} == {
        (CP_CE1, "POLY", True), ("CM2", "POLY", True), ("CM1", "POLY", True)}
    assert not Membership.objects.filter(user__first_name="Anne", role=Role.STAFF).exists()
    claire = user("Claire", "MARTIN")
    assert (claire.email, claire.phone) == ("claire@example.org", "0612345678")
    assert claire.external_id.startswith(f"be1d:{UAI}:r:")
    assert set(GuardianLink.objects.filter(guardian=claire).values_list("pupil__first_name", flat=True)) == {
        "Léa", "Tom"}
    # The child is named by family name in the guardians' file, shown by the name in use.
    assert GuardianLink.objects.get(guardian__first_name="Marc").pupil == user("Hugo", "BERNARD-PETIT")
    assert Membership.objects.filter(user=claire, role=Role.GUARDIAN, establishment=school, is_active=True).exists()
    assert report.get("pupils", "created") == 3 and report.get("guardians", "created") == 2
    assert report.get("staff", "created") == 2 and report.get("links", "created") == 3


def test_be1d_twice_changes_nothing_and_dry_run_writes_nothing(tmp_path, school):
    files = school_files(tmp_path)
    _run, dry = run_be1d(files, school, dry_run=True)
    assert dry.get("pupils", "created") == 3 and not User.objects.exists()
    run_be1d(files, school)
    counts = (User.objects.count(), GuardianLink.objects.count(), ClassEnrolment.objects.count(),
              TeachingAssignment.objects.count(), Membership.objects.filter(is_active=True).count())
    # Re-saved in UTF-8 by a spreadsheet, under other names: the same people.
    again = school_files(tmp_path, prefix="copie-")
    for path in again:
        with open(path, encoding="cp1252") as source:
            text = source.read()
        with open(path, "w", encoding="utf-8-sig") as target:
            target.write(text)
    run, report = run_be1d(again, school)
    assert (User.objects.count(), GuardianLink.objects.count(), ClassEnrolment.objects.count(),
            TeachingAssignment.objects.count(), Membership.objects.filter(is_active=True).count()) == counts
    assert not report.rejections, report.lines()
    for kind, outcomes in run.counts.items():
        assert outcomes["created"] == outcomes["updated"] == outcomes["deactivated"] == outcomes["leaving"] == 0, (
            kind, outcomes)


def test_be1d_next_extraction_moves_classes_links_and_marks_the_absent_leaving(tmp_path, school):
    run_be1d(school_files(tmp_path), school)
    lea, tom = user("Léa", "MARTIN"), user("Tom", "MARTIN")
    # Next year's extraction: Léa in CE2, Tom gone to collège, a new pupil; Claire keeps Léa only and gets Zoé;
    # Marc's family left; Anne left, a new teacher came.
    files = school_files(
        tmp_path, prefix="n-",
        pupils=[pupil("MARTIN", "Léa", "14/09/2019", level="CE2", classe="CE2"),
                pupil("MARTIN", "Zoé", "03/03/2021", level="CP", classe="CP"),
                pupil("BERNARD", "Hugo", "01/02/2020", usage="BERNARD-PETIT")],
        teachers=[teacher("DURAND", "Paul", ["CE2"], director="non"), teacher("ROUX", "Marc", ["CP"])],
        guardians=[guardian("MARTIN", "Claire", ("MARTIN", "Léa", "CE2"), ("MARTIN", "Zoé", "CP"))])
    _run, report = run_be1d(files, school)
    assert list(ClassEnrolment.objects.filter(pupil=lea).values_list("school_class__label", flat=True)) == ["CE2"]
    claire = user("Claire", "MARTIN")
    assert set(GuardianLink.objects.filter(guardian=claire).values_list("pupil__first_name", flat=True)) == {
        "Léa", "Zoé"}
    assert report.get("links", "created") == 1 and report.get("links", "deactivated") == 1
    leaving = set(Membership.objects.filter(leaving_since__isnull=False).values_list("user__first_name", "role"))
    assert leaving == {("Tom", Role.PUPIL), ("Anne", Role.TEACHER), ("Marc", Role.GUARDIAN)}
    assert report.get("pupils", "leaving") == report.get("staff", "leaving") == report.get("guardians", "leaving") == 1
    assert Membership.objects.get(user=tom, role=Role.PUPIL).is_active  # deactivated after the grace period only
    paul = user("Paul", "DURAND")
    assert not Membership.objects.get(user=paul, role=Role.STAFF).is_active  # no longer director
    assert list(TeachingAssignment.objects.filter(teacher=paul).values_list("school_class__label", flat=True)) == [
        "CE2"]
    # Listed again: no longer leaving.
    run_be1d(school_files(tmp_path, prefix="r-"), school)
    assert Membership.objects.get(user=tom, role=Role.PUPIL).leaving_since is None


def test_be1d_files_that_are_not_full_lists_mark_nobody(tmp_path, school):
    run_be1d(school_files(tmp_path), school)
    pupils = write(tmp_path, "classe.csv", PUPIL_HEADER, [pupil("MARTIN", "Léa", "14/09/2019")])
    run_be1d([pupils], school, options={"full": False})
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    # A full pupils' file that breaks off (undecodable bytes) keeps the rows before, marks nobody.
    broken = tmp_path / "broken.csv"
    broken.write_bytes((";".join(PUPIL_HEADER) + "\r\n" + ";".join(pupil("MARTIN", "Léa", "14/09/2019"))
                        + "\r\n").encode("cp1252") + b"MARTIN;;Tom\x81;02/03/2015\r\n")
    _run, report = run_be1d([str(broken)], school)
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    lines = [(r.record, r.reason) for r in report.rejections]
    assert lines[0][0] == 3 and "Ligne 3 : caractères illisibles en Windows-1252" in lines[0][1]
    assert "Import complet incomplet" in lines[1][1]


def test_be1d_onde_layout_with_ine_finds_a_pupil_whose_name_was_corrected(tmp_path, school):
    def onde(last, first, ine):
        return row(ONDE_PUPIL_HEADER, Nom_élève=last, Prénom_élève=first, Date_naissance="01/01/2019", INE=ine,
                   Niveau="CE1", Libellé_classe="Classe de M Machin", Identifiant_classe="99999")

    path = write(tmp_path, "onde.csv", ONDE_PUPIL_HEADER, [onde("MARTIN", "Lea", "1111111111A")], quote=False)
    run, report = run_be1d([path], school)
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    lea = User.objects.get(ine="1111111111A")
    assert ClassEnrolment.objects.get(pupil=lea).school_class.label == "Classe de M Machin"
    path = write(tmp_path, "onde2.csv", ONDE_PUPIL_HEADER, [onde("MARTIN", "Léa", "1111111111A")], quote=False)
    _run, report = run_be1d([path], school)
    assert User.objects.filter(ine="1111111111A").count() == 1
    lea.refresh_from_db()
    assert lea.first_name == "Léa" and report.get("pupils", "updated") == 1


def test_be1d_malformed_rows_are_reported_the_rest_imported(tmp_path, school):
    pupils = write(tmp_path, "eleves.csv", PUPIL_HEADER, [
        pupil("MARTIN", "Léa", "14/09/2019"),
        pupil("SANSDATE", "Jules", ""),
        pupil("DATE", "Fausse", "31/02/2019"),
        pupil("FUTUR", "Né", "01/01/2099"),
        pupil("", "Anonyme", "01/01/2019"),
        pupil("MARTIN", "Léa", "14/09/2019", classe="CM2"),
        pupil("N" * 151, "Long", "01/01/2019"),
        pupil("=cmd|' /C calc'!A0", "@SUM(1+1)", "01/01/2019", classe="+CP"),
    ])
    run, report = run_be1d([pupils], school)
    assert run.status == ImportRun.Status.PARTIAL
    lines = {r.record: (r.attribute, r.reason) for r in report.rejections}
    assert lines[3][0] == "Date naissance" and "Date de naissance manquante" in lines[3][1]
    assert "« 31/02/2019 »" in lines[4][1] and "« 01/01/2099 »" in lines[5][1]
    assert lines[6][0] == "Nom Elève" and "Nom manquant" in lines[6][1]
    assert "en double dans le fichier" in lines[7][1] and "ligne 2" in lines[7][1]
    assert lines[8] == ("Nom Elève", "Nom trop long (151 caractères, 150 au plus). Enregistrement ignoré.")
    formula = User.objects.get(first_name="@SUM(1+1)")
    assert formula.last_name == "=cmd|' /C calc'!A0"
    assert ClassEnrolment.objects.get(pupil=formula).school_class.label == "+CP"
    assert User.objects.count() == 2


def test_be1d_guardians_pointing_to_missing_pupils(tmp_path, school):
    run_be1d(school_files(tmp_path), school)
    path = write(tmp_path, "responsables.csv", GUARDIAN_HEADER, [
        guardian("MARTIN", "Claire", ("MARTIN", "Léa", CP_CE1), ("MARTIN", "Inconnu", "CM1")),
        guardian("PERSONNE", "Jean", ("NULLE", "Part", "CP")),
    ])
    _run, report = run_be1d([path], school, options={"full": False})
    lines = [(r.record, r.attribute, r.reason) for r in report.rejections]
    assert lines[0][:2] == (2, "Prénom enfant") and "« Inconnu MARTIN (CM1) » introuvable" in lines[0][2]
    assert lines[1][:2] == (3, "Prénom enfant") and "Part NULLE" in lines[1][2]
    assert lines[2][:2] == (3, "Prénom enfant") and "responsable ignoré" in lines[2][2]
    assert not User.objects.filter(first_name="Jean").exists()
    claire = user("Claire", "MARTIN")
    assert list(GuardianLink.objects.filter(guardian=claire).values_list("pupil__first_name", flat=True)) == ["Léa"]


def test_be1d_homonym_guardians_of_different_children_stay_two_people(tmp_path, school):
    pupils = [pupil("MARTIN", "Léa", "14/09/2019"), pupil("DURAND", "Hugo", "01/02/2020")]
    guardians = [guardian("MARTIN", "Marie", ("MARTIN", "Léa", CP_CE1)),
                 guardian("MARTIN", "Marie", ("DURAND", "Hugo", CP_CE1))]
    run_be1d(school_files(tmp_path, pupils=pupils, guardians=guardians, teachers=[]), school)
    maries = User.objects.filter(first_name="Marie")
    assert maries.count() == 2
    assert {tuple(GuardianLink.objects.filter(guardian=m).values_list("pupil__first_name", flat=True))
            for m in maries} == {("Léa",), ("Hugo",)}
    # The same files again: each Marie is found again through her own child.
    _run, report = run_be1d(school_files(tmp_path, pupils=pupils, guardians=guardians, teachers=[], prefix="b"),
                            school)
    assert User.objects.filter(first_name="Marie").count() == 2 and report.get("guardians", "unchanged") == 2


def test_be1d_guardian_with_more_children_than_header_groups(tmp_path, school):
    pupils = [pupil("MARTIN", name, f"0{day}/01/2019") for day, name in enumerate(["Léa", "Tom", "Zoé"], start=1)]
    row_cells = guardian("MARTIN", "Claire", ("MARTIN", "Léa", CP_CE1), ("MARTIN", "Tom", CP_CE1))
    row_cells += ["", "MARTIN", "Zoé", CP_CE1]
    run_be1d(school_files(tmp_path, pupils=pupils, guardians=[row_cells], teachers=[]), school)
    assert set(GuardianLink.objects.values_list("pupil__first_name", flat=True)) == {"Léa", "Tom", "Zoé"}


def test_be1d_unknown_header_and_missing_establishment_are_refused(tmp_path, school):
    wrong = write(tmp_path, "wrong.csv", ["Col1", "Col2"], [["a", "b"]])
    comma = tmp_path / "comma.csv"
    comma.write_text(",".join(TEACHER_HEADER[:4]) + "\n,,DURAND,Paul\n", encoding="cp1252")
    run, report = run_be1d([wrong, str(comma)], school)
    assert run.status == ImportRun.Status.FAILED
    assert [r.file for r in report.rejections] == ["wrong.csv", "comma.csv"]
    assert all("En-tête non reconnu" in r.reason for r in report.rejections)
    run, report = import_run(kind="be1d", paths=school_files(tmp_path))
    assert run.status == ImportRun.Status.FAILED and "Aucun établissement choisi" in report.rejections[0].reason
    assert not User.objects.exists()


def test_be1d_keeps_services_typed_by_hand_and_runs_from_the_command_line(tmp_path, school):
    out = io.StringIO()
    call_command("import", "be1d", *school_files(tmp_path), "--uai", UAI, stdout=out)
    out = out.getvalue()
    assert "Élèves : 3 créés" in out and "Aucun rejet." in out
    anne = user("Anne", "LEROY")
    english = Subject.objects.create(establishment=school, code="ANGL", label="Anglais")
    cm1 = SchoolClass.objects.get(label="CM1")
    TeachingAssignment.objects.create(teacher=anne, establishment=school, school_year=cm1.school_year,
                                      subject=english, school_class=cm1)
    run_be1d(school_files(tmp_path, prefix="again-"), school)
    assert {(a.subject.code, a.school_class.label) for a in TeachingAssignment.objects.filter(teacher=anne)} == {
        ("POLY", "CM2"), ("POLY", "CM1"), ("ANGL", "CM1")}
