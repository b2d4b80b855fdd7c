"""A meeting's agenda (sessions with their speakers, in order) and its documents (agenda, concept note,
communiqué): the verbs that change them, each refusing bad input with MeetingError(message, field) before it
changes anything, flushing without committing, and recording itself in the audit log.

Session times come in as wall-clock times in the meeting's zone (read with zoneinfo, a time the clocks skip is
refused) and must fall on the meeting's own days. Documents are PDF or Office files judged by their bytes, kept
in the instance folder under their SHA-256 (kizuna/files.py), in a folder of their own, so that discarding one
kind's unused files never touches another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from kizuna import audit, files
from kizuna.extensions import db
from network import documents

from .models import AgendaItem, Meeting, MeetingDocument, MeetingStatus, Speaker, in_language
from .services import MeetingError, _locked, _texts, to_utc

DOCUMENT_KINDS = ("agenda", "concept_note", "communique", "other")
UP, DOWN = "up", "down"


def languages_of(meeting: Meeting) -> list[str]:
    """The languages a meeting's agenda is written in: its fallback language, those of its titles, then its
    interpretation languages, each once."""
    out: list[str] = []
    for code in (meeting.default_language, *meeting.titles, *meeting.interpretation_languages):
        if code and code not in out:
            out.append(code)
    return out


def item_title(item: AgendaItem, language: str) -> str:
    """A session's title in `language`, else in the meeting's language to fall back on, else in any."""
    return in_language(item.titles, language, item.meeting.default_language)


def off_the_days(item: AgendaItem) -> bool:
    """Whether a session falls outside its meeting's days (in the meeting's zone): the meeting was moved after
    the session was planned, and the session needs a new time."""
    meeting = item.meeting
    zone = ZoneInfo(meeting.timezone)
    first, last = meeting.starts_at.astimezone(zone).date(), meeting.ends_at.astimezone(zone).date()
    return any(value is not None and not first <= value.astimezone(zone).date() <= last
               for value in (item.starts_at, item.ends_at))


# -- sessions -----------------------------------------------------------------------------------


def _open_meeting(meeting_id: int) -> Meeting:
    """The meeting's row, locked until commit so that two editors reordering at once never share a position."""
    meeting = _locked(meeting_id)
    if meeting.status == MeetingStatus.CANCELLED:
        raise MeetingError(_("The meeting is cancelled: its agenda can no longer be changed."), "meeting")
    return meeting


def _times(meeting: Meeting, starts_at: datetime | None, ends_at: datetime | None):
    """A session's start and end in UTC: naive times are read in the meeting's zone; both must fall on the
    meeting's days (in its zone) and the end must come after the start."""
    if ends_at is not None and starts_at is None:
        raise MeetingError(_("Give the start of a session that has an end."), "starts_at")
    start = to_utc(starts_at, meeting.timezone, "starts_at")
    end = to_utc(ends_at, meeting.timezone, "ends_at")
    zone = ZoneInfo(meeting.timezone)
    first, last = meeting.starts_at.astimezone(zone).date(), meeting.ends_at.astimezone(zone).date()
    for value, field in ((start, "starts_at"), (end, "ends_at")):
        if value is not None and not first <= value.astimezone(zone).date() <= last:
            days = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
            raise MeetingError(_("A session must take place on the meeting's days (%(days)s, %(zone)s).",
                                 days=days, zone=meeting.timezone), field)
    if start is not None and end is not None and end <= start:
        raise MeetingError(_("The session must end after it starts."), "ends_at")
    return start, end


def _speakers(entries: Iterable[Mapping], language: str) -> list[Speaker]:
    """Speakers from (name, role, contact_id) entries, in order; a contact fills a name left empty (as a reader
    of `language` sees it)."""
    from partners.models import Contact

    out = []
    for n, entry in enumerate(entries):
        name = (entry.get("name") or "").strip()
        role = (entry.get("role") or "").strip()
        contact_id = entry.get("contact_id")
        if contact_id is not None:
            contact = db.session.get(Contact, contact_id) if isinstance(contact_id, int) else None
            if contact is None or contact.erased_at is not None:
                raise MeetingError(_("That contact no longer exists; choose another."), f"speakers-{n}-contact")
            name = name or contact.display_name(language)
        if not name:
            raise MeetingError(_("Give the speaker's name."), f"speakers-{n}-name")
        if len(name) > 300:
            raise MeetingError(_("At most %(n)d characters.", n=300), f"speakers-{n}-name")
        if len(role) > 200:
            raise MeetingError(_("At most %(n)d characters.", n=200), f"speakers-{n}-role")
        out.append(Speaker(position=n, name=name, role=role, contact_id=contact_id))
    return out


