"""The report of an import: counts per kind of record and rejected records."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

OUTCOMES = ("created", "updated", "deactivated", "unchanged")
# Counted apart (not records of the files): memberships a full import no longer lists, marked as leaving.
LEAVING = "leaving"
OUTCOME_LABELS = {
    "created": gettext_lazy("créés"),
    "updated": gettext_lazy("mis à jour"),
    "deactivated": gettext_lazy("désactivés"),
    "unchanged": gettext_lazy("inchangés"),
}


@dataclass(frozen=True)
class Rejection:
    file: str
    record: int | None
    attribute: str
    reason: str


@dataclass
class Report:
    # Kinds in the order they were first counted, with their French label.
    labels: dict[str, str] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys((*OUTCOMES, LEAVING), 0)))
    rejections: list[Rejection] = field(default_factory=list)
    dry_run: bool = False

    def count(self, kind: str, outcome: str, label: str = "", n: int = 1) -> None:
        if outcome not in (*OUTCOMES, LEAVING):
            raise ValueError(outcome)
        self.labels.setdefault(kind, label or kind)
        self.counts[kind][outcome] += n

    def reject(self, file: str, record: int | None, attribute: str, reason: str) -> None:
        self.rejections.append(Rejection(file, record, attribute, str(reason)))

    def get(self, kind: str, outcome: str) -> int:
        return self.counts.get(kind, {}).get(outcome, 0) if kind in self.counts else 0

    @property
    def imported(self) -> int:
        """How many records were handled without rejection (whatever their outcome)."""
        return sum(outcomes[outcome] for outcomes in self.counts.values() for outcome in OUTCOMES)

    def as_counts(self) -> dict[str, dict[str, int]]:
        return {kind: dict(self.counts[kind]) for kind in self.labels}

    def lines(self) -> list[str]:
        """The report in French, one line per kind then one per rejection."""
        out = [_("Simulation : rien n'a été enregistré.") if self.dry_run else _("Import enregistré.")]
        for kind, label in self.labels.items():
            counts = self.counts[kind]
            detail = ", ".join(f"{counts[outcome]} {OUTCOME_LABELS[outcome]}" for outcome in OUTCOMES)
            if counts[LEAVING]:
                detail += _(", %(n)d marqués partants (absents de l'import complet)") % {"n": counts[LEAVING]}
            out.append(f"{label} : {detail}")
        if self.rejections:
            out.append(_("%(n)d rejet(s) :") % {"n": len(self.rejections)})
            for rejection in self.rejections:
                where = rejection.file
                if rejection.record is not None:
                    where += _(", enregistrement %(n)d") % {"n": rejection.record}
                if rejection.attribute:
                    where += f", {rejection.attribute}"
                out.append(f"  - {where} : {rejection.reason}")
        else:
            out.append(_("Aucun rejet."))
        return out
