"""`preau import <kind> FILES... [--dry-run] [--uai UAI] [--option key=value] [--mapping file.json]`: import
national-directory (or CSV) files, or a timetable, and print the report in French. Runs now, in this process (no
background task). A timetable (`edt`, `timetable-csv`) needs no --uai when its file names its establishment or when
Préau has a single active one (services.console_establishment).
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from preau.directory.models import Establishment
from preau.imports import services
from preau.imports.engine import RunAborted
from preau.imports.kinds import KINDS, TIMETABLE_KINDS


class Command(BaseCommand):
    help = ("Importe des fichiers de l'annuaire (aaf, siecle, sts, be1d, csv) ou l'emploi du temps (edt, "
            "timetable-csv) et affiche le compte rendu. "
            "Sort en erreur seulement si rien n'a pu être importé.")

    def add_arguments(self, parser):
        parser.add_argument("kind", help="Type de fichiers : " + ", ".join(KINDS))
        parser.add_argument("files", nargs="+", help="Fichiers à importer")
        parser.add_argument("--dry-run", action="store_true", help="Simulation : rien n'est enregistré.")
        parser.add_argument("--uai", help="UAI de l'établissement des fichiers (obligatoire pour be1d et csv ; pour "
                                          "edt et timetable-csv, seulement si le fichier ne le dit pas et que "
                                          "Préau compte plusieurs établissements actifs).")
        parser.add_argument("--option", action="append", default=[], metavar="CLÉ=VALEUR",
                            help="Option de l'import (répétable), par exemple --option profile=pupil "
                                 "--option full=true.")
        parser.add_argument("--mapping", metavar="FICHIER.json",
                            help="Correspondances de colonnes d'un CSV : un objet JSON {champ: colonne}, ou les "
                                 "options entières {\"profile\": ..., \"mapping\": {...}}.")

    def handle(self, *args, kind, files, dry_run, uai, option, mapping, **_options):
        import_kind = KINDS.get(kind)
        if import_kind is None:
            raise CommandError(f"Type d'import inconnu « {kind} ». Types disponibles : {', '.join(KINDS)}.")
        if not services.kind_available(import_kind):
            raise CommandError(f"L'import « {kind} » n'est pas encore disponible.")
        establishment = None
        if uai:
            establishment = Establishment.objects.filter(uai=uai.strip().upper()).first()
            if establishment is None:
                raise CommandError(f"Aucun établissement d'UAI « {uai} ».")
        elif kind in TIMETABLE_KINDS:
            try:
                establishment = services.console_establishment(kind, files)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        elif import_kind.needs_establishment:
            raise CommandError(f"L'import « {kind} » a besoin de l'établissement des fichiers : --uai UAI.")
        options = self.options(option, mapping)
        if kind == services.CSV_KIND:
            paths = [Path(name) for name in files]
            missing = [str(path) for path in paths if not path.is_file()]
            if missing:
                raise CommandError("Fichier introuvable : " + ", ".join(missing))
            try:
                options = services.clean_csv_options(options, services.read_csv_headers(paths))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        try:
            run, report = services.import_run(kind=kind, paths=files, dry_run=dry_run, establishment=establishment,
                                              options=options)
        except RunAborted as exc:
            raise CommandError(exc.reason) from None
        for line in report.lines():
            self.stdout.write(line)
        if report.imported == 0:
            raise CommandError("Rien n'a pu être importé.")

    @staticmethod
    def options(pairs: list[str], mapping_file: str | None) -> dict:
        options: dict = {}
        if mapping_file:
            try:
                data = json.loads(Path(mapping_file).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise CommandError(f"Fichier de correspondances illisible ({mapping_file}) : {exc}") from None
            if not isinstance(data, dict):
                raise CommandError("Le fichier de correspondances doit contenir un objet JSON.")
            options = dict(data) if "mapping" in data else {"mapping": data}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise CommandError(f"Option mal formée « {pair} » : attendu CLÉ=VALEUR.")
            options[key.strip()] = Command.option_value(value.strip())
        return options

    @staticmethod
    def option_value(value: str):
        """true/false, numbers and JSON values as such (`--option full=true`), anything else as text."""
        try:
            return json.loads(value)
        except ValueError:
            return value
