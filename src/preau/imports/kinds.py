"""The kinds of import: one importer class each, found by dotted path so a kind's module loads only when used."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ImportKind:
    code: str
    label: str
    importer_path: str
    # Files that do not name their establishment (BE1D, generic CSV) need one chosen by whoever imports them.
    needs_establishment: bool
    # Accepted file name extensions, for upload checks.
    extensions: tuple[str, ...]

    @property
    def importer(self):
        return import_string(self.importer_path)


KINDS: dict[str, ImportKind] = {kind.code: kind for kind in (
    ImportKind("aaf", _("AAF (annuaire académique fédérateur)"), "preau.imports.aaf.AafImporter", False,
               (".xml",)),
    ImportKind("siecle", _("SIECLE / BEE (élèves et responsables)"), "preau.imports.siecle.SiecleImporter", False,
               (".xml", ".csv")),
    ImportKind("sts", _("STS-Web (enseignants et services)"), "preau.imports.sts.StsImporter", False, (".xml",)),
    ImportKind("be1d", _("BE1D (écoles : élèves, responsables, enseignants)"), "preau.imports.be1d.Be1dImporter",
               True, (".csv", ".txt")),
    ImportKind("csv", _("CSV (colonnes au choix)"), "preau.imports.csvgeneric.CsvImporter", True, (".csv", ".txt")),
    # Timetables (docs/imports.md, "Timetable imports"): courses of the establishment's current school year.
    ImportKind("edt", _("Emploi du temps EDT / Pronote (ExportEmploiDuTemps)"),
               "preau.timetable.importers.edt.EdtImporter", False, (".xml",)),
    ImportKind("timetable-csv", _("Emploi du temps (CSV)"), "preau.timetable.importers.csv.TimetableCsvImporter",
               True, (".csv", ".txt")),
)}
# Kinds that write the timetable, not the directory: run by the establishment's timetable managers too
# (policy.can_import_timetable).
TIMETABLE_KINDS = frozenset({"edt", "timetable-csv"})
