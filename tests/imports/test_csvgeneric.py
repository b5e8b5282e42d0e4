"""Generic CSV import: the mapping contract (profiles, fields, header reading, guesses, checks) and the importer
(one profile per file, join key from the chosen column, idempotent, incremental, full files, malformed input)."""

import datetime

import pytest

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    StaffFunction,
    TeachingAssignment,
)
from preau.imports.csvgeneric import (
    FIELDS,
    PROFILES,
    CsvUnreadable,
    fields_for,
    guess_mapping,
    read_header,
    validate_options,
)
from preau.imports.models import ImportRun
from preau.imports.services import import_run

UAI = "0691234E"
PUPIL_HEADER = ["Identifiant", "Nom", "Prénom", "Date de naissance", "INE", "Classe", "Groupes", "Courriel"]
PUPIL_MAPPING = {"external_id": "Identifiant", "last_name": "Nom", "first_name": "Prénom",
                 "birth_date": "Date de naissance", "ine": "INE", "class_code": "Classe", "groups": "Groupes",
                 "email": "Courriel"}
GUARDIAN_MAPPING = {"external_id": "Identifiant", "last_name": "Nom", "first_name": "Prénom",
                    "pupil_external_ids": "Élèves", "relation": "Lien", "legal_authority": "Autorité parentale",
                    "phone": "Téléphone"}


def csv_file(tmp_path, name, rows, *, delimiter=";", encoding="utf-8", newline="\r\n") -> str:
    path = tmp_path / name
    text = newline.join(delimiter.join(row) for row in rows) + newline
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.fixture
def school(db):
    return Establishment.objects.create(uai=UAI, name="École Jules Ferry", kind=Establishment.Kind.ECOLE)


def pupils_file(tmp_path, *rows, name="eleves.csv", **kwargs):
    return csv_file(tmp_path, name, [PUPIL_HEADER, *rows], **kwargs)


def default_pupils():
    return [["1", "Martin", "Léa", "14/09/2018", "1234567890A", "CE1", "CHORALE, ANGLAIS", "lea@example.org"],
            ["2", "Bernard", "Hugo", "2018-03-02", "", "CE2", "", ""]]


def run_csv(paths, school, profile, mapping, **options):
    return import_run(kind="csv", paths=paths if isinstance(paths, list) else [paths], establishment=school,
                      options={"profile": profile, "mapping": mapping, **options})


def reasons(report):
    return [(r.record, r.attribute, r.reason) for r in report.rejections]


# --- The mapping contract -----------------------------------------------------------------------------------

def test_csv_contract_profiles_and_fields():
    assert set(PROFILES) == {"pupil", "guardian", "teacher", "staff"}
    assert str(PROFILES["pupil"]) == "Élèves"
    names = {field.name for field in FIELDS}
    assert {"external_id", "last_name", "first_name", "birth_date", "email", "phone", "ine", "class_code", "groups",
            "pupil_external_ids", "relation", "legal_authority", "functions", "classes"} <= names
    for field in FIELDS:
        assert field.label and field.help and field.required_for <= field.profiles
    assert all(field.required("guardian") for field in FIELDS if field.name == "pupil_external_ids")
    assert "class_code" in {field.name for field in fields_for("pupil")}
    assert "class_code" not in {field.name for field in fields_for("guardian")}


def test_csv_read_header_encodings_and_delimiters(tmp_path):
    expected = ["Nom", "Prénom", "Date de naissance"]
    for delimiter in (";", ",", "\t"):
        for encoding in ("utf-8", "utf-8-sig", "cp1252", "utf-16"):
            path = csv_file(tmp_path, "h.csv", [expected, ["Martin", "Léa", "01/02/2018"]], delimiter=delimiter,
                            encoding=encoding)
            assert read_header(path) == expected, (delimiter, encoding)
    path = csv_file(tmp_path, "quoted.csv", [['"Nom; usage"', '"Prénom"'], ["a", "b"]])
    assert read_header(path) == ["Nom; usage", "Prénom"]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "vide"),
    (b"\r\n\r\nNom;Prenom\r\n", "vide"),
    (b"PK\x03\x04\x14\x00\x06\x00binary", "binaire"),
    (b"Nom;Pr\x81nom\r\n", "illisibles"),
])
def test_csv_read_header_refuses_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CsvUnreadable) as caught:
        read_header(path)
    assert message in caught.value.reason


