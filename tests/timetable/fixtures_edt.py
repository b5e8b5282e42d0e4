"""EDT `ExportEmploiDuTemps` files built for the timetable import tests, after the schema in
../shared/testdata/edt/ExportEmploiDuTemps.xsd (v1.1), with what real exports add (undeclared attributes and
elements, comments, attributes in other letter cases)."""

from __future__ import annotations

import datetime
from pathlib import Path

from preau.timetable.models import ClosedPeriod, SchoolCalendar

NS = "http://www.index-education.com/exportemploidutemps"
SCHEMA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "edt" / "ExportEmploiDuTemps.xsd"
WEEK1 = datetime.date(2026, 8, 31)  # Monday of the export's week 1 (the world's year starts Tuesday 1 September)
# The world's holidays used by these tests: Toussaint (weeks 8 and 9), Christmas (17 and 18).
HOLIDAY_WEEKS = {8, 9, 17, 18}
SCHOOL_WEEKS = [n for n in range(1, 45) if n not in HOLIDAY_WEEKS]


def week_monday(number: int) -> datetime.date:
    return WEEK1 + datetime.timedelta(weeks=number - 1)


def mask(weeks) -> str:
    return str(sum(1 << week for week in weeks))


def setup_calendar(school, *, ab: bool = False) -> SchoolCalendar:
    """The world's calendar with the holiday weeks closed and, with `ab`, school weeks labelled A, B, A…"""
    labels = {}
    if ab:
        labels = {week_monday(n).isoformat(): "AB"[index % 2] for index, n in enumerate(SCHOOL_WEEKS)}
    calendar = SchoolCalendar.objects.create(school_year=school.year, establishment=school.establishment,
                                             week_mode="ab" if ab else "every", week_labels=labels)
    for first, last in ((8, 9), (17, 18)):
        ClosedPeriod.objects.create(calendar=calendar, kind="holidays", label=f"Vacances {first}",
                                    first_day=week_monday(first) - datetime.timedelta(days=2),
                                    last_day=week_monday(last) + datetime.timedelta(days=6))
    return calendar


def place_rows(count: int = 10) -> str:
    """Hour-long places from 08:00, number 0 first (the schema's convention)."""
    return "\n".join(f'      <Place Numero="{n}" LibelleHeureDebut="{8 + n:02d}:00:00" '
                     f'LibelleHeureFin="{9 + n:02d}:00:00"/>' for n in range(count))


def course(jour, first, count, subject, *refs, extra="") -> str:
    """A Cours element; refs are (element, ident, weeks mask or None, extra attributes)."""
    rows = [f'    <Cours Jour="{jour}" NumeroPlaceDebut="{first}" NombrePlaces="{count}"{extra}>',
            f'      <Matiere Ident="{subject}"/>']
    for ref in refs:
        element, ident, weeks, *more = ref
        semaines = "" if weeks is None else f' Semaines="{weeks}"'
        rows.append(f'      <{element} Ident="{ident}"{semaines}{more[0] if more else ""}>'
                    f'<!--Domaine : ...--></{element}>')
    rows.append("    </Cours>")
    return "\n".join(rows)


EVERY = mask(SCHOOL_WEEKS)


def default_courses() -> list[str]:
    return [
        # Maths 5e A, Monday 08:00-10:00, every school week, room 101.
        course(1, 0, 2, 1, ("Professeur", 1, EVERY), ("Classe", 1, EVERY), ("Salle", 1, EVERY)),
        # Latin group, Tuesday 10:00-11:00, every week.
        course(2, 2, 1, 2, ("Professeur", 3, EVERY), ("Groupe", 1, EVERY), ("Salle", 2, EVERY)),
        # Maths 5e B, Thursday 14:00-15:00, weeks 1-10 only: custom weeks.
        course(4, 6, 1, 1, ("Professeur", 2, mask(range(1, 11))), ("Classe", 2, mask(range(1, 11)))),
        # A part of class 5e A (the group "5A G1" is made of it), Friday 09:00-10:00.
        course(5, 1, 1, 1, ("Professeur", 1, EVERY), ("PartieDeClasse", 11, EVERY)),
    ]


