"""Every directory endpoint, for every persona, against own / own child / other family / other class / other
establishment targets: 200 with the right data, or 404 (missing and forbidden look the same), or 401."""

import pytest

from preau.access import policy
from preau.audit.models import AuditEvent

from .conftest import API

pytestmark = pytest.mark.django_db

PERSONAS = {
    "pupil": lambda w: w.one.pupil_b,
    "guardian": lambda w: w.one.mother_b,
    "restricted_guardian": lambda w: w.one.father_b,
    "teacher": lambda w: w.one.teacher_b,
    "head": lambda w: w.one.head,
    "cpe": lambda w: w.one.cpe,
    "ent_admin": lambda w: w.one.ent_admin,
    "global_admin": lambda w: w.global_admin,
    "anonymous": lambda w: None,
}
STAFF_OF_ONE = ("teacher", "head", "cpe", "ent_admin")


def get(world, as_user, persona, url):
    return as_user(PERSONAS[persona](world)).get(f"{API}{url}")


# --- People ------------------------------------------------------------------------------------------------------

PEOPLE_TARGETS = {
    "own_child": lambda w: w.one.pupil_b,  # the pupil herself for "pupil"
    "other_family": lambda w: w.one.pupil_b2,  # same class, other family
    "other_class": lambda w: w.one.pupil_a,
    "other_family_guardian": lambda w: w.one.guardian_a,
    "teacher_of_establishment": lambda w: w.one.teacher_a,
    "other_establishment_pupil": lambda w: w.two.pupil_b,
    "other_establishment_teacher": lambda w: w.two.teacher_a,
}
PEOPLE_EXPECTED = {
    #                       child other_fam other_cls other_guard teacher other_est_pupil other_est_teacher
    "pupil":               (200, 200, 404, 404, 200, 404, 404),
    "guardian":            (200, 404, 404, 404, 200, 404, 404),
    "restricted_guardian": (200, 404, 404, 404, 200, 404, 404),
    "teacher":             (200, 200, 200, 200, 200, 404, 404),
    "head":                (200, 200, 200, 200, 200, 404, 404),
    "cpe":                 (200, 200, 200, 200, 200, 404, 404),
    "ent_admin":           (200, 200, 200, 200, 200, 404, 404),
    "global_admin":        (200, 200, 200, 200, 200, 200, 200),
    "anonymous":           (401, 401, 401, 401, 401, 401, 401),
}
PEOPLE_CASES = [(persona, target, status) for persona, statuses in PEOPLE_EXPECTED.items()
                for target, status in zip(PEOPLE_TARGETS, statuses, strict=True)]


@pytest.mark.parametrize(("persona", "target", "status"), PEOPLE_CASES)
def test_api_people_retrieve_matrix(world, as_user, persona, target, status):
    person = PEOPLE_TARGETS[target](world)
    response = get(world, as_user, persona, f"/people/{person.pk}")
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        assert body["id"] == person.pk
        assert (body["first_name"], body["last_name"]) == (person.first_name, person.last_name)


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_api_people_retrieve_self_200_with_contact_not_audited(world, as_user, persona):
    me = PERSONAS[persona](world)
    body = get(world, as_user, persona, f"/people/{me.pk}").json()
    assert body["contact"]["email"] == me.email
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ).exists()


CONTACT_EXPECTED = {
    # persona: (target, contact shown, audited)
    ("pupil", "other_family"): (False, False),
    ("pupil", "teacher_of_establishment"): (False, False),
    ("guardian", "own_child"): (True, False),
    ("restricted_guardian", "own_child"): (True, False),
    ("guardian", "teacher_of_establishment"): (False, False),
    ("teacher", "own_child"): (False, False),
    ("teacher", "other_family_guardian"): (False, False),
    ("head", "own_child"): (True, True),
    ("head", "other_family_guardian"): (True, True),
    ("cpe", "other_class"): (True, True),
    ("ent_admin", "own_child"): (True, True),
    ("global_admin", "other_establishment_pupil"): (True, True),
}


