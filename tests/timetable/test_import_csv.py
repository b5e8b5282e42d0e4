"""The timetable CSV: columns, days and times, teachers by key or name, weeks, per-row errors, encodings and
delimiters, re-import and vanished rows."""

import datetime

import pytest
import time_machine

from preau.imports import services
from preau.imports.models import ImportRun
from preau.timetable.models import Course, Room

from .fixtures_edt import prepare_directory, week_monday

pytestmark = pytest.mark.django_db

HEADER = "jour;début;fin;matière;enseignants;classes;groupes;salle;semaines;id\n"


def run(tmp_path, world, text, *, dry_run=False, encoding="utf-8", name="edt.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    with time_machine.travel(datetime.datetime(2026, 11, 16, 10, tzinfo=datetime.UTC), tick=False):
        return services.import_run(kind="timetable-csv", paths=[path], dry_run=dry_run,
                                   establishment=world.one.establishment)


def reasons(report) -> str:
    return "\n".join(f"{r.record}|{r.attribute}|{r.reason}" for r in report.rejections)


def csv_courses(world):
    return Course.objects.filter(establishment=world.one.establishment, source="csv").prefetch_related(
        "teachers", "classes", "groups")


@pytest.fixture
def csv_world(world):
    prepare_directory(world)
    return world


def test_csv_rows_become_courses(csv_world, tmp_path):
    world, school = csv_world, csv_world.one
    text = HEADER + (
        f"lundi;08:00;10:00;MATH;{school.teacher_a.username};5A;;101;toutes;m1\n"
        "Mardi;8h30;9h30;LCA;LATINISTE Paul|Dupont Marie-Anne;;LAT;CDI;A;\n"
        f"4;14:00;15:00;Mathématiques;{school.teacher_b.email};5e B;;;2026-09-07|2026-09-16, 2026-10-05;\n"
        "ven;10:00;11:00;;;5A;;101;B;vc\n"
    )
    school.group_teacher.last_name, school.group_teacher.first_name = "Latiniste", "Paul"
    school.group_teacher.save()
    import_run, report = run(tmp_path, world, text)
    assert import_run.status == ImportRun.Status.SUCCEEDED, reasons(report)
    assert report.get("courses", "created") == 4
    rows = {c.weekday: c for c in csv_courses(world)}
    monday = rows[0]
    assert (monday.subject, monday.start_time, monday.end_time) == (school.subject, datetime.time(8),
                                                                     datetime.time(10))
    assert list(monday.teachers.all()) == [school.teacher_a] and list(monday.classes.all()) == [school.class_a]
    assert monday.room.code == "101" and monday.week_pattern == "every" and monday.external_id == "2026:csv:m1"
    tuesday = rows[1]
    assert tuesday.start_time == datetime.time(8, 30) and tuesday.week_pattern == "A"
    assert set(tuesday.teachers.all()) == {school.group_teacher, school.teacher_a}
    assert list(tuesday.groups.all()) == [school.group]
    thursday = rows[3]
    assert list(thursday.teachers.all()) == [school.teacher_b] and thursday.subject == school.subject
    assert thursday.week_pattern == "custom"
    assert thursday.custom_weeks == [week_monday(n).isoformat() for n in (2, 3, 6)]
    friday = rows[4]
    assert friday.week_pattern == "B" and friday.subject is None and not friday.teachers.exists()
    assert Room.objects.filter(establishment=school.establishment, code="CDI").exists()
    assert friday.room == monday.room
    assert (report.get("rooms", "created"), report.get("rooms", "unchanged")) == (2, 0)  # each room counted once
    # Again: unchanged.
    _run, report = run(tmp_path, world, text)
    assert report.get("courses", "unchanged") == 4 and report.get("courses", "created") == 0
    assert (report.get("rooms", "created"), report.get("rooms", "unchanged")) == (0, 2)


def test_csv_row_errors_reported_per_line(csv_world, tmp_path):
    text = HEADER + (
        "lundi;08:00;10:00;MATH;;5A;;;;\n"  # fine
        "jourdi;08:00;10:00;MATH;;5A;;;;\n"  # line 3: day
        "mardi;8 heures;10:00;MATH;;5A;;;;\n"  # line 4: start
        "mardi;10:00;09:00;MATH;;5A;;;;\n"  # line 5: end before start
        "mardi;10:00;11:00;MATH;Personne Inconnue;6C;;;;\n"  # line 6: nothing known
        "mercredi;10:00;11:00;XYZ;;5A;GHOST;;n'importe quand;\n"  # line 7: weeks
        "jeudi;10:00;11:00;XYZ;Personne Inconnue;5A;GHOST;;2026-09-07|2031-01-01;\n"  # line 8: imported + warnings
        "vendredi;10:00;11:00;MATH;;5A;;;;dup\n"
        "vendredi;11:00;12:00;MATH;;5A;;;;dup\n"  # line 10: same id
    )
    import_run, report = run(tmp_path, csv_world, text)
    assert report.get("courses", "created") == 3, reasons(report)
    text = reasons(report)
    for expected in ("3|jour|Jour illisible « jourdi »", "4|début|Heure illisible « 8 heures »",
                     "5|fin|L'heure de fin (09:00) n'est pas après l'heure de début (10:00)",
                     "6|classes|Aucune des classes", "6|enseignants|Enseignant « Personne Inconnue » non trouvé",
                     "7|semaines|Semaines illisibles « n'importe quand »", "8|matière|Matière « XYZ » inconnue",
                     "8|groupes|Groupe « GHOST » inconnu", "8|semaines|Semaines illisibles ou hors de l'année",
                     "10|id|Identifiant « dup » déjà donné"):
        assert expected in text, (expected, text)
    assert import_run.status == ImportRun.Status.PARTIAL
    thursday = csv_courses(csv_world).get(weekday=3)
    assert thursday.label == "XYZ" and thursday.custom_weeks == [week_monday(2).isoformat()]


def test_csv_windows_1252_comma_delimited_and_missing_columns(csv_world, tmp_path):
    text = "Jour,Heure début,Heure fin,Matière,Classes,Libellé\nlundi,08:00,09:00,,5A,Étude surveillée\n"
    _run, report = run(tmp_path, csv_world, text, encoding="cp1252")
    assert report.get("courses", "created") == 1, reasons(report)
    assert csv_courses(csv_world).get().label == "Étude surveillée"
    import_run, report = run(tmp_path, csv_world, "jour;matière\nlundi;MATH\n", name="bad.csv")
    assert import_run.status == ImportRun.Status.FAILED
    assert "Colonnes obligatoires absentes : debut, fin" in reasons(report)
    import_run, report = run(tmp_path, csv_world, "", name="empty.csv")
    assert import_run.status == ImportRun.Status.FAILED and "vide" in reasons(report)


def test_csv_vanished_rows_deleted_or_ended_and_rejected_rows_kept(csv_world, tmp_path):
    from preau.attendance.models import RollCall

    world = csv_world
    run(tmp_path, world, HEADER + "lundi;08:00;10:00;MATH;;5A;;;;a\nmardi;08:00;10:00;MATH;;5A;;;;b\n"
                                  "jeudi;08:00;10:00;MATH;;5A;;;;c\n")
    monday = csv_courses(world).get(weekday=0)
    RollCall.objects.create(course=monday, date=datetime.date(2026, 9, 7), establishment=world.one.establishment)
    # Row b vanished, row c rejected this time (its earlier import stays), row a vanished with history.
    _run, report = run(tmp_path, world,
                       HEADER + "jeudi;08:00;07:00;MATH;;5A;;;;c\nvendredi;08:00;10:00;MATH;;5A;;;;d\n")
    assert report.get("courses_ended", "deactivated") == 1 and report.get("courses_deleted", "deactivated") == 1
    monday.refresh_from_db()
    assert monday.valid_until == datetime.date(2026, 11, 15)
    assert set(csv_courses(world).values_list("external_id", flat=True)) == {"2026:csv:a", "2026:csv:c",
                                                                              "2026:csv:d"}


def test_csv_dry_run_writes_nothing(csv_world, tmp_path):
    import_run, report = run(tmp_path, csv_world, HEADER + "lundi;08:00;10:00;MATH;;5A;;101;;\n", dry_run=True)
    assert report.get("courses", "created") == 1 and import_run.dry_run
    assert not Course.objects.exists() and not Room.objects.exists()