def test_csv_guess_mapping_ignores_case_accents_and_punctuation():
    header = ["N° élève", "NOM", "Prénom(s)", "date_naissance", "Numéro INE", "CLASSE", "E-mail", "Tél. portable"]
    assert guess_mapping(header, "pupil") == {
        "external_id": "N° élève", "last_name": "NOM", "first_name": "Prénom(s)", "birth_date": "date_naissance",
        "ine": "Numéro INE", "class_code": "CLASSE", "email": "E-mail", "phone": "Tél. portable"}
    guardian = guess_mapping(["Identifiant", "Nom", "Prénom", "Identifiant élève", "Lien de parenté"], "guardian")
    assert guardian == {"external_id": "Identifiant", "last_name": "Nom", "first_name": "Prénom",
                        "pupil_external_ids": "Identifiant élève", "relation": "Lien de parenté"}
    assert guess_mapping(["Colonne A", "Colonne B"]) == {}


def test_csv_validate_options_says_what_is_wrong():
    assert validate_options({"profile": "pupil", "mapping": PUPIL_MAPPING}, PUPIL_HEADER) == []
    assert "Profil inconnu" in validate_options({"profile": "parent", "mapping": {}}, PUPIL_HEADER)[0]
    errors = validate_options({"profile": "guardian", "mapping": {"external_id": "Identifiant", "last_name": "Nom",
                                                                  "first_name": "Prénom", "class_code": "Classe",
                                                                  "email": "Mail"}}, PUPIL_HEADER)
    assert any("ne s'applique pas" in error for error in errors)
    assert any("« Mail »" in error and "n'est pas dans l'en-tête" in error for error in errors)
    assert any("Identifiants des élèves" in error for error in errors)
    errors = validate_options({"profile": "pupil", "mapping": {"last_name": "Nom"}}, ["Nom", "Nom"])
    assert any("Plusieurs colonnes" in error for error in errors)
    assert any("« Identifiant »" in error for error in errors)


# --- Pupils ---------------------------------------------------------------------------------------------------

def test_csv_pupils_created_with_classes_groups_and_namespaced_keys(tmp_path, school):
    run, report = run_csv(pupils_file(tmp_path, *default_pupils()), school, "pupil", PUPIL_MAPPING)
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    lea = User.objects.get(external_id=f"csv:{UAI}:eleve:1")
    assert (lea.first_name, lea.last_name, lea.ine, lea.email) == ("Léa", "Martin", "1234567890A", "lea@example.org")
    assert lea.birth_date == datetime.date(2018, 9, 14) and not lea.has_usable_password()
    assert User.objects.get(external_id=f"csv:{UAI}:eleve:2").birth_date == datetime.date(2018, 3, 2)
    assert Membership.objects.get(user=lea, role=Role.PUPIL).establishment == school
    assert ClassEnrolment.objects.get(pupil=lea).school_class.code == "CE1"
    assert sorted(GroupMembership.objects.filter(pupil=lea).values_list("group__code", flat=True)) == [
        "ANGLAIS", "CHORALE"]
    assert report.get("pupils", "created") == 2 and report.get("classes", "created") == 2


def test_csv_pupils_twice_changes_nothing_and_dry_run_writes_nothing(tmp_path, school):
    path = pupils_file(tmp_path, *default_pupils())
    _run, dry = import_run(kind="csv", paths=[path], establishment=school, dry_run=True,
                           options={"profile": "pupil", "mapping": PUPIL_MAPPING})
    assert dry.get("pupils", "created") == 2 and not User.objects.filter(external_id__startswith="csv:").exists()
    run_csv(path, school, "pupil", PUPIL_MAPPING)
    users, enrolments = User.objects.count(), ClassEnrolment.objects.count()
    run, report = run_csv(path, school, "pupil", PUPIL_MAPPING)
    assert (User.objects.count(), ClassEnrolment.objects.count()) == (users, enrolments)
    assert report.get("pupils", "unchanged") == 2
    for outcomes in run.counts.values():
        assert outcomes["created"] == outcomes["updated"] == outcomes["deactivated"] == 0


