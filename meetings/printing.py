"""Printed matter for a meeting: name badges and the delegate list in order of precedence, as PDF.

Pure builders (meeting and registrations in, PDF bytes out) drawn with reportlab. Names in Japanese,
Chinese and Korean are set in reportlab's built-in Adobe CID fonts, chosen per text by its script, so
nothing is downloaded and the files are made offline; everything else is set in Helvetica, or, for
letters Helvetica lacks (Łódź, Nguyễn), in the system's DejaVu Sans when the machine has it.

Order of precedence (the rule the list follows, the same in every language so that every language
version of a list agrees): delegations in the alphabetical order of their city's Latin-script name
(the diplomatic convention), then people on their own; within a delegation the head first, then by
protocol rank (1 first, unranked last), then by name.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kizuna.extensions import db
from network.models import Partner
from network.reference import fold
from partners.models import Contact, NameOrder

from .forms import ROLES
from .models import DelegateRole, Meeting, Registration, RegistrationStatus

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
JAPANESE = "HeiseiKakuGo-W5"
CHINESE = "STSong-Light"
KOREAN = "HYGothic-Medium"
CHINESE_COUNTRIES = frozenset({"CN", "TW", "HK", "MO", "SG"})
UNSPACED_COUNTRIES = frozenset({"CN", "TW", "HK", "MO", "KR", "KP"})

BADGE_COLUMNS, BADGE_ROWS = 2, 4  # eight badges of 105 × 74 mm to an A4 sheet
BADGES_PER_PAGE = BADGE_COLUMNS * BADGE_ROWS

# Fonts for Latin letters beyond Helvetica's Windows-1252 set, used only when the system has them.
EXTENDED_LATIN = {False: ("DejaVuSans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                  True: ("DejaVuSans-Bold", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")}

_registered: set[str] = set()


def _font(name: str) -> str:
    if name not in _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(name))
        _registered.add(name)
    return name


def _latin(text: str, bold: bool) -> str:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        name, path = EXTENDED_LATIN[bold]
        if name in _registered or os.path.exists(path):
            if name not in _registered:
                pdfmetrics.registerFont(TTFont(name, path))
                _registered.add(name)
            return name
    return LATIN_BOLD if bold else LATIN


def font_for(text: str, *, country: str | None = None, bold: bool = False) -> str:
    """The font that sets `text`: a CID font for kana, hangul or Chinese characters (Chinese characters in
    the Chinese font for people of a Chinese-writing country, else the Japanese one), else Helvetica (bold
    when asked), else DejaVu Sans for letters Helvetica lacks."""
    han = False
    for char in text:
        if ord(char) < 0x2E80:
            continue
        name = unicodedata.name(char, "")
        if name.startswith(("HIRAGANA", "KATAKANA")):
            return _font(JAPANESE)
        if name.startswith("HANGUL"):
            return _font(KOREAN)
        if name.startswith("CJK") or "IDEOGRAPH" in name or name.startswith("FULLWIDTH"):
            han = True
    if han:
        return _font(CHINESE if country in CHINESE_COUNTRIES else JAPANESE)
    return _latin(text, bold)


def own_script_name(contact: Contact | None) -> str:
    """The contact's name in their own script and their culture's order (山田 太郎, 王小明, 김민준);
    "" when no name in their own script is known."""
    if contact is None or contact.erased_at is not None:
        return ""
    family, given = contact.family_name_local.strip(), contact.given_name_local.strip()
    if not (family or given):
        return ""
    if contact.name_order == NameOrder.GIVEN_FIRST:
        return " ".join(p for p in (given, family) if p)
    unspaced = contact.country_code in UNSPACED_COUNTRIES and font_for(family + given) in (CHINESE, KOREAN,
                                                                                          JAPANESE)
    return ("" if unspaced else " ").join(p for p in (family, given) if p)


@dataclass(frozen=True)
class Person:
    """A confirmed registration as the printed matter shows it."""

    name: str  # in the person's own script where known
    latin_name: str  # the registered name, printed under a name in another script
    title: str
    city: str  # the delegation's city in the reader's language, or the person's organisation
    role: str
    country: str | None  # the person's, else their city's: chooses a Chinese or a Japanese font for kanji


def confirmed(meeting_id: int) -> list[Registration]:
    """The meeting's confirmed registrations (the only people printed), with their delegations."""
    return list(db.session.scalars(
        select(Registration).options(selectinload(Registration.delegation))
        .where(Registration.meeting_id == meeting_id, Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)))


