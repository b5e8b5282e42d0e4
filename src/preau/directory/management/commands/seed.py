"""`preau seed`: a realistic, deterministic demo school, or a hundred thousand pupils for load tests.

    preau seed --seed 1 --accounts demo-accounts.json --print-accounts   # what `make demo` runs
    preau seed --establishments 170                                       # about 100,000 pupils

See docs/seed.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from preau.directory.seeding import DEMO_PASSWORD, SeedOptions, flush_seeded, sample_accounts, seed_directory
from preau.directory.seeding.accounts import PRINTED

SUMMARY_LABELS = [
    ("establishments", "établissements"), ("classes", "classes"), ("groups", "groupes"), ("subjects", "matières"),
    ("pupils", "élèves"), ("guardians", "responsables"), ("teachers", "enseignants"),
    ("staff", "personnels et administrateurs ENT"), ("users", "comptes"), ("memberships", "rattachements"),
    ("guardian_links", "liens responsable–élève"), ("enrolments", "inscriptions en classe"),
    ("group_memberships", "inscriptions en groupe"), ("assignments", "services d'enseignement"),
]


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Crée des établissements, classes et personnes de démonstration (déterministes, en masse)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Graine : même graine, mêmes données (défaut 1).")
        parser.add_argument("--establishments", type=positive, default=2,
                            help="Nombre d'établissements (défaut 2 : le collège Jean Moulin et l'école "
                                 "Jean Jaurès ; au-delà, des collèges).")
        parser.add_argument("--pupils", type=positive, default=600,
                            help="Élèves par collège (défaut 600 ; l'école en a le quart).")
        parser.add_argument("--password", default=DEMO_PASSWORD,
                            help="Mot de passe commun des comptes de démonstration.")
        parser.add_argument("--batch-size", type=positive, default=2000)
        parser.add_argument("--print-accounts", action="store_true",
                            help="Affiche un compte de démonstration par rôle.")
        parser.add_argument("--accounts", metavar="FICHIER", help="Écrit les comptes de démonstration en JSON.")
        parser.add_argument("--flush", action="store_true",
                            help="Supprime d'abord toutes les données créées par seed (identifiants SEED-…).")

    def handle(self, *args, **options):
        if options["pupils"] < 8:
            raise CommandError("--pupils doit valoir au moins 8.")
        if options["flush"]:
            removed = flush_seeded()
            self.stdout.write(f"Données de démonstration supprimées ({removed['establishments']} objets "
                              f"d'établissement, {removed['users']} objets de personnes).")
        seed_options = SeedOptions(seed=options["seed"], establishments=options["establishments"],
                                   pupils=options["pupils"], password=options["password"],
                                   batch_size=options["batch_size"])
        report = seed_directory(seed_options, progress=self.stdout.write)
        self._summary(report)
        self._seed_agenda(seed_options)
        self._seed_timetable(seed_options)
        self._seed_attendance(seed_options)
        if options["print_accounts"] or options["accounts"]:
            entries, note = sample_accounts(seed=seed_options.seed, password=seed_options.password)
            if options["print_accounts"]:
                self._print_accounts(entries, note, seed_options.password)
            if options["accounts"]:
                path = Path(options["accounts"])
                path.write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
                self.stdout.write(f"Comptes de démonstration écrits dans {path}.")

    def _seed_agenda(self, seed_options):
        """Demo events of the school agenda (preau.timetable.agenda_seeding), for establishments without any."""
        from preau.timetable.agenda_seeding import seed_agenda

        created = seed_agenda(seed_options.seed)
        if created:
            self.stdout.write(f"Agenda : {created} événements de démonstration.")

    def _seed_timetable(self, seed_options):
        """Calendars, rooms and weekly courses (preau.timetable.seeding), for establishments without courses."""
        from preau.timetable.seeding import seed_timetables

        counts = seed_timetables(seed_options.seed, batch_size=seed_options.batch_size)
        if counts["courses"]:
            self.stdout.write(f"Emplois du temps : {counts['courses']} cours, {counts['rooms']} salles, "
                              f"{counts['calendars']} calendriers.")

    def _seed_attendance(self, seed_options):
        """Demo roll calls, absences, justifications, punishments (preau.attendance.seeding), after the timetable."""
        from preau.attendance.seeding import seed_attendance

        counts = seed_attendance(seed_options.seed)
        if counts["roll_calls"]:
            self.stdout.write(f"Vie scolaire : {counts['roll_calls']} appels, {counts['records']} absences et "
                              f"retards, {counts['punishments']} punitions.")

    def _summary(self, report):
        skipped = len(report.units) - report.created_units
        self.stdout.write("")
        if report.created_units == 0:
            self.stdout.write(self.style.SUCCESS(
                f"Rien à créer : les établissements demandés existent déjà ({report.seconds:.1f} s)."))
            return
        parts = [f"{report.counts[key]:,} {label}".replace(",", "\u202f") for key, label in SUMMARY_LABELS]
        self.stdout.write(self.style.SUCCESS(f"Créé en {report.seconds:.1f} s : " + ", ".join(parts) + "."))
        if skipped:
            self.stdout.write(f"Établissements déjà présents, conservés : {skipped} collège(s) et leurs voisins.")

    def _print_accounts(self, entries, note, password):
        shown, pending_shown = [], False
        for entry in entries:
            if entry["role"] == "to_activate":
                if pending_shown:
                    continue
                pending_shown = True
            if entry["role"] in PRINTED:
                shown.append(entry)
        if not shown:
            self.stdout.write("Aucun compte de démonstration (le collège de démonstration n'existe pas).")
            return
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"Comptes de démonstration — mot de passe commun : {password}"))
        self.stdout.write("(données fictives, pour la démonstration uniquement)")
        rows = [("Rôle", "Identifiant", "Mot de passe ou code", "Nom", "Établissement")]
        for entry in shown:
            secret = entry["password"] or (f"code : {entry['activation_code']}" if entry.get("activation_code")
                                           else "code indisponible")
            rows.append((entry["label"], entry["username"], secret, entry["name"], entry["establishment"] or "—"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
            if index == 0:
                self.stdout.write("  ".join("─" * width for width in widths))
        if note:
            self.stdout.write(self.style.WARNING(note))
        elif pending_shown:
            self.stdout.write("Le compte à activer s'active sur la page de connexion avec son code "
                              "(un nouveau code est émis à chaque exécution).")