def test_csv_pupils_move_class_change_groups_and_are_found_by_ine(tmp_path, school):
    run_csv(pupils_file(tmp_path, *default_pupils()), school, "pupil", PUPIL_MAPPING)
    lea = User.objects.get(external_id=f"csv:{UAI}:eleve:1")
    # The school's software renumbered Léa (new identifier), her INE still finds her; she moved to CE2.
    path = pupils_file(tmp_path, ["77", "Martin", "Léa", "14/09/2018", "1234567890A", "CE2", "ANGLAIS", ""],
                       name="eleves2.csv")
    _run, report = run_csv(path, school, "pupil", PUPIL_MAPPING)
    lea.refresh_from_db()
    assert lea.external_id == f"csv:{UAI}:eleve:1" and lea.email == ""
    assert list(ClassEnrolment.objects.filter(pupil=lea).values_list("school_class__code", flat=True)) == ["CE2"]
    assert list(GroupMembership.objects.filter(pupil=lea).values_list("group__code", flat=True)) == ["ANGLAIS"]
    assert report.get("pupils", "updated") == 1 and report.get("pupils", "created") == 0


def test_csv_full_file_marks_absent_pupils_leaving_partial_file_does_not(tmp_path, school):
    run_csv(pupils_file(tmp_path, *default_pupils()), school, "pupil", PUPIL_MAPPING)
    only_lea = pupils_file(tmp_path, default_pupils()[0], name="lea.csv")
    run_csv(only_lea, school, "pupil", PUPIL_MAPPING)  # not a full file: nobody leaves
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    _run, report = run_csv(only_lea, school, "pupil", PUPIL_MAPPING, full=True)
    hugo = Membership.objects.get(user__external_id=f"csv:{UAI}:eleve:2", role=Role.PUPIL)
    assert hugo.leaving_since is not None and hugo.is_active
    assert report.get("pupils", "leaving") == 1
    assert Membership.objects.get(user__external_id=f"csv:{UAI}:eleve:1").leaving_since is None
    # A full file that breaks off marks nobody.
    Membership.objects.update(leaving_since=None)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(";".join(PUPIL_HEADER).encode() + b"\r\n" + "1;Martin;Léa;;;CE1;;\r\n".encode()
                       + b"3;Dur\xe9;Zo\x81;;;CE1;;\r\n")
    _run, report = run_csv(str(broken), school, "pupil", PUPIL_MAPPING, full=True)
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    assert any("Import complet incomplet" in reason for _n, _a, reason in reasons(report))


def test_csv_rows_missing_the_join_key_or_names_are_rejected_the_rest_imported(tmp_path, school):
    path = pupils_file(tmp_path, ["", "Sans", "Identifiant", "", "", "CE1", "", ""],
                       ["3", "", "Zoé", "", "", "CE1", "", ""],
                       ["4", "Petit", "Louis", "", "", "CE1", "", ""])
    run, report = run_csv(path, school, "pupil", PUPIL_MAPPING)
    assert run.status == ImportRun.Status.PARTIAL
    lines = reasons(report)
    assert (2, "Identifiant", lines[0][2]) == lines[0] and "Identifiant manquant" in lines[0][2]
    assert lines[1][:2] == (3, "Nom") and "Nom de famille manquant" in lines[1][2]
    assert User.objects.filter(external_id__startswith="csv:").count() == 1


