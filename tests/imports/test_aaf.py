"""AAF import: hand-built ficAlimMENESR files, malformed ones, idempotence, updates, dry run, the real 2013 export."""

import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from preau.accounts.models import User
from preau.directory.models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Role,
    SchoolYear,
    StaffFunction,
    TeachingAssignment,
)
from preau.imports.models import ImportRejection, ImportRun
from preau.imports.services import import_run

pytestmark = pytest.mark.django_db

REAL_AAF = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "aaf" / "2013"


def attrs(**values) -> str:
    out = []
    for name, value in values.items():
        items = value if isinstance(value, list) else [value]
        out.append(f'<attr name="{name}">' + "".join(f"<value>{v}</value>" if v else "<value/>" for v in items)
                   + "</attr>")
    return "".join(out)


def add(category_attr: str, category: str, identifier: str, **values) -> str:
    return (f'<addRequest><operationalAttributes><attr name="{category_attr}"><value>{category}</value></attr>'
            f"</operationalAttributes><identifier><id>{identifier}</id></identifier>"
            f"<attributes>{attrs(**values)}</attributes></addRequest>")


def aaf_file(tmp_path, name: str, *records: str, header: str = "", encoding: str = "UTF-8") -> Path:
    path = tmp_path / name
    body = (f'<?xml version="1.0" encoding="{encoding}"?>\n{header}'
            f'<ficAlimMENESR>{"".join(records)}</ficAlimMENESR>')
    path.write_bytes(body.encode("utf-8") if encoding == "UTF-8" else body.encode(encoding))
    return path


def etab(jointure="9001", uai="0699001A", name="CLG JEAN MOULIN"):
    return add("categorieStructure", "EtabEducNat", jointure, ENTStructureJointure=jointure, ENTStructureUAI=uai,
               ENTStructureNomCourant=name, ENTStructureTypeStruct="CLG", street="1 rue des Écoles",
               postalCode="69001", l="LYON")


def pupil(jointure, first="Léa", last="Martin", structure="9001", classes="9001$5B", groups="", rel=None,
          authority=None):
    return add("categoriePersonne", "Eleve", jointure, ENTPersonJointure=jointure, sn=last, givenName=first,
               ENTPersonDateNaissance="14/09/2013", ENTPersonStructRattach=structure, ENTEleveMEF="10110001110",
               ENTEleveClasses=classes, ENTEleveGroupes=groups, ENTElevePersRelEleve=rel or "",
               ENTEleveAutoriteParentale=authority or "")


def guardian(jointure, first="Claire", last="Martin"):
    return add("categoriePersonne", "PersRelEleve", jointure, ENTPersonJointure=jointure, sn=last,
               givenName=first, telephoneNumber="0612345678", mail="")


def teacher(jointure, first="Paul", last="Durand"):
    return add("categoriePersonne", "PersEducNat", jointure, ENTPersonJointure=jointure, sn=last, givenName=first,
               mail="paul.durand@ac-lyon.fr", ENTPersonStructRattach="9001",
               ENTPersonFonctions="9001$ENS$ENSEIGNEMENT$L1300$MATHEMATIQUES",
               ENTAuxEnsClassesMatieres=["9001$5B$061300", "9001$5A$061300"],
               ENTAuxEnsGroupesMatieres="9001$LATIN$020700", ENTAuxEnsClassesPrincipal="9001$5B",
               PersEducNatPresenceDevantEleves="O")


def head(jointure="p3"):
    return add("categoriePersonne", "PersEducNat", jointure, ENTPersonJointure=jointure, sn="Leroy", givenName="Anne",
               ENTPersonStructRattach="9001", ENTPersonFonctions="9001$DIR$DIRECTION$D0010$DIRECTION",
               PersEducNatPresenceDevantEleves="N")


