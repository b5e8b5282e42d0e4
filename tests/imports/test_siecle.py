"""SIECLE / BEE import: hand-built BEE_ELEVES / BEE_RESPONSABLES / Structures / Nomenclature files and CSV, malformed
ones, idempotence, updates, leaving, dry run, the command line, and the real fixtures in ../shared/testdata/siecle."""

import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Mef,
    Membership,
    Role,
    SchoolClass,
    SchoolYear,
    TeachingGroup,
)
from preau.imports.models import ImportRejection, ImportRun, NationalSubject
from preau.imports.services import import_run
from preau.imports.xmlstream import iter_at_depth

pytestmark = pytest.mark.django_db

REAL_SIECLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "siecle"
UAI = "0699001A"


def current_start() -> int:
    today = timezone.localdate()
    return today.year if today.month >= 8 else today.year - 1


def past(days=30) -> str:
    return (timezone.localdate() - datetime.timedelta(days=days)).strftime("%d/%m/%Y")


def future(days=30) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).strftime("%d/%m/%Y")


@pytest.fixture
def school():
    return Establishment.objects.create(uai=UAI, name="Collège Jean Moulin", kind="college")


# --- File builders ---------------------------------------------------------------------------------------------

def leaf(tag, value):
    return f"<{tag}>{value}</{tag}>" if value is not None else ""


def eleve(eleve_id, *, ine="", last="MARTIN", first="Léa", usage="", birth="14/09/2013", mef="10110001110",
          exit=None):
    attrs = f' ELEVE_ID="{eleve_id}"' if eleve_id else ""
    return (f"<ELEVE{attrs} ELENOET=\"{eleve_id}\">" + leaf("ID_NATIONAL", ine) + leaf("NOM_DE_FAMILLE", last)
            + leaf("NOM_USAGE", usage) + leaf("PRENOM", first) + leaf("PRENOM2", "Marie") + leaf("DATE_NAISS", birth)
            + leaf("CODE_SEXE", "2") + leaf("CODE_MEF", mef) + leaf("DATE_SORTIE", exit) + "</ELEVE>")


def structures(eleve_id, *codes):
    """codes: "5B" (a division) or "G:LATIN" (a group)."""
    items = "".join(
        f"<STRUCTURE><CODE_STRUCTURE>{code.removeprefix('G:')}</CODE_STRUCTURE>"
        f"<TYPE_STRUCTURE>{'G' if code.startswith('G:') else 'D'}</TYPE_STRUCTURE></STRUCTURE>" for code in codes)
    return f'<STRUCTURES_ELEVE ELEVE_ID="{eleve_id}">{items}</STRUCTURES_ELEVE>'


def bee_file(path: Path, root: str, sections: dict[str, list[str]], *, uaj=UAI, year=None, encoding="ISO-8859-15",
             header="", declared=None) -> Path:
    year = current_start() if year is None else year
    params = leaf("UAJ", uaj) + (leaf("ANNEE_SCOLAIRE", year) if year else "")
    body = "".join(f"<{name}>{''.join(records)}</{name}>" for name, records in sections.items())
    text = (f'<?xml version="1.0" encoding="{declared or encoding}"?>\n{header}<{root} VERSION="3.0">'
            f"<PARAMETRES>{params}</PARAMETRES><DONNEES>{body}</DONNEES></{root}>")
    path.write_bytes(text.encode(encoding))
    return path


def pupils_file(directory: Path, pupils=None, structs=None, *, name="ElevesSansAdresses.xml", **kwargs) -> Path:
    pupils = pupils if pupils is not None else [
        eleve("1001", ine="1234567890A"),
        eleve("1002", ine="1234567890B", last="BERNARD", first="Hugo"),
        eleve("1003", ine="1234567890C", last="PETIT", first="Zoé", exit=past()),
    ]
    structs = structs if structs is not None else [
        structures("1001", "5B", "G:LATIN"), structures("1002", "5A"), structures("1003", "5A")]
    return bee_file(directory / name, "BEE_ELEVES", {"ELEVES": pupils, "STRUCTURES": structs,
                                                     "OPTIONS": ["<OPTION ELEVE_ID=\"1001\"/>"]}, **kwargs)


def personne(personne_id, *, last="MARTIN", first="Claire", mel="", tel="0612345678"):
    return (f'<PERSONNE PERSONNE_ID="{personne_id}">' + leaf("NOM_DE_FAMILLE", last) + leaf("PRENOM", first)
            + leaf("LC_CIVILITE", "MME") + leaf("TEL_PERSONNEL", "") + leaf("TEL_PORTABLE", tel) + leaf("MEL", mel)
            + leaf("ADRESSE_ID", "9" + personne_id) + "</PERSONNE>")


