"""Contacts and organisations in and out of files: rows for CSV/XLSX exports, vCard 3.0/4.0 written and read."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import vobject
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kizuna.extensions import db

from .models import Contact, NameOrder, Organisation, Position

# The columns of a contact export; the import reads the same headers back (see importing.SCHEMA).
CONTACT_COLUMNS = {
    "id": _l("ID"), "family_name": _l("Family name"), "given_name": _l("Given name"),
    "family_name_local": _l("Family name (own script)"), "given_name_local": _l("Given name (own script)"),
    "honorific": _l("Honorific"), "title": _l("Title"), "organisation": _l("Organisation"),
    "position": _l("Position"), "department": _l("Department"), "emails": _l("Emails"), "phones": _l("Phones"),
    "languages": _l("Languages"), "preferred_language": _l("Preferred language"), "country": _l("Country"),
    "city": _l("City"), "timezone": _l("Time zone"), "protocol_rank": _l("Protocol rank"), "tags": _l("Tags"),
    "notes": _l("Notes"), "source": _l("Source"), "legal_basis": _l("Legal basis"),
    "consent_date": _l("Consent date"), "review_date": _l("Review date"),
}
ORGANISATION_COLUMNS = {
    "id": _l("ID"), "name": _l("Name"), "name_local": _l("Name in its own script"), "kind": _l("Kind"),
    "parent": _l("Part of"), "country": _l("Country"), "website": _l("Website"), "contacts": _l("Current contacts"),
}
VCARD_MIME = "text/vcard; charset=utf-8"
# Where a vCard's value came from, for the messages of an import: the column "letter" of a card is its property.
VCARD_PROPERTIES = {"family_name": "N", "given_name": "N", "family_name_local": "N (ALTID)",
                    "given_name_local": "N (ALTID)", "honorific": "N", "title": "TITLE", "organisation": "ORG",
                    "position": "ROLE", "department": "ORG", "emails": "EMAIL", "phones": "TEL", "languages": "LANG",
                    "preferred_language": "LANG", "timezone": "TZ", "notes": "NOTE", "country": "ADR",
                    "city": "ADR"}


def contacts_query():
    """Every live contact with what an export shows, loaded in a handful of queries, by name."""
    return (select(Contact).where(Contact.erased_at.is_(None))
            .options(selectinload(Contact.emails), selectinload(Contact.phones), selectinload(Contact.languages),
                     selectinload(Contact.tags), selectinload(Contact.city),
                     selectinload(Contact.positions).selectinload(Position.organisation))
            .order_by(Contact.family_name, Contact.given_name, Contact.id))


def _current(contact: Contact) -> Position | None:
    return next(iter(contact.current_positions), None)


def contact_row(contact: Contact) -> dict:
    """One contact as a row of CONTACT_COLUMNS (lists are joined with "; " by the writers)."""
    position = _current(contact)
    return {
        "id": contact.id, "family_name": contact.family_name, "given_name": contact.given_name,
        "family_name_local": contact.family_name_local, "given_name_local": contact.given_name_local,
        "honorific": contact.honorific, "title": contact.title,
        "organisation": position.organisation.name if position else "",
        "position": position.title if position else "", "department": position.department if position else "",
        "emails": [e.address for e in contact.emails], "phones": [p.number for p in contact.phones],
        "languages": contact.language_codes, "preferred_language": contact.preferred_language,
        "country": contact.country_code, "city": contact.city.name if contact.city else "",
        "timezone": contact.timezone_override, "protocol_rank": contact.protocol_rank,
        "tags": [t.name for t in contact.tags], "notes": contact.notes, "source": contact.source,
        "legal_basis": contact.legal_basis, "consent_date": contact.consent_date, "review_date": contact.review_date,
    }


def contact_rows() -> Iterator[dict]:
    for contact in db.session.scalars(contacts_query()):
        yield contact_row(contact)


def organisation_rows() -> Iterator[dict]:
    organisations = db.session.scalars(
        select(Organisation).options(selectinload(Organisation.parent),
                                     selectinload(Organisation.positions).selectinload(Position.contact))
        .order_by(Organisation.name, Organisation.id))
    for o in organisations:
        people = [p.contact.display_name() for p in o.positions if p.ended_on is None and p.contact.erased_at is None]
        yield {"id": o.id, "name": o.name, "name_local": o.name_local, "kind": o.kind, "country": o.country_code,
               "parent": o.parent.name if o.parent else "", "website": o.website, "contacts": people}


# -- writing vCards ------------------------------------------------------------------------------


def _latin_fn(contact: Contact) -> str:
    given, family = contact.given_name, contact.family_name
    parts = (family, given) if contact.name_order == NameOrder.FAMILY_FIRST else (given, family)
    return " ".join(p for p in parts if p) or contact.display_name()


def _local_fn(contact: Contact) -> str:
    return contact.display_name(contact.preferred_language or _script_language(contact)) \
        if (contact.family_name_local or contact.given_name_local) else ""


def _script_language(contact: Contact) -> str:
    from .models import script_of

    script = script_of(contact.family_name_local + contact.given_name_local) or ""
    if script == "han" and contact.country_code == "JP":  # 山田太郎 has no kana to tell it is Japanese
        return "ja"
    return {"kana": "ja", "han": "zh", "hangul": "ko"}.get(script, "und")


def contact_vcard(contact: Contact, version: str = "4.0") -> str:
    """A contact as one vCard (4.0 by default, or 3.0 for older address books).

    Names go in both scripts: in 4.0 the local-script N and FN are alternatives of the Latin ones (one ALTID,
    each with its LANGUAGE); 3.0 has no such thing, so the local name goes in X-KIZUNA-N-LOCAL/X-KIZUNA-FN-LOCAL.
    Phones are tel: URIs in 4.0, spoken languages LANG with PREF=1 on the preferred one; TZ is the IANA zone.
    """
    if version not in ("3.0", "4.0"):
        raise ValueError(version)
    four = version == "4.0"
    card = vobject.vCard()
    card.add("version").value = version
    has_local = bool(contact.family_name_local or contact.given_name_local)
    latin = bool(contact.family_name or contact.given_name)
    name = card.add("n")
    name.value = vobject.vcard.Name(family=contact.family_name or contact.family_name_local,
                                    given=contact.given_name or contact.given_name_local,
                                    prefix=contact.honorific or "")
    fn = card.add("fn")
    fn.value = _latin_fn(contact) if latin else _local_fn(contact)
    # The own-script name's language: the preferred one where it is written in that script (zh-Hant for 王小明),
    # else the script's own (ja for kana, ko for hangul).
    local_language = _script_language(contact)
    preferred = contact.preferred_language or ""
    if preferred.split("-")[0] in ("ja", "zh", "ko") and (local_language == "zh" or
                                                          preferred.split("-")[0] == local_language):
        local_language = preferred
    if has_local and latin:
        if four:
            for prop in (name, fn):
                prop.params["ALTID"] = ["1"]
                prop.params["LANGUAGE"] = ["en"]
            local_n = card.add("n")
            local_n.value = vobject.vcard.Name(family=contact.family_name_local, given=contact.given_name_local)
            local_fn = card.add("fn")
            local_fn.value = _local_fn(contact)
            for prop in (local_n, local_fn):
                prop.params["ALTID"] = ["1"]
                prop.params["LANGUAGE"] = [local_language]
        else:
            card.add("x-kizuna-n-local").value = f"{_escape(contact.family_name_local)};" \
                                                 f"{_escape(contact.given_name_local)}"
            card.add("x-kizuna-fn-local").value = _local_fn(contact)
    for email in contact.emails:
        prop = card.add("email")
        prop.value = email.address
        if email.is_primary:
            prop.params["PREF" if four else "TYPE"] = ["1" if four else "pref"]
    for phone in contact.phones:
        prop = card.add("tel")
        if four:
            prop.value = f"tel:{phone.number}"
            prop.params["VALUE"] = ["uri"]
            if phone.is_primary:
                prop.params["PREF"] = ["1"]
        else:
            prop.value = phone.number
            if phone.is_primary:
                prop.params["TYPE"] = ["pref"]
    position = _current(contact)
    if position is not None:
        card.add("org").value = [position.organisation.name, *([position.department] if position.department else [])]
        if position.title:
            card.add("title").value = position.title
    if contact.title and (position is None or not position.title):
        card.add("title").value = contact.title
    if four:
        for code in contact.language_codes:
            prop = card.add("lang")
            prop.value = code
            if code == contact.preferred_language:
                prop.params["PREF"] = ["1"]
    elif contact.preferred_language:
        card.add("x-kizuna-language").value = contact.preferred_language
    if contact.timezone:
        card.add("tz").value = contact.timezone
    if contact.notes:
        card.add("note").value = contact.notes
    if contact.tags:
        card.add("categories").value = [t.name for t in contact.tags]
    card.add("uid").value = f"urn:kizuna:contact:{contact.id}"
    return card.serialize(validate=False)  # vobject validates as 3.0, which allows one N only


def _escape(text: str) -> str:
    return re.sub(r"([\\;,])", r"\\\1", text)


# -- reading vCards ------------------------------------------------------------------------------

_CARD = re.compile(r"^BEGIN:VCARD\s*$(.*?)^END:VCARD\s*$", re.I | re.M | re.S)
_QP_PARAMS = re.compile(r"^[^:]*QUOTED-PRINTABLE[^:]*:", re.I)


_READ = frozenset({"BEGIN", "END", "VERSION", "N", "FN", "EMAIL", "TEL", "ORG", "TITLE", "ROLE", "LANG", "TZ", "NOTE",
                   "CATEGORIES", "ADR", "X-KIZUNA-N-LOCAL", "X-KIZUNA-LANGUAGE"})


def _property(line: str) -> str:
    """A content line's property name without its group: "EMAIL" of "item1.EMAIL;type=pref:a@b"."""
    return re.split(r"[;:]", line, maxsplit=1)[0].rsplit(".", 1)[-1].strip().upper()


