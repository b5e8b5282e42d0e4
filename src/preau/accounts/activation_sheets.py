"""Printable activation sheets: one slip per person with their login and one-time code, four slips per A4 page.

The school prints them after issuing codes (services.issue_activation_codes) and hands each slip to its owner.
"""

from __future__ import annotations

import io
from collections import defaultdict

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from preau.directory.models import ClassEnrolment, Establishment, GuardianLink

from . import crypto
from .models import ActivationCode, User
from .services import ACTIVATION_PURPOSE

SLIPS_PER_PAGE = 4
MARGIN = 10 * mm
FONT = "PreauSans"
FONT_BOLD = "PreauSans-Bold"
CODE_FONT = "Courier-Bold"
GREY = Color(0.35, 0.35, 0.4)


def _register_fonts() -> None:
    """Bitstream Vera ships with ReportLab: embedded, so every accent prints right on every printer."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))


def _details(establishment: Establishment, users: list[User]) -> dict[int, str]:
    """A line saying who the person is at school: their class, or their children's names."""
    ids = [u.pk for u in users]
    lines: dict[int, str] = {}
    for enrolment in (ClassEnrolment.objects.filter(pupil_id__in=ids, school_class__establishment=establishment,
                                                    school_class__school_year__is_current=True)
                      .select_related("school_class")):
        lines[enrolment.pupil_id] = _("Classe : %(label)s") % {"label": enrolment.school_class.label}
    children: dict[int, list[str]] = defaultdict(list)
    for link in (GuardianLink.objects.filter(guardian_id__in=ids, pupil__memberships__establishment=establishment)
                 .select_related("pupil").order_by("contact_order").distinct()):
        children[link.guardian_id].append(link.pupil.full_name)
    for guardian_id, names in children.items():
        lines.setdefault(guardian_id, _("Responsable de : %(names)s") % {"names": ", ".join(names)})
    return lines


def _expiries(codes: list[str]) -> dict[str, object]:
    by_hash = {crypto.code_hash(ACTIVATION_PURPOSE, code): code for code in codes}
    return {by_hash[h]: expires for h, expires in
            ActivationCode.objects.filter(code_hash__in=by_hash).values_list("code_hash", "expires_at")}


def _cut_line(pdf: canvas.Canvas, y: float, width: float) -> None:
    pdf.saveState()
    pdf.setStrokeColor(GREY)
    pdf.setDash(3, 3)
    pdf.line(MARGIN / 2, y, width - MARGIN / 2, y)
    pdf.setFont("ZapfDingbats", 10)
    pdf.setFillColor(GREY)
    pdf.drawString(MARGIN / 2, y - 3.5, "\"")  # a pair of scissors in ZapfDingbats
    pdf.restoreState()


def _slip(pdf, *, x, top, width, height, establishment, user, code, detail, expires) -> None:
    site_name = settings.PREAU_SITE_NAME
    url = settings.PREAU_SITE_URL
    y = top - 8 * mm
    pdf.setFillColor(black)
    pdf.setFont(FONT_BOLD, 10)
    pdf.drawString(x, y, establishment.name)
    pdf.setFont(FONT, 9)
    pdf.drawRightString(x + width, y, _("Votre compte %(site)s — document personnel") % {"site": site_name})

    y -= 8 * mm
    pdf.setFont(FONT_BOLD, 14)
    pdf.drawString(x, y, user.full_name or user.username)
    if detail:
        pdf.setFont(FONT, 10)
        pdf.drawRightString(x + width, y, detail)

    # The login and the code, in a box.
    box_h = 17 * mm
    box_y = y - 4 * mm - box_h
    pdf.setStrokeColor(black)
    pdf.setLineWidth(0.8)
    pdf.roundRect(x, box_y, width, box_h, 2 * mm)
    pdf.setFont(FONT, 9)
    pdf.drawString(x + 4 * mm, box_y + box_h - 5.5 * mm, _("Identifiant"))
    pdf.drawString(x + width / 2, box_y + box_h - 5.5 * mm, _("Code d'activation"))
    pdf.setFont(CODE_FONT, 15)
    pdf.drawString(x + 4 * mm, box_y + 4 * mm, user.username)
    pdf.drawString(x + width / 2, box_y + 4 * mm, code)

    y = box_y - 5 * mm
    pdf.setFont(FONT, 8.5)
    steps = [
        _("1. Rendez-vous sur %(url)s puis choisissez « Activer mon compte ».") % {"url": url},
        _("2. Saisissez votre identifiant et ce code, puis choisissez votre mot de passe et acceptez la charte "
          "d'utilisation de l'établissement."),
        _("Ce code est personnel et ne sert qu'une fois : ne le communiquez à personne. Si votre compte est déjà "
          "activé, il vous permet de choisir un nouveau mot de passe."),
    ]
    if expires:
        steps.append(_("Code valable jusqu'au %(date)s.")
                     % {"date": formats.date_format(timezone.localtime(expires), "j F Y")})
    for text in steps:
        for line in simpleSplit(text, FONT, 8.5, width):
            pdf.drawString(x, y, line)
            y -= 3.8 * mm


def render_pdf(*, establishment: Establishment, rows) -> bytes:
    """An A4 PDF with one slip per (user, clear code) row, four per page, with cut lines between slips."""
    _register_fonts()
    rows = list(rows)
    details = _details(establishment, [user for user, _code in rows])
    expiries = _expiries([code for _user, code in rows])
    buffer = io.BytesIO()
    page_w, page_h = A4
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(_("Codes d'activation — %(name)s") % {"name": establishment.name})
    pdf.setAuthor(settings.PREAU_SITE_NAME)
    pdf.setCreator(settings.PREAU_SITE_NAME)
    slip_h = (page_h - 2 * MARGIN) / SLIPS_PER_PAGE
    width = page_w - 2 * MARGIN - 2 * 4 * mm
    if not rows:
        pdf.setFont(FONT, 12)
        pdf.drawString(MARGIN, page_h - MARGIN - 10 * mm, _("Aucun code à imprimer."))
        pdf.showPage()
    for index, (user, code) in enumerate(rows):
        slot = index % SLIPS_PER_PAGE
        if index and slot == 0:
            pdf.showPage()
        top = page_h - MARGIN - slot * slip_h
        if slot:
            _cut_line(pdf, top, page_w)
        _slip(pdf, x=MARGIN + 4 * mm, top=top, width=width, height=slip_h, establishment=establishment, user=user,
              code=crypto.display_code(code), detail=details.get(user.pk, ""), expires=expiries.get(code))
        if slot == SLIPS_PER_PAGE - 1 or index == len(rows) - 1:
            pdf.saveState()
            pdf.setFont(FONT, 7)
            pdf.setFillColor(GREY)
            pdf.drawCentredString(page_w / 2, MARGIN / 2,
                                  _("Page %(page)d — découpez suivant les pointillés") % {"page": pdf.getPageNumber()})
            pdf.restoreState()
    if rows:
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
