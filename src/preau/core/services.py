"""The shell's services: what the home dashboard and the navigation offer to a person.

Each installed service family registers a tile; only tiles whose app exists and whose audience includes one of
the person's roles are shown. A later service (timetable, grades...) adds itself to SERVICE_TILES.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from preau.access import policy
from preau.directory.models import Role


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    description: str
    url_name: str
    roles: frozenset[str]  # empty: every authenticated person
    admin_only: bool = False

    def url(self) -> str | None:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return None


SERVICE_TILES: list[Tile] = [
    Tile("directory", _("Annuaire"), _("Les classes, les groupes et les personnes de l'établissement"),
         "directory:home", frozenset()),
    Tile("messaging", _("Messagerie"), _("Vos messages : écrire aux professeurs, aux familles, à l'établissement"),
         "messaging:inbox", frozenset({Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF, Role.ENT_ADMIN})),
    Tile("profile", _("Mon compte"), _("Mot de passe, double authentification, préférences de contact"),
         "accounts:profile", frozenset()),
    Tile("notifications", _("Notifications"), _("Ce que l'ENT vous signale, et comment être prévenu"),
         "notifications:list", frozenset()),
    Tile("news", _("Actualités"), _("Les nouvelles de l'établissement, des classes et des groupes"),
         "news:list", frozenset()),
    Tile("liaison", _("Carnet de liaison"), _("Les mots de l'établissement aux familles, à signer"),
         "liaison:carnet", frozenset({Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF})),
    Tile("timetable", _("Emploi du temps"), _("Les cours de la semaine et leurs changements, les salles libres"),
         "timetable:week", frozenset({Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF, Role.ENT_ADMIN})),
    Tile("agenda", _("Agenda"), _("Réunions, sorties, conseils de classe, examens ; l'abonnement pour votre téléphone"),
         "agenda:list", frozenset({Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF, Role.ENT_ADMIN})),
    Tile("attendance_family", _("Absences et vie scolaire"),
         _("Absences, retards et leur justification, punitions, dispenses, régime de sortie"),
         "attendance:family", frozenset({Role.PUPIL, Role.GUARDIAN})),
    Tile("attendance", _("Vie scolaire"), _("Appels, absences et retards, suivi des élèves"),
         "attendance:dashboard", frozenset({Role.TEACHER, Role.STAFF})),
    Tile("administration", _("Administration"), _("Établissements, classes, comptes, codes d'activation"),
         "directory_admin:home", frozenset(), admin_only=True),
    Tile("journal", _("Journal de sécurité"), _("Connexions, changements de compte, consultations de données"),
         "audit:journal", frozenset(), admin_only=True),
]


def dashboard_services(actor: policy.Actor, establishment=None) -> list[dict]:
    roles = actor.roles_in(establishment.pk) if establishment is not None else {m.role for m in actor.memberships}
    tiles = []
    for tile in SERVICE_TILES:
        if tile.admin_only and not policy.is_admin(actor):
            continue
        if tile.roles and not tile.roles.intersection(roles):
            continue
        url = tile.url()
        if url:
            tiles.append({"key": tile.key, "label": tile.label, "description": tile.description, "url": url})
    return tiles


ROLE_LABELS = dict(Role.choices)