@pytest.mark.parametrize(("persona", "target"), list(CONTACT_EXPECTED))
def test_api_people_retrieve_contact_details_and_audit(world, as_user, persona, target):
    shown, audited = CONTACT_EXPECTED[(persona, target)]
    person = PEOPLE_TARGETS[target](world)
    body = get(world, as_user, persona, f"/people/{person.pk}").json()
    if shown:
        assert body["contact"] == {"email": person.email, "phone": person.phone,
                                   "birth_date": person.birth_date.isoformat() if person.birth_date else None}
    else:
        assert body["contact"] is None
    events = AuditEvent.objects.filter(action=AuditEvent.Action.SENSITIVE_READ)
    if audited:
        event = events.get()
        assert event.actor_id == PERSONAS[persona](world).pk and event.subject_id == person.pk
        assert event.target == "directory.contact_details"
    else:
        assert not events.exists()


def test_api_people_retrieve_secretary_reads_guardian_contact_audited(world, as_user):
    body = as_user(world.one.secretary).get(f"{API}/people/{world.one.mother_b.pk}").json()
    assert body["contact"]["email"] == world.one.mother_b.email
    assert AuditEvent.objects.filter(action="sensitive_read", subject=world.one.mother_b).count() == 1


def test_api_people_list_never_contains_contact_details(world, as_user):
    body = as_user(world.one.head).get(f"{API}/people?limit=200").json()
    assert all("contact" not in item and "email" not in item for item in body["items"])
    assert not AuditEvent.objects.exists()


def all_ids(client, url, limit=3):
    ids, offset = [], 0
    while True:
        body = client.get(f"{API}{url}{'&' if '?' in url else '?'}limit={limit}&offset={offset}").json()
        ids += [item["id"] for item in body["items"]]
        offset += limit
        if offset >= body["count"]:
            assert len(ids) == body["count"]
            return ids


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_api_people_list_is_the_policy_scope(world, as_user, persona):
    user = PERSONAS[persona](world)
    ids = all_ids(as_user(user), "/people")
    assert len(ids) == len(set(ids))  # stable ordering across pages: no duplicates, nothing missed
    assert set(ids) == set(policy.people_visible_to(policy.actor_for(user)).values_list("pk", flat=True))
    if persona != "global_admin":
        assert not set(ids) & {world.two.pupil_b.pk, world.two.teacher_a.pk, world.two.head.pk}


def test_api_people_list_guardian_sees_child_and_staff_not_other_families(world, as_user):
    s = world.one
    ids = set(all_ids(as_user(s.mother_b), "/people"))
    assert {s.mother_b.pk, s.pupil_b.pk, s.teacher_a.pk, s.head.pk} <= ids
    assert not ids & {s.pupil_b2.pk, s.pupil_a.pk, s.father_b.pk, s.guardian_a.pk}


def test_api_people_list_filters(world, as_user):
    s = world.one
    client = as_user(s.head)
    pupils = client.get(f"{API}/people?role=pupil").json()
    assert {i["id"] for i in pupils["items"]} == {s.pupil_a.pk, s.pupil_b.pk, s.pupil_b2.pk}
    lea = client.get(f"{API}/people?q=léa mart").json()
    assert [i["id"] for i in lea["items"]] == [s.pupil_b.pk]
    assert lea["items"][0]["classes"] == [{"id": s.class_b.pk, "code": s.class_b.code, "label": "5e B"}]
    assert lea["items"][0]["roles"][0]["role"] == "pupil"
    other = client.get(f"{API}/people?establishment={world.two.establishment.pk}").json()
    assert other["count"] == 0


def test_api_people_roles_only_in_establishments_the_caller_sees(world, as_user):
    from preau.directory.models import Role
    from preau.directory.testing import add_membership

    s = world.one
    add_membership(s.teacher_a, world.two.establishment, Role.TEACHER)
    body = as_user(s.mother_b).get(f"{API}/people/{s.teacher_a.pk}").json()
    assert [r["establishment_id"] for r in body["roles"]] == [s.establishment.pk]
    body = as_user(world.global_admin).get(f"{API}/people/{s.teacher_a.pk}").json()
    assert {r["establishment_id"] for r in body["roles"]} == {s.establishment.pk, world.two.establishment.pk}


