"""Demo agenda events for `preau seed` (docs/agenda.md): a few events per seeded establishment, around today.

Written as rows (no notifications, no audit: this is demo data). Safe to run again: an establishment that already
has agenda events is left as it is.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from preau.directory.models import Establishment, Membership, Role, SchoolClass, StaffFunction

from .agenda import local_midnight
from .models import AgendaEvent

Kind = AgendaEvent.Kind


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _weekday_after(day: datetime.date, weekday: int, weeks: int = 0) -> datetime.date:
    """The first `weekday` (0 = Monday) strictly after `day`, `weeks` weeks later."""
    delta = (weekday - day.weekday()) % 7 or 7
    return day + datetime.timedelta(days=delta, weeks=weeks)


def _plan(today: datetime.date, classes: list[SchoolClass]) -> list[dict]:
    """The events of one establishment: (fields, classes) around today."""
    first, second = classes[0] if classes else None, classes[1] if len(classes) > 1 else None
    last_level = [c for c in classes if c.level == classes[-1].level] if classes else []
    pupils_families_teachers = [Role.PUPIL, Role.GUARDIAN, Role.TEACHER]
    open_day = _weekday_after(today, 5, weeks=2)
    meeting = today - datetime.timedelta(days=14)
    plan = [
        {"kind": Kind.MEETING, "title": "Réunion de l'équipe éducative", "location": "Salle des professeurs",
         "starts_at": _at(meeting, 17), "ends_at": _at(meeting, 18, 30),
         "audience_roles": [Role.TEACHER, Role.STAFF], "classes": []},
        {"kind": Kind.CEREMONY, "title": "Journée portes ouvertes", "location": "Tout l'établissement",
         "description": "<p>Les familles des futurs élèves découvrent l'établissement. Venez nombreux !</p>",
         "starts_at": local_midnight(open_day), "ends_at": local_midnight(open_day + datetime.timedelta(days=1)),
         "all_day": True, "audience_roles": [Role.PUPIL, Role.GUARDIAN, Role.TEACHER, Role.STAFF], "classes": []},
    ]
    if first is not None:
        thursday = _weekday_after(today, 3)
        plan.append({"kind": Kind.PARENT_TEACHER, "title": f"Rencontre parents-professeurs — {first.label}",
                     "location": "Salle polyvalente", "starts_at": _at(thursday, 17, 30),
                     "ends_at": _at(thursday, 20), "audience_roles": [Role.GUARDIAN, Role.TEACHER],
                     "classes": [first]})
    if second is not None:
        trip = _weekday_after(today, 1, weeks=1)
        plan.append({"kind": Kind.TRIP, "title": "Sortie au musée des Confluences", "location": "Musée des Confluences",
                     "description": "<p>Départ en car à 8 h 30 devant l'établissement, retour vers 16 h 30. "
                                    "Prévoir un pique-nique.</p>",
                     "starts_at": _at(trip, 8, 30), "ends_at": _at(trip, 16, 30),
                     "audience_roles": pupils_families_teachers, "classes": [second]})
        council = _weekday_after(today, 0, weeks=3)
        plan.append({"kind": Kind.COUNCIL, "title": f"Conseil de classe — {second.label}", "location": "Salle B12",
                     "starts_at": _at(council, 17), "ends_at": _at(council, 18, 30),
                     "audience_roles": [Role.TEACHER, Role.STAFF], "classes": [second]})
    if last_level:
        exam = _weekday_after(today, 2, weeks=4)
        plan.append({"kind": Kind.EXAM, "title": f"Épreuves communes — {last_level[0].level}",
                     "location": "Gymnase", "starts_at": local_midnight(exam),
                     "ends_at": local_midnight(exam + datetime.timedelta(days=2)), "all_day": True,
                     "audience_roles": pupils_families_teachers, "classes": last_level})
    return plan


def seed_agenda(seed: int, *, today: datetime.date | None = None) -> int:
    """Add the demo events to the seeded establishments of this seed that have none. Returns the events created."""
    today = today or timezone.localdate()
    created = 0
    establishments = Establishment.objects.filter(external_id__startswith=f"SEED-{seed}-").order_by("external_id")
    for establishment in establishments:
        if AgendaEvent.objects.filter(establishment=establishment).exists():
            continue
        classes = list(SchoolClass.objects.filter(establishment=establishment, school_year__is_current=True)
                       .order_by("level", "code"))
        head = (Membership.objects.filter(establishment=establishment, role=Role.STAFF, is_active=True,
                                          functions__icontains=f'"{StaffFunction.HEAD}"').order_by("pk").first()
                or Membership.objects.filter(establishment=establishment, role=Role.STAFF, is_active=True,
                                             functions__icontains=f'"{StaffFunction.DIRECTOR}"').order_by("pk")
                .first())
        with transaction.atomic():
            for fields in _plan(today, classes):
                targets = fields.pop("classes")
                fields["audience_roles"] = [str(role) for role in fields["audience_roles"]]
                event = AgendaEvent.objects.create(establishment=establishment,
                                                   created_by_id=head.user_id if head else None, **fields)
                event.classes.set(targets)
                created += 1
    return created
