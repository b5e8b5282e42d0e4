"""`preau import_inbox [FOLDER]`: one pass of the nightly feed (for cron, or to run it by hand)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from preau.imports.inbox import import_inbox


class Command(BaseCommand):
    help = "Importe les livraisons déposées dans le dossier d'arrivée (PREAU_IMPORT_INBOX)."

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", help="Dossier d'arrivée (par défaut PREAU_IMPORT_INBOX)")

    def handle(self, *args, folder=None, **options):
        inbox = Path(folder or settings.PREAU_IMPORT_INBOX or "")
        if not str(inbox) or str(inbox) == "." or not inbox.is_dir():
            raise CommandError("Dossier d'arrivée introuvable : donnez-le en argument ou dans PREAU_IMPORT_INBOX.")
        outcomes = import_inbox(inbox)
        if not outcomes:
            self.stdout.write("Aucune livraison à importer.")
        for outcome in outcomes:
            self.stdout.write(f"== {outcome.delivery} : {outcome.status}"
                              + (f" (import n° {outcome.run_id})" if outcome.run_id else ""))
            for line in outcome.lines:
                self.stdout.write(line)
        if outcomes and all(outcome.status == "failed" for outcome in outcomes):
            raise CommandError("Aucune livraison n'a pu être importée.")