def responsable(eleve_id, personne_id, *, legal="1", parente="10", level=None, payer=None):
    return ("<RESPONSABLE_ELEVE>" + leaf("ELEVE_ID", eleve_id) + leaf("PERSONNE_ID", personne_id)
            + leaf("RESP_LEGAL", legal) + leaf("CODE_PARENTE", parente) + leaf("NIVEAU_RESPONSABILITE", level)
            + leaf("PAIE_FRAIS_SCOLAIRES", payer) + leaf("PERS_CONTACT", "1") + "</RESPONSABLE_ELEVE>")


def guardians_file(directory: Path, persons=None, links=None, *, name="ResponsablesAvecAdresses.xml", **kwargs):
    persons = persons if persons is not None else [
        personne("501", mel="claire.martin@example.org"), personne("502", first="Marc", tel="0000000000"),
        personne("503", last="BERNARD", first="Zoé"), personne("504", last="VOISIN", first="Paul"),
        personne("505", last="PETIT", first="Anne")]
    links = links if links is not None else [
        responsable("1001", "501", legal="1", parente="10"),
        responsable("1001", "502", legal="2", parente="20"),
        responsable("1001", "504", legal="0", parente="90"),  # a contact: no account, no link
        responsable("1002", "503", legal="1", parente="50"),
        responsable("1003", "505", legal="1", parente="10"),  # Zoé left: her mother is not imported
    ]
    addresses = ['<ADRESSE ADRESSE_ID="9501"><LIGNE1_ADRESSE>1 rue des Écoles</LIGNE1_ADRESSE></ADRESSE>']
    return bee_file(directory / name, "BEE_RESPONSABLES",
                    {"PERSONNES": persons, "RESPONSABLES": links, "ADRESSES": addresses}, **kwargs)


CSV_HEADER = ("Identifiant unique*;Premier prénom*;Deuxième prénom;Troisième prénom;Nom de famille*;Nom d'usage;"
              "Code sexe*;Date de naissance (jj/mm/aaaa)*;Code commune naissance**;Libellé commune naissance**;"
              "Code département naissance*;Code pays naissance*;Statut*;Code MEF*;Division*")


def csv_row(ine, first, last, division, *, usage="", birth="01/02/2012", mef="10110001110"):
    return f"{ine};{first};;;{last};{usage};F;{birth};69123;;69;100;ST;{mef};{division}"


def csv_file(directory: Path, rows, *, name="eleves.csv", encoding="utf-8") -> Path:
    path = directory / name
    path.write_bytes(("\r\n".join([CSV_HEADER, *rows]) + "\r\n").encode(encoding))
    return path


def rejections(run):
    return list(ImportRejection.objects.filter(run=run).values_list("file", "record", "attribute", "reason"))


def reasons(run):
    return "\n".join(reason for *_rest, reason in rejections(run))


def outcome_counts(run, *outcomes):
    return {kind: {outcome: counts[outcome] for outcome in outcomes} for kind, counts in run.counts.items()}


# --- A full export -------------------------------------------------------------------------------------------

def test_imports_siecle_pupils_and_guardians_create_the_directory(tmp_path, school):
    files = [guardians_file(tmp_path), pupils_file(tmp_path)]  # given in any order: pupils are read first
    run, report = import_run(kind="siecle", paths=files)
    lea = User.objects.get(external_id=f"siecle:{UAI}:1001")
    assert (lea.first_name, lea.last_name, lea.ine, lea.birth_date) == (
        "Léa", "MARTIN", "1234567890A", datetime.date(2013, 9, 14))
    assert lea.username == "lea.martin" and not lea.has_usable_password() and lea.activated_at is None
    assert Membership.objects.filter(user=lea, establishment=school, role=Role.PUPIL, is_active=True).exists()
    enrolment = ClassEnrolment.objects.get(pupil=lea)
    assert enrolment.school_class.code == "5B" and enrolment.school_class.school_year.is_current
    assert enrolment.school_class.mef.code == "10110001110"
    assert GroupMembership.objects.get(pupil=lea).group.code == "LATIN"
    # Zoé left (DATE_SORTIE in the past): not enrolled, no account.
    assert not User.objects.filter(external_id=f"siecle:{UAI}:1003").exists()
    mother = GuardianLink.objects.get(pupil=lea, guardian__external_id=f"siecle:{UAI}:P:501")
    assert (mother.relation, mother.legal_authority, mother.receives_correspondence, mother.contact_order) == (
        "mother", True, True, 1)
    father = GuardianLink.objects.get(pupil=lea, guardian__external_id=f"siecle:{UAI}:P:502")
    assert (father.relation, father.contact_order) == ("father", 2)
    assert GuardianLink.objects.get(pupil__external_id=f"siecle:{UAI}:1002").relation == "tutor"
    claire = User.objects.get(external_id=f"siecle:{UAI}:P:501")
    assert (claire.email, claire.phone) == ("claire.martin@example.org", "0612345678")
    assert User.objects.get(external_id=f"siecle:{UAI}:P:502").phone == ""  # all zeros: no phone
    assert Membership.objects.filter(user=claire, establishment=school, role=Role.GUARDIAN, is_active=True).exists()
    # The contact (RESP_LEGAL 0) and Zoé's mother get no account.
    assert not User.objects.filter(external_id__in=[f"siecle:{UAI}:P:504", f"siecle:{UAI}:P:505"]).exists()
    assert report.get("pupils", "created") == 2 and report.get("left_pupils", "unchanged") == 1
    assert report.get("guardians", "created") == 3 and report.get("links", "created") == 3
    assert report.get("not_imported", "unchanged") == 2
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()


