"""Factories and the persona world shared by the test suites of every app.

The persona school is "Collège Jean Moulin": Léa Martin (5e B) and her separated parents, her teachers, the
head, the CPE, the ENT admin; a second family in 5e A; and a second establishment ("Collège Victor Hugo") whose
people must never see the first one's data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import factory
from factory.django import DjangoModelFactory

from preau.accounts.models import User

from .models import (
    ClassEnrolment,
    Establishment,
    GroupMembership,
    GuardianLink,
    Membership,
    Period,
    Role,
    SchoolClass,
    SchoolYear,
    StaffFunction,
    Subject,
    TeachingAssignment,
    TeachingGroup,
)

TEST_PASSWORD = "Préau-test-2026!"  # noqa: S105


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    activated_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))
    password = factory.django.Password(TEST_PASSWORD)


class EstablishmentFactory(DjangoModelFactory):
    class Meta:
        model = Establishment

    uai = factory.Sequence(lambda n: f"{n:07d}X")
    name = factory.Sequence(lambda n: f"Collège {n}")
    kind = Establishment.Kind.COLLEGE
    city = "Lyon"


class SchoolYearFactory(DjangoModelFactory):
    class Meta:
        model = SchoolYear

    establishment = factory.SubFactory(EstablishmentFactory)
    label = "2026-2027"
    start = datetime.date(2026, 9, 1)
    end = datetime.date(2027, 7, 4)
    is_current = True


class SchoolClassFactory(DjangoModelFactory):
    class Meta:
        model = SchoolClass

    school_year = factory.SubFactory(SchoolYearFactory)
    establishment = factory.LazyAttribute(lambda c: c.school_year.establishment)
    code = factory.Sequence(lambda n: f"C{n}")
    label = factory.LazyAttribute(lambda c: c.code)
    level = "5e"


class SubjectFactory(DjangoModelFactory):
    class Meta:
        model = Subject

    establishment = factory.SubFactory(EstablishmentFactory)
    code = factory.Sequence(lambda n: f"S{n}")
    label = factory.Sequence(lambda n: f"Matière {n}")


def add_membership(user: User, establishment: Establishment, role: str, functions=()) -> Membership:
    return Membership.objects.create(user=user, establishment=establishment, role=role, functions=list(functions))


def make_pupil(school_class: SchoolClass, **kwargs) -> User:
    pupil = UserFactory(birth_date=datetime.date(2014, 3, 12), **kwargs)
    add_membership(pupil, school_class.establishment, Role.PUPIL)
    ClassEnrolment.objects.create(pupil=pupil, school_class=school_class)
    return pupil


def make_guardian(establishment: Establishment, *children: User, relation="mother", denied=(), **kwargs) -> User:
    guardian = UserFactory(**kwargs)
    add_membership(guardian, establishment, Role.GUARDIAN)
    for order, child in enumerate(children, start=1):
        GuardianLink.objects.create(guardian=guardian, pupil=child, relation=relation, contact_order=order,
                                    denied_services=list(denied))
    return guardian


def make_teacher(establishment: Establishment, subject: Subject, *targets, **kwargs) -> User:
    teacher = UserFactory(**kwargs)
    add_membership(teacher, establishment, Role.TEACHER)
    for target in targets:
        TeachingAssignment.objects.create(
            teacher=teacher, establishment=establishment, school_year=target.school_year, subject=subject,
            school_class=target if isinstance(target, SchoolClass) else None,
            group=target if isinstance(target, TeachingGroup) else None,
        )
    return teacher


def make_staff(establishment: Establishment, *functions: str, **kwargs) -> User:
    staff = UserFactory(**kwargs)
    add_membership(staff, establishment, Role.STAFF, functions)
    return staff


def make_ent_admin(establishment: Establishment, **kwargs) -> User:
    admin = UserFactory(**kwargs)
    add_membership(admin, establishment, Role.ENT_ADMIN)
    return admin


@dataclass
class School:
    establishment: Establishment
    year: SchoolYear
    class_a: SchoolClass
    class_b: SchoolClass
    group: TeachingGroup
    subject: Subject
    pupil_a: User
    pupil_b: User
    pupil_b2: User
    mother_b: User
    father_b: User
    guardian_a: User
    teacher_a: User
    teacher_b: User
    group_teacher: User
    head: User
    cpe: User
    secretary: User
    nurse: User
    ent_admin: User


def make_school(prefix: str, name: str, uai: str) -> School:
    establishment = EstablishmentFactory(name=name, uai=uai)
    year = SchoolYearFactory(establishment=establishment)
    for index, (start, end) in enumerate([((2026, 9, 1), (2026, 11, 30)), ((2026, 12, 1), (2027, 3, 7)),
                                          ((2027, 3, 8), (2027, 7, 4))], start=1):
        Period.objects.create(school_year=year, index=index, label=f"Trimestre {index}",
                              start=datetime.date(*start), end=datetime.date(*end))
    class_a = SchoolClassFactory(school_year=year, code=f"{prefix}5A", label="5e A")
    class_b = SchoolClassFactory(school_year=year, code=f"{prefix}5B", label="5e B")
    group = TeachingGroup.objects.create(school_year=year, establishment=establishment, code=f"{prefix}LAT",
                                         label="Latin 5e", kind=TeachingGroup.Kind.OPTION)
    group.classes.set([class_a, class_b])
    subject = SubjectFactory(establishment=establishment, code=f"{prefix}MATH", label="Mathématiques")
    latin = SubjectFactory(establishment=establishment, code=f"{prefix}LCA", label="Latin")
    pupil_a = make_pupil(class_a, username=f"{prefix}pupil_a")
    pupil_b = make_pupil(class_b, username=f"{prefix}pupil_b", first_name="Léa", last_name="Martin")
    pupil_b2 = make_pupil(class_b, username=f"{prefix}pupil_b2")
    GroupMembership.objects.create(pupil=pupil_a, group=group)
    mother_b = make_guardian(establishment, pupil_b, username=f"{prefix}mother_b", relation="mother")
    father_b = make_guardian(establishment, pupil_b, username=f"{prefix}father_b", relation="father",
                             denied=["grades"])
    guardian_a = make_guardian(establishment, pupil_a, username=f"{prefix}guardian_a")
    return School(
        establishment=establishment, year=year, class_a=class_a, class_b=class_b, group=group, subject=subject,
        pupil_a=pupil_a, pupil_b=pupil_b, pupil_b2=pupil_b2, mother_b=mother_b, father_b=father_b,
        guardian_a=guardian_a,
        teacher_a=make_teacher(establishment, subject, class_a, username=f"{prefix}teacher_a"),
        teacher_b=make_teacher(establishment, subject, class_b, username=f"{prefix}teacher_b"),
        group_teacher=make_teacher(establishment, latin, group, username=f"{prefix}group_teacher"),
        head=make_staff(establishment, StaffFunction.HEAD, username=f"{prefix}head"),
        cpe=make_staff(establishment, StaffFunction.CPE, username=f"{prefix}cpe"),
        secretary=make_staff(establishment, StaffFunction.SECRETARY, username=f"{prefix}secretary"),
        nurse=make_staff(establishment, StaffFunction.NURSE, username=f"{prefix}nurse"),
        ent_admin=make_ent_admin(establishment, username=f"{prefix}ent_admin"),
    )


@dataclass
class World:
    one: School
    two: School
    global_admin: User
    extras: dict = field(default_factory=dict)


def make_world() -> World:
    one = make_school("", "Collège Jean Moulin", "0690001A")
    two = make_school("vh_", "Collège Victor Hugo", "0690002B")
    global_admin = UserFactory(username="global_admin", is_global_admin=True)
    return World(one=one, two=two, global_admin=global_admin)
