"""Printable activation slips: a real PDF, four slips per A4 page, names with accents, codes and the URL."""

import io

import pytest
from pypdf import PdfReader

from preau.accounts import activation_sheets, services
from preau.directory.testing import make_pupil

pytestmark = pytest.mark.django_db


def test_activation_sheets_pdf_one_slip_per_person_with_accents(settings, world):
    settings.PREAU_SITE_URL = "https://ent.example.fr"
    s = world.one
    pupils = [make_pupil(s.class_b, first_name="Zoé", last_name="Lefèvre-Œuvray", username=f"zoe{i}",
                         activated_at=None) for i in range(4)]
    people = [*pupils, s.mother_b]
    codes = services.issue_activation_codes(actor=s.ent_admin, users=people)
    pdf = activation_sheets.render_pdf(establishment=s.establishment, rows=[(u, codes[u.pk]) for u in people])
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2  # four slips per page
    page_one = reader.pages[0].extract_text()
    page_two = reader.pages[1].extract_text()
    assert "Zoé Lefèvre-Œuvray" in page_one
    assert "Collège Jean Moulin" in page_one
    assert "Classe : 5e B" in page_one
    assert codes[pupils[0].pk] in page_one and "zoe0" in page_one
    assert "https://ent.example.fr" in page_one
    assert "« Activer mon compte »" in page_one
    assert "valable jusqu'au" in page_one
    assert codes[s.mother_b.pk] in page_two
    assert "Responsable de : Léa Martin" in page_two


def test_activation_sheets_pdf_empty_rows_still_a_valid_document(world):
    pdf = activation_sheets.render_pdf(establishment=world.one.establishment, rows=[])
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