def test_imports_siecle_twice_changes_nothing(tmp_path, school):
    files = [pupils_file(tmp_path), guardians_file(tmp_path)]
    import_run(kind="siecle", paths=files)
    users, links = User.objects.count(), GuardianLink.objects.count()
    run, report = import_run(kind="siecle", paths=files)
    assert (User.objects.count(), GuardianLink.objects.count()) == (users, links)
    for kind, outcomes in outcome_counts(run, "created", "updated", "deactivated", "leaving").items():
        assert set(outcomes.values()) == {0}, (kind, outcomes)
    assert report.get("pupils", "unchanged") == 2 and report.get("guardians", "unchanged") == 3
    assert report.get("links", "unchanged") == 3
    assert run.status == ImportRun.Status.SUCCEEDED


def test_imports_siecle_incremental_class_move_and_links(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path), guardians_file(tmp_path)])
    later = tmp_path / "later"
    later.mkdir()
    pupils = [eleve("1001", ine="1234567890A", usage="MARTIN-ROUX"),
              eleve("1002", ine="1234567890B", last="BERNARD", first="Hugo")]
    # Léa moves to 5A and leaves the LATIN group; Hugo's tutor goes, Marc (502) becomes his father too.
    links = [responsable("1001", "501"), responsable("1001", "502", legal="2", parente="20"),
             responsable("1002", "502", legal="1", parente="20")]
    persons = [personne("501", mel="claire.martin@example.org"), personne("502", first="Marc", tel="0000000000")]
    run, report = import_run(kind="siecle", paths=[
        pupils_file(later, pupils, [structures("1001", "5A"), structures("1002", "5A")]),
        guardians_file(later, persons, links)])
    lea = User.objects.get(external_id=f"siecle:{UAI}:1001")
    assert lea.last_name == "MARTIN-ROUX" and lea.username == "lea.martin"
    assert list(ClassEnrolment.objects.filter(pupil=lea).values_list("school_class__code", flat=True)) == ["5A"]
    assert not GroupMembership.objects.filter(pupil=lea).exists()
    hugo_guardians = GuardianLink.objects.filter(pupil__external_id=f"siecle:{UAI}:1002")
    assert list(hugo_guardians.values_list("guardian__external_id", "relation")) == [(f"siecle:{UAI}:P:502",
                                                                                      "father")]
    # Zoé Bernard (503) is nobody's guardian any more: link and role gone (and she is absent: marked leaving).
    assert not Membership.objects.filter(user__external_id=f"siecle:{UAI}:P:503", is_active=True,
                                         leaving_since__isnull=True).exists()
    assert report.get("pupils", "updated") == 1 and report.get("links", "deactivated") == 1
    assert report.get("links", "created") == 1
    assert User.objects.filter(external_id__startswith=f"siecle:{UAI}:").count() == 5


def test_imports_siecle_dry_run_writes_nothing(tmp_path, school):
    run, report = import_run(kind="siecle", paths=[pupils_file(tmp_path), guardians_file(tmp_path)], dry_run=True)
    assert report.get("pupils", "created") == 2 and report.get("links", "created") == 3
    assert not User.objects.exists() and not GuardianLink.objects.exists() and not SchoolClass.objects.exists()
    assert ImportRun.objects.get(pk=run.pk).counts["pupils"]["created"] == 2