def test_csv_bad_values_are_reported_and_ignored(tmp_path, school):
    long_name = "A" * 151
    path = pupils_file(tmp_path, ["1", "Martin", "Léa", "31/02/2018", "12345", "C" * 33, "G" * 40, "pas-une-adresse"],
                       ["2", long_name, "Hugo", "01/01/2099", "", "CE1", "", "x@" + "e" * 260 + ".fr"],
                       ["3", "Durand", "Zoé", "01/01/2099", "", "CE1", "", "x@" + "e" * 260 + ".fr"])
    _run, report = run_csv(path, school, "pupil", PUPIL_MAPPING)
    by_record = {}
    for number, attribute, reason in reasons(report):
        by_record.setdefault(number, []).append((attribute, reason))
    assert {attribute for attribute, _r in by_record[2]} == {"Date de naissance", "INE", "Classe", "Groupes",
                                                             "Courriel"}
    assert any("Date de naissance illisible ou improbable « 31/02/2018 »" in reason for _a, reason in by_record[2])
    assert by_record[3] == [("Nom", "Nom trop long (151 caractères, 150 au plus). Enregistrement ignoré.")]
    assert {attribute for attribute, _r in by_record[4]} == {"Date de naissance", "Courriel"}
    lea = User.objects.get(external_id=f"csv:{UAI}:eleve:1")
    assert (lea.birth_date, lea.ine, lea.email) == (None, "", "")
    assert not ClassEnrolment.objects.filter(pupil=lea).exists()
    assert not User.objects.filter(external_id=f"csv:{UAI}:eleve:2").exists()


def test_csv_formula_looking_cells_are_stored_as_plain_text(tmp_path, school):
    path = pupils_file(tmp_path, ["=1+1", "=cmd|' /C calc'!A0", "@SUM(A1)", "", "", "+CE1", "", ""])
    run_csv(path, school, "pupil", PUPIL_MAPPING)
    user = User.objects.get(external_id=f"csv:{UAI}:eleve:=1+1")
    assert (user.last_name, user.first_name) == ("=cmd|' /C calc'!A0", "@SUM(A1)")
    assert ClassEnrolment.objects.get(pupil=user).school_class.code == "+CE1"


def test_csv_latin1_and_utf8_files_read_the_same(tmp_path, school):
    for encoding in ("cp1252", "utf-8-sig", "utf-8"):
        path = pupils_file(tmp_path, ["1", "Lefèvre", "Zoé", "", "", "CE1", "", ""], name=f"{encoding}.csv",
                           encoding=encoding, delimiter="," if encoding == "utf-8" else ";")
        _run, report = run_csv(path, school, "pupil", PUPIL_MAPPING)
        assert not report.rejections, (encoding, report.lines())
        user = User.objects.get(external_id=f"csv:{UAI}:eleve:1")
        assert (user.last_name, user.first_name) == ("Lefèvre", "Zoé")


def test_csv_undecodable_bytes_stop_the_file_and_are_reported(tmp_path, school):
    path = tmp_path / "mixed.csv"
    path.write_bytes((";".join(PUPIL_HEADER) + "\r\n1;Lefèvre;Zoé;;;CE1;;\r\n").encode("utf-8")
                     + b"2;Mart\xe9;L\xe9a;;;CE1;;\r\n3;Petit;Louis;;;CE1;;\r\n")
    _run, report = run_csv(str(path), school, "pupil", PUPIL_MAPPING)
    assert User.objects.filter(external_id__startswith="csv:").count() == 1
    (rejection,) = report.rejections
    assert rejection.record == 3 and "Ligne 3 : caractères illisibles en UTF-8" in rejection.reason


def test_csv_wrong_delimiter_or_unknown_columns_refuse_the_file(tmp_path, school):
    path = csv_file(tmp_path, "tab.csv", [["Identifiant|Nom|Prénom"], ["1|Martin|Léa"]])
    run, report = run_csv(path, school, "pupil", {"external_id": "Identifiant", "last_name": "Nom",
                                                  "first_name": "Prénom"})
    assert run.status == ImportRun.Status.FAILED
    assert all(r.record is None and "n'est pas dans l'en-tête" in r.reason for r in report.rejections)
    # A value holding the delimiter, unquoted: that row only is refused.
    path = pupils_file(tmp_path, ["1", "Martin", "Léa", "", "", "CE1", "", ""],
                       ["2", "Du", "Pont", "Hugo", "", "", "CE1", "", "hugo@example.org"], name="shifted.csv")
    _run, report = run_csv(path, school, "pupil", PUPIL_MAPPING)
    assert [(r.record, "séparateur" in r.reason) for r in report.rejections] == [(3, True)]


