"""`preau import <kind> FILES... [--dry-run]`: import national-directory files and print the report in French."""

from django.core.management.base import BaseCommand, CommandError

from preau.imports.services import KINDS, import_run


class Command(BaseCommand):
    help = "Importe des fichiers de l'annuaire national (aaf) et affiche le compte rendu."

    def add_arguments(self, parser):
        parser.add_argument("kind", help="Type de fichiers : " + ", ".join(KINDS))
        parser.add_argument("files", nargs="+", help="Fichiers à importer")
        parser.add_argument("--dry-run", action="store_true", help="Simulation : rien n'est enregistré.")

    def handle(self, *args, kind, files, dry_run, **options):
        if kind not in KINDS:
            raise CommandError(f"Type d'import inconnu « {kind} ». Types disponibles : {', '.join(KINDS)}.")
        run, report = import_run(kind=kind, paths=files, dry_run=dry_run)
        for line in report.lines():
            self.stdout.write(line)
        if report.imported == 0:
            raise CommandError("Rien n'a pu être importé.")
