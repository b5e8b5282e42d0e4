"""`preau seed` adds a few agenda events to the demo establishments, once, visible through the policy."""

import datetime
import io

import pytest
from django.core.management import call_command

from preau.access import policy
from preau.accounts.models import User
from preau.directory.models import Role
from preau.timetable import agenda
from preau.timetable.agenda_seeding import seed_agenda
from preau.timetable.models import AgendaEvent

pytestmark = pytest.mark.django_db


def test_seed_adds_demo_agenda_events_once():
    out = io.StringIO()
    call_command("seed", "--pupils", "40", stdout=out)
    assert "Agenda :" in out.getvalue()
    college = AgendaEvent.objects.filter(establishment__name="Collège Jean Moulin")
    assert college.count() >= 5
    assert set(college.values_list("kind", flat=True)) >= {"parents", "trip", "council", "exam", "event"}
    assert AgendaEvent.objects.filter(classes__isnull=False).exists()
    count = AgendaEvent.objects.count()
    assert seed_agenda(1) == 0  # idempotent
    assert AgendaEvent.objects.count() == count

    today = datetime.date.today()
    pupil = User.objects.filter(memberships__role=Role.PUPIL,
                                memberships__establishment__name="Collège Jean Moulin").first()
    seen = agenda.events_visible_to(policy.Actor(pupil), today - datetime.timedelta(days=30),
                                    today + datetime.timedelta(days=60))
    titles = {event.title for event in seen}
    assert "Journée portes ouvertes" in titles
    assert "Réunion de l'équipe éducative" not in titles  # staff and teachers only
