"""Generic CSV import: one CSV file per profile (pupils, guardians, teachers, staff), columns chosen by the user.

The contract with the import pages (which build the column-mapping form from it):

- `PROFILES`: profile code → French label.
- `FIELDS`: the directory fields a column can fill (`CsvField`: name, label, profiles it applies to, profiles where
  it is required, help text, usual headers); `fields_for(profile)` lists those of one profile.
- `read_header(path)`: the file's column headers; raises `CsvUnreadable(message)` (French) on an empty, binary or
  undecodable file.
- `guess_mapping(header, profile=None)`: field name → column header, from usual French headers (case, accents and
  punctuation ignored).
- Importer options: `{"profile": "pupil", "mapping": {field name: column header}, "full": False}`;
  `validate_options(options, header)` → French error messages (empty when the options fit the file). `full`
  (optional, default False): the file lists every person of that profile in the establishment, so those it no
  longer lists are marked leaving.

See docs/imports.md ("Generic CSV") for what each field becomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .csvread import CsvUnreadable, normalize, read_header

__all__ = ["FIELDS", "PROFILES", "CsvField", "CsvUnreadable", "fields_for", "guess_mapping", "read_header",
           "validate_options"]

PUPIL, GUARDIAN, TEACHER, STAFF = "pupil", "guardian", "teacher", "staff"
PROFILES: dict[str, str] = {
    PUPIL: gettext_lazy("Élèves"),
    GUARDIAN: gettext_lazy("Responsables"),
    TEACHER: gettext_lazy("Enseignants"),
    STAFF: gettext_lazy("Personnels"),
}
ALL = frozenset(PROFILES)
# Separator of a cell holding several values (groups, pupils, functions, classes); `;` too when the file's
# delimiter is not `;`.
LIST_SEPARATORS = ",;|"


@dataclass(frozen=True)
class CsvField:
    name: str
    label: str
    profiles: frozenset[str]  # where the field applies
    required_for: frozenset[str]  # where a column must be chosen for it
    help: str
    aliases: tuple[str, ...] = ()  # usual headers, as `normalize` folds them

    def applies_to(self, profile: str) -> bool:
        return profile in self.profiles

    def required(self, profile: str) -> bool:
        return profile in self.required_for


FIELDS: list[CsvField] = [
    CsvField("external_id", gettext_lazy("Identifiant"), ALL, ALL, gettext_lazy(
        "Identifiant stable de la personne dans le logiciel d'où vient le fichier (numéro, matricule) : il permet "
        "de la retrouver aux imports suivants, sans doublon. Obligatoire."),
        ("identifiant", "id", "identifiant unique", "identifiant externe", "numero", "n", "matricule",
         "code", "num", "numero interne", "uid")),
    CsvField("last_name", gettext_lazy("Nom"), ALL, ALL, gettext_lazy("Nom de famille (ou d'usage)."),
             ("nom", "nom de famille", "nom d usage", "nom usage", "nom patronymique", "nom de naissance", "nom eleve",
              "nom de l eleve", "nom responsable", "nom enseignant", "last name", "lastname", "surname")),
    CsvField("first_name", gettext_lazy("Prénom"), ALL, ALL, gettext_lazy("Prénom usuel."),
             ("prenom", "prenoms", "prenom 1", "prenom1", "premier prenom", "prenom usuel", "prenom eleve",
              "prenom de l eleve", "prenom responsable", "prenom enseignant", "first name", "firstname")),
    CsvField("birth_date", gettext_lazy("Date de naissance"), ALL, frozenset(), gettext_lazy(
        "Au format JJ/MM/AAAA (ou AAAA-MM-JJ)."),
        ("date de naissance", "date naissance", "naissance", "ne e le", "ne le", "date de naiss", "date naiss",
         "ddn", "birth date", "birthdate")),
    CsvField("email", gettext_lazy("Courriel"), ALL, frozenset(), gettext_lazy(
        "Adresse électronique ; une adresse invalide est signalée et ignorée."),
        ("courriel", "email", "e mail", "mail", "adresse mail", "adresse e mail", "adresse email",
         "adresse electronique", "adresse courriel", "mel")),
    CsvField("phone", gettext_lazy("Téléphone"), ALL, frozenset(), gettext_lazy("Un numéro de téléphone."),
             ("telephone", "tel", "telephone portable", "tel portable", "portable", "mobile", "telephone mobile",
              "numero de telephone", "tel domicile", "telephone domicile")),
    CsvField("ine", gettext_lazy("INE"), frozenset({PUPIL}), frozenset(), gettext_lazy(
        "Identifiant national élève (11 caractères) : un élève déjà connu par son INE est retrouvé même si "
        "l'identifiant change."),
        ("ine", "numero ine", "n ine", "identifiant national", "identifiant national eleve", "ine eleve")),
    CsvField("class_code", gettext_lazy("Classe"), frozenset({PUPIL}), frozenset(), gettext_lazy(
        "Code de la classe de l'année en cours (créée si elle n'existe pas). Un élève qui change de classe quitte "
        "l'ancienne ; une case vide le retire de sa classe."),
        ("classe", "code classe", "division", "code division", "classe eleve")),
    CsvField("groups", gettext_lazy("Groupes"), frozenset({PUPIL}), frozenset(), gettext_lazy(
        "Codes des groupes de l'élève, séparés par des virgules (ex. LATIN,ANGL-G1). Les groupes de l'année en "
        "cours sont synchronisés avec cette liste."),
        ("groupes", "groupe", "codes groupes", "code groupe")),
    CsvField("pupil_external_ids", gettext_lazy("Identifiants des élèves"), frozenset({GUARDIAN}),
             frozenset({GUARDIAN}), gettext_lazy(
                 "Les identifiants (colonne « Identifiant » du fichier des élèves) des enfants dont la personne est "
                 "responsable, séparés par des virgules. Les liens qui ne sont plus listés sont retirés."),
             ("identifiant eleve", "identifiants eleves", "identifiants des eleves", "id eleve", "ids eleves",
              "eleve", "eleves", "enfant", "enfants", "numero eleve", "n eleve")),
    CsvField("relation", gettext_lazy("Lien de parenté"), frozenset({GUARDIAN}), frozenset(), gettext_lazy(
        "Mère, Père, Tuteur, Autre membre de la famille, Aide sociale à l'enfance, Assistant familial, Autre. Vide "
        "ou inconnu : « Autre lien »."),
        ("lien de parente", "lien parente", "lien", "parente", "qualite", "lien avec l eleve", "relation")),
    CsvField("legal_authority", gettext_lazy("Autorité parentale"), frozenset({GUARDIAN}), frozenset(),
             gettext_lazy("Oui ou Non (O/N, 1/0). Vide, ou colonne non choisie : Oui."),
             ("autorite parentale", "responsable legal", "representant legal", "legal")),
    CsvField("functions", gettext_lazy("Fonctions"), frozenset({STAFF}), frozenset(), gettext_lazy(
        "Fonctions séparées par des virgules : Directeur d'école, Chef d'établissement, Adjoint, CPE, Vie scolaire, "
        "Secrétariat, Documentaliste, Infirmier ; une autre fonction est enregistrée comme « Autre »."),
        ("fonction", "fonctions", "poste", "emploi")),
    CsvField("classes", gettext_lazy("Classes et matières"), frozenset({TEACHER}), frozenset(), gettext_lazy(
        "Les services de l'enseignant, CLASSE:MATIÈRE séparés par des virgules (ex. 4A:MATHS,3B:FRANC) ; une "
        "classe seule (ex. CM1) : toutes matières (code POLY) — cas d'un professeur des écoles. Les services de "
        "l'année en cours sont synchronisés avec cette liste."),
        ("classes", "classe", "classes matieres", "classes et matieres", "services")),
    CsvField("teaching_groups", gettext_lazy("Groupes et matières"), frozenset({TEACHER}), frozenset(),
             gettext_lazy("Les services de l'enseignant devant des groupes, GROUPE:MATIÈRE séparés par des virgules "
                          "(ex. LATIN:LCALA)."),
             ("groupes", "groupe", "groupes matieres", "groupes et matieres")),
    CsvField("main_classes", gettext_lazy("Professeur principal de"), frozenset({TEACHER}), frozenset(),
             gettext_lazy("Codes des classes dont l'enseignant est professeur principal, séparés par des virgules."),
             ("professeur principal", "prof principal", "pp", "professeur principal de")),
]
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
# Headers that mean the join key in a pupils' file but the children in a guardians' file.
PROFILE_ALIASES = {(PUPIL, "external_id"): ("identifiant eleve", "id eleve", "numero eleve", "n eleve")}


def fields_for(profile: str) -> list[CsvField]:
    return [field for field in FIELDS if field.applies_to(profile)]


def guess_mapping(header: list[str], profile: str | None = None) -> dict[str, str]:
    """Field name → column header, for the columns whose header is a usual one for that field (case, accents and
    punctuation ignored). Each column goes to one field at most; fields of `profile` only when given."""
    columns: dict[str, str] = {}
    for column in header:
        columns.setdefault(normalize(column), column)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for field in fields_for(profile) if profile else FIELDS:
        for alias in (*field.aliases, *PROFILE_ALIASES.get((profile, field.name), ())):
            column = columns.get(alias)
            if column is not None and column not in taken:
                mapping[field.name] = column
                taken.add(column)
                break
    return mapping


def validate_options(options: dict, header: list[str]) -> list[str]:
    """French errors that keep these options from importing a file with this header (empty list: all is well)."""
    errors: list[str] = []
    if not isinstance(options, dict):
        return [_("Options d'import invalides.")]
    profile = options.get("profile")
    if profile not in PROFILES:
        errors.append(_("Profil inconnu « %(profile)s » : choisissez parmi %(choices)s.") % {
            "profile": profile or "", "choices": ", ".join(str(label) for label in PROFILES.values())})
        return errors
    if not isinstance(options.get("full", False), bool):
        errors.append(_("L'option « fichier complet » doit valoir oui ou non."))
    mapping = options.get("mapping")
    if not isinstance(mapping, dict):
        return [*errors, _("Aucune colonne choisie.")]
    columns = set(header)
    duplicated = {column for column in header if header.count(column) > 1}
    for name, column in mapping.items():
        field = FIELDS_BY_NAME.get(name)
        if field is None:
            errors.append(_("Champ inconnu « %(name)s ».") % {"name": name})
        elif not field.applies_to(profile):
            errors.append(_("Le champ « %(field)s » ne s'applique pas au profil %(profile)s.") % {
                "field": field.label, "profile": PROFILES[profile]})
        elif not isinstance(column, str) or not column:
            continue  # not chosen
        elif column not in columns:
            errors.append(_("La colonne « %(column)s » choisie pour « %(field)s » n'est pas dans l'en-tête du "
                            "fichier (%(header)s).") % {"column": column, "field": field.label,
                                                        "header": " ; ".join(header)})
        elif column in duplicated:
            errors.append(_("Plusieurs colonnes s'appellent « %(column)s » : renommez-les pour choisir celle du "
                            "champ « %(field)s ».") % {"column": column, "field": field.label})
    for field in fields_for(profile):
        if field.required(profile) and not mapping.get(field.name):
            errors.append(_("Choisissez la colonne du champ obligatoire « %(field)s ».") % {"field": field.label})
    return errors
