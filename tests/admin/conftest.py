import pytest
from django.urls import reverse

from preau.directory.models import GuardianLink, Membership, Role, TeachingAssignment


@pytest.fixture
def as_user(client):
    """Log a person in (session only) and return the test client."""

    def _as(user):
        client.force_login(user)
        return client

    return _as


def admin_url(name, *args):
    return reverse(f"directory_admin:{name}", args=args)


def school_urls(s):
    """Every administration URL of one persona school, with GET-able ones first, as (method, url)."""
    e = s.establishment.pk
    link = GuardianLink.objects.get(guardian=s.mother_b, pupil=s.pupil_b)
    assignment = TeachingAssignment.objects.get(teacher=s.teacher_b)
    membership = Membership.objects.get(user=s.teacher_b, role=Role.TEACHER)
    return [
        ("get", admin_url("establishment_detail", e)),
        ("get", admin_url("establishment_edit", e)),
        ("get", admin_url("year_list", e)),
        ("get", admin_url("year_detail", e, s.year.pk)),
        ("post", admin_url("year_set_current", e, s.year.pk)),
        ("get", admin_url("subject_list", e)),
        ("get", admin_url("class_list", e)),
        ("get", admin_url("class_create", e)),
        ("get", admin_url("class_detail", e, s.class_b.pk)),
        ("get", admin_url("class_edit", e, s.class_b.pk)),
        ("get", admin_url("class_delete", e, s.class_b.pk)),
        ("get", admin_url("class_codes", e, s.class_b.pk)),
        ("get", admin_url("group_list", e)),
        ("get", admin_url("group_create", e)),
        ("get", admin_url("group_detail", e, s.group.pk)),
        ("get", admin_url("group_edit", e, s.group.pk)),
        ("get", admin_url("group_delete", e, s.group.pk)),
        ("get", admin_url("person_list", e)),
        ("get", admin_url("person_create", e)),
        ("get", admin_url("person_detail", e, s.pupil_b.pk)),
        ("get", admin_url("person_edit", e, s.pupil_b.pk)),
        ("post", admin_url("person_role_add", e, s.pupil_b.pk)),
        ("post", admin_url("person_role_remove", e, s.teacher_b.pk, membership.pk)),
        ("post", admin_url("person_set_class", e, s.pupil_b.pk)),
        ("post", admin_url("person_deactivate", e, s.pupil_b.pk)),
        ("post", admin_url("person_reactivate", e, s.pupil_b.pk)),
        ("get", admin_url("guardian_link_add", e, s.pupil_b.pk)),
        ("get", admin_url("guardian_link_edit", e, s.pupil_b.pk, link.pk)),
        ("post", admin_url("guardian_link_remove", e, s.pupil_b.pk, link.pk)),
        ("post", admin_url("assignment_add", e, s.teacher_b.pk)),
        ("post", admin_url("assignment_remove", e, s.teacher_b.pk, assignment.pk)),
        ("post", admin_url("person_activation_code", e, s.pupil_b.pk)),
        ("post", admin_url("person_password_reset", e, s.pupil_b.pk)),
    ]
