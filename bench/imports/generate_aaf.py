"""A deterministic generator of AAF *Complet* (and *Delta*) exports, for the import benchmark.

    python bench/imports/generate_aaf.py OUT_DIR --people 100000 [--seed 1] [--establishments 40]
    python bench/imports/generate_aaf.py OUT_DIR --people 100000 --moves 2 --leavers 1 --arrivals 0.5 \
        --variant-seed 1                                          # the next night's Complet
    python bench/imports/generate_aaf.py OUT_DIR --people 100000 --moves 2 --leavers 1 --arrivals 0.5 \
        --variant-seed 2 --delta                                  # a Delta: only what changed

Writes `ficAlimMENESR` files shaped like the real exports delivered to ENTs (see the 2013 files in
../shared/testdata/aaf/2013): `<prefix>_Complet_<date>_<Kind>_<part>.xml` for EtabEducNat, MefEducNat,
MatiereEducNat, PersEducNat, Eleve and PersRelEleve, the people split in numbered parts (`_0000`, `_0001`…) of
`--part-size` records, every attribute the 2013 version carries (most of which Préau does not keep, but reads),
plus `manifest.json` with what was generated (the counts an import must report).

The population: `--people` people in all, about 5 % staff (three quarters teachers), 35 % pupils and 60 %
guardians, in `--establishments` collèges and lycées (three collèges for two lycées). Pupils come in families of
one to three children (consecutive pupils, so siblings share a school but not a level) with one to three
guardians: mother and father with parental authority, sometimes a third contact who has none. Classes of about
28 pupils per level, second-language and Latin groups, teachers of one discipline each sharing the classes'
services (with a main teacher per class), and the usual staff (head, deputy, CPE, librarian, nurse,
secretaries, assistants).

Same arguments, same bytes: everything comes from seeded random streams (`random.Random` seeded with strings).
Nothing is held in memory but one establishment's structure at a time: the families are walked again, from
their seeds, for each kind of file.

Variants (what changes between two nights), chosen by `--variant-seed` independently of the base set:
`--moves P` % of pupils change class (same level), `--leavers P` % of families leave (their pupils and guardians
are no longer in the export), `--arrivals P` % more pupils arrive in new families. Without `--delta` the files
are the full next-night export; with `--delta` only the changes: `modifyRequest` of the class for movers,
`deleteRequest` for leavers and their guardians, `addRequest` for the arrivals.
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import itertools
import json
import math
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

DTD = """<!ELEMENT ficAlimMENESR (addRequest|modifyRequest|deleteRequest)*>
<!ELEMENT addRequest (operationalAttributes, identifier, attributes)>
<!ELEMENT modifyRequest (operationalAttributes, identifier, modifications)>
<!ELEMENT deleteRequest (operationalAttributes, identifier)>
<!ELEMENT operationalAttributes (attr)>
<!ELEMENT identifier (id)>
<!ELEMENT attributes (attr+)>
<!ELEMENT attr (value+)>
<!ELEMENT modifications (modification+)>
<!ELEMENT modification (value+)>
<!ELEMENT value (#PCDATA)>
<!ELEMENT id (#PCDATA)>
<!ATTLIST attr name CDATA #REQUIRED>
<!ATTLIST modification
\tname CDATA #REQUIRED
\toperation (replace) #REQUIRED>
"""

# Join keys: one numeric range per kind of person, as in the real exports (distinct, stable).
STAFF_BASE, PUPIL_BASE, GUARDIAN_BASE, ESTABLISHMENT_BASE = 10_000_000, 20_000_000, 40_000_000, 70_000
ARRIVALS_RANGE = 1_000_000  # variant seeds 0 to 15 keep the newcomers' keys apart from every other range



def words(text: str) -> list[str]:
    """Space-separated names; an underscore joins a name of several words (Le_Gall)."""
    return [word.replace("_", " ") for word in text.split()]


LAST_NAMES = words(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefèvre Leroy Roux "
    "David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Lefebvre Faure "
    "André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément "
    "Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer "
    "Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard "
    "Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix "
    "Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez Jean "
    "Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin Louis Deschamps Huet Vasseur Perez Boucher "
    "Fleury Royer Klein Jacquet Adam Paris Poirier Marty Aubry Guyot Carré Charles Renault Charpentier Ménard "
    "Maillard Baron Bertin Bailly Hervé Schneider Fernandez Le_Gall Collet Léger Bouvier Julien Prévost Millet "
    "Perrot Daniel Le_Roux Cousin Germain Breton Besson Langlois Rémy Le_Goff Pelletier Lévêque Perrier Leblanc "
    "Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud Rodriguez Guichard Gillet Étienne "
    "Grondin Poulain Tessier Chevallier Collin Chauvin Da_Silva Bouchet Gay Lemaître Bénard Maréchal Humbert "
    "Reynaud Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier "
    "Laporte N'Diaye Diallo Nguyen Traoré Benali Haddad Ferreira Rossi Kowalski Dos_Santos Mendy Öztürk"
)
GIRLS = words(
    "Léa Emma Chloé Inès Jade Louise Zoé Manon Camille Lina Sarah Maëlys Juliette Alice Lola Léna Romane Ambre "
    "Anna Rose Mila Clara Eva Agathe Lucie Nina Margaux Noémie Anaïs Océane Mathilde Salomé Élise Charlotte "
    "Yasmine Maryam Aïcha Héloïse Capucine Victoire"
)
BOYS = words(
    "Gabriel Louis Raphaël Jules Adam Lucas Léo Hugo Arthur Nathan Ethan Paul Noah Sacha Mohamed Tom Théo "
    "Maël Timéo Enzo Mathis Nolan Aaron Axel Clément Baptiste Antoine Maxime Thomas Noé Timothée Benoît Loïc "
    "Joachim Élie Mattéo Yanis Ilyès Gaspard Côme"
)
WOMEN = words(
    "Nathalie Isabelle Sylvie Catherine Sandrine Valérie Stéphanie Céline Véronique Christine Sophie Caroline "
    "Aurélie Émilie Virginie Laetitia Julie Hélène Marion Delphine Anne Karine Élodie Audrey Fatima Nadia "
    "Françoise Gaëlle Mélanie Claire"
)
MEN = words(
    "Stéphane Laurent Christophe Frédéric Sébastien Nicolas David Olivier Julien Éric Philippe Thierry Jérôme "
    "Vincent Pascal François Patrick Cédric Franck Mickaël Karim Rachid Benoît Guillaume Arnaud Yannick Hervé "
    "Grégory Matthieu Alain"
)
CITIES = (("LYON", "69003"), ("VILLEURBANNE", "69100"), ("VENISSIEUX", "69200"), ("BRON", "69500"),
          ("VAULX-EN-VELIN", "69120"), ("CALUIRE-ET-CUIRE", "69300"), ("SAINT-PRIEST", "69800"),
          ("MEYZIEU", "69330"), ("RILLIEUX-LA-PAPE", "69140"), ("OULLINS", "69600"), ("DECINES-CHARPIEU", "69150"),
          ("VILLEFRANCHE-SUR-SAONE", "69400"), ("GIVORS", "69700"), ("TARARE", "69170"))
PATRONS = ("JEAN MOULIN", "VICTOR HUGO", "JULES FERRY", "MARIE CURIE", "LOUIS PASTEUR", "JEAN JAURES",
           "SIMONE VEIL", "ALBERT CAMUS", "JEAN DE LA FONTAINE", "GEORGE SAND", "ANTOINE DE SAINT-EXUPERY",
           "LOUISE MICHEL", "PABLO PICASSO", "COLETTE", "HONORE DE BALZAC", "LUMIERE", "AMPERE", "GERMAINE TILLION")
STREETS = ("RUE DES ECOLES", "AVENUE JEAN JAURES", "BOULEVARD DES ETATS-UNIS", "RUE DE LA REPUBLIQUE",
           "CHEMIN DES PRES", "RUE PASTEUR", "PLACE DU MARCHE", "RUE DU MOULIN")
REGIMES = ("DEMI-PENSIONNAIRE DANS L'ETABLISSEMENT", "EXTERNE LIBRE", "DEMI-PENSIONNAIRE AU TICKET",
           "INTERNE DANS L'ETABLISSEMENT")

# National subjects (codes and labels of the 2013 MatiereEducNat file) and their discipline in ENTPersonFonctions.
SUBJECTS = {
    "020700": ("FRANCAIS", "L0202"), "061300": ("MATHEMATIQUES", "L1300"),
    "040600": ("HISTOIRE ET GEOGRAPHIE", "L1000"), "030201": ("ANGLAIS LV1", "L0422"),
    "062900": ("SCIENCES DE LA VIE ET DE LA TERRE", "L1500"), "062300": ("PHYSIQUE-CHIMIE", "L1510"),
    "070800": ("TECHNOLOGIE", "L1400"), "090100": ("ARTS PLASTIQUES", "L1800"),
    "081300": ("EDUCATION MUSICALE", "L1700"), "100100": ("EDUCATION PHYSIQUE ET SPORTIVE", "L1900"),
    "010300": ("PHILOSOPHIE", "L0100"), "050700": ("SCIENCES ECONOMIQUES ET SOCIALES", "L1100"),
    "006600": ("ACCOMPAGNEMENT PERSONNALISE", "L0202"), "030602": ("ESPAGNOL LV2", "L0426"),
    "030102": ("ALLEMAND LV2", "L0421"), "030902": ("ITALIEN LV2", "L0429"), "020100": ("LATIN", "L0201"),
    "041400": ("EDUCATION CIVIQUE", "L1000"),
}
# Second languages: group code suffix → (subject, share of the pupils).
LV2 = {"ESP": ("030602", 0.70), "ALL": ("030102", 0.20), "ITA": ("030902", 0.10)}
LATIN = "020100"


@dataclass(frozen=True)
class Level:
    code: str  # prefix of the class codes
    label: str
    mef: str
    mef_label: str
    birth_offset: int  # age in the September of the school year
    subjects: tuple[str, ...]
    lv2: bool
    latin: bool


COLLEGE_CORE = ("020700", "061300", "040600", "030201", "062900", "070800", "090100", "081300", "100100")
LYCEE_CORE = ("061300", "040600", "030201", "062900", "062300", "100100", "006600")
COLLEGE_LEVELS = (
    Level("6", "6EME", "10010012110", "6EME", 11, COLLEGE_CORE, False, False),
    Level("5", "5EME", "10110001110", "5EME", 12, (*COLLEGE_CORE, "062300"), True, True),
    Level("4", "4EME", "10210001110", "4EME", 13, (*COLLEGE_CORE, "062300"), True, True),
    Level("3", "3EME", "10310019110", "3EME", 14, (*COLLEGE_CORE, "062300"), True, True),
)
LYCEE_LEVELS = (
    Level("2NDE", "2NDE", "20010015110", "2DEGT2 (CAS GENERAL 2 ENS.EXPLO)", 15, (*LYCEE_CORE, "020700", "050700"),
          True, False),
    Level("1S", "1ERE S", "20111010110", "PREMIERE SCIENTIFIQUE SVT", 16, (*LYCEE_CORE, "020700"), True, False),
    Level("TS", "TERM S", "20211010110", "TERMINALE SCIENTIFIQUE SVT", 17, (*LYCEE_CORE, "010300"), True, False),
)
OTHER_MEFS = (("06110004110", "1ER DEGRE : ADAPTATION"), ("16410002110", "6EME SEGPA"),
              ("20112005110", "PREMIERE ECONOMIQUE ET SOCIALE"), ("20113019110", "PREMIERE  LITTERAIRE"),
              ("20212005110", "TERMINALE ECONOMIQUE ET SOCIALE"), ("20213019110", "TERMINALE  LITTERAIRE"))
CLASS_SIZE = 28
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def uai(number: int) -> str:
    """A UAI with its check letter (the 7 digits modulo 23)."""
    digits = f"{number:07d}"
    return digits + UAI_LETTERS[int(digits) % 23]


def zipf_weights(count: int, skew: float = 0.85) -> list[float]:
    return [1 / (rank + 3) ** skew for rank in range(count)]


LAST_WEIGHTS = list(itertools.accumulate(zipf_weights(len(LAST_NAMES))))


def last_name(rng: random.Random) -> str:
    name = LAST_NAMES[bisect.bisect(LAST_WEIGHTS, rng.random() * LAST_WEIGHTS[-1])]
    if rng.random() < 0.03:
        other = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        if other != name:
            name = f"{name}-{other}"
    return name


def split_counts(total: int, weights: list[float]) -> list[int]:
    """Split total in proportion to weights (largest remainders): the parts add up to total exactly."""
    scale = total / sum(weights)
    raw = [weight * scale for weight in weights]
    parts = [math.floor(value) for value in raw]
    for index in sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])[:total - sum(parts)]:
        parts[index] += 1
    return parts


# --- The plan: sizes, establishments, families ----------------------------------------------------------------


@dataclass
class Establishment:
    index: int
    jointure: str
    uai: str
    kind: str  # CLG or LYC
    name: str
    street: str
    city: str
    postal_code: str
    pupils: int = 0
    first_pupil: int = 0
    staff: int = 0
    first_staff: int = 0
    classes: dict[str, list[str]] = field(default_factory=dict)  # level code → class codes

    @property
    def levels(self) -> tuple[Level, ...]:
        return COLLEGE_LEVELS if self.kind == "CLG" else LYCEE_LEVELS

    @cached_property
    def groups(self) -> list[tuple[str, str, str]]:
        """(code, label, subject) of the establishment's groups."""
        out = []
        for level in self.levels:
            pairs = math.ceil(len(self.classes[level.code]) / 2)
            if level.lv2:
                for suffix, (subject, _share) in LV2.items():
                    out += [(f"{level.code}{suffix}{k}", f"{level.label} {SUBJECTS[subject][0]} {k}", subject)
                            for k in range(1, pairs + 1)]
            if level.latin:
                out.append((f"{level.code}LATIN", f"{level.label} LATIN", LATIN))
        return out


@dataclass
class Pupil:
    index: int  # global index: join key PUPIL_BASE + index
    establishment: Establishment
    level: Level
    class_code: str
    groups: list[str]
    first_name: str
    last_name: str
    girl: bool
    birth: datetime.date
    moved_from: str | None = None  # variants: the class of the base set, when the pupil changed class


@dataclass
class Guardian:
    index: int
    first_name: str
    last_name: str
    woman: bool
    relation: str  # AAF relation code: 1 father, 2 mother, 4 other family member
    legal: int  # legal rank 1, 2, or 0 (contact only)
    city: tuple[str, str]
    phone: str
    mobile: str
    mail: str


@dataclass
class Family:
    index: int
    pupils: list[Pupil]
    guardians: list[Guardian]
    leaves: bool = False
    arrived: bool = False


class Plan:
    """Everything the files hold, derived from the arguments; families are re-walked from their seeds."""

    def __init__(self, *, people: int, seed: int = 1, establishments: int | None = None, part_size: int = 15000,
                 date: str = "20260901", prefix: str = "ENT_BENCH", moves: float = 0.0, leavers: float = 0.0,
                 arrivals: float = 0.0, variant_seed: int = 0, delta: bool = False):
        if people < 20:
            raise ValueError("--people must be at least 20")
        if not 0 <= variant_seed < 16:
            raise ValueError("--variant-seed must be between 0 and 15")
        self.people, self.seed, self.part_size, self.date, self.prefix = people, seed, part_size, date, prefix
        self.moves, self.leavers, self.arrivals = moves / 100, leavers / 100, arrivals / 100
        self.variant_seed, self.delta = variant_seed, delta
        self.year = int(date[:4]) if int(date[4:6]) >= 8 else int(date[:4]) - 1
        count = establishments or max(1, min(40, round(people / 2500)))
        self.staff = max(count * 6, round(people * 0.05))
        # The families' sizes come from their own stream: walk it once to know how many pupils there are.
        self.pupils = sum(len(children) for children, _guardians in self._family_sizes())
        self.guardians = people - self.staff - self.pupils
        self.establishments = self._establishments(count)
        self._starts = [e.first_pupil for e in self.establishments]

    # Families: 1–3 children, 1–3 guardians, the last family sized so that the total is exactly `people`.
    def _family_sizes(self) -> Iterator[tuple[range, range]]:
        rng = random.Random(f"{self.seed}:family-sizes")
        left = self.people - self.staff
        pupil = guardian = 0
        while left > 0:
            children = rng.choices((1, 2, 3), (80, 17, 3))[0]
            guardians = rng.choices((1, 2, 3), (16, 57, 27))[0]
            if left <= 6:
                guardians = min(3, left - 1) if left > 1 else 0
                children = left - guardians
            elif left - children - guardians == 1:
                guardians, children = (guardians + 1, children) if guardians < 3 else (guardians, children + 1)
            yield range(pupil, pupil + children), range(guardian, guardian + guardians)
            pupil, guardian, left = pupil + children, guardian + guardians, left - children - guardians

    def _establishments(self, count: int) -> list[Establishment]:
        rng = random.Random(f"{self.seed}:establishments")
        out = []
        for index in range(count):
            kind = "LYC" if index % 5 in (1, 3) else "CLG"
            city, postal_code = CITIES[index % len(CITIES)]
            patron = PATRONS[index % len(PATRONS)]
            name = f"{'CLG' if kind == 'CLG' else 'LYCEE'} {patron}" + (f" {index // len(PATRONS) + 1}"
                                                                        if index >= len(PATRONS) else "")
            out.append(Establishment(
                index=index, jointure=str(ESTABLISHMENT_BASE + index), uai=uai(690_000 + 7 * index + 11),
                kind=kind, name=name, street=f"{rng.randint(1, 120)} {rng.choice(STREETS)}", city=city,
                postal_code=postal_code))
        weights = [rng.uniform(0.6, 1.4) * (1.3 if e.kind == "LYC" else 1.0) for e in out]
        first_pupil = first_staff = 0
        for establishment, pupils, staff in zip(out, split_counts(self.pupils, weights),
                                                split_counts(self.staff, weights), strict=True):
            establishment.pupils, establishment.first_pupil = pupils, first_pupil
            establishment.staff, establishment.first_staff = staff, first_staff
            first_pupil, first_staff = first_pupil + pupils, first_staff + staff
            per_level = math.ceil(max(pupils, 1) / len(establishment.levels))
            for level in establishment.levels:
                classes = max(1, math.ceil(per_level / CLASS_SIZE))
                letters = "ABCDEFGHIJKLMNOP"
                establishment.classes[level.code] = [
                    f"{level.code}{letters[k]}" if establishment.kind == "CLG" else f"{level.code}{k + 1}"
                    for k in range(classes)]
        return out

    def establishment_of(self, pupil_index: int) -> Establishment:
        """The establishment of a pupil of the base set (pupils are numbered establishment after establishment)."""
        return self.establishments[bisect.bisect(self._starts, pupil_index) - 1]

    def families(self) -> Iterator[Family]:
        """The families of the base set (with the variant's leavers and movers marked), then the arrivals."""
        names = random.Random(f"{self.seed}:names")
        variant = random.Random(f"{self.seed}:variant:{self.variant_seed}")
        for index, (children, guardians) in enumerate(self._family_sizes()):
            family = self._family(index, children, guardians, names, self.establishment_of, None)
            # One draw per family and per pupil, whatever the percentages: the variant's choices stay stable.
            family.leaves = variant.random() < self.leavers
            for pupil in family.pupils:
                moved = variant.random() < self.moves
                classes = pupil.establishment.classes[pupil.level.code]
                if moved and not family.leaves and len(classes) > 1:
                    pupil.moved_from = pupil.class_code
                    pupil.class_code = classes[(classes.index(pupil.class_code) + 1) % len(classes)]
            yield family
        if self.arrivals:
            arrivals = random.Random(f"{self.seed}:arrivals:{self.variant_seed}")
            # Each variant's newcomers get join keys of their own (a million past the base set per variant seed).
            offset = ARRIVALS_RANGE * self.variant_seed
            pupil, guardian, index = self.pupils + offset, self.guardians + offset, index + 1
            while pupil < self.pupils + offset + round(self.pupils * self.arrivals):
                children = arrivals.choices((1, 2), (85, 15))[0]
                guardians = arrivals.choices((1, 2), (25, 75))[0]
                establishment = self.establishments[arrivals.randrange(len(self.establishments))]
                family = self._family(index, range(pupil, pupil + children), range(guardian, guardian + guardians),
                                      arrivals, lambda _p, e=establishment: e, arrivals)
                family.arrived = True
                yield family
                pupil, guardian, index = pupil + children, guardian + guardians, index + 1

    def _family(self, index, children: range, guardians: range, rng: random.Random, establishment_of,
                placement: random.Random | None) -> Family:
        surname = last_name(rng)
        pupils = []
        for pupil_index in children:
            establishment = establishment_of(pupil_index)
            if placement is None:  # base set: levels in turn, then classes in turn
                local = pupil_index - establishment.first_pupil
                level = establishment.levels[local % len(establishment.levels)]
                classes = establishment.classes[level.code]
                class_index = (local // len(establishment.levels)) % len(classes)
            else:
                level = establishment.levels[placement.randrange(len(establishment.levels))]
                classes = establishment.classes[level.code]
                class_index = placement.randrange(len(classes))
            girl = rng.random() < 0.5
            groups = []
            if level.lv2:
                language = rng.choices(list(LV2), [share for _subject, share in LV2.values()])[0]
                groups.append(f"{level.code}{language}{class_index // 2 + 1}")
            if level.latin and rng.random() < 0.15:
                groups.append(f"{level.code}LATIN")
            birth = datetime.date(self.year - level.birth_offset, 1, 1) + datetime.timedelta(days=rng.randrange(365))
            pupils.append(Pupil(pupil_index, establishment, level, classes[class_index], groups,
                                rng.choice(GIRLS if girl else BOYS), surname, girl, birth))
        out = []
        city = CITIES[rng.randrange(len(CITIES))]
        for rank, guardian_index in enumerate(guardians):
            if rank == 0:  # the mother (or the father, alone), first legal guardian
                woman = len(guardians) > 1 or rng.random() < 0.85
                name = surname if rng.random() < 0.6 else last_name(rng)
                relation, legal = ("2" if woman else "1"), 1
            elif rank == 1:
                woman, name, relation, legal = False, surname, "1", 2
            else:  # a grandparent or other relative to call: no parental authority
                woman, name, relation, legal = rng.random() < 0.6, last_name(rng), "4", 0
            first = rng.choice(WOMEN if woman else MEN)
            mobile = f"06{rng.randrange(10**8):08d}" if rng.random() < 0.8 else "0000000000"
            phone = f"04{rng.randrange(10**8):08d}" if rng.random() < 0.4 else "0000000000"
            mail = (f"{first}.{name}{rng.randrange(100)}@exemple.fr".lower().replace(" ", "").replace("'", "")
                    if rng.random() < 0.5 else "")
            out.append(Guardian(guardian_index, first, name, woman, relation, legal, city, phone, mobile,
                                fold_ascii(mail)))
        return Family(index, pupils, out)


def fold_ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# --- Staff of one establishment -------------------------------------------------------------------------------

FUNCTION_SLOTS = (  # (code, label, discipline code, discipline label), in order of appointment
    ("DIR", "DIRECTION", "D0010", "CHEF D'ETABLISSEMENT"),
    ("DIR", "DIRECTION", "D0020", "ADJOINT AU CHEF D'ETABLISSEMENT"),
    ("EDU", "EDUCATION", "E0030", "CONSEILLER PRINCIPAL D'EDUCATION"),
    ("ADF", "PERSONNELS ADMINISTRATIFS", "A0010", "SECRETARIAT"),
    ("DOC", "DOCUMENTATION", "L0080", "DOCUMENTATION"),
    ("MDS", "PERSONNELS MEDICO-SOCIAUX", "M0010", "INFIRMIER(E)"),
    ("ADF", "PERSONNELS ADMINISTRATIFS", "A0020", "GESTION"),
    ("EDU", "EDUCATION", "E0030", "CONSEILLER PRINCIPAL D'EDUCATION"),
    ("SUR", "SURVEILLANCE", "S0010", "ASSISTANT D'EDUCATION"),
)


@dataclass
class StaffMember:
    index: int
    establishment: Establishment
    teacher: bool
    function: tuple[str, str, str, str] | None  # non-teaching staff
    subject: str | None  # teachers' discipline (national subject code)
    classes: list[tuple[str, str]] = field(default_factory=list)  # (class code, subject)
    groups: list[tuple[str, str]] = field(default_factory=list)  # (group code, subject)
    main_classes: list[str] = field(default_factory=list)


def staff_of(establishment: Establishment) -> list[StaffMember]:
    """The establishment's staff: about a fifth non-teaching, the rest teachers sharing every class's services."""
    non_teaching = max(3, min(establishment.staff - 1, round(establishment.staff * 0.22)))
    members = []
    for k in range(non_teaching):
        slot = FUNCTION_SLOTS[k] if k < len(FUNCTION_SLOTS) else FUNCTION_SLOTS[-1]
        members.append(StaffMember(establishment.first_staff + k, establishment, False, slot, None))
    # Services: (class or group, subject), by level.
    services: dict[str, list[tuple[str, bool]]] = {}
    for level in establishment.levels:
        for class_code in establishment.classes[level.code]:
            for subject in level.subjects:
                services.setdefault(subject, []).append((class_code, True))
    for code, _label, subject in establishment.groups:
        services.setdefault(subject, []).append((code, False))
    teachers = establishment.staff - non_teaching
    subjects = sorted(services)
    counts = split_counts(teachers, [len(services[s]) for s in subjects])
    # Every subject taught has a teacher when there are enough of them.
    for index in range(len(subjects)):
        if counts[index] == 0:
            donor = max(range(len(counts)), key=lambda i: counts[i])
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[index] = 1
    main_done: set[str] = set()
    next_index = establishment.first_staff + non_teaching
    for subject, count in zip(subjects, counts, strict=True):
        pool = [StaffMember(next_index + k, establishment, True, None, subject) for k in range(count)]
        next_index += count
        for position, (code, is_class) in enumerate(services[subject] if pool else []):
            teacher = pool[position % len(pool)]
            if is_class:
                teacher.classes.append((code, subject))
                if subject in ("020700", "061300", "040600") and code not in main_done:
                    teacher.main_classes.append(code)
                    main_done.add(code)
            else:
                teacher.groups.append((code, subject))
        members += pool
    return members


# --- Writing --------------------------------------------------------------------------------------------------

CATEGORY = {"EtabEducNat": ("categorieStructure", "EtabEducNat"), "MefEducNat": ("categorieMef", "MefEducNat"),
            "MatiereEducNat": ("categorieMatiere", "MatEducNat"), "PersEducNat": ("categoriePersonne", "PersEducNat"),
            "Eleve": ("categoriePersonne", "Eleve"), "PersRelEleve": ("categoriePersonne", "PersRelEleve")}
HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ficAlimMENESR SYSTEM "ficAlimMENESR.dtd">\n'
          '<ficAlimMENESR>\n<!-- versionAF="AAF-VE1301" -->\n')


def attr_xml(name: str, values) -> str:
    values = [values] if isinstance(values, str) else list(values)
    body = "".join(f"<value>{escape(value)}</value>\n" if value else "<value/>\n" for value in values or [""])
    return f"<attr name={quoteattr(name)}>\n{body}</attr>\n"


def request_xml(kind: str, identifier: str, attributes: list[tuple[str, object]], operation: str = "add") -> str:
    category_attr, category = CATEGORY[kind]
    head = (f"<{operation}Request>\n<operationalAttributes>\n<attr name=\"{category_attr}\">\n<value>{category}"
            f"</value>\n</attr>\n</operationalAttributes>\n<identifier>\n<id>{escape(identifier)}</id>\n</identifier>\n")
    if operation == "delete":
        return head + "</deleteRequest>\n"
    if operation == "modify":
        mods = "".join(f"<modification name={quoteattr(name)} operation=\"replace\">\n"
                       + "".join(f"<value>{escape(v)}</value>\n" if v else "<value/>\n"
                                 for v in ([values] if isinstance(values, str) else values or [""]))
                       + "</modification>\n" for name, values in attributes)
        return f"{head}<modifications>\n{mods}</modifications>\n</modifyRequest>\n"
    return f"{head}<attributes>\n{''.join(attr_xml(n, v) for n, v in attributes)}</attributes>\n</addRequest>\n"


class PartWriter:
    """Writes one kind's records, opening a new numbered part every `part_size` records."""

    def __init__(self, out: Path, plan: Plan, kind: str):
        self.out, self.plan, self.kind = out, plan, kind
        self.part, self.in_part, self.handle, self.files = -1, 0, None, []
        self.records = 0

    def write(self, record: str) -> None:
        if self.handle is None or self.in_part >= self.plan.part_size:
            self._open()
        self.handle.write(record)
        self.in_part += 1
        self.records += 1

    def _open(self) -> None:
        self.close()
        self.part += 1
        variant = "Delta" if self.plan.delta else "Complet"
        path = self.out / f"{self.plan.prefix}_{variant}_{self.plan.date}_{self.kind}_{self.part:04d}.xml"
        self.handle = path.open("w", encoding="utf-8", newline="\n")
        self.handle.write(HEADER)
        self.files.append(path.name)
        self.in_part = 0

    def close(self) -> None:
        if self.handle is not None:
            self.handle.write("</ficAlimMENESR>\n")
            self.handle.close()
            self.handle = None


def establishment_record(e: Establishment) -> str:
    classes = [f"{code}${level.label} {code[len(level.code):]}" for level in e.levels for code in e.classes[level.code]]
    groups = [f"{code}${label}" for code, label, _subject in e.groups]
    return request_xml("EtabEducNat", e.jointure, [
        ("ENTStructureJointure", e.jointure), ("ENTStructureUAI", e.uai), ("ENTEtablissementUAI", e.uai),
        ("ENTStructureSIREN", ""), ("ENTStructureNomCourant", e.name),
        ("ENTStructureTypeStruct", "CLG" if e.kind == "CLG" else "LYC"), ("ENTEtablissementMinistereTutelle", ""),
        ("ENTEtablissementContrat", "PU"), ("postOfficeBox", ""), ("street", e.street),
        ("postalCode", e.postal_code), ("l", e.city), ("telephoneNumber", f"047{e.index:07d}"),
        ("facsimileTelephoneNumber", ""), ("ENTEtablissementStructRattachFctl", ""),
        ("ENTEtablissementBassin", ""), ("ENTServAcAcademie", "LYON"), ("ENTStructureClasses", classes),
        ("ENTStructureGroupes", groups)])


def staff_record(m: StaffMember, rng: random.Random) -> str:
    e = m.establishment
    woman = rng.random() < 0.6
    first, last = rng.choice(WOMEN if woman else MEN), last_name(rng)
    mail = fold_ascii(f"{first}.{last}@ac-bench.fr".lower().replace(" ", "").replace("'", ""))
    if m.teacher:
        label, discipline = SUBJECTS[m.subject]
        functions = [f"{e.jointure}$ENS$ENSEIGNEMENT${discipline}${label}"]
    else:
        functions = [f"{e.jointure}${m.function[0]}${m.function[1]}${m.function[2]}${m.function[3]}"]
    mefs = sorted({f"{e.jointure}${level.mef}${level.mef_label}" for level in e.levels
                   for code, _s in m.classes if code in e.classes[level.code]})
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 38))
    return request_xml("PersEducNat", str(STAFF_BASE + m.index), [
        ("ENTPersonJointure", str(STAFF_BASE + m.index)), ("ENTPersonDateNaissance", birth.strftime("%d/%m/%Y")),
        ("ENTPersonNomPatro", fold_ascii(last).upper()), ("sn", last.upper()),
        ("givenName", first.upper()), ("personalTitle", "Mme" if woman else "M."), ("mail", mail),
        ("ENTPersonStructRattach", e.jointure),
        ("ENTAuxEnsCategoDiscipline", f"{SUBJECTS[m.subject][1][1:3]}${SUBJECTS[m.subject][0]}" if m.teacher
         else ""),
        ("ENTAuxEnsDisciplinesPoste", f"{SUBJECTS[m.subject][0]}${SUBJECTS[m.subject][1]}" if m.teacher else ""),
        ("ENTAuxEnsMEF", mefs),
        ("ENTAuxEnsMatiereEnseignEtab", [f"{e.jointure}${SUBJECTS[m.subject][0]}"] if m.teacher else []),
        ("ENTAuxEnsClasses", [f"{e.jointure}${code}" for code, _s in m.classes]),
        ("ENTAuxEnsGroupes", [f"{e.jointure}${code}" for code, _s in m.groups]),
        ("ENTAuxEnsClassesMatieres", [f"{e.jointure}${code}${subject}" for code, subject in m.classes]),
        ("ENTAuxEnsGroupesMatieres", [f"{e.jointure}${code}${subject}" for code, subject in m.groups]),
        ("ENTAuxEnsClassesPrincipal", [f"{e.jointure}${code}" for code in m.main_classes]),
        ("ENTPersonFonctions", functions), ("PersEducNatPresenceDevantEleves", "O" if m.teacher else "N")])