# --- Classes -----------------------------------------------------------------------------------------------------

CLASS_TARGETS = {
    "own_class": lambda w: w.one.class_b,
    "other_class": lambda w: w.one.class_a,
    "other_establishment": lambda w: w.two.class_b,
}
CLASS_EXPECTED = {
    "pupil": (200, 404, 404),
    "guardian": (200, 404, 404),
    "restricted_guardian": (200, 404, 404),
    "teacher": (200, 200, 404),
    "head": (200, 200, 404),
    "cpe": (200, 200, 404),
    "ent_admin": (200, 200, 404),
    "global_admin": (200, 200, 200),
    "anonymous": (401, 401, 401),
}
MEMBERS_EXPECTED = {**CLASS_EXPECTED, "guardian": (404, 404, 404), "restricted_guardian": (404, 404, 404)}


@pytest.mark.parametrize(("persona", "target", "status"), [
    (p, t, s) for p, statuses in CLASS_EXPECTED.items() for t, s in zip(CLASS_TARGETS, statuses, strict=True)])
def test_api_classes_retrieve_matrix(world, as_user, persona, target, status):
    school_class = CLASS_TARGETS[target](world)
    response = get(world, as_user, persona, f"/classes/{school_class.pk}")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert (body["id"], body["label"], body["establishment"]["id"]) == (
            school_class.pk, school_class.label, school_class.establishment_id)
        assert body["school_year"]["label"] == "2026-2027"


@pytest.mark.parametrize(("persona", "target", "status"), [
    (p, t, s) for p, statuses in MEMBERS_EXPECTED.items() for t, s in zip(CLASS_TARGETS, statuses, strict=True)])
def test_api_classes_members_matrix(world, as_user, persona, target, status):
    school_class = CLASS_TARGETS[target](world)
    response = get(world, as_user, persona, f"/classes/{school_class.pk}/members")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        school = world.one if school_class.establishment_id == world.one.establishment.pk else world.two
        expected_pupils = ({school.pupil_b.pk, school.pupil_b2.pk} if school_class == school.class_b
                           else {school.pupil_a.pk})
        assert {p["id"] for p in body["pupils"]} == expected_pupils
        teacher = school.teacher_b if school_class == school.class_b else school.teacher_a
        assert [(t["id"], t["subject"]["label"]) for t in body["teachers"]] == [(teacher.pk, "Mathématiques")]


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_api_classes_list_is_the_policy_scope(world, as_user, persona):
    user = PERSONAS[persona](world)
    ids = all_ids(as_user(user), "/classes", limit=1)
    expected = set(policy.classes_visible_to(policy.actor_for(user)).filter(school_year__is_current=True)
                   .values_list("pk", flat=True))
    assert set(ids) == expected and len(ids) == len(expected)


def test_api_classes_list_filters_and_order(world, as_user):
    s = world.one
    client = as_user(world.global_admin)
    body = client.get(f"{API}/classes?establishment={s.establishment.pk}").json()
    assert [i["id"] for i in body["items"]] == [s.class_a.pk, s.class_b.pk]
    assert [i["id"] for i in client.get(f"{API}/classes?q=5e b&establishment={s.establishment.pk}").json()[
        "items"]] == [s.class_b.pk]
    assert client.get(f"{API}/classes?school_year={s.year.pk}").json()["count"] == 2