def looks_like_vcard(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").upper()
    return head.startswith(b"BEGIN:VCARD") or head.startswith(b"B\x00E\x00G\x00I\x00N\x00")


def decode(data: bytes) -> str:
    """A file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Shift_JIS (cp932) as Japanese
    phones and older Outlook write it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932", errors="replace")


def _join_soft_breaks(text: str) -> str:
    """vCard 2.1 quoted-printable values continue on the next line after a trailing "="; vobject does not
    know this, so such lines are joined first."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _QP_PARAMS.match(line):
            while line.endswith("=") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + lines[i].lstrip()
        out.append(line)
        i += 1
    return "\n".join(out)


@dataclass
class Card:
    """What a vCard says, as the import's fields (text; lists joined with "; "), and what could not be read."""

    number: int
    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _text_value(value) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value if v).strip()
    return str(value or "").strip()


def _types(prop) -> set[str]:
    found = set()
    for key, values in prop.params.items():
        if key.upper() in ("TYPE", "PREF"):
            found.update(v.lower() for v in values)
            if key.upper() == "PREF":
                found.add("pref")
        else:
            found.add(key.lower())  # vCard 2.1 writes bare types: TEL;CELL;PREF
    for single in getattr(prop, "singletonparams", ()) or ():
        found.add(str(single).lower())
    return found