def test_csv_needs_an_establishment(tmp_path, db):
    run, report = import_run(kind="csv", paths=[pupils_file(tmp_path, *default_pupils())],
                             options={"profile": "pupil", "mapping": PUPIL_MAPPING})
    assert run.status == ImportRun.Status.FAILED
    assert "Aucun établissement choisi" in report.rejections[0].reason


# --- Guardians, teachers, staff -------------------------------------------------------------------------------

def guardians_file(tmp_path, *rows, name="responsables.csv"):
    header = ["Identifiant", "Nom", "Prénom", "Élèves", "Lien", "Autorité parentale", "Téléphone"]
    return csv_file(tmp_path, name, [header, *rows])


def test_csv_guardians_linked_added_and_removed(tmp_path, school):
    run_csv(pupils_file(tmp_path, *default_pupils()), school, "pupil", PUPIL_MAPPING)
    path = guardians_file(tmp_path, ["R1", "Martin", "Claire", "1, 2", "Mère", "oui", "06 12 34 56 78"],
                          ["R2", "Martin", "Paul", "1", "père", "Non", ""],
                          ["R3", "Dupuis", "Anne", "99", "Tante", "", ""],
                          ["R4", "Orphelin", "Jean", "", "", "", ""])
    _run, report = run_csv(path, school, "guardian", GUARDIAN_MAPPING)
    claire = User.objects.get(external_id=f"csv:{UAI}:resp:R1")
    assert claire.phone == "06 12 34 56 78"
    links = {link.pupil.external_id: link for link in GuardianLink.objects.filter(guardian=claire)}
    assert set(links) == {f"csv:{UAI}:eleve:1", f"csv:{UAI}:eleve:2"}
    assert links[f"csv:{UAI}:eleve:1"].relation == GuardianLink.Relation.MOTHER
    paul_link = GuardianLink.objects.get(guardian__external_id=f"csv:{UAI}:resp:R2")
    assert (paul_link.relation, paul_link.legal_authority) == ("father", False)
    assert Membership.objects.filter(user=claire, role=Role.GUARDIAN, establishment=school, is_active=True).exists()
    lines = reasons(report)
    assert lines[0][:2] == (4, "Élèves") and "Élève « 99 » inconnu" in lines[0][2]
    assert lines[1][:2] == (4, "Élèves") and "Aucun des élèves indiqués" in lines[1][2]
    assert lines[2][:2] == (5, "Élèves") and "Aucun des élèves" in lines[2][2]
    assert not User.objects.filter(external_id__in=[f"csv:{UAI}:resp:R3", f"csv:{UAI}:resp:R4"]).exists()
    # Next file: Claire is only Hugo's guardian now; Paul is listed with no known pupil any more.
    path = guardians_file(tmp_path, ["R1", "Martin", "Claire", "2", "Mère", "oui", ""],
                          ["R2", "Martin", "Paul", "", "père", "Non", ""], name="responsables2.csv")
    _run, report = run_csv(path, school, "guardian", GUARDIAN_MAPPING)
    assert list(GuardianLink.objects.filter(guardian=claire).values_list("pupil__external_id", flat=True)) == [
        f"csv:{UAI}:eleve:2"]
    assert not GuardianLink.objects.filter(guardian__external_id=f"csv:{UAI}:resp:R2").exists()
    assert not Membership.objects.get(user__external_id=f"csv:{UAI}:resp:R2", role=Role.GUARDIAN).is_active
    assert report.get("links", "deactivated") == 2
    # The same file again changes nothing.
    _run, report = run_csv(path, school, "guardian", GUARDIAN_MAPPING)
    assert report.get("links", "created") == report.get("links", "deactivated") == 0