def test_imports_siecle_full_export_marks_absent_and_departed_pupils_and_guardians_leaving(tmp_path, school,
                                                                                            settings):
    settings.PREAU_IMPORT_LEAVING_GRACE_DAYS = 30
    import_run(kind="siecle", paths=[pupils_file(tmp_path), guardians_file(tmp_path)])
    later = tmp_path / "later"
    later.mkdir()
    # Hugo is gone from the export; Léa is still listed, with a DATE_SORTIE from last week.
    pupils = [eleve("1001", ine="1234567890A", exit=past(7)), eleve("1004", ine="1234567890D", first="Inès")]
    run, report = import_run(kind="siecle", paths=[
        pupils_file(later, pupils, [structures("1001", "5B"), structures("1004", "5B")]),
        guardians_file(later, [personne("506", first="Luc")], [responsable("1004", "506")])])
    for eleve_id in ("1001", "1002"):
        membership = Membership.objects.get(user__external_id=f"siecle:{UAI}:{eleve_id}", role=Role.PUPIL)
        assert membership.is_active and membership.leaving_since == timezone.localdate()
    assert run.counts["pupils"]["leaving"] == 2 and run.counts["guardians"]["leaving"] == 3
    assert "2 marqués partants" in "\n".join(report.lines())
    # A month later, still absent: deactivated, guardians too.
    Membership.objects.filter(leaving_since__isnull=False).update(
        leaving_since=timezone.localdate() - datetime.timedelta(days=31))
    _run, report = import_run(kind="siecle", paths=[pupils_file(later, pupils, [structures("1004", "5B")])])
    assert report.get("pupils", "deactivated") == 2 and report.get("guardians", "deactivated") == 3
    assert not Membership.objects.filter(user__external_id=f"siecle:{UAI}:P:501", is_active=True).exists()
    assert Membership.objects.filter(user__external_id=f"siecle:{UAI}:1004", is_active=True).exists()


def test_imports_siecle_pupil_back_before_grace_clears_leaving(tmp_path, school):
    files = [pupils_file(tmp_path)]
    import_run(kind="siecle", paths=files)
    Membership.objects.filter(role=Role.PUPIL).update(leaving_since="2026-01-01")
    _run, report = import_run(kind="siecle", paths=files)
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    assert report.get("pupils", "updated") == 2


def test_imports_siecle_future_exit_date_still_enrolled(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path, [eleve("1001", exit=future())], [structures("1001", "5B")])])
    assert ClassEnrolment.objects.filter(pupil__external_id=f"siecle:{UAI}:1001").exists()


def test_imports_siecle_pupil_found_by_ine_keeps_its_join_key(tmp_path, school):
    # A pupil already in the directory (from the AAF, or from another school's export) is found by INE.
    known = User.objects.create(username="lea.martin", first_name="Léa", last_name="MARTIN", external_id="aaf-77",
                                ine="1234567890A")
    # A pupil without INE yet: found again by ELEVE_ID once SIECLE gives the INE.
    import_run(kind="siecle", paths=[pupils_file(tmp_path, [eleve("1001", ine="1234567890A"),
                                                            eleve("1002", first="Hugo", last="BERNARD")],
                                                 [structures("1001", "5B"), structures("1002", "5B")])])
    known.refresh_from_db()
    assert known.external_id == "aaf-77" and ClassEnrolment.objects.filter(pupil=known).exists()
    later = tmp_path / "later"
    later.mkdir()
    import_run(kind="siecle", paths=[pupils_file(later, [eleve("1001", ine="1234567890A"),
                                                         eleve("1002", ine="1234567890B", first="Hugo",
                                                               last="BERNARD")],
                                                 [structures("1001", "5B"), structures("1002", "5B")])])
    assert User.objects.get(external_id=f"siecle:{UAI}:1002").ine == "1234567890B"
    assert User.objects.count() == 2
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()


def test_imports_siecle_links_by_resp_legal_absent_use_niveau_responsabilite(tmp_path, school):
    # Exports since 2018 give NIVEAU_RESPONSABILITE (1 legal representative, 2 person in charge, 3 contact).
    links = [responsable("1001", "502", legal=None, parente="20", level="1"),
             responsable("1001", "501", legal=None, parente="10", level="1", payer="1"),
             responsable("1001", "503", legal=None, parente="42", level="2"),
             responsable("1001", "504", legal=None, parente="39", level="3"),
             responsable("1002", "505", legal=None, parente="70", level="1")]
    import_run(kind="siecle", paths=[pupils_file(tmp_path), guardians_file(tmp_path, links=links)])
    got = {link.guardian.external_id.rsplit(":", 1)[1]: (link.relation, link.legal_authority, link.contact_order,
                                                         link.receives_correspondence)
           for link in GuardianLink.objects.select_related("guardian")}
    assert got == {"501": ("mother", True, 1, True), "502": ("father", True, 2, True),
                   "503": ("carer", False, 3, False)}


def test_imports_siecle_structures_keyed_by_elenoet_read(tmp_path, school):
    # Some exports key STRUCTURES_ELEVE by ELENOET rather than ELEVE_ID.
    struct = ('<STRUCTURES_ELEVE ELENOET="1001"><STRUCTURE><CODE_STRUCTURE>5B</CODE_STRUCTURE>'
              "<TYPE_STRUCTURE>D</TYPE_STRUCTURE></STRUCTURE></STRUCTURES_ELEVE>")
    import_run(kind="siecle", paths=[pupils_file(tmp_path, [eleve("1001")], [struct])])
    assert ClassEnrolment.objects.get(pupil__external_id=f"siecle:{UAI}:1001").school_class.code == "5B"