def school_files(tmp_path, pupils=None, guardians=None):
    return [
        aaf_file(tmp_path, "X_Complet_20260901_EtabEducNat_0000.xml", etab()),
        aaf_file(tmp_path, "X_Complet_20260901_MefEducNat_0000.xml",
                 add("categorieMef", "MefEducNat", "10110001110", ENTMefJointure="10110001110", ENTLibelleMef="5EME")),
        aaf_file(tmp_path, "X_Complet_20260901_MatiereEducNat_0000.xml",
                 add("categorieMatiere", "MatEducNat", "061300", ENTMatJointure="061300",
                     ENTLibelleMatiere="MATHEMATIQUES")),
        aaf_file(tmp_path, "X_Complet_20260901_PersEducNat_0000.xml", teacher("p1"), head()),
        aaf_file(tmp_path, "X_Complet_20260901_Eleve_0000.xml", *(pupils or [
            pupil("e1", rel=["g1$2$1$1$0$0", "g2$1$0$2$0$0"], authority=["g1", "g2"], groups="9001$LATIN"),
            pupil("e2", first="Hugo", last="Bernard", classes="9001$5A", rel="g3$3$0$1$0$0")])),
        aaf_file(tmp_path, "X_Complet_20260901_PersRelEleve_0000.xml", *(guardians or [
            guardian("g1"), guardian("g2", first="Marc"), guardian("g3", first="Zoé", last="Bernard")])),
    ]


def test_imports_aaf_full_creates_the_directory(tmp_path):
    run, report = import_run(kind="aaf", paths=school_files(tmp_path))
    assert run.status == ImportRun.Status.SUCCEEDED, report.lines()
    establishment = Establishment.objects.get(uai="0699001A")
    assert (establishment.external_id, establishment.kind, establishment.city) == ("9001", "college", "LYON")
    assert SchoolYear.objects.get(establishment=establishment).is_current
    lea = User.objects.get(external_id="e1")
    assert lea.username == "lea.martin"
    assert not lea.has_usable_password() and lea.activated_at is None
    assert lea.birth_date.isoformat() == "2013-09-14"
    assert Membership.objects.filter(user=lea, establishment=establishment, role=Role.PUPIL, is_active=True).exists()
    enrolment = ClassEnrolment.objects.get(pupil=lea)
    assert enrolment.school_class.code == "5B" and enrolment.school_class.mef.code == "10110001110"
    assert GroupMembership.objects.get(pupil=lea).group.code == "LATIN"
    mother = GuardianLink.objects.get(pupil=lea, guardian__external_id="g1")
    assert (mother.relation, mother.legal_authority, mother.contact_order) == ("mother", True, 1)
    assert GuardianLink.objects.get(pupil=lea, guardian__external_id="g2").relation == "father"
    assert Membership.objects.filter(user__external_id="g1", role=Role.GUARDIAN, establishment=establishment).exists()
    assert User.objects.get(external_id="g1").phone == "0612345678"
    paul = User.objects.get(external_id="p1")
    assert Membership.objects.filter(user=paul, role=Role.TEACHER, establishment=establishment).exists()
    assignments = TeachingAssignment.objects.filter(teacher=paul)
    assert assignments.count() == 3
    main = assignments.get(school_class__code="5B")
    assert main.is_main_teacher and main.subject.label == "MATHEMATIQUES"
    assert Membership.objects.get(user__external_id="p3", role=Role.STAFF).functions == [StaffFunction.HEAD]
    assert report.get("pupils", "created") == 2 and report.get("guardians", "created") == 3
    assert report.get("links", "created") == 3


def test_imports_aaf_twice_changes_nothing(tmp_path):
    files = school_files(tmp_path)
    import_run(kind="aaf", paths=files)
    users, links = User.objects.count(), GuardianLink.objects.count()
    run, report = import_run(kind="aaf", paths=files)
    assert (User.objects.count(), GuardianLink.objects.count()) == (users, links)
    for kind, outcomes in run.counts.items():
        assert outcomes["created"] == outcomes["updated"] == outcomes["deactivated"] == 0, (kind, outcomes)
    assert report.get("pupils", "unchanged") == 2
    assert run.status == ImportRun.Status.SUCCEEDED


