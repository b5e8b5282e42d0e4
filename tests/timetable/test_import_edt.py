"""The EDT / Pronote timetable export (`ExportEmploiDuTemps`): files built from the schema, matching the directory,
the weeks mapping, leniency, what is reported, re-import, ending vanished courses, dry run."""

import datetime
import random
import re

import pytest
import time_machine
from lxml import etree

from preau.imports import services
from preau.imports.models import ImportRun
from preau.timetable.models import Course, CourseChange, Room
from preau.timetable.occurrences import course_dates, is_school_day
from preau.timetable.selectors import calendar_for

from .fixtures_edt import (
    EVERY,
    NS,
    SCHEMA,
    SCHOOL_WEEKS,
    course,
    edt_xml,
    mask,
    prepare_directory,
    setup_calendar,
    week_monday,
    write,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 16)


def run(tmp_path, text, *, dry_run=False, establishment=None, name="edt.xml", today=TODAY):
    path = write(tmp_path, text, name)
    with time_machine.travel(datetime.datetime.combine(today, datetime.time(10), tzinfo=datetime.UTC), tick=False):
        return services.import_run(kind="edt", paths=[path], dry_run=dry_run, establishment=establishment)


def reasons(report) -> str:
    return "\n".join(f"{r.record}|{r.attribute}|{r.reason}" for r in report.rejections)


def courses(world):
    return Course.objects.filter(establishment=world.one.establishment, source="edt")


def by_weekday(world, weekday):
    return courses(world).filter(weekday=weekday).prefetch_related("teachers", "classes", "groups").get()


@pytest.fixture
def edt_world(world):
    world.extras["half"] = prepare_directory(world)
    setup_calendar(world.one)
    return world