def guardian_value(g: Guardian) -> str:
    """ENTElevePersRelEleve: guardian$relation$financial$legal$contact$payer."""
    return f"{GUARDIAN_BASE + g.index}${g.relation}${1 if g.legal == 1 else 0}${g.legal}${0 if g.legal else 1}$0"


def pupil_record(p: Pupil, family: Family, rng: random.Random) -> str:
    e = p.establishment
    legal = [str(GUARDIAN_BASE + g.index) for g in family.guardians if g.legal]
    mother = next((str(GUARDIAN_BASE + g.index) for g in family.guardians if g.relation == "2"), "")
    father = next((str(GUARDIAN_BASE + g.index) for g in family.guardians if g.relation == "1"), "")
    contacts = [g for g in family.guardians if not g.legal]
    subjects = list(p.level.subjects) + [
        subject for code, _label, subject in e.groups if code in p.groups]
    return request_xml("Eleve", str(PUPIL_BASE + p.index), [
        ("ENTPersonJointure", str(PUPIL_BASE + p.index)), ("ENTEleveStructRattachId", str(800_000 + p.index)),
        ("ENTPersonDateNaissance", p.birth.strftime("%d/%m/%Y")),
        ("ENTPersonNomPatro", fold_ascii(p.last_name).upper()),
        ("sn", p.last_name), ("givenName", p.first_name),
        ("ENTPersonAutresPrenoms", [rng.choice(GIRLS if p.girl else BOYS)]),
        ("personalTitle", "Mlle" if p.girl else "M."), ("ENTEleveParents", legal), ("ENTElevePere", father),
        ("ENTEleveMere", mother), ("ENTEleveAutoriteParentale", legal),
        ("ENTElevePersRelEleve1", str(GUARDIAN_BASE + contacts[0].index) if contacts else ""),
        ("ENTEleveQualitePersRelEleve1", "CONTACT" if contacts else ""), ("ENTElevePersRelEleve2", ""),
        ("ENTEleveQualitePersRelEleve2", ""), ("ENTElevePersRelEleve", [guardian_value(g) for g in family.guardians]),
        ("ENTEleveBoursier", "O" if rng.random() < 0.25 else "N"), ("ENTEleveRegime", rng.choice(REGIMES)),
        ("ENTEleveTransport", "O" if rng.random() < 0.3 else "N"), ("ENTEleveStatutEleve", "SCOLAIRE"),
        ("ENTEleveMEF", p.level.mef), ("ENTEleveLibelleMEF", p.level.mef_label),
        ("ENTEleveNivFormation", p.level.label), ("ENTEleveFiliere", p.level.label),
        ("ENTEleveEnseignements", [SUBJECTS[code][0] for code in subjects]),
        ("ENTEleveCodeEnseignements", subjects), ("ENTPersonStructRattach", e.jointure),
        ("ENTEleveClasses", f"{e.jointure}${p.class_code}"),
        ("ENTEleveGroupes", [f"{e.jointure}${code}" for code in p.groups])])