def find_contact(text: str, field: str, *, needs_email: bool = False):
    """The contact that `text` names (for a speaker, or someone to invite): one of their email addresses, or a
    name matching exactly one contact; MeetingError at `field` otherwise. A speaker needs no email address;
    someone invited does (`needs_email`)."""
    from kizuna.mail import normalize_address
    from network.reference import fold
    from partners.models import Contact, ContactEmail

    text = (text or "").strip()
    if "@" in text:
        try:
            address = normalize_address(text)
        except ValueError:
            address = text.lower()
        found = list(db.session.scalars(select(Contact).join(ContactEmail, ContactEmail.contact_id == Contact.id)
                                        .where(ContactEmail.address == address, Contact.erased_at.is_(None))
                                        .limit(1)))
        if not found:
            raise MeetingError(_("No contact has the address %(email)s.", email=text), field)
    else:
        key = fold(text)
        found = list(db.session.scalars(select(Contact).where(
            Contact.erased_at.is_(None), Contact.search_key.contains(key, autoescape=True)).limit(2))) if key else []
        if not found:
            raise MeetingError(_("No contact is called %(name)s.", name=text), field)
        if len(found) > 1:
            raise MeetingError(_("Several contacts match %(name)s: give the contact's email address.", name=text),
                               field)
    if needs_email and not found[0].primary_email:
        raise MeetingError(_("%(name)s has no email address recorded.", name=found[0].display_name()), field)
    return found[0]


def _item_values(meeting: Meeting, *, titles, starts_at, ends_at, room, notes, speakers) -> dict:
    values = {"titles": _texts(titles, "titles", required=True, limit=300)}
    values["starts_at"], values["ends_at"] = _times(meeting, starts_at, ends_at)
    room, notes = (room or "").strip(), (notes or "").strip()
    if len(room) > 200:
        raise MeetingError(_("At most %(n)d characters.", n=200), "room")
    if len(notes) > 5000:
        raise MeetingError(_("At most %(n)d characters.", n=5000), "notes")
    values["room"], values["notes"] = room, notes
    values["speakers"] = _speakers(speakers or (), meeting.default_language)
    return values


def _item_snapshot(item: AgendaItem) -> dict:
    return {"position": item.position, "titles": dict(item.titles),
            "starts_at": item.starts_at.isoformat() if item.starts_at else None,
            "ends_at": item.ends_at.isoformat() if item.ends_at else None, "room": item.room, "notes": item.notes,
            "speakers": [{"name": s.name, "role": s.role, "contact_id": s.contact_id} for s in item.speakers]}


def _record(action: str, meeting: Meeting, actor, *, before=None, after=None) -> None:
    audit.record(action, actor=actor, object_type="meeting", object_id=meeting.id,
                 object_label=meeting.title(meeting.default_language), before=before, after=after)


def _items(meeting_id: int) -> list[AgendaItem]:
    return list(db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                                   .order_by(AgendaItem.position, AgendaItem.id)))


def _renumber(items: list[AgendaItem]) -> None:
    for n, item in enumerate(items):
        item.position = n


