"""`preau import_cleanup`: fail interrupted imports and delete the uploaded files no import needs any more."""

from django.core.management.base import BaseCommand

from preau.imports.services import import_cleanup


class Command(BaseCommand):
    help = ("Marque en échec les imports interrompus et supprime les fichiers envoyés dont aucun import n'a plus "
            "besoin (à lancer chaque heure, par cron par exemple).")

    def handle(self, *args, **options):
        done = import_cleanup()
        self.stdout.write(f"Imports interrompus : {done['interrupted']} ; brouillons abandonnés : "
                          f"{done['abandoned']} ; fichiers supprimés : {done['files_deleted']} ; comptes rendus "
                          f"expirés supprimés : {done['runs_deleted']}.")