def test_imports_siecle_no_structures_at_all_leaves_classes_and_marks_nobody(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path)])
    later = tmp_path / "later"
    later.mkdir()
    run, report = import_run(kind="siecle", paths=[pupils_file(later, structs=[])])
    assert report.get("pupils", "unchanged") == 2 and report.get("left_pupils", "unchanged") == 1
    assert ClassEnrolment.objects.count() == 2 and not Membership.objects.filter(leaving_since__isnull=False).exists()
    assert "Aucune structure d'élève" in reasons(run)


# --- Malformed input -----------------------------------------------------------------------------------------

def test_imports_siecle_missing_join_key_rejected_rest_imported(tmp_path, school):
    path = pupils_file(tmp_path, [eleve("", last="SANS", first="Clé"), eleve("1002", first="Hugo")],
                       [structures("1002", "5A")])
    run, _report = import_run(kind="siecle", paths=[path])
    assert run.status == ImportRun.Status.PARTIAL
    assert User.objects.filter(external_id=f"siecle:{UAI}:1002").exists()
    assert not User.objects.filter(last_name="SANS").exists()
    assert any((name, number, attribute) == (path.name, 1, "ELEVE_ID") and "manquant" in reason
               for name, number, attribute, reason in rejections(run))


def test_imports_siecle_missing_name_rejected(tmp_path, school):
    path = pupils_file(tmp_path, [eleve("1001", first=""), eleve("1002")], [structures("1001", "5A"),
                                                                            structures("1002", "5A")])
    run, _report = import_run(kind="siecle", paths=[path])
    assert (path.name, 1, "PRENOM") in [line[:3] for line in rejections(run)]
    assert User.objects.filter(external_id=f"siecle:{UAI}:1002").exists()


def test_imports_siecle_ine_twice_in_the_export_or_held_by_someone_else(tmp_path, school):
    User.objects.create(username="autre", first_name="Autre", last_name="PERSONNE", ine="1234567890C")
    path = pupils_file(tmp_path, [eleve("1001", ine="1234567890A"), eleve("1002", ine="1234567890A", first="Hugo"),
                                  eleve("1003", first="Zoé")],
                       [structures("1001", "5A"), structures("1002", "5A"), structures("1003", "5A")])
    import_run(kind="siecle", paths=[path])
    later = tmp_path / "later"
    later.mkdir()
    run, _report = import_run(kind="siecle", paths=[pupils_file(later, [eleve("1003", ine="1234567890C",
                                                                              first="Zoé")],
                                                                [structures("1003", "5A")])])
    assert not User.objects.filter(external_id=f"siecle:{UAI}:1002").exists()
    assert User.objects.get(external_id=f"siecle:{UAI}:1003").ine == ""
    assert "INE 1234567890C déjà porté par une autre personne de l'annuaire (autre)" in reasons(run)
    first = ImportRun.objects.order_by("pk").first()
    assert "INE 1234567890A déjà porté par un autre élève de l'export (1001)" in reasons(first)


def test_imports_siecle_unknown_establishment_refused(tmp_path, school):
    path = pupils_file(tmp_path, uaj="0759999Z")
    run, _report = import_run(kind="siecle", paths=[path])
    assert run.status == ImportRun.Status.FAILED and not User.objects.exists()
    assert [(name, attribute) for name, _n, attribute, _r in rejections(run)] == [(path.name, "UAJ")]
    assert "Établissement inconnu (UAJ « 0759999Z »)" in reasons(run)


def test_imports_siecle_file_of_another_establishment_than_chosen_refused(tmp_path, school):
    other = Establishment.objects.create(uai="0699002B", name="Collège Victor Hugo", kind="college")
    run, _report = import_run(kind="siecle", paths=[pupils_file(tmp_path)], establishment=other)
    assert not User.objects.exists() and "pas de 0699002B choisi pour cet import" in reasons(run)


def test_imports_siecle_export_of_another_school_year_refused(tmp_path, school):
    run, _report = import_run(kind="siecle", paths=[pupils_file(tmp_path, year=current_start() + 1)])
    assert not User.objects.exists() and "Faites d'abord la bascule d'année" in reasons(run)


def test_imports_siecle_broken_xml_keeps_pupils_read_and_marks_nobody_leaving(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path)])
    later = tmp_path / "later"
    later.mkdir()
    path = pupils_file(later, [eleve("1001", ine="1234567890A", last="MARTIN-ROUX"), eleve("1005", first="Eva")])
    data = path.read_bytes()
    path.write_bytes(data[:data.index(b'<ELEVE ELEVE_ID="1005"') + 40])  # truncated in the second pupil
    run, _report = import_run(kind="siecle", paths=[path])
    assert User.objects.get(external_id=f"siecle:{UAI}:1001").last_name == "MARTIN-ROUX"
    # Classes are left as they were (the structures section was not reached), and nobody is marked leaving.
    assert ClassEnrolment.objects.filter(pupil__external_id=f"siecle:{UAI}:1001", school_class__code="5B").exists()
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    text = reasons(run)
    assert "illisible" in text and "aucun élève de 0699001A n'est marqué partant" in text