def guardian_record(g: Guardian) -> str:
    return request_xml("PersRelEleve", str(GUARDIAN_BASE + g.index), [
        ("ENTPersonJointure", str(GUARDIAN_BASE + g.index)), ("ENTPersonDateNaissance", ""),
        ("ENTPersonNomPatro", fold_ascii(g.last_name).upper()), ("sn", g.last_name), ("givenName", g.first_name),
        ("personalTitle", "Mme" if g.woman else "M."), ("homePhone", g.phone), ("telephoneNumber", g.phone),
        ("mobile", g.mobile), ("mail", g.mail),
        ("ENTPersonAdresse", f"{g.index % 97 + 1} {STREETS[g.index % len(STREETS)]}"),
        ("ENTPersonCodePostal", g.city[1]), ("ENTPersonVille", g.city[0]), ("ENTPersonPays", "FRANCE")])


def generate(out: str | Path, plan: Plan) -> dict:
    """Write the files into `out` (created) and return the manifest (also written as manifest.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ficAlimMENESR.dtd").write_text(DTD, encoding="utf-8")
    writers: dict[str, PartWriter] = {}
    counts = {"establishments": 0, "mefs": 0, "national_subjects": 0, "staff": 0, "teachers": 0, "pupils": 0,
              "guardians": 0, "links": 0, "classes": 0, "groups": 0, "subjects": 0, "assignments": 0,
              "main_classes": 0, "moved": 0, "leaving_pupils": 0, "leaving_guardians": 0, "arrived_pupils": 0,
              "arrived_guardians": 0, "arrived_links": 0}

    def writer(kind: str) -> PartWriter:
        if kind not in writers:
            writers[kind] = PartWriter(out, plan, kind)
        return writers[kind]

    if not plan.delta:
        for e in plan.establishments:
            writer("EtabEducNat").write(establishment_record(e))
            counts["classes"] += sum(len(codes) for codes in e.classes.values())
            counts["groups"] += len(e.groups)
        counts["establishments"] = len(plan.establishments)
        mefs = {(level.mef, level.mef_label) for level in (*COLLEGE_LEVELS, *LYCEE_LEVELS)} | set(OTHER_MEFS)
        for code, label in sorted(mefs):
            writer("MefEducNat").write(request_xml("MefEducNat", code, [
                ("ENTMefJointure", code), ("ENTLibelleMef", label), ("ENTMEFRattach", code), ("ENTMEFSTAT11", "")]))
        counts["mefs"] = len(mefs)
        for code, (label, _discipline) in sorted(SUBJECTS.items()):
            writer("MatiereEducNat").write(request_xml("MatiereEducNat", code, [
                ("ENTMatJointure", code), ("ENTLibelleMatiere", label)]))
        counts["national_subjects"] = len(SUBJECTS)
        staff_names = random.Random(f"{plan.seed}:staff")
        for e in plan.establishments:
            subjects = set()
            for member in staff_of(e):
                writer("PersEducNat").write(staff_record(member, staff_names))
                counts["staff"] += 1
                counts["teachers"] += member.teacher
                counts["assignments"] += len(member.classes) + len(member.groups)
                counts["main_classes"] += len(member.main_classes)
                subjects |= {subject for _code, subject in (*member.classes, *member.groups)}
            counts["subjects"] += len(subjects)

    extras = random.Random(f"{plan.seed}:pupil-extras")
    for family in plan.families():
        if family.leaves:
            counts["leaving_pupils"] += len(family.pupils)
            counts["leaving_guardians"] += len(family.guardians)
            if plan.delta:
                for p in family.pupils:
                    writer("Eleve").write(request_xml("Eleve", str(PUPIL_BASE + p.index), [], "delete"))
        for p in family.pupils:
            record = pupil_record(p, family, extras)  # drawn for every pupil: the stream stays aligned
            counts["moved"] += p.moved_from is not None and not family.leaves
            if family.leaves:
                continue
            if family.arrived:
                counts["arrived_pupils"] += 1
                counts["arrived_links"] += len(family.guardians)
            if not plan.delta or family.arrived:
                writer("Eleve").write(record)
                counts["pupils"] += 1
                counts["links"] += len(family.guardians)
            elif p.moved_from is not None:
                writer("Eleve").write(request_xml("Eleve", str(PUPIL_BASE + p.index), [
                    ("ENTEleveClasses", f"{p.establishment.jointure}${p.class_code}")], "modify"))
                counts["pupils"] += 1
    for family in plan.families():
        for g in family.guardians:
            if family.leaves:
                if plan.delta:
                    writer("PersRelEleve").write(request_xml("PersRelEleve", str(GUARDIAN_BASE + g.index), [],
                                                             "delete"))
                continue
            counts["arrived_guardians"] += family.arrived
            if not plan.delta or family.arrived:
                writer("PersRelEleve").write(guardian_record(g))
                counts["guardians"] += 1
    for w in writers.values():
        w.close()
    manifest = {
        "arguments": {"people": plan.people, "seed": plan.seed, "establishments": len(plan.establishments),
                      "part_size": plan.part_size, "date": plan.date, "prefix": plan.prefix,
                      "moves": plan.moves * 100, "leavers": plan.leavers * 100, "arrivals": plan.arrivals * 100,
                      "variant_seed": plan.variant_seed, "delta": plan.delta},
        "counts": counts,
        "people_in_files": counts["staff"] + counts["pupils"] + counts["guardians"]
        + (counts["leaving_pupils"] + counts["leaving_guardians"] if plan.delta else 0),
        "files": {kind: w.files for kind, w in writers.items()},
        "records": {kind: w.records for kind, w in writers.items()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="output directory (created)")
    parser.add_argument("--people", type=int, default=100_000, help="people in all (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--establishments", type=int, default=None,
                        help="collèges and lycées (default: one per 2,500 people, 1 to 40)")
    parser.add_argument("--part-size", type=int, default=15000, help="records per numbered part (default 15000)")
    parser.add_argument("--date", default="20260901", help="export date in the file names (YYYYMMDD)")
    parser.add_argument("--prefix", default="ENT_BENCH")
    parser.add_argument("--moves", type=float, default=0.0, help="%% of pupils changing class")
    parser.add_argument("--leavers", type=float, default=0.0, help="%% of families leaving")
    parser.add_argument("--arrivals", type=float, default=0.0, help="%% more pupils arriving")
    parser.add_argument("--variant-seed", type=int, default=0, choices=range(16), metavar="0-15")
    parser.add_argument("--delta", action="store_true", help="write only the changes, as a Delta export")
    args = parser.parse_args(argv)
    plan = Plan(people=args.people, seed=args.seed, establishments=args.establishments, part_size=args.part_size,
                date=args.date, prefix=args.prefix, moves=args.moves, leavers=args.leavers,
                arrivals=args.arrivals, variant_seed=args.variant_seed, delta=args.delta)
    manifest = generate(args.out, plan)
    print(json.dumps({"people_in_files": manifest["people_in_files"], **manifest["counts"],
                      "records": manifest["records"]}))


if __name__ == "__main__":
    main()