def test_fixture_is_valid_against_the_schema_except_real_world_additions(tmp_path):
    """The built file follows the schema: stripped of what real exports add, it validates."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    text = (edt_xml().replace(' Couleur="#ff0000"', "").replace(' Capacite="30"', "")
            .replace(' IdPN="other-case"', "")
            .replace('  <ExtensionInconnue Valeur="1"><Detail/></ExtensionInconnue>\n', ""))
    document = etree.fromstring(text.encode())
    assert schema.validate(document), schema.error_log
    assert document.tag == f"{{{NS}}}ExportEmploiDuTemps"


def test_edt_import_matches_directory_and_maps_every_element(edt_world, tmp_path):
    world, school = edt_world, edt_world.one
    import_run, report = run(tmp_path, edt_xml())
    assert import_run.status == ImportRun.Status.PARTIAL, reasons(report)
    assert report.get("courses", "created") == 4
    monday = by_weekday(world, 0)
    assert monday.subject == school.subject and monday.start_time == datetime.time(8)
    assert monday.end_time == datetime.time(10)
    assert list(monday.teachers.all()) == [school.teacher_a]  # by name, first name cut short
    assert list(monday.classes.all()) == [school.class_a]
    assert monday.room.code == "101" and monday.room.establishment == school.establishment
    assert monday.week_pattern == Course.WeekPattern.EVERY and monday.custom_weeks == []
    assert monday.valid_from is None and monday.valid_until is None
    assert monday.external_id.startswith("2026:") and monday.kind == Course.Kind.RECURRING
    tuesday = by_weekday(world, 1)
    assert list(tuesday.groups.all()) == [school.group]
    assert list(tuesday.teachers.all()) == [school.group_teacher]  # by IDCAS = external id
    assert tuesday.room.code == "CDI"
    thursday = by_weekday(world, 3)
    assert list(thursday.teachers.all()) == [school.teacher_b]  # by IDSTS
    assert list(thursday.classes.all()) == [school.class_b]  # by label "5e B"
    assert thursday.week_pattern == Course.WeekPattern.CUSTOM
    assert thursday.custom_weeks == [week_monday(n).isoformat() for n in range(1, 11)]
    friday = by_weekday(world, 4)
    assert list(friday.groups.all()) == [world.extras["half"]]  # the part of class = the group made of it
    assert Room.objects.filter(establishment=school.establishment).count() == 2
    text = reasons(report)
    assert "Enseignant « Jean INCONNU » non trouvé" in text
    assert "Matière « VICLA » (VIE DE CLASSE) inconnue" in text
    assert "Classe « 6C » inconnue" in text
    assert "Groupe « Inconnu » inconnu" in text
    assert "Salle sans nom" in text
    # Record numbers are the lines of the file.
    line = next(n for n, row in enumerate(edt_xml().splitlines(), start=1) if 'Nom="INCONNU"' in row)
    assert any(r.record == line for r in report.rejections)


def test_edt_reimport_is_idempotent_and_updates_in_place(edt_world, tmp_path):
    world = edt_world
    run(tmp_path, edt_xml())
    ids = dict(courses(world).values_list("external_id", "pk"))
    _run, report = run(tmp_path, edt_xml())
    assert report.get("courses", "unchanged") == 4 and report.get("courses", "created") == 0
    assert report.get("courses", "updated") == 0
    assert dict(courses(world).values_list("external_id", "pk")) == ids
    # The Monday course moves to room CDI and another teacher: same course, updated.
    moved = edt_xml().replace('<Salle Ident="1" Semaines', '<Salle Ident="2" Semaines', 1).replace(
        '<Professeur Ident="1" Semaines', '<Professeur Ident="2" Semaines', 1)
    _run, report = run(tmp_path, moved)
    assert report.get("courses", "updated") == 1 and report.get("courses", "created") == 0
    monday = by_weekday(world, 0)
    assert monday.pk in ids.values() and monday.room.code == "CDI"
    assert list(monday.teachers.all()) == [world.one.teacher_b]


def test_edt_vanished_courses_end_with_history_and_are_deleted_without(edt_world, tmp_path):
    from preau.attendance.models import RollCall

    world = edt_world
    run(tmp_path, edt_xml())
    monday, tuesday = by_weekday(world, 0), by_weekday(world, 1)
    RollCall.objects.create(course=monday, date=datetime.date(2026, 9, 7), establishment=world.one.establishment)
    CourseChange.objects.create(course=tuesday, date=datetime.date(2026, 9, 8), status="cancelled")
    hand_made = Course.objects.create(establishment=world.one.establishment, school_year=world.one.year,
                                      weekday=2, start_time=datetime.time(8), end_time=datetime.time(9))
    only_two = edt_xml(courses=[course(4, 6, 1, 1, ("Professeur", 2, mask(range(1, 11))),
                                       ("Classe", 2, mask(range(1, 11)))),
                                course(5, 1, 1, 1, ("Professeur", 1, EVERY), ("PartieDeClasse", 11, EVERY))])
    _run, report = run(tmp_path, only_two)
    assert report.get("courses_ended", "deactivated") == 2
    monday.refresh_from_db()
    tuesday.refresh_from_db()
    assert monday.valid_until == TODAY - datetime.timedelta(days=1)
    assert tuesday.valid_until == TODAY - datetime.timedelta(days=1)
    assert RollCall.objects.filter(course=monday).exists()  # attendance history kept
    assert Course.objects.filter(pk=hand_made.pk).exists()  # courses typed by hand are not the feed's
    # Again: already ended, nothing more; a course without history is deleted.
    _run, report = run(tmp_path, only_two)
    assert report.get("courses_ended", "deactivated") == 0
    friday = by_weekday(world, 4)
    _run, report = run(tmp_path, edt_xml(courses=[only_two.split("<Cours>")[1].split("</Cours>")[0] + "</Cours>"]))
    assert report.get("courses_deleted", "deactivated") == 1
    assert not Course.objects.filter(pk=friday.pk).exists()
    # Listed again, an ended course comes back (in place).
    _run, report = run(tmp_path, edt_xml())
    monday.refresh_from_db()
    assert monday.valid_until is None


def test_edt_dry_run_writes_nothing(edt_world, tmp_path):
    import_run, report = run(tmp_path, edt_xml(), dry_run=True)
    assert report.get("courses", "created") == 4 and report.dry_run
    assert not Course.objects.exists() and not Room.objects.exists()
    assert import_run.status == ImportRun.Status.PARTIAL and import_run.dry_run
    assert import_run.rejections.count() == len(report.rejections) > 0


def test_edt_weeks_mapping_every_a_b_and_custom(world, tmp_path):
    prepare_directory(world)
    setup_calendar(world.one, ab=True)
    a_weeks = SCHOOL_WEEKS[0::2]
    b_weeks = SCHOOL_WEEKS[1::2]
    files = edt_xml(courses=[
        course(1, 0, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),
        course(2, 0, 1, 1, ("Professeur", 1, mask(a_weeks)), ("Classe", 1, mask(a_weeks))),
        course(3, 0, 1, 1, ("Professeur", 1, mask(b_weeks)), ("Classe", 1, mask(b_weeks))),
        # Every week including holidays (the calendar closes them anyway): every.
        course(4, 0, 1, 1, ("Professeur", 1, mask(range(1, 45))), ("Classe", 1, mask(range(1, 45)))),
        # A bit string (first character = week 1): weeks 1, 2 and 3.
        course(5, 0, 1, 1, ("Professeur", 1, "111" + "0" * 41), ("Classe", 1, "111" + "0" * 41)),
    ])
    _run, report = run(tmp_path, files)
    assert report.get("courses", "created") == 5, [r.reason for r in report.rejections]
    patterns = dict(courses(world).values_list("weekday", "week_pattern"))
    assert patterns == {0: "every", 1: "A", 2: "B", 3: "every", 4: "custom"}
    friday = by_weekday(world, 4)
    assert friday.custom_weeks == [week_monday(n).isoformat() for n in (1, 2, 3)]
    # The occurrence engine plans each course on exactly the export's days that are school days.
    for weekday, weeks in {0: SCHOOL_WEEKS, 1: a_weeks, 2: b_weeks, 3: range(1, 45), 4: (1, 2, 3)}.items():
        assert planned(by_weekday(world, weekday), weeks) == expected(world, weekday, weeks), weekday


def planned(course_obj, weeks) -> set:
    calendar = calendar_for(course_obj.school_year)
    return set(course_dates(course_obj, calendar, calendar.school_year.start, calendar.school_year.end))


def expected(world, weekday, weeks) -> set:
    calendar = calendar_for(world.one.year)
    days = (week_monday(n) + datetime.timedelta(days=weekday) for n in weeks)
    return {day for day in days if is_school_day(calendar, day)}


def test_edt_without_labels_alternation_is_custom_and_holidays_unknown_make_custom(world, tmp_path):
    prepare_directory(world)  # no calendar: nothing is known to be closed
    a_weeks = SCHOOL_WEEKS[0::2]
    files = edt_xml(courses=[
        course(1, 0, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),
        course(2, 0, 1, 1, ("Professeur", 1, mask(a_weeks)), ("Classe", 1, mask(a_weeks))),
        course(3, 0, 1, 1, ("Professeur", 1, mask(range(1, 45))), ("Classe", 1, mask(range(1, 45)))),
    ])
    run(tmp_path, files)
    patterns = dict(courses(world).values_list("weekday", "week_pattern"))
    assert patterns == {0: "custom", 1: "custom", 2: "every"}
    assert len(by_weekday(world, 1).custom_weeks) == len(a_weeks)
    for weekday, weeks in {0: SCHOOL_WEEKS, 1: a_weeks, 2: range(1, 45)}.items():
        assert planned(by_weekday(world, weekday), weeks) == expected(world, weekday, weeks), weekday


def test_edt_saturday_course_reported_when_the_calendar_has_no_saturday(edt_world, tmp_path):
    _run, report = run(tmp_path, edt_xml(courses=[course(6, 0, 1, 1, ("Professeur", 1, EVERY),
                                                         ("Classe", 1, EVERY))]))
    assert report.get("courses", "created") == 1
    assert "Le samedi n'est pas un jour de classe du calendrier" in reasons(report)


def test_edt_weeks_outside_the_year_dropped_and_partial_span_bounds_weekly_courses(edt_world, tmp_path):
    world = edt_world
    from_january = [n for n in SCHOOL_WEEKS if n >= 19]
    files = edt_xml(courses=[course(1, 0, 1, 1, ("Professeur", 1, mask(from_january + [50, 55])),
                                    ("Classe", 1, mask(from_january + [50, 55])))])
    run(tmp_path, files)
    monday = by_weekday(world, 0)
    assert monday.week_pattern == "every"
    assert monday.valid_from == week_monday(19) and monday.valid_until is None


def test_edt_teacher_change_during_the_year_makes_two_courses(edt_world, tmp_path):
    world = edt_world
    first, later = [n for n in SCHOOL_WEEKS if n < 19], [n for n in SCHOOL_WEEKS if n >= 19]
    files = edt_xml(courses=[course(1, 0, 1, 1, ("Professeur", 1, mask(first)), ("Professeur", 2, mask(later)),
                                    ("Classe", 1, EVERY))])
    _run, report = run(tmp_path, files)
    assert report.get("courses", "created") == 2
    rows = {c.custom_weeks[0]: list(c.teachers.all()) for c in courses(world)}
    assert rows[week_monday(1).isoformat()] == [world.one.teacher_a]
    assert rows[week_monday(19).isoformat()] == [world.one.teacher_b]
    _run, report = run(tmp_path, files)
    assert report.get("courses", "unchanged") == 2


def test_edt_lenient_without_namespace_and_with_undeclared_things(edt_world, tmp_path):
    text = edt_xml(namespace=False, extra_root=' Logiciel="EDT 2026" xmlns:x="urn:x" x:Autre="1"',
                   courses=[course(1, 0, 2, 1, ("Professeur", 1, EVERY, ' Principal="1"'),
                                   ("Classe", 1, EVERY), ("Salle", 1, EVERY),
                               extra=f' SemainesAnnulation="{mask([4])}"'),
                            '    <Cours Jour="2" NumeroPlaceDebut="0" NombrePlaces="1"><Matiere Ident="1"/>'
                            '<Commentaire>x</Commentaire><Professeur Ident="1" Semaines=""/>'
                            '<Classe Ident="1" Semaines="abc"/></Cours>'])
    text = text.replace('Jour="1" NumeroPlaceDebut', 'jour="1" numeroPlaceDebut')
    _run, report = run(tmp_path, text)
    assert report.get("courses", "created") == 2, reasons(report)
    monday = by_weekday(edt_world, 0)
    assert monday.week_pattern == "custom"  # week 4 cancelled
    assert week_monday(4).isoformat() not in monday.custom_weeks and len(monday.custom_weeks) == 39
    tuesday = by_weekday(edt_world, 1)
    assert tuesday.week_pattern == "every"  # no readable weeks: every week of the export
    assert "Semaines illisibles (« abc »)" in reasons(report)


def test_edt_malformed_records_reported_not_crashing(edt_world, tmp_path):
    places = ('      <Place Numero="0" LibelleHeureDebut="08:00:00" LibelleHeureFin="09:00:00"/>\n'
              '      <Place Numero="1" LibelleHeureDebut="9 heures" LibelleHeureFin="10:00:00"/>\n'
              '      <Place Numero="x" LibelleHeureDebut="10:00:00" LibelleHeureFin="11:00:00"/>')
    text = edt_xml(places=places, courses=[
        course(1, 0, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),  # fine
        course(1, 1, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),  # place 1 has no readable start
        course(1, 5, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),  # place 5 not in the grid
        course(9, 0, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),  # day 9
        course("", 0, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),  # empty day
        course(2, 0, 1, 1, ("Professeur", 9, EVERY), ("Classe", 3, EVERY)),  # unknown teacher and class
        course(2, 0, 1, 1, ("Professeur", 77, EVERY), ("Classe", 1, EVERY), ("Salle", 88, EVERY)),  # undeclared
        course(3, 0, 1, 1),  # nothing but a subject (real exports have these)
        course(3, "²", 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY)),  # a digit that is not a number
        course(3, 0, 1, 1, ("Professeur", 1, mask([60])), ("Classe", 1, mask([60]))),  # no week in the year
    ])
    import_run, report = run(tmp_path, text)
    assert report.get("courses", "created") == 2, reasons(report)
    text = reasons(report)
    for expected in ("Place 1 : heure de début ou de fin illisible", "Place sans numéro lisible",
                     "Places 1 à 1 absentes de la grille horaire", "Places 5 à 5 absentes",
                     "Jour illisible (« 9 »)", "Jour illisible («  »)",
                     "Aucun enseignant, classe ni groupe de ce cours n'est connu",
                     "Enseignant 77 absent de la liste", "Salle 88 absente de la liste",
                     "Cours sans enseignant, classe, groupe ni salle", "Aucune semaine de cours dans l'année",
                     "Première place illisible (« ² »)"):
        assert expected in text, (expected, text)
    assert import_run.status == ImportRun.Status.PARTIAL


def test_edt_truncated_file_keeps_what_was_read_and_ends_nothing(edt_world, tmp_path):
    world = edt_world
    run(tmp_path, edt_xml())
    assert courses(world).count() == 4
    full = edt_xml()
    cut = full[:full.index("<Cours Jour=\"4\"")]  # stops inside the courses
    _run, report = run(tmp_path, cut)
    assert report.get("courses", "unchanged") == 2
    assert "Fichier XML illisible à partir d'ici" in reasons(report)
    assert "ni terminés ni supprimés" in reasons(report)
    assert courses(world).count() == 4 and not courses(world).filter(valid_until__isnull=False).exists()


def test_edt_files_refused_whole(edt_world, tmp_path):
    cases = {
        "autre.xml": ("<?xml version='1.0'?><STS_EDT/>", "Ce n'est pas un export de l'emploi du temps"),
        "chiffre.xml": ("<?xml version='1.0'?><EXPORT_INDEX_EDUCATION><CONTENU>x</CONTENU>"
                        "</EXPORT_INDEX_EDUCATION>", "Export chiffré"),
        "entites.xml": ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                        f'<ExportEmploiDuTemps xmlns="{NS}" UAI="0690001A"/>', "déclare des entités"),
        "vide.xml": ("", "illisible"),
        "inconnu.xml": (edt_xml(uai="0999999Z"), "Aucun établissement d'UAI 0999999Z"),
        "annee.xml": (edt_xml(year='DateDebut="2012-09-04" DateFin="2013-08-31" DatePremierJourSemaine1="2012-09-03"'),
                      "pas de l'année scolaire en cours"),
    }
    for name, (text, expected) in cases.items():
        import_run, report = run(tmp_path, text, name=name)
        assert import_run.status == ImportRun.Status.FAILED, name
        assert expected in reasons(report), (name, reasons(report))
    assert not Course.objects.exists()
    # Chosen establishment and the file's UAI disagree.
    import_run, report = run(tmp_path, edt_xml(uai="0690002B"), establishment=edt_world.one.establishment)
    assert "pas de Collège Jean Moulin" in reasons(report) and import_run.status == ImportRun.Status.FAILED


def test_edt_missing_week_one_falls_back_and_says_so(edt_world, tmp_path):
    _run, report = run(tmp_path, edt_xml(year='DateDebut="2026-08-31" DateFin="2027-07-04"'))
    assert report.get("courses", "created") == 4
    assert "Premier jour de la semaine 1 absent ou illisible" in reasons(report)
    assert by_weekday(edt_world, 0).week_pattern == "every"


def test_edt_unchanged_reimport_reads_no_row_per_course(edt_world, tmp_path, django_assert_max_num_queries):
    """Besides each record's savepoint, an unchanged course costs no query (relations prefetched, keys by id)."""
    many = [course(1 + n % 5, n // 5, 1, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY), ("Salle", 1, EVERY))
            for n in range(40)]
    text = edt_xml(courses=many)
    run(tmp_path, text)
    with django_assert_max_num_queries(2 * (40 + 3) + 40) as context:
        _run, report = run(tmp_path, text)
    assert report.get("courses", "unchanged") == 40
    per_record = [q["sql"] for q in context.captured_queries if "timetable_course" in q["sql"]]
    assert len(per_record) < 10, per_record


def test_edt_without_any_weeks_courses_are_every_week(edt_world, tmp_path):
    _run, report = run(tmp_path, edt_xml(courses=[course(1, 0, 1, 1, ("Professeur", 1, None), ("Classe", 1, None))]))
    assert report.get("courses", "created") == 1, reasons(report)
    monday = by_weekday(edt_world, 0)
    assert monday.week_pattern == "every" and monday.valid_from is None and monday.valid_until is None


def test_edt_mutated_files_never_crash(edt_world, tmp_path):
    """Garbage in any attribute, or a file cut anywhere: a report, never an unexpected error."""
    rng = random.Random(5)
    base = edt_xml()
    values = [match.span(1) for match in re.finditer(r'="([^"]*)"', base)]
    garbage = ["", " ", "-1", "abc", "99999999999999999999999", "²", "25:61", "2026-13-45", "é&amp;", "1e5"]
    for index in range(30):
        text = base
        for start, end in sorted(rng.sample(values, rng.randint(1, 4)), reverse=True):  # from the end: spans hold
            text = text[:start] + rng.choice(garbage) + text[end:]
        if rng.random() < 0.3:
            text = text[:rng.randint(0, len(text))]
        import_run, _report = run(tmp_path, text, dry_run=index % 2 == 0, name=f"mutated{index}.xml")
        assert not import_run.error, (index, import_run.error)