def test_imports_siecle_broken_guardians_file_refused_whole(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path), guardians_file(tmp_path)])
    later = tmp_path / "later"
    later.mkdir()
    path = guardians_file(later, links=[responsable("1001", "501")])
    path.write_bytes(path.read_bytes()[:-60])
    run, _report = import_run(kind="siecle", paths=[path])
    assert GuardianLink.objects.count() == 3  # nothing removed
    assert "rien n'en est importé" in reasons(run)


def test_imports_siecle_utf8_file_declaring_iso_8859_15_refused(tmp_path, school):
    path = pupils_file(tmp_path, encoding="utf-8", declared="ISO-8859-15")
    run, _report = import_run(kind="siecle", paths=[path])
    assert not User.objects.exists()
    assert "déclare l'encodage ISO-8859-15 mais son contenu est en UTF-8" in reasons(run)


def test_imports_siecle_latin_file_declaring_utf8_refused(tmp_path, school):
    path = pupils_file(tmp_path, encoding="ISO-8859-15", declared="UTF-8")
    run, _report = import_run(kind="siecle", paths=[path])
    assert not User.objects.exists()
    assert "déclare l'encodage UTF-8 (ou n'en déclare pas) mais contient un caractère invalide" in reasons(run)


def test_imports_siecle_utf8_declared_utf8_read(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path, [eleve("1001", first="Chloé")],
                                                 [structures("1001", "5A")], encoding="UTF-8")])
    assert User.objects.get(external_id=f"siecle:{UAI}:1001").first_name == "Chloé"


def test_imports_siecle_guardian_pointing_to_missing_pupil_reported(tmp_path, school):
    links = [responsable("1001", "501"), responsable("9999", "502", legal="1", parente="20")]
    run, _report = import_run(kind="siecle", paths=[pupils_file(tmp_path), guardians_file(tmp_path, links=links)])
    lines = rejections(run)
    assert any(name == "ResponsablesAvecAdresses.xml" and number == 2 and attribute == "ELEVE_ID"
               and "Élève 9999 inconnu" in reason for name, number, attribute, reason in lines)
    assert not User.objects.filter(external_id=f"siecle:{UAI}:P:502").exists()
    assert GuardianLink.objects.count() == 1
    # Persons the links do not name at all are reported too.
    assert any("Personne 503 liée à aucun élève" in reason for *_rest, reason in lines)


def test_imports_siecle_entity_declarations_refused(tmp_path, school):
    header = '<!DOCTYPE BEE_ELEVES [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    path = pupils_file(tmp_path, [eleve("1001", last="&x;"), eleve("1002", first="Hugo")],
                       [structures("1001", "5A"), structures("1002", "5A")], header=header)
    run, _report = import_run(kind="siecle", paths=[path])
    assert not User.objects.exists()
    assert [(name, number) for name, number, _a, _r in rejections(run)] == [(path.name, None)]
    assert "Déclaration d'entités XML refusée" in reasons(run)


def test_imports_siecle_entity_in_a_record_rejects_the_record(tmp_path, school):
    # An entity of an external DTD (never read) stays an unresolved reference: its record is rejected.
    path = pupils_file(tmp_path, [eleve("1001", first="Hugo"), eleve("1002", last="&x;")],
                       [structures("1001", "5A"), structures("1002", "5A")],
                       header='<!DOCTYPE BEE_ELEVES SYSTEM "file:///etc/bee.dtd">\n')
    run, _report = import_run(kind="siecle", paths=[path])
    assert User.objects.filter(external_id=f"siecle:{UAI}:1001").exists()
    assert not User.objects.filter(external_id=f"siecle:{UAI}:1002").exists()
    assert [(number, reason[:22]) for _f, number, _a, reason in rejections(run)] == [(2, "Entité XML refusée : l")]


def test_imports_siecle_unknown_and_missing_files_reported(tmp_path, school):
    other = tmp_path / "notes.xml"
    other.write_text("<?xml version='1.0'?><EXPORT_NOTES/>", encoding="utf-8")
    text = tmp_path / "liste.csv"
    text.write_text("nom;prénom\nMARTIN;Léa\n", encoding="utf-8")
    run, _report = import_run(kind="siecle", paths=[other, text, tmp_path / "absent.xml"])
    lines = reasons(run)
    assert "élément racine « EXPORT_NOTES »" in lines and "ni CSV d'élèves SIECLE" in lines
    assert "introuvable" in lines and run.status == ImportRun.Status.FAILED


# --- CSV variant ---------------------------------------------------------------------------------------------