def _item(item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None:
        raise MeetingError(_("That session no longer exists; reload the page."), "item")
    return item


def add_item(*, meeting_id: int, titles: Mapping[str, str], actor, starts_at: datetime | None = None,
             ends_at: datetime | None = None, room: str = "", notes: str = "",
             speakers: Iterable[Mapping] = ()) -> AgendaItem:
    """Add a session at the end of the meeting's agenda. `speakers`: mappings of name, role and an optional
    contact_id, in the order the agenda prints them. Refused (MeetingError at its field) without a title, with
    times off the meeting's days or an end before the start, or for a cancelled meeting."""
    meeting = _open_meeting(meeting_id)
    values = _item_values(meeting, titles=titles, starts_at=starts_at, ends_at=ends_at, room=room, notes=notes,
                          speakers=speakers)
    existing = _items(meeting.id)
    item = AgendaItem(meeting=meeting, position=len(existing), **values)
    _renumber(existing)
    db.session.add(item)
    db.session.flush()
    _record("meeting.agenda_add", meeting, actor, after=_item_snapshot(item))
    return item


def update_item(*, item_id: int, titles: Mapping[str, str], actor, starts_at: datetime | None = None,
                ends_at: datetime | None = None, room: str = "", notes: str = "",
                speakers: Iterable[Mapping] = ()) -> AgendaItem:
    """Replace a session's fields and its speakers (the list given becomes the list, in its order); its place
    in the agenda stays. Refused as add_item refuses."""
    item = _item(item_id)
    meeting = _open_meeting(item.meeting_id)
    values = _item_values(meeting, titles=titles, starts_at=starts_at, ends_at=ends_at, room=room, notes=notes,
                          speakers=speakers)
    before = _item_snapshot(item)
    for name, value in values.items():
        setattr(item, name, value)
    db.session.flush()
    before, after = audit.changes(before, _item_snapshot(item))
    _record("meeting.agenda_update", meeting, actor, before={"item": item.id, **before},
            after={"item": item.id, **after})
    return item


def move_item(*, item_id: int, direction: str, actor) -> AgendaItem:
    """Move a session one place up or down the agenda; MeetingError when it is first (up) or last (down)
    already, or the direction is neither."""
    if direction not in (UP, DOWN):
        raise MeetingError(_("Choose one of the options offered."), "direction")
    item = _item(item_id)
    meeting = _open_meeting(item.meeting_id)
    items = _items(meeting.id)
    index = items.index(item)
    other = index - 1 if direction == UP else index + 1
    if not 0 <= other < len(items):
        raise MeetingError(_("This session is first already.") if direction == UP
                           else _("This session is last already."), "direction")
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    db.session.flush()
    _record("meeting.agenda_move", meeting, actor, before={"item": item.id, "position": index},
            after={"item": item.id, "position": item.position})
    return item


def remove_item(*, item_id: int, actor) -> AgendaItem:
    """Take a session and its speakers off the agenda; those after it move up."""
    item = _item(item_id)
    meeting = _open_meeting(item.meeting_id)
    snapshot = _item_snapshot(item)
    items = [i for i in _items(meeting.id) if i.id != item.id]
    db.session.delete(item)
    _renumber(items)
    db.session.flush()
    _record("meeting.agenda_remove", meeting, actor, before={"item": item_id, **snapshot})
    return item


# -- documents ------------------------------------------------------------------------------------


STORE = files.Store("meeting-documents", MeetingDocument.sha256)


def path_of(document: MeetingDocument) -> Path:
    return STORE.path(document.sha256)


def add_document(*, meeting_id: int, kind: str, filename: str, data: bytes, actor,
                 language: str = "") -> MeetingDocument:
    """Keep an uploaded file as one of a meeting's documents. Refused (MeetingError) at "kind" for a kind not
    offered, at "language" for a code that is none, at "file" when it is empty, larger than the documents' limit
    (network.documents.max_bytes) or not a PDF or Office file whatever its name says. The file is written
    before its row, under its hash, so a rolled-back upload leaves at most a file no row names."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingError(_("That meeting no longer exists; reload the page."), "file")
    if kind not in DOCUMENT_KINDS:
        raise MeetingError(_("Choose one of the options offered."), "kind")
    language = (language or "").strip()
    if len(language) > 16 or (language and not language.replace("-", "").isalnum()):
        raise MeetingError(_("%(tag)s is not a language code; use codes such as en, ja, zh-Hant.", tag=language),
                           "language")
    limit = documents.max_bytes()
    if not data:
        raise MeetingError(_("The file is empty."), "file")
    if len(data) > limit:
        raise MeetingError(_("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)), "file")
    sniffed = files.sniff(data)
    if sniffed is None:
        raise MeetingError(_("Only PDF and Office documents (Word, Excel, PowerPoint) can be attached; this file "
                             "is neither, whatever its name says."), "file")
    content_type, extension = sniffed
    name = files.kept_name(filename, extension)
    digest = STORE.keep(data)
    document = MeetingDocument(meeting=meeting, kind=kind, language=language, filename=name,
                               content_type=content_type, size=len(data), sha256=digest,
                               uploaded_by_id=actor.id if actor is not None else None)
    db.session.add(document)
    db.session.flush()
    _record("meeting.document_add", meeting, actor,
            after={"document": name, "kind": kind, "language": language, "size": len(data), "sha256": digest})
    return document


def remove_document(*, document_id: int, meeting_id: int, actor) -> MeetingDocument:
    """Delete a document's row (flushed, not committed); MeetingError when it is not one of this meeting's.
    The file stays until discard_unused_file, called after the commit, so a rolled-back removal never leaves
    a row without its file."""
    document = db.session.get(MeetingDocument, document_id)
    if document is None or document.meeting_id != meeting_id:
        raise MeetingError(_("That document no longer exists; reload the page."), "document")
    meeting = document.meeting
    db.session.delete(document)
    db.session.flush()
    _record("meeting.document_remove", meeting, actor,
            before={"document": document.filename, "kind": document.kind, "language": document.language,
                    "size": document.size, "sha256": document.sha256})
    return document


def discard_unused_file(sha256: str) -> bool:
    """Delete the stored file with this hash when no meeting document names it any more; True if deleted."""
    return STORE.discard_unused(sha256)
