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
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from preau.accounts.models import User
from preau.directory.models import Role

from .csvbase import (
    CLASS_CODE_MAX,
    GROUP_CODE_MAX,
    POLYVALENT_CODE,
    POLYVALENT_LABEL,
    SUBJECT_CODE_MAX,
    CsvDirectoryImporter,
    CsvRow,
    parse_yes_no,
    split_list,
)
from .csvread import CsvUnreadable, normalize, read_header
from .engine import Rejected

__all__ = ["FIELDS", "PROFILES", "CsvField", "CsvImporter", "CsvUnreadable", "fields_for", "guess_mapping",
           "read_header", "validate_options"]

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


# --- The importer ------------------------------------------------------------------------------------------

# Profile → (report kind, roles its full import manages, join-key namespace part). Teachers and staff share one
# namespace: the same person may be in both files, under the same number.
PROFILE_KINDS = {
    PUPIL: ("pupils", (Role.PUPIL,), "eleve"),
    GUARDIAN: ("guardians", (Role.GUARDIAN,), "resp"),
    TEACHER: ("staff", (Role.TEACHER,), "pers"),
    STAFF: ("staff", (Role.STAFF,), "pers"),
}


class CsvImporter(CsvDirectoryImporter):
    """One CSV file (or several) of one profile, columns chosen by the user (options: profile, mapping, full)."""
    source = "csv"

    namespace = "csv"

    def import_files(self, paths: list[Path]) -> None:
        self.profile = self.options.get("profile")
        self.mapping = {name: column for name, column in (self.options.get("mapping") or {}).items()
                        if isinstance(column, str) and column}
        if self.profile not in PROFILES:
            self.report.reject("", None, "", _("Profil inconnu « %(profile)s » : rien n'a été importé.")
                               % {"profile": str(self.profile or "")[:40]})
            return
        kind, roles, _part = PROFILE_KINDS[self.profile]
        handler = {PUPIL: self._pupil, GUARDIAN: self._guardian, TEACHER: self._teacher, STAFF: self._staff}[
            self.profile]
        complete = True
        for path in paths:
            csv_file = self.open_csv(path)
            if csv_file is None:
                complete = False
                continue
            errors = validate_options(self.options, csv_file.header)
            if errors:
                csv_file.close()
                complete = False
                for error in errors:
                    self.report.reject(path.name, None, "", _("%(error)s Fichier non importé.") % {"error": error})
                continue
            needed = [csv_file.header.index(column) for column in self.mapping.values()]
            complete &= self.import_rows(path, csv_file, handler, kind=kind, needed=needed)
        if self.options.get("full") is True:
            self.leave_absent(kind, roles, [path.name for path in paths], complete)

    # --- Values ----------------------------------------------------------------------------------------------

    def value(self, field_name: str) -> str:
        return self.row.get(self.mapping.get(field_name))

    def has(self, field_name: str) -> bool:
        return field_name in self.mapping

    def attribute(self, field_name: str) -> str:
        """The report's attribute: the column the user chose for the field."""
        return self.mapping.get(field_name) or str(FIELDS_BY_NAME[field_name].label)

    def join_key(self, profile: str, value: str, attribute: str) -> str:
        value = (value or "").strip()
        if not value:
            raise Rejected(attribute, _(
                "Identifiant manquant (colonne « %(column)s ») : la personne ne pourrait pas être retrouvée aux "
                "imports suivants. Enregistrement ignoré.") % {"column": attribute})
        prefix = self.key_prefix(PROFILE_KINDS[profile][2])
        if len(prefix) + len(value) > 64:
            raise Rejected(attribute, _("Identifiant trop long (%(max)d caractères au plus). Enregistrement ignoré.")
                           % {"max": 64 - len(prefix)})
        return prefix + value

    def person(self, kind: str) -> tuple[User, bool, bool]:
        """Create or update the row's person by its join key (an INE finds a pupil known under another key)."""
        external_id = self.join_key(self.profile, self.value("external_id"), self.attribute("external_id"))
        fields: dict = {
            "last_name": self.clean_name(self.value("last_name"), self.attribute("last_name"), _("Nom")),
            "first_name": self.clean_name(self.value("first_name"), self.attribute("first_name"), _("Prénom")),
        }
        if self.has("birth_date"):
            birth_date = self.clean_birth_date(self.value("birth_date"), self.attribute("birth_date"))
            if birth_date is not False:
                fields["birth_date"] = birth_date
        if self.has("email"):
            email = self.clean_email_value(self.value("email"), self.attribute("email"))
            if email is not None:
                fields["email"] = email
        if self.has("phone"):
            phone = self.clean_phone([(self.value("phone"), self.attribute("phone"))])
            if phone is not None:
                fields["phone"] = phone
        if self.has("ine"):
            ine = self.clean_ine(self.value("ine"), self.attribute("ine"))
            if ine is not None:
                fields["ine"] = ine
        user, created, changed = self.upsert_person(
            external_id=external_id, kind=kind, fields=fields, match_ine=self.profile == PUPIL,
            required=(("last_name", self.attribute("last_name")), ("first_name", self.attribute("first_name"))))
        self.seen(kind, user.external_id)
        return user, created, changed

    def codes(self, field_name: str, length: int, what: str) -> list[str]:
        """The codes of a list cell; over-long ones reported and left out."""
        out = []
        for code in split_list(self.value(field_name)):
            if len(code) > length:
                self.warn(self.attribute(field_name), _("%(what)s trop long « %(code)s » (%(max)d caractères au "
                                                        "plus) ; ignoré.") % {"what": what, "code": code[:60],
                                                                               "max": length})
            else:
                out.append(code)
        return out

    # --- Profiles --------------------------------------------------------------------------------------------

    def _pupil(self, row: CsvRow) -> None:
        self.row = row
        establishment = self.establishment
        user, created, changed = self.person("pupils")
        changed |= self.membership(user, establishment, Role.PUPIL)
        changed |= self.drop_other_memberships(user, (Role.PUPIL,), {(establishment.pk, Role.PUPIL)})
        if self.has("class_code"):
            code = " ".join(self.value("class_code").split())
            if len(code) > CLASS_CODE_MAX:
                self.warn(self.attribute("class_code"), _("Code de classe trop long « %(code)s » (%(max)d caractères "
                                                          "au plus) ; classe inchangée.") % {
                    "code": code[:60], "max": CLASS_CODE_MAX})
            else:
                classes = [self.school_class(establishment, code)] if code else []
                changed |= self.sync_classes(user, classes, establishments=[establishment])
        if self.has("groups"):
            groups = [self.group(establishment, code)
                      for code in self.codes("groups", GROUP_CODE_MAX, _("Code de groupe"))]
            changed |= self.sync_groups(user, groups, establishments=[establishment])
        self.finish_person("pupils", created, changed)

    def _guardian(self, row: CsvRow) -> None:
        self.row = row
        attribute = self.attribute("pupil_external_ids")
        refs = split_list(self.value("pupil_external_ids"))
        prefix = self.key_prefix(PROFILE_KINDS[PUPIL][2])
        pupils = {pupil.external_id: pupil for pupil in User.objects.filter(
            external_id__in=[prefix + ref for ref in refs if len(prefix + ref) <= 64],
            memberships__establishment=self.establishment, memberships__role=Role.PUPIL,
            memberships__is_active=True).distinct()}
        for ref in refs:
            if prefix + ref not in pupils:
                self.warn(attribute, _("Élève « %(ref)s » inconnu dans cet établissement (absent des fichiers "
                                       "d'élèves importés) ; lien ignoré.") % {"ref": ref[:60]})
        if not pupils:
            external_id = self.join_key(GUARDIAN, self.value("external_id"), self.attribute("external_id"))
            if self.find_person(external_id) is None:
                raise Rejected(attribute, _("Aucun des élèves indiqués n'est connu dans cet établissement : "
                                            "responsable ignoré (importez d'abord le fichier des élèves)."))
        user, created, changed = self.person("guardians")
        fields = {}
        if self.has("relation"):
            fields["relation"] = self.relation(self.value("relation"), self.attribute("relation"))
        if self.has("legal_authority"):
            authority = parse_yes_no(self.value("legal_authority"))
            if authority is None and self.value("legal_authority").strip():
                self.warn(self.attribute("legal_authority"), _("Valeur « %(value)s » non comprise (Oui ou Non "
                                                               "attendu) : Oui.") % {
                    "value": self.value("legal_authority")[:40]})
            fields["legal_authority"] = authority is not False
        wanted = {pupil: {**fields, "external_id": f"{pupil.external_id}${user.external_id}"[:64]}
                  for pupil in pupils.values()}
        changed |= self.sync_children(user, wanted)
        self.finish_person("guardians", created, changed)

    def _teacher(self, row: CsvRow) -> None:
        self.row = row
        establishment = self.establishment
        user, created, changed = self.person("staff")
        changed |= self.membership(user, establishment, Role.TEACHER)
        if self.has("classes") or self.has("teaching_groups") or self.has("main_classes"):
            changed |= self._assignments(user)
        self.finish_person("staff", created, changed)

    def _assignments(self, teacher: User) -> bool:
        establishment = self.establishment
        year = self.current_year(establishment)
        main = {self.school_class(establishment, code).pk
                for code in self.codes("main_classes", CLASS_CODE_MAX, _("Code de classe"))}
        wanted = {}
        for field_name, is_class in (("classes", True), ("teaching_groups", False)):
            for item in split_list(self.value(field_name)):
                code, _sep, subject_code = (part.strip() for part in item.partition(":"))
                if not code or len(code) > CLASS_CODE_MAX or len(subject_code) > SUBJECT_CODE_MAX or (
                        not subject_code and not is_class):
                    self.warn(self.attribute(field_name), _(
                        "Service « %(value)s » mal formé (attendu CLASSE:MATIÈRE, codes de %(c)d et %(s)d caractères "
                        "au plus) ; ignoré.") % {"value": item[:60], "c": CLASS_CODE_MAX, "s": SUBJECT_CODE_MAX})
                    continue
                subject = (self.subject(establishment, subject_code) if subject_code else
                           self.subject(establishment, POLYVALENT_CODE, POLYVALENT_LABEL))
                if is_class:
                    division = self.school_class(establishment, code)
                    key = (subject.pk, division.pk, None)
                    is_main = division.pk in main if self.has("main_classes") else None
                else:
                    key = (subject.pk, None, self.group(establishment, code).pk)
                    is_main = False if self.has("main_classes") else None
                wanted[key] = (establishment, year, is_main)
        return self.sync_assignments(teacher, wanted, [establishment.pk])

    def _staff(self, row: CsvRow) -> None:
        self.row = row
        user, created, changed = self.person("staff")
        functions = (self.staff_functions(self.value("functions"), self.attribute("functions"))
                     if self.has("functions") else None)
        changed |= self.membership(user, self.establishment, Role.STAFF, functions)
        self.finish_person("staff", created, changed)