def test_imports_aaf_pupil_moving_class_updated_in_place(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    lea = User.objects.get(external_id="e1")
    later = tmp_path / "later"
    later.mkdir()
    moved = aaf_file(later, "X_Delta_20261001_Eleve_0000.xml",
                     pupil("e1", last="Martin-Roux", classes="9001$5A", rel="g1$2$1$1$0$0", authority="g1"))
    run, report = import_run(kind="aaf", paths=[moved])
    assert report.get("pupils", "updated") == 1
    lea.refresh_from_db()
    assert lea.last_name == "Martin-Roux" and lea.username == "lea.martin"
    assert list(ClassEnrolment.objects.filter(pupil=lea).values_list("school_class__code", flat=True)) == ["5A"]
    assert not GroupMembership.objects.filter(pupil=lea).exists()
    assert list(GuardianLink.objects.filter(pupil=lea).values_list("guardian__external_id", flat=True)) == ["g1"]
    assert User.objects.filter(external_id="e1").count() == 1


def test_imports_aaf_dry_run_writes_nothing(tmp_path):
    run, report = import_run(kind="aaf", paths=school_files(tmp_path), dry_run=True)
    assert report.get("pupils", "created") == 2
    assert not Establishment.objects.exists() and not User.objects.exists()
    assert run.dry_run and ImportRun.objects.get(pk=run.pk).counts["pupils"]["created"] == 2


def test_imports_aaf_usernames_unique_and_ascii(tmp_path):
    files = school_files(tmp_path, pupils=[pupil("e1", first="Léa", last="Martin"),
                                           pupil("e9", first="Léa", last="Mârtin")])
    import_run(kind="aaf", paths=files)
    assert set(User.objects.filter(external_id__in=["e1", "e9"]).values_list("username", flat=True)) == {
        "lea.martin", "lea.martin2"}


def rejections(run):
    return list(ImportRejection.objects.filter(run=run).values_list("file", "record", "attribute", "reason"))


def test_imports_aaf_missing_join_key_rejected_rest_imported(tmp_path):
    no_key = add("categoriePersonne", "Eleve", "x", sn="Sans", givenName="Clé", ENTPersonStructRattach="9001")
    files = school_files(tmp_path, pupils=[no_key, pupil("e2", first="Hugo", last="Bernard")])
    run, report = import_run(kind="aaf", paths=files)
    assert run.status == ImportRun.Status.PARTIAL
    assert User.objects.filter(external_id="e2").exists() and not User.objects.filter(last_name="Sans").exists()
    lines = rejections(run)
    assert ("X_Complet_20260901_Eleve_0000.xml", 1, "ENTPersonJointure") in [line[:3] for line in lines]


def test_imports_aaf_unknown_establishment_rejected(tmp_path):
    files = school_files(tmp_path, pupils=[pupil("e1", structure="4242", classes="4242$5B")])
    run, _report = import_run(kind="aaf", paths=files)
    assert not User.objects.filter(external_id="e1").exists()
    assert any(attr == "ENTPersonStructRattach" and "inconnu « 4242 »" in reason
               for _f, _n, attr, reason in rejections(run))


def test_imports_aaf_guardian_pointing_to_missing_pupil_reported(tmp_path):
    files = school_files(tmp_path, pupils=[pupil("e1", rel=["g1$2$1$1$0$0", "ghost$1$0$2$0$0"])],
                         guardians=[guardian("g1"), guardian("g7", first="Orphée")])
    run, report = import_run(kind="aaf", paths=files)
    lines = rejections(run)
    assert any("Responsable inconnu « ghost »" in reason for *_rest, reason in lines)
    assert any(name.endswith("PersRelEleve_0000.xml") and number == 2 and "aucun élève" in reason
               for name, number, _attr, reason in lines)
    assert GuardianLink.objects.filter(pupil__external_id="e1").count() == 1


def test_imports_aaf_broken_xml_keeps_earlier_records(tmp_path):
    files = school_files(tmp_path)
    broken = files[4]
    broken.write_text(broken.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    run, report = import_run(kind="aaf", paths=files)
    assert User.objects.filter(external_id="e1").exists()
    assert any(name == broken.name and "illisible" in reason for name, _n, _a, reason in rejections(run))


def test_imports_aaf_wrong_encoding_reported_not_crash(tmp_path):
    files = school_files(tmp_path)
    latin = tmp_path / "X_Complet_20260901_Eleve_0000.xml"
    latin.write_bytes(latin.read_text(encoding="utf-8").encode("latin-1"))  # declared UTF-8, is Latin-1
    run, _report = import_run(kind="aaf", paths=files)
    assert any(name == latin.name and "illisible" in reason for name, _n, _a, reason in rejections(run))
    assert Establishment.objects.filter(uai="0699001A").exists()


def test_imports_aaf_declared_latin1_file_read(tmp_path):
    path = aaf_file(tmp_path, "Y_Complet_20260901_EtabEducNat_0000.xml", etab(name="COLLÈGE ÉLUARD"),
                    encoding="ISO-8859-1")
    import_run(kind="aaf", paths=[path])
    assert Establishment.objects.get(uai="0699001A").name == "COLLÈGE ÉLUARD"


def test_imports_aaf_external_entity_not_resolved(tmp_path):
    files = school_files(tmp_path)
    attack = aaf_file(tmp_path, "Z_Complet_20260901_PersRelEleve_0001.xml",
                      guardian("g9", last="&x;"),
                      header='<!DOCTYPE ficAlimMENESR [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n')
    run, _report = import_run(kind="aaf", paths=[*files, attack])
    assert not User.objects.filter(external_id="g9").exists()
    assert not User.objects.filter(last_name__contains="root").exists()
    assert any(name == attack.name and "Entité XML refusée" in reason for name, _n, _a, reason in rejections(run))


def test_imports_aaf_internal_entities_in_attributes_refused(tmp_path):
    # libxml2 expands internal entities inside attribute values even with resolve_entities=False: refuse the file.
    laughs = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 6))
    files = school_files(tmp_path)
    attack = aaf_file(tmp_path, "Z_Complet_20260901_PersRelEleve_0001.xml",
                      guardian("g9").replace('name="sn"', 'name="&l5;"'),
                      header=f'<!DOCTYPE ficAlimMENESR [<!ENTITY l0 "ha">{laughs}]>\n')
    run, _report = import_run(kind="aaf", paths=[*files, attack])
    assert not User.objects.filter(external_id="g9").exists()
    assert [(name, reason[:40]) for name, _n, _a, reason in rejections(run) if name == attack.name] == [
        (attack.name, "Entité XML refusée : le fichier déclare ")]