def test_api_classes_list_defaults_to_current_year(world, as_user):
    from preau.directory.testing import SchoolClassFactory, SchoolYearFactory

    s = world.one
    old = SchoolYearFactory(establishment=s.establishment, label="2025-2026", is_current=False,
                            start="2025-09-01", end="2026-07-04")
    old_class = SchoolClassFactory(school_year=old, code="OLD5B")
    client = as_user(s.head)
    assert old_class.pk not in [i["id"] for i in client.get(f"{API}/classes").json()["items"]]
    assert [i["id"] for i in client.get(f"{API}/classes?school_year={old.pk}").json()["items"]] == [old_class.pk]


# --- Groups ------------------------------------------------------------------------------------------------------

GROUP_PERSONAS = {**PERSONAS, "pupil_in_group": lambda w: w.one.pupil_a,
                  "guardian_of_member": lambda w: w.one.guardian_a}
GROUP_EXPECTED = {
    "pupil": (404, 404),
    "guardian": (404, 404),
    "restricted_guardian": (404, 404),
    "pupil_in_group": (200, 404),
    "guardian_of_member": (200, 404),
    "teacher": (200, 404),
    "head": (200, 404),
    "cpe": (200, 404),
    "ent_admin": (200, 404),
    "global_admin": (200, 200),
    "anonymous": (401, 401),
}


@pytest.mark.parametrize(("persona", "target", "status"), [
    (p, t, s) for p, statuses in GROUP_EXPECTED.items() for t, s in zip(("own", "other_establishment"), statuses,
                                                                          strict=True)])
def test_api_groups_retrieve_matrix(world, as_user, persona, target, status):
    group = world.one.group if target == "own" else world.two.group
    response = as_user(GROUP_PERSONAS[persona](world)).get(f"{API}/groups/{group.pk}")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["label"] == "Latin 5e" and body["kind"] == "option"
        school = world.one if target == "own" else world.two
        assert [c["id"] for c in body["classes"]] == [school.class_a.pk, school.class_b.pk]


@pytest.mark.parametrize("persona", list(GROUP_EXPECTED))
def test_api_groups_list_matches_retrieve(world, as_user, persona):
    response = as_user(GROUP_PERSONAS[persona](world)).get(f"{API}/groups")
    if persona == "anonymous":
        assert response.status_code == 401
        return
    ids = {i["id"] for i in response.json()["items"]}
    expected = {g.pk for g, s in zip((world.one.group, world.two.group), GROUP_EXPECTED[persona], strict=True)
                if s == 200}
    assert ids == expected


# --- Establishments and subjects -----------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", list(PERSONAS))
def test_api_establishments_matrix(world, as_user, persona):
    one, two = world.one.establishment, world.two.establishment
    client = as_user(PERSONAS[persona](world))
    if persona == "anonymous":
        assert client.get(f"{API}/establishments").status_code == 401
        assert client.get(f"{API}/establishments/{one.pk}").status_code == 401
        return
    listed = [i["id"] for i in client.get(f"{API}/establishments").json()["items"]]
    own = client.get(f"{API}/establishments/{one.pk}")
    other = client.get(f"{API}/establishments/{two.pk}")
    assert own.status_code == 200
    assert own.json()["uai"] == "0690001A"
    assert [p["label"] for p in own.json()["school_year"]["periods"]] == ["Trimestre 1", "Trimestre 2", "Trimestre 3"]
    if persona == "global_admin":
        assert listed == [one.pk, two.pk] and other.status_code == 200
    else:
        assert listed == [one.pk] and other.status_code == 404


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_api_subjects_matrix(world, as_user, persona):
    client = as_user(PERSONAS[persona](world))
    response = client.get(f"{API}/subjects")
    if persona == "anonymous":
        assert response.status_code == 401
        return
    items = response.json()["items"]
    expected = {world.one.establishment.pk} | ({world.two.establishment.pk} if persona == "global_admin" else set())
    assert {i["establishment_id"] for i in items} == expected
    assert [i["label"] for i in items if i["establishment_id"] == world.one.establishment.pk] == [
        "Latin", "Mathématiques"]
    filtered = client.get(f"{API}/subjects?establishment={world.two.establishment.pk}").json()
    assert filtered["count"] == (2 if persona == "global_admin" else 0)