def test_imports_siecle_csv_needs_the_run_establishment(tmp_path, school):
    path = csv_file(tmp_path, [csv_row("1234567890A", "Léa", "MARTIN", "5B")])
    run, _report = import_run(kind="siecle", paths=[path])
    assert not User.objects.exists() and "ne dit pas son établissement" in reasons(run)
    run, report = import_run(kind="siecle", paths=[path], establishment=school)
    lea = User.objects.get(external_id=f"siecle:{UAI}:INE:1234567890A")
    assert (lea.first_name, lea.ine, lea.birth_date) == ("Léa", "1234567890A", datetime.date(2012, 2, 1))
    assert ClassEnrolment.objects.get(pupil=lea).school_class.code == "5B"
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()


def test_imports_siecle_csv_in_windows_1252_or_utf8_with_bom_read(tmp_path, school):
    rows = [csv_row("1234567890A", "Chloé", "CŒUR", "5B", usage="Cœur-Hélène")]
    for encoding in ("cp1252", "utf-8-sig"):
        csv_file(tmp_path, rows, name=f"{encoding}.csv", encoding=encoding)
        import_run(kind="siecle", paths=[tmp_path / f"{encoding}.csv"], establishment=school)
        user = User.objects.get(ine="1234567890A")
        assert (user.first_name, user.last_name) == ("Chloé", "Cœur-Hélène"), encoding


def test_imports_siecle_csv_bad_rows_and_missing_columns(tmp_path, school):
    path = csv_file(tmp_path, [csv_row("", "Sans", "INE", "5B"), csv_row("12AB", "Court", "INE", "5B"),
                               csv_row("1234567890A", "Léa", "MARTIN", "5B", birth="31/02/2012"),
                               csv_row("1234567890B", "Hugo", "BERNARD", "")])
    run, report = import_run(kind="siecle", paths=[path], establishment=school)
    lines = [line[1:3] for line in rejections(run)]  # records are numbered by line, the header being line 1
    assert (2, "Identifiant unique*") in lines and (3, "Identifiant unique*") in lines
    assert (4, "Date de naissance (jj/mm/aaaa)*") in lines  # the date is ignored, Léa imported
    assert User.objects.get(ine="1234567890A").birth_date is None
    assert report.get("left_pupils", "unchanged") == 1  # Hugo: no division
    bad = tmp_path / "colonnes.csv"
    bad.write_text("Identifiant unique*;Nom de famille*;Division*\n1234567890A;MARTIN;5B\n", encoding="utf-8")
    run, _report = import_run(kind="siecle", paths=[bad], establishment=school)
    assert "Colonnes obligatoires absentes : Premier prénom" in reasons(run)


# --- Structures and nomenclature -----------------------------------------------------------------------------

def test_imports_siecle_structures_and_nomenclature_give_labels(tmp_path, school):
    nomenclature = bee_file(tmp_path / "Nomenclature.xml", "BEE_NOMENCLATURES", {
        "MEFS": ['<MEF CODE_MEF="10110001110"><FORMATION>5EME</FORMATION><LIBELLE_LONG>5EME</LIBELLE_LONG>'
                 "<LIBELLE_EDITION>5ème</LIBELLE_EDITION></MEF>"],
        "MATIERES": ['<MATIERE CODE_MATIERE="061300"><LIBELLE_COURT>MATHS</LIBELLE_COURT>'
                     "<LIBELLE_EDITION>Mathématiques</LIBELLE_EDITION></MATIERE>"],
        "PROGRAMMES": ["<PROGRAMME><CODE_MEF>10110001110</CODE_MEF><CODE_MATIERE>061300</CODE_MATIERE></PROGRAMME>"]})
    structures_xml = bee_file(tmp_path / "Structures.xml", "BEE_STRUCTURES", {
        "DIVISIONS": ['<DIVISION CODE_STRUCTURE="5B"><LIBELLE_LONG>5ème B</LIBELLE_LONG><MEFS_APPARTENANCE>'
                      "<MEF_APPARTENANCE><CODE_MEF>10110001110</CODE_MEF></MEF_APPARTENANCE></MEFS_APPARTENANCE>"
                      "</DIVISION>"],
        "GROUPES": ['<GROUPE CODE_STRUCTURE="LATIN"><LIBELLE_LONG>Latin 5e</LIBELLE_LONG><DIVISIONS_APPARTENANCE>'
                    "<DIVISION_APPARTENANCE><CODE_STRUCTURE>5B</CODE_STRUCTURE></DIVISION_APPARTENANCE>"
                    "</DIVISIONS_APPARTENANCE></GROUPE>"]})
    files = [pupils_file(tmp_path), structures_xml, nomenclature]
    _run, report = import_run(kind="siecle", paths=files)
    school_class = SchoolClass.objects.get(code="5B")
    assert (school_class.label, school_class.mef.label, school_class.mef.short_label) == ("5ème B", "5ème", "5EME")
    group = TeachingGroup.objects.get(code="LATIN")
    assert group.label == "Latin 5e" and list(group.classes.all()) == [school_class]
    assert NationalSubject.objects.get(code="061300").label == "Mathématiques"
    assert SchoolClass.objects.get(code="5A").label == "5A"  # not in Structures.xml: the code is the label
    assert report.get("classes", "created") == 2 and report.get("mefs", "created") == 1
    _run, report = import_run(kind="siecle", paths=files)
    assert report.get("classes", "unchanged") == 1 and report.get("groups", "unchanged") == 1
    assert report.get("mefs", "unchanged") == 1