def test_imports_aaf_delete_request_deactivates(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    delete = tmp_path / "X_Delta_20261001_Eleve_0001.xml"
    delete.write_text('<ficAlimMENESR><deleteRequest><operationalAttributes><attr name="categoriePersonne">'
                      "<value>Eleve</value></attr></operationalAttributes><identifier><id>e2</id></identifier>"
                      "</deleteRequest></ficAlimMENESR>", encoding="utf-8")
    _run, report = import_run(kind="aaf", paths=[delete])
    assert report.get("pupils", "deactivated") == 1
    hugo = User.objects.get(external_id="e2")
    assert not hugo.is_active and not hugo.memberships.filter(is_active=True).exists()


def test_imports_command_prints_report_and_dry_run(tmp_path, capsys):
    call_command("import", "aaf", *[str(path) for path in school_files(tmp_path)], "--dry-run")
    out = capsys.readouterr().out
    assert "Simulation" in out and "Élèves : 2 créés" in out
    assert not User.objects.exists()


def test_imports_command_unknown_kind_and_nothing_imported(tmp_path):
    with pytest.raises(CommandError, match="Type d'import inconnu"):
        call_command("import", "siecl", "x.xml")
    with pytest.raises(CommandError, match="Rien n'a pu être importé"):
        call_command("import", "aaf", str(tmp_path / "absent.xml"))


@pytest.mark.skipif(not REAL_AAF.is_dir(), reason="real AAF 2013 files absent (../shared/testdata/aaf/2013)")
def test_imports_aaf_real_2013_export():
    files = sorted(REAL_AAF.glob("*.xml"))
    run, report = import_run(kind="aaf", paths=files)
    assert run.status == ImportRun.Status.PARTIAL
    assert report.get("establishments", "created") == 10
    assert report.get("mefs", "created") == 2504
    assert report.get("national_subjects", "created") == 718
    assert report.get("staff", "created") == 3
    assert report.get("pupils", "created") == 642
    assert report.get("guardians", "created") == 14
    lines = rejections(run)
    # Pupils name guardians from the missing parts, and guardians point to pupils of the missing _Eleve_0000.
    assert any("Responsable inconnu" in reason for *_rest, reason in lines)
    assert sum("aucun élève" in reason for *_rest, reason in lines) == 14
    assert Establishment.objects.get(uai="0059951P").external_id == "52006"
    assert ClassEnrolment.objects.filter(school_class__code="RUS1TERM", pupil__external_id="2605692").exists()
    again, report2 = import_run(kind="aaf", paths=files)
    assert report2.get("pupils", "unchanged") == 642 and report2.get("pupils", "created") == 0


def test_imports_aaf_link_removed_guardian_loses_role_without_children(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    later = tmp_path / "later"
    later.mkdir()
    # Hugo's record no longer names Zoé (g3): the link goes, and so does her guardian role there.
    changed = aaf_file(later, "X_Delta_20261001_Eleve_0000.xml",
                       pupil("e2", first="Hugo", last="Bernard", classes="9001$5A", rel="g2$1$0$1$0$0"))
    _run, report = import_run(kind="aaf", paths=[changed])
    assert report.get("links", "deactivated") == 1 and report.get("links", "created") == 1
    assert not GuardianLink.objects.filter(guardian__external_id="g3").exists()
    assert not Membership.objects.filter(user__external_id="g3", role=Role.GUARDIAN, is_active=True).exists()
    # Marc (g2) is still Léa's father and now Hugo's too: his role stays.
    assert Membership.objects.filter(user__external_id="g2", role=Role.GUARDIAN, is_active=True).exists()


def modify(category: str, identifier: str, **values) -> str:
    mods = "".join(
        f'<modification name="{name}" operation="replace">'
        + "".join(f"<value>{v}</value>" for v in (value if isinstance(value, list) else [value])) + "</modification>"
        for name, value in values.items())
    return (f'<modifyRequest><operationalAttributes><attr name="categoriePersonne"><value>{category}</value></attr>'
            f"</operationalAttributes><identifier><id>{identifier}</id></identifier>"
            f"<modifications>{mods}</modifications></modifyRequest>")


def test_imports_aaf_modify_request_updates_only_given_attributes(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    (tmp_path / "delta").mkdir()
    delta = aaf_file(tmp_path / "delta", "X_Delta_20261002_PersEducNat_0000.xml",
                     modify("PersEducNat", "p1", mail="p.durand@ac-lyon.fr",
                            ENTAuxEnsClassesMatieres="9001$5B$061300"),
                     modify("PersEducNat", "nobody", sn="Personne"))
    run, report = import_run(kind="aaf", paths=[delta])
    paul = User.objects.get(external_id="p1")
    assert (paul.email, paul.last_name) == ("p.durand@ac-lyon.fr", "Durand")
    # Services are synchronised with the list: 5A and the LATIN group are gone, 5B stays (still main: the
    # modification does not carry ENTAuxEnsClassesPrincipal).
    assert list(TeachingAssignment.objects.filter(teacher=paul).values_list("school_class__code", "is_main_teacher")
                ) == [("5B", True)]
    assert report.get("staff", "updated") == 1
    assert any(number == 2 and "modification impossible" in reason for _f, number, _a, reason in rejections(run))


def test_imports_aaf_full_import_marks_absent_pupil_leaving_then_deactivates_after_grace(tmp_path, settings):
    settings.PREAU_IMPORT_LEAVING_GRACE_DAYS = 30
    import_run(kind="aaf", paths=school_files(tmp_path))
    later = tmp_path / "later"
    later.mkdir()
    without_hugo = school_files(later, pupils=[pupil("e1", rel=["g1$2$1$1$0$0", "g2$1$0$2$0$0"],
                                                     authority=["g1", "g2"], groups="9001$LATIN")])
    run, report = import_run(kind="aaf", paths=without_hugo)
    membership = Membership.objects.get(user__external_id="e2", role=Role.PUPIL)
    assert membership.is_active and membership.leaving_since is not None
    assert run.counts["pupils"]["leaving"] == 1 and "1 marqués partants" in "\n".join(report.lines())
    assert Membership.objects.get(user__external_id="e1", role=Role.PUPIL).leaving_since is None
    # Thirty-one days later, still absent: deactivated.
    Membership.objects.filter(pk=membership.pk).update(
        leaving_since=membership.leaving_since - datetime.timedelta(days=31))
    _run, report = import_run(kind="aaf", paths=without_hugo)
    membership.refresh_from_db()
    assert not membership.is_active and report.get("pupils", "deactivated") == 1


def test_imports_aaf_full_import_back_before_grace_clears_leaving(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    Membership.objects.filter(user__external_id="e2").update(leaving_since="2026-01-01")
    import_run(kind="aaf", paths=school_files(tmp_path))
    assert Membership.objects.get(user__external_id="e2", role=Role.PUPIL).leaving_since is None


def test_imports_aaf_full_import_missing_part_or_broken_file_marks_nobody_leaving(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    later = tmp_path / "later"
    later.mkdir()
    files = school_files(later, pupils=[pupil("e1")])
    renamed = files[4].with_name("X_Complet_20260901_Eleve_0001.xml")  # part 0000 missing
    files[4].rename(renamed)
    files[4] = renamed
    run, _report = import_run(kind="aaf", paths=files)
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()
    assert any("Import complet incomplet" in reason for *_rest, reason in rejections(run))
    # A Delta never marks anyone either.
    delta = aaf_file(later, "X_Delta_20261001_Eleve_0000.xml", pupil("e1"))
    import_run(kind="aaf", paths=[delta])
    assert not Membership.objects.filter(leaving_since__isnull=False).exists()


def test_imports_aaf_file_kind_from_first_record_and_establishment_delete(tmp_path):
    unnamed = aaf_file(tmp_path, "structures.xml", etab())
    _run, report = import_run(kind="aaf", paths=[unnamed])
    assert report.get("establishments", "created") == 1
    delete = tmp_path / "suppression.xml"
    delete.write_text('<ficAlimMENESR><deleteRequest><operationalAttributes><attr name="categorieStructure">'
                      "<value>EtabEducNat</value></attr></operationalAttributes><identifier><id>9001</id>"
                      "</identifier></deleteRequest></ficAlimMENESR>", encoding="utf-8")
    _run, report = import_run(kind="aaf", paths=[delete])
    assert report.get("establishments", "deactivated") == 1
    assert not Establishment.objects.get(uai="0699001A").is_active


def test_imports_aaf_teacher_services_typed_by_hand_elsewhere_kept(tmp_path):
    import_run(kind="aaf", paths=school_files(tmp_path))
    paul = User.objects.get(external_id="p1")
    other = Establishment.objects.create(uai="0699002B", name="Collège Victor Hugo", kind="college")
    year = SchoolYear.objects.create(establishment=other, label="2026-2027", start=datetime.date(2026, 9, 1),
                                     end=datetime.date(2027, 7, 5), is_current=True)
    school_class = other.classes.create(school_year=year, code="4C", label="4e C")
    subject = other.subjects.create(code="MATHS", label="Mathématiques")
    TeachingAssignment.objects.create(teacher=paul, establishment=other, school_year=year, subject=subject,
                                      school_class=school_class)
    import_run(kind="aaf", paths=school_files(tmp_path))
    assert TeachingAssignment.objects.filter(teacher=paul, establishment=other).count() == 1
    assert TeachingAssignment.objects.filter(teacher=paul).count() == 4


def test_imports_aaf_staff_functions_mapped_per_establishment(tmp_path):
    cpe = add("categoriePersonne", "PersEducNat", "p5", ENTPersonJointure="p5", sn="Roux", givenName="Inès",
              ENTPersonStructRattach="9001",
              ENTPersonFonctions=["9001$EDU$EDUCATION$E0030$CPE", "9001$DIR$DIRECTION$D0020$DIRECTEUR ADJOINT",
                                  "9001$ENS$ENSEIGNEMENT$L0100$PHILOSOPHIE"])
    files = school_files(tmp_path)
    staff_file = aaf_file(tmp_path, "X_Complet_20260901_PersEducNat_0000.xml", teacher("p1"), head(), cpe)
    files[3] = staff_file
    import_run(kind="aaf", paths=files)
    roles = dict(Membership.objects.filter(user__external_id="p5").values_list("role", "functions"))
    assert roles == {Role.STAFF: [StaffFunction.CPE, StaffFunction.DEPUTY], Role.TEACHER: []}
