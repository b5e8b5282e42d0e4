"""School years and their periods: create (periods generated from the scheme), edit dates, set the current year."""

import datetime

import pytest

from preau.directory.models import Period, SchoolYear

from .conftest import admin_url

pytestmark = pytest.mark.django_db


def test_admin_years_create_trimesters_generated(world, as_user):
    e = world.one.establishment
    response = as_user(world.one.ent_admin).post(admin_url("year_list", e.pk), {
        "label": "2027-2028", "start": "2027-09-01", "end": "2028-07-04"})
    year = SchoolYear.objects.get(establishment=e, label="2027-2028")
    assert response.status_code == 302
    periods = list(year.periods.order_by("index"))
    assert [p.label for p in periods] == ["Trimestre 1", "Trimestre 2", "Trimestre 3"]
    assert periods[0].start == year.start and periods[-1].end == year.end
    for before, after in zip(periods, periods[1:], strict=False):
        assert after.start == before.end + datetime.timedelta(days=1)
    assert not year.is_current  # not asked for
    assert SchoolYear.objects.get(pk=world.one.year.pk).is_current


def test_admin_years_create_semesters_and_make_current(world, as_user):
    e = world.one.establishment
    e.period_scheme = "semesters"
    e.save()
    as_user(world.one.ent_admin).post(admin_url("year_list", e.pk), {
        "label": "2027-2028", "start": "2027-09-01", "end": "2028-07-04", "make_current": "on"})
    year = SchoolYear.objects.get(establishment=e, label="2027-2028")
    assert [p.label for p in year.periods.all()] == ["Semestre 1", "Semestre 2"]
    assert year.is_current
    assert not SchoolYear.objects.get(pk=world.one.year.pk).is_current
    assert SchoolYear.objects.get(pk=world.two.year.pk).is_current  # other establishment untouched


def test_admin_years_create_end_before_start_french_error(world, as_user):
    response = as_user(world.one.ent_admin).post(admin_url("year_list", world.one.establishment.pk), {
        "label": "2027-2028", "start": "2028-07-04", "end": "2027-09-01"})
    assert response.status_code == 400
    assert "La date de fin doit être postérieure à la date de début." in response.content.decode()
    assert not SchoolYear.objects.filter(label="2027-2028").exists()


@pytest.mark.parametrize(("label", "message"), [
    ("2026-2027", "Cette année scolaire existe déjà pour l&#x27;établissement."),
    ("2027-2029", "Les deux années du libellé doivent se suivre"),
    ("2027", "Le libellé s&#x27;écrit sous la forme 2026-2027."),
])
def test_admin_years_create_bad_label_french_error(world, as_user, label, message):
    response = as_user(world.one.ent_admin).post(admin_url("year_list", world.one.establishment.pk), {
        "label": label, "start": "2027-09-01", "end": "2028-07-04"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert SchoolYear.objects.filter(establishment=world.one.establishment).count() == 1


def test_admin_years_set_current_success(world, as_user):
    e = world.one.establishment
    new = SchoolYear.objects.create(establishment=e, label="2027-2028", start=datetime.date(2027, 9, 1),
                                    end=datetime.date(2028, 7, 4))
    response = as_user(world.one.ent_admin).post(admin_url("year_set_current", e.pk, new.pk))
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.is_current
    assert list(SchoolYear.objects.filter(establishment=e, is_current=True)) == [new]


def test_admin_years_set_current_get_not_allowed(world, as_user):
    url = admin_url("year_set_current", world.one.establishment.pk, world.one.year.pk)
    assert as_user(world.one.ent_admin).get(url).status_code == 405


def _period_data(periods):
    data = {"action": "periods"}
    for index, (label, start, end) in enumerate(periods, start=1):
        data.update({f"p{index}-label": label, f"p{index}-start": start, f"p{index}-end": end})
    return data


def test_admin_years_periods_edit_success(world, as_user):
    year = world.one.year
    response = as_user(world.one.ent_admin).post(admin_url("year_detail", year.establishment_id, year.pk),
                                                 _period_data([("T1", "2026-09-01", "2026-12-04"),
                                                               ("T2", "2026-12-05", "2027-03-14"),
                                                               ("T3", "2027-03-15", "2027-07-04")]))
    assert response.status_code == 302
    assert [(p.label, p.end) for p in year.periods.order_by("index")][0] == ("T1", datetime.date(2026, 12, 4))


@pytest.mark.parametrize(("periods", "message"), [
    ([("T1", "2026-09-01", "2026-12-04"), ("T2", "2026-12-01", "2027-03-14"), ("T3", "2027-03-15", "2027-07-04")],
     "chevauche la précédente"),
    ([("T1", "2026-08-01", "2026-12-04"), ("T2", "2026-12-05", "2027-03-14"), ("T3", "2027-03-15", "2027-07-04")],
     "comprises dans l&#x27;année scolaire"),
    ([("T1", "2026-09-01", "2026-12-04"), ("T2", "2027-03-14", "2026-12-05"), ("T3", "2027-03-15", "2027-07-04")],
     "La date de fin doit être postérieure à la date de début."),
    ([("T1", "2026-09-01", "pas une date"), ("T2", "2026-12-05", "2027-03-14"), ("T3", "2027-03-15", "2027-07-04")],
     "Saisissez une date valide."),
])
def test_admin_years_periods_edit_invalid_french_error_unchanged(world, as_user, periods, message):
    year = world.one.year
    before = list(Period.objects.filter(school_year=year).values_list("label", "start", "end"))
    response = as_user(world.one.ent_admin).post(admin_url("year_detail", year.establishment_id, year.pk),
                                                 _period_data(periods))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(Period.objects.filter(school_year=year).values_list("label", "start", "end")) == before


def test_admin_years_edit_year_dates(world, as_user):
    year = world.one.year
    response = as_user(world.one.ent_admin).post(admin_url("year_detail", year.establishment_id, year.pk), {
        "action": "year", "label": "2026-2027", "start": "2026-09-02", "end": "2027-07-05"})
    assert response.status_code == 302
    year.refresh_from_db()
    assert year.start == datetime.date(2026, 9, 2)