def edt_xml(*, uai="0690001A", courses=None, namespace=True, teachers=None, subjects=None, extra_root="",
            year='DateDebut="2026-09-01" DateFin="2027-07-04" DatePremierJourSemaine1="2026-08-31"',
            places=None) -> str:
    """A whole export. Every element the schema declares is there, plus things real files add."""
    xmlns = f' xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' if namespace else ""
    if teachers is None:
        teachers = [
            # Matched by name (Prénom cut short, as exports do), with every optional attribute of the schema.
            '<Professeur Ident="1" Nom="DUPONT" Prenom="MARIE AN" CodePostal="69001" DateNaissance="1980-01-02" '
            'IDPN="KVX8NTH4" IDCAS="cas-unknown" IdPN="other-case"/>',
            # Matched by its STS-Web id (the directory's key sts:<UAI>:<id>).
            '<Professeur Ident="2" Nom="AUTRE" Prenom="NOM" IDSTS="1234"/>',
            # Matched by its external id given as IDCAS.
            '<Professeur Ident="3" Nom="LATINISTE" Prenom="Paul" IDCAS="ent-latin-1"/>',
            # Unknown.
            '<Professeur Ident="9" Nom="INCONNU" Prenom="Jean"/>',
        ]
    if subjects is None:
        subjects = ['<Matiere Ident="1" Code="MATH" Libelle="MATHEMATIQUES"/>',
                    '<Matiere Ident="2" Code="LCA" Libelle="LATIN" Couleur="#ff0000"/>',
                    '<Matiere Ident="3" Code="VICLA" Libelle="VIE DE CLASSE"/>']
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ExportEmploiDuTemps{xmlns} Version="1.1" UAI="{uai}"{extra_root}>
  <AnneeScolaire {year}/>
  <GrilleHoraire NombrePlacesParJour="10" DureePlace="60">
    <JoursOuvres>
      <Jour>1</Jour><Jour>2</Jour><Jour>3</Jour><Jour>4</Jour><Jour>5</Jour>
    </JoursOuvres>
    <PlacesParJour>
{places if places is not None else place_rows()}
    </PlacesParJour>
  </GrilleHoraire>
  <Matieres>
    {chr(10).join(subjects)}
  </Matieres>
  <Professeurs>
    {chr(10).join(teachers)}
  </Professeurs>
  <Classes>
    <Classe Ident="1" Nom="5A"><PartieDeClasse Ident="11"/><PartieDeClasse Ident="12"/></Classe>
    <Classe Ident="2" Nom="5e B"><PartieDeClasse Ident="21"/></Classe>
    <Classe Ident="3" Nom="6C"/>
  </Classes>
  <Groupes>
    <Groupe Ident="1" Nom="LAT"><Classe Ident="1"/><Classe Ident="2"/></Groupe>
    <Groupe Ident="2" Nom="5A G1"><PartieDeClasse Ident="11"/></Groupe>
    <Groupe Ident="3" Nom="Inconnu"><PartieDeClasse Ident="12"/></Groupe>
  </Groupes>
  <Salles>
    <Salle Ident="1" Nom="101"/>
    <Salle Ident="2" Nom="CDI" Capacite="30"/>
    <Salle Ident="3" Nom=""/>
  </Salles>
  <Eleves>
    <Eleve Ident="1" Nom="ELEVE" Prenom="Un" DateNaissance="2014-01-10" Sexe="Feminin" CodePostal="69001"
           NumeroNational="0000000000001" IDSconet="123" IDPN="P1" IDCAS="c1" IDEtablissement="e1">
      <Responsable Ident="10" RespLegal="1" Nom="PARENT" Prenom="Un" Civilite="Mme" Adresse1="1 rue"
                   Adresse2="" Adresse3="" Adresse4="" CodePostal="69001" Ville="LYON" IDPN="R1" IDCAS="rc1"/>
      <Classe Ident="1" DateEntree="2026-09-01" DateSortie="2027-07-04"/>
      <PartieDeClasse Ident="11" DateEntree="2026-09-01" DateSortie="2027-07-04"/>
    </Eleve>
  </Eleves>
  <Cours>
{chr(10).join(default_courses() if courses is None else courses)}
  </Cours>
  <ExtensionInconnue Valeur="1"><Detail/></ExtensionInconnue>
</ExportEmploiDuTemps>
"""


def write(tmp_path, text: str, name: str = "edt.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def prepare_directory(world):
    """Names and keys the export's teachers are matched by; the group made of a part of 5e A."""
    from preau.directory.models import TeachingGroup

    school = world.one
    school.teacher_a.last_name, school.teacher_a.first_name = "Dupont", "Marie-Anne"
    school.teacher_a.save(update_fields=["last_name", "first_name"])
    school.teacher_b.external_id = f"sts:{school.establishment.uai}:1234"
    school.teacher_b.save(update_fields=["external_id"])
    school.group_teacher.external_id = "ent-latin-1"
    school.group_teacher.save(update_fields=["external_id"])
    half = TeachingGroup.objects.create(school_year=school.year, establishment=school.establishment, code="5AG1",
                                        label="5A G1")
    return half