def _in_precedence(registrations: Iterable[Registration], language: str) -> list[Person]:
    registrations = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    partner_ids = {r.delegation.partner_id for r in registrations if r.delegation is not None}
    partners = {p.id: p for p in db.session.scalars(select(Partner).where(Partner.id.in_(partner_ids)))} \
        if partner_ids else {}
    contact_ids = {r.contact_id for r in registrations if r.contact_id}
    contacts = {c.id: c for c in db.session.scalars(
        select(Contact).options(selectinload(Contact.positions)).where(Contact.id.in_(contact_ids)))} \
        if contact_ids else {}

    def key(r: Registration):
        partner = partners.get(r.delegation.partner_id) if r.delegation else None
        group = (0, fold(partner.name), partner.id) if partner else (1, "", 0)
        return (*group, r.role != DelegateRole.HEAD, r.protocol_rank is None, r.protocol_rank or 0,
                fold(r.name), r.id)

    people = []
    for r in sorted(registrations, key=key):
        partner = partners.get(r.delegation.partner_id) if r.delegation else None
        contact = contacts.get(r.contact_id) if r.contact_id else None
        own = own_script_name(contact)
        if partner is not None:
            city = partner.display_name(language)
        else:
            position = contact.current_positions[0] if contact and contact.current_positions else None
            city = position.organisation.display_name(language) if position else ""
        people.append(Person(name=own or r.name, latin_name=r.name if own and own != r.name else "",
                             title=r.title, city=city, role=str(ROLES[r.role]),
                             country=(contact.country_code if contact else None)
                             or (partner.country_code if partner else None)))
    return people


def _when_and_where(meeting: Meeting, language: str) -> str:
    zone = ZoneInfo(meeting.timezone)
    start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    when = format_date(start, "long", locale=language)
    if end.date() != start.date():
        when = f"{when} – {format_date(end, 'long', locale=language)}"
    else:
        when = (f"{when}, {format_time(start, 'short', locale=language)}–"
                f"{format_time(end, 'short', locale=language)} ({meeting.timezone})")
    place = ", ".join(p for p in (meeting.venue, meeting.room) if p) or _("Online")
    return f"{when} · {place}"


# -- badges -------------------------------------------------------------------------------------


def _fit(c: pdfcanvas.Canvas, text: str, font: str, size: float, width: float, minimum: float = 7) -> float:
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _line(c: pdfcanvas.Canvas, text: str, x: float, y: float, width: float, size: float, *,
          country: str | None = None, bold: bool = False, color=colors.black) -> None:
    if not text:
        return
    font = font_for(text, country=country, bold=bold)
    size = _fit(c, text, font, size, width)
    c.setFont(font, size)
    c.setFillColor(color)
    c.drawCentredString(x, y, text)