def test_csv_teachers_with_services_and_staff_with_functions(tmp_path, school):
    header = ["Id", "Nom", "Prénom", "Courriel", "Classes", "Groupes", "PP"]
    mapping = {"external_id": "Id", "last_name": "Nom", "first_name": "Prénom", "email": "Courriel",
               "classes": "Classes", "teaching_groups": "Groupes", "main_classes": "PP"}
    path = csv_file(tmp_path, "profs.csv", [header, ["T1", "Durand", "Paul", "paul@example.org",
                                                     "CM1, CM2:ANGL, TROP-LONG-CODE-DE-CLASSE-AU-DELA-32:X",
                                                     "CHORALE:MUS", "CM1"]])
    _run, report = run_csv(path, school, "teacher", mapping)
    paul = User.objects.get(external_id=f"csv:{UAI}:pers:T1")
    assert Membership.objects.filter(user=paul, role=Role.TEACHER, establishment=school).exists()
    services = {(a.school_class.code if a.school_class else a.group.code, a.subject.code, a.is_main_teacher)
                for a in TeachingAssignment.objects.filter(teacher=paul)}
    assert services == {("CM1", "POLY", True), ("CM2", "ANGL", False), ("CHORALE", "MUS", False)}
    assert [r.attribute for r in report.rejections] == ["Classes"]
    path = csv_file(tmp_path, "profs2.csv", [header, ["T1", "Durand", "Paul", "paul@example.org", "CM2:ANGL", "",
                                                      ""]])
    run_csv(path, school, "teacher", mapping)
    assert list(TeachingAssignment.objects.filter(teacher=paul).values_list("school_class__code", flat=True)) == [
        "CM2"]

    staff_path = csv_file(tmp_path, "personnels.csv", [["Id", "Nom", "Prénom", "Fonction"],
                                                       ["S1", "Leroy", "Anne", "Directrice, Secrétariat"],
                                                       ["S2", "Roux", "Marc", "Jardinier"]])
    _run, report = run_csv(staff_path, school, "staff", {"external_id": "Id", "last_name": "Nom",
                                                         "first_name": "Prénom", "functions": "Fonction"})
    assert Membership.objects.get(user__external_id=f"csv:{UAI}:pers:S1", role=Role.STAFF).functions == [
        StaffFunction.DIRECTOR, StaffFunction.SECRETARY]
    assert Membership.objects.get(user__external_id=f"csv:{UAI}:pers:S2").functions == [StaffFunction.OTHER]
    assert "Fonction inconnue « Jardinier »" in report.rejections[0].reason


def test_csv_same_number_in_two_profiles_or_two_schools_is_two_people(tmp_path, school):
    other = Establishment.objects.create(uai="0699999Z", name="École B", kind=Establishment.Kind.ECOLE)
    path = pupils_file(tmp_path, ["1", "Martin", "Léa", "", "", "CE1", "", ""])
    run_csv(path, school, "pupil", PUPIL_MAPPING)
    run_csv(path, other, "pupil", PUPIL_MAPPING)
    run_csv(csv_file(tmp_path, "p.csv", [["Id", "Nom", "Prénom"], ["1", "Durand", "Paul"]]), school, "teacher",
            {"external_id": "Id", "last_name": "Nom", "first_name": "Prénom"})
    assert set(User.objects.filter(external_id__startswith="csv:").values_list("external_id", flat=True)) == {
        f"csv:{UAI}:eleve:1", "csv:0699999Z:eleve:1", f"csv:{UAI}:pers:1"}


def test_csv_unclosed_quote_running_away_stops_the_file(tmp_path, school):
    path = tmp_path / "quote.csv"
    body = ";".join(PUPIL_HEADER) + "\r\n1;Martin;Léa;;;CE1;;\r\n2;\"Bernard;Hugo;;;CE1;;\r\n"
    path.write_bytes((body + "x;y\r\n" * 30000).encode("utf-8"))
    _run, report = run_csv(str(path), school, "pupil", PUPIL_MAPPING, full=True)
    assert User.objects.filter(external_id__startswith="csv:").count() == 1
    assert report.rejections[0].record == 3 and "guillemet" in report.rejections[0].reason
    assert "Import complet incomplet" in report.rejections[1].reason
