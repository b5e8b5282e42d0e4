"""The access matrix of communication, through both faces: every persona against a private message, a news item
for one class's families and a carnet de liaison note, on the HTML pages and the JSON API.

The canonical answers: a message is read by its sender and its recipients only (no head, no administrator reads
people's mail: moderators see only what a rule held or a recipient reported, in the moderation queue); a news item
by its audience, its author and those who may publish there (the establishment's leadership and ENT admins, the
global administrator); a note's dashboard by its author and the
establishment's leadership. Anything else is 404, exactly like a missing object.
"""

import pytest
from django.test import Client

from preau.access.policy import actor_for
from preau.messaging import services as messaging
from preau.news import services as news

pytestmark = pytest.mark.django_db

PERSONAS = {
    "pupil": lambda w: w.one.pupil_b,
    "guardian": lambda w: w.one.mother_b,
    "restricted_guardian": lambda w: w.one.father_b,
    "other_class_guardian": lambda w: w.one.guardian_a,
    "teacher": lambda w: w.one.teacher_b,
    "other_teacher": lambda w: w.one.teacher_a,
    "head": lambda w: w.one.head,
    "cpe": lambda w: w.one.cpe,
    "secretary": lambda w: w.one.secretary,
    "nurse": lambda w: w.one.nurse,
    "ent_admin": lambda w: w.one.ent_admin,
    "other_establishment_head": lambda w: w.two.head,
    "global_admin": lambda w: w.global_admin,
}
Y, N = 200, 404
#                        message  news  note dashboard
EXPECTED = {
    "pupil":                    (N, N, N),
    "guardian":                 (Y, Y, N),
    "restricted_guardian":      (N, Y, N),
    "other_class_guardian":     (N, N, N),
    "teacher":                  (Y, Y, Y),
    "other_teacher":            (N, N, N),
    "head":                     (N, Y, Y),
    "cpe":                      (N, Y, Y),
    "secretary":                (N, N, N),
    "nurse":                    (N, N, N),
    "ent_admin":                (N, Y, N),
    "other_establishment_head": (N, N, N),
    "global_admin":             (N, Y, N),  # publishes anywhere, so reads any news; never anyone's mail
}


@pytest.fixture
def targets(world, django_capture_on_commit_callbacks):
    one = world.one
    teacher = actor_for(one.teacher_b)
    with django_capture_on_commit_callbacks(execute=True):
        message = messaging.send_message(actor=teacher, establishment=one.establishment, subject="Rendez-vous",
                                         body="Pouvons-nous nous voir jeudi ?",
                                         addresses={"to": [{"type": "person", "id": one.mother_b.pk}]})
        item = news.news_create(actor=teacher, establishment=one.establishment, title="Sortie au musée",
                                body="Départ à 8 h.", whole_establishment=False, classes=[one.class_b.pk],
                                audience=("guardians",))
        note = news.liaison_send(actor=teacher, establishment=one.establishment, title="Photo de classe",
                                 body="Merci de signer.", classes=[one.class_b.pk])
    return {"message": message.pk, "news": item.pk, "note": note.pk}


def answers(client: Client, targets: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    html = (client.get(f"/messagerie/messages/{targets['message']}/").status_code,
            client.get(f"/actualites/{targets['news']}/").status_code,
            client.get(f"/carnet/suivi/{targets['note']}/").status_code)
    api = (client.get(f"/api/v1/messaging/messages/{targets['message']}").status_code,
           client.get(f"/api/v1/news/{targets['news']}").status_code,
           client.get(f"/api/v1/liaison/notes/{targets['note']}/dashboard").status_code)
    return html, api


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_communication_matrix_html_and_api(world, targets, persona):
    client = Client()
    client.force_login(PERSONAS[persona](world))
    html, api = answers(client, targets)
    assert html == EXPECTED[persona], f"HTML {persona}: {html}"
    assert api == EXPECTED[persona], f"API {persona}: {api}"


def test_missing_objects_answer_like_forbidden_ones(world, targets):
    client = Client()
    client.force_login(world.one.mother_b)
    missing = {key: value + 10_000 for key, value in targets.items()}
    html, api = answers(client, missing)
    assert html == api == (N, N, N)


def test_anonymous_visitors_are_sent_to_login_or_refused(targets):
    client = Client()
    html = [client.get(url).status_code for url in (f"/messagerie/messages/{targets['message']}/",
                                                    f"/actualites/{targets['news']}/",
                                                    f"/carnet/suivi/{targets['note']}/")]
    assert html == [302, 302, 302]
    assert client.get(f"/api/v1/messaging/messages/{targets['message']}").status_code == 401