def badges(meeting: Meeting, registrations: Iterable[Registration], language: str) -> bytes:
    """A4 sheets of name badges, eight to a sheet with cut marks, one per confirmed registration in order of
    precedence: the name large (in the person's own script when known, the registered name under it), title,
    city or organisation, role, and the meeting's title. An empty list gives one empty sheet."""
    with force_locale(language):
        people = _in_precedence(registrations, language)
        title = meeting.title(language)
        buffer = io.BytesIO()
        c = pdfcanvas.Canvas(buffer, pagesize=A4, pageCompression=1)
        c.setTitle(_("Name badges: %(title)s", title=title))
        c.setAuthor("Kizuna")
        page_width, page_height = A4
        width, height = page_width / BADGE_COLUMNS, page_height / BADGE_ROWS
        for index, person in enumerate(people):
            slot = index % BADGES_PER_PAGE
            if index and slot == 0:
                c.showPage()
            if slot == 0:
                _cut_marks(c, width, height)
            column, row = slot % BADGE_COLUMNS, slot // BADGE_COLUMNS
            left, top = column * width, page_height - row * height
            middle, inner = left + width / 2, width - 16 * mm
            _line(c, title, middle, top - 12 * mm, inner, 9, color=colors.HexColor("#444444"))
            _line(c, person.name, middle, top - 32 * mm, inner, 24, country=person.country, bold=True)
            _line(c, person.latin_name, middle, top - 40 * mm, inner, 11)
            _line(c, person.title, middle, top - 48 * mm, inner, 11, country=person.country)
            _line(c, person.city, middle, top - 56 * mm, inner, 13, bold=True)
            _line(c, person.role, middle, top - 65 * mm, inner, 9, color=colors.HexColor("#444444"))
        c.showPage()
        c.save()
        return buffer.getvalue()


def _cut_marks(c: pdfcanvas.Canvas, width: float, height: float) -> None:
    c.setStrokeColor(colors.HexColor("#999999"))
    c.setLineWidth(0.3)
    for i in range(BADGE_COLUMNS + 1):
        for j in range(BADGE_ROWS + 1):
            x, y = i * width, j * height
            c.line(x - 3 * mm, y, x + 3 * mm, y)
            c.line(x, y - 3 * mm, x, y + 3 * mm)


# -- the delegate list in order of precedence ---------------------------------------------------


def _numbered(label: str):
    """A canvas class that writes "Page n of m" at the foot of each page once the page count is known."""

    class Numbered(pdfcanvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                text = label % {"page": self._pageNumber, "pages": total}
                font = font_for(text)
                self.setFont(font, 8)
                self.drawRightString(A4[0] - 15 * mm, 10 * mm, text)
                super().showPage()
            super().save()

    return Numbered


def precedence_list(meeting: Meeting, registrations: Iterable[Registration], language: str) -> bytes:
    """The delegate list in order of precedence (see the module's docstring) of confirmed registrations:
    name, title, city, role; the meeting's title, date and place at the head; page numbers at the foot."""
    with force_locale(language):
        people = _in_precedence(registrations, language)
        title = meeting.title(language)
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                topMargin=15 * mm, bottomMargin=18 * mm,
                                title=_("Delegate list: %(title)s", title=title), author="Kizuna")

        def style(text: str, size: float = 9, bold: bool = False, country: str | None = None) -> ParagraphStyle:
            font = font_for(text, country=country, bold=bold)
            return ParagraphStyle("cell", fontName=font, fontSize=size, leading=size * 1.3)

        def para(text: str, **kwargs) -> Paragraph:
            return Paragraph(escape(text), style(text, **kwargs))

        heading = _("Delegate list in order of precedence")
        note = _("Confirmed registrations only: %(count)d people.", count=len(people))
        story = [para(title, size=16, bold=True), Spacer(1, 2 * mm), para(heading, size=12, bold=True),
                 Spacer(1, 1 * mm), para(_when_and_where(meeting, language), size=10), Spacer(1, 1 * mm),
                 para(note, size=9), Spacer(1, 5 * mm)]
        header = [para(h, bold=True) for h in (_("Name"), _("Title"), _("City"), _("Role"))]
        rows = [header] + [[para(p.name + (f" ({p.latin_name})" if p.latin_name else ""), country=p.country),
                            para(p.title, country=p.country), para(p.city), para(p.role)] for p in people]
        if people:
            table = Table(rows, colWidths=[58 * mm, 44 * mm, 40 * mm, 38 * mm], repeatRows=1)
            table.setStyle(TableStyle([
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
            ]))
            story.append(table)
        else:
            story.append(para(_("Nobody has a confirmed registration yet.")))
        doc.build(story, canvasmaker=_numbered(_("Page %(page)d of %(pages)d")))
        return buffer.getvalue()