def read_vcards(data: bytes) -> list[Card]:
    """Every card of a .vcf file (2.1, 3.0 or 4.0, from Google, Apple, Outlook or a phone), read for import.

    Unknown properties (X-ABLabel, X-SOCIALPROFILE, PHOTO, …) are ignored; a card that cannot be parsed is
    kept with a problem instead of stopping the rest. Never raises for bad content.
    """
    text = _join_soft_breaks(decode(data).replace("\r\n", "\n").replace("\r", "\n"))
    # Unfold, then keep only the properties read below: a damaged PHOTO or an odd X- field cannot spoil a card.
    text = "\n".join(line for line in re.sub(r"\n[ \t]", "", text).split("\n")
                     if _property(line) in _READ)
    cards = []
    logger = logging.getLogger("vobject.base")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # it logs every line it skips; the card's problems say what matters
    try:
        for number, match in enumerate(_CARD.finditer(text), start=1):
            card = Card(number)
            cards.append(card)
            try:
                component = vobject.readOne(match.group(0), ignoreUnreadable=True, allowQP=True)
                _fill_card(card, component)
            except Exception as exc:  # vobject raises many kinds on a damaged card
                card.problems.append(str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
    finally:
        logger.setLevel(level)
    return cards


def _fill_card(card: Card, component) -> None:
    values = card.values
    names, fns, emails, phones, languages = [], [], [], [], []
    preferred = None
    org = title = role = ""
    for prop in component.getChildren():
        key = prop.name.upper()
        try:
            value = prop.value
        except Exception:  # noqa: BLE001 - a property vobject could not decode
            continue
        if key == "N":
            names.append((prop.params.get("LANGUAGE", [""])[0], value))
        elif key == "FN":
            fns.append(_text_value(value))
        elif key == "EMAIL":
            address = _text_value(value).removeprefix("mailto:").strip()
            if address:
                (emails.insert(0, address) if "pref" in _types(prop) or "1" in _types(prop) else emails.append(address))
        elif key == "TEL":
            number = _text_value(value)
            number = re.sub(r"^tel:", "", number, flags=re.I).split(";")[0].strip()
            if number:
                (phones.insert(0, number) if "pref" in _types(prop) else phones.append(number))
        elif key == "ORG":
            parts = value if isinstance(value, list) else [value]
            parts = [str(p).strip() for p in parts if str(p).strip()]
            if parts and not org:
                org, values["department"] = parts[0], " / ".join(parts[1:])
        elif key == "TITLE":
            title = title or _text_value(value)
        elif key == "ROLE":
            role = role or _text_value(value)
        elif key == "LANG":
            code = _text_value(value)
            if code:
                languages.append(code)
                if "pref" in _types(prop) or prop.params.get("PREF"):
                    preferred = preferred or code
        elif key == "X-KIZUNA-LANGUAGE":
            preferred = _text_value(value)
        elif key == "TZ":
            tz = _text_value(value)
            if "/" in tz:  # an IANA name; offsets such as -05:00 say nothing of the place
                values["timezone"] = tz
        elif key == "NOTE":
            values["notes"] = _text_value(value) if not isinstance(value, str) else value.strip()
        elif key == "CATEGORIES":
            values["tags"] = "; ".join(str(v).strip() for v in (value if isinstance(value, list) else [value]))
        elif key == "X-KIZUNA-N-LOCAL":
            family, _sep, given = str(value).partition(";")
            values["family_name_local"], values["given_name_local"] = family.strip(), given.strip()
        elif key == "ADR" and hasattr(value, "city"):
            values.setdefault("city", str(value.city or "").strip())
            values.setdefault("country", str(value.country or "").strip())
    from .models import script_of

    latin = local = None
    for language, name in names:
        family = _text_value(getattr(name, "family", ""))
        given = _text_value(getattr(name, "given", ""))
        prefix = _text_value(getattr(name, "prefix", ""))
        if not (family or given):
            continue  # N:;;;; — the name, if any, is in FN
        if script_of(family + given) in ("han", "kana", "hangul") or (latin is not None and language):
            local = local or (family, given)
        else:
            if latin is None and prefix:
                values["honorific"] = prefix
            latin = latin or (family, given)
    if latin is None and local is None and fns:
        # No N (Outlook sometimes writes only FN): the last word is taken as the family name.
        words = fns[0].split()
        if script_of(fns[0]) in ("han", "kana", "hangul"):  # 山田 太郎: the family name first
            local = (words[0], " ".join(words[1:]))
        elif words:
            latin = (words[-1], " ".join(words[:-1]))
    if latin:
        values["family_name"], values["given_name"] = latin
    if local:
        values["family_name_local"], values["given_name_local"] = local
    values["organisation"] = org
    values["position"] = title or role
    values["emails"] = "; ".join(dict.fromkeys(emails))
    values["phones"] = "; ".join(dict.fromkeys(phones))
    if languages:
        values["languages"] = "; ".join(languages)
    if preferred:
        values["preferred_language"] = preferred
    for name in list(values):
        if values[name] is None:
            values[name] = ""