def test_imports_siecle_unknown_mef_created_with_its_code_as_label(tmp_path, school):
    import_run(kind="siecle", paths=[pupils_file(tmp_path)])
    assert Mef.objects.get(code="10110001110").label == "10110001110"


def test_imports_siecle_reader_frees_the_sections_a_pass_skips(tmp_path):
    path = pupils_file(tmp_path, [eleve(str(n)) for n in range(1, 51)], [structures(str(n), "5A")
                                                                          for n in range(1, 51)])
    seen = []
    for number, element in iter_at_depth(path, 4, ("STRUCTURES_ELEVE",)):
        pupils_section = element.getparent().getprevious()
        assert pupils_section.tag == "ELEVES" and len(pupils_section) <= 1 and not len(pupils_section[0])
        seen.append(number)
    assert seen == list(range(1, 51))


# --- Command line --------------------------------------------------------------------------------------------

def test_imports_siecle_command_prints_report_dry_run_and_csv_with_uai(tmp_path, school, capsys):
    call_command("import", "siecle", str(pupils_file(tmp_path)), str(guardians_file(tmp_path)), "--dry-run")
    out = capsys.readouterr().out
    assert "Simulation" in out and "Élèves : 2 créés" in out and "Liens responsable–élève : 3 créés" in out
    assert not User.objects.exists()
    path = csv_file(tmp_path, [csv_row("1234567890A", "Léa", "MARTIN", "5B")])
    call_command("import", "siecle", str(path), "--uai", UAI)
    assert "Élèves : 1 créés" in capsys.readouterr().out
    assert User.objects.filter(ine="1234567890A").exists()


# --- The real fixtures (1024pix/pix) -------------------------------------------------------------------------

needs_real = pytest.mark.skipif(not REAL_SIECLE.is_dir(), reason="../shared/testdata/siecle absent")


@pytest.fixture
def fixture_school():
    establishment = Establishment.objects.create(uai="123ABC", name="Lycée des fixtures", kind="lycee")
    SchoolYear.objects.create(establishment=establishment, label="2016-2017", start=datetime.date(2016, 9, 1),
                              end=datetime.date(2017, 7, 7), is_current=True)
    return establishment


@needs_real
def test_imports_siecle_real_two_valid_students_iso_8859_15(fixture_school):
    run, report = import_run(kind="siecle", paths=[REAL_SIECLE / "siecle-with-two-valid-students-and-school-year.xml"])
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    assert report.get("pupils", "created") == 2 and report.get("classes", "created") == 1
    harry = User.objects.get(external_id="siecle:123ABC:0002")
    assert (harry.first_name, harry.last_name, harry.ine) == ("Harry", "COJAUNE", "00000000124")  # usage name
    assert ClassEnrolment.objects.get(pupil=harry).school_class.code == "4A"
    assert GroupMembership.objects.get(pupil=harry).group.code == "42"
    luciole = User.objects.get(external_id="siecle:123ABC:0001")
    assert (luciole.last_name, luciole.birth_date) == ("HANDMADE", datetime.date(1994, 12, 31))


@needs_real
def test_imports_siecle_real_registrations_no_longer_in_school(fixture_school):
    run, report = import_run(kind="siecle", paths=[REAL_SIECLE / "siecle-with-registrations-no-longer-in-school.xml"])
    # 0001 has no structure, 0002 is in "Inactifs", 0004 only in a group, 0005 left in 2019: not enrolled.
    # 0003 has no INE but a class: enrolled under its ELEVE_ID.
    assert report.get("left_pupils", "unchanged") == 4 and report.get("pupils", "created") == 1
    assert list(User.objects.values_list("external_id", "ine")) == [("siecle:123ABC:0003", "")]
    assert ClassEnrolment.objects.get().school_class.code == "4e 1"
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()


@needs_real
def test_imports_siecle_real_csv_two_valid_students(fixture_school):
    run, report = import_run(kind="siecle", paths=[REAL_SIECLE / "siecle-csv-with-two-valid-students.csv"],
                             establishment=fixture_school)
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    lea = User.objects.get(ine="4581234567F")
    assert (lea.first_name, lea.last_name, lea.external_id) == ("Léa", "Cottonmouth", "siecle:123ABC:INE:4581234567F")
    assert ClassEnrolment.objects.get(pupil=lea).school_class.code == "Division 2"
    assert Mef.objects.get(code="MEF1").label == "MEF1"
    assert report.get("pupils", "created") == 2
