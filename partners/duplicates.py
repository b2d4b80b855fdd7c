"""Likely duplicate contacts (same email, same phone, similar names across scripts) and their merge."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from rapidfuzz import fuzz
from rapidfuzz.process import cdist
from sqlalchemy import delete, insert, select, update

from kizuna import audit
from kizuna.extensions import db
from network.reference import fold

from . import services
from .models import Contact, ContactEmail, ContactPhone, Position, interaction_contact
from .services import PartnersError

SIMILAR = 88  # rapidfuzz ratio (0-100) of two folded Latin names from which they are worth a look
MAX_BLOCK = 200  # a block larger than this (a very common name) is compared by its exact names only
# The fields of a contact that a merge takes from one side or the other, as the merge screen offers them.
MERGE_FIELDS = ("family_name", "given_name", "family_name_local", "given_name_local", "name_order", "honorific",
                "title", "country_code", "preferred_language", "city_id", "timezone_override", "protocol_rank",
                "notes", "source", "legal_basis", "consent_date", "review_date")


@dataclass
class Pair:
    """Two contacts that may be one person, the lower id first, with every reason found."""

    first_id: int
    second_id: int
    reasons: list[str] = field(default_factory=list)
    score: int = 0  # 100: the same email or phone; less: only the names look alike


@dataclass(frozen=True)
class _Person:
    id: int
    family: str
    given: str
    local: str  # the own-script name without spaces


def _people() -> list[_Person]:
    rows = db.session.execute(select(Contact.id, Contact.family_name, Contact.given_name, Contact.family_name_local,
                                     Contact.given_name_local).where(Contact.erased_at.is_(None)))
    return [_Person(cid, fold(f or ""), fold(g or ""), "".join(((fl or "") + (gl or "")).split()))
            for cid, f, g, fl, gl in rows]


def find_duplicates() -> list[Pair]:
    """Every pair of live contacts that may be the same person, the likeliest first.

    Reasons: a shared email address; a shared phone number; the same Latin name, or the same name with family
    and given names swapped; the same name in the person's own script; Latin names that differ by a letter or
    an accent (Kovács / Kovač, within the same given name or the same family name). Contacts are compared only
    within blocks that share an email, a phone, a name or a name's first letters, so 20,000 contacts take
    seconds, not hours. Reads only.
    """
    pairs: dict[tuple[int, int], Pair] = {}
    # Translated once: a data set of common names gives hundreds of thousands of pairs.
    same_name, swapped, similar = _("Same name"), _("Same name, family and given names swapped"), _("Similar names")

    def add(a: int, b: int, reason: str, score: int) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        pair = pairs.get(key)
        if pair is None:
            pairs[key] = Pair(key[0], key[1], [reason], score)
            return
        if reason not in pair.reasons:
            pair.reasons.append(reason)
        if score > pair.score:
            pair.score = score

    for model, column, message in ((ContactEmail, ContactEmail.address, _("Same email: %(value)s")),
                                   (ContactPhone, ContactPhone.number, _("Same phone: %(value)s"))):
        groups: dict[str, list[int]] = defaultdict(list)
        live = select(Contact.id).where(Contact.erased_at.is_(None))
        for value, cid in db.session.execute(select(column, model.contact_id).where(model.contact_id.in_(live))):
            groups[value].append(cid)
        for value, ids in groups.items():
            if len(ids) > 1:
                for a, b in _within(ids):
                    add(a, b, message % {"value": value}, 100)
    people = _people()
    by_name: dict[tuple[str, str], list[_Person]] = defaultdict(list)
    by_local: dict[str, list[int]] = defaultdict(list)
    for p in people:
        if p.family or p.given:
            by_name[p.family, p.given].append(p)
        if p.local:
            by_local[p.local].append(p.id)
    for (family, given), group in by_name.items():
        for a, b in _within([p.id for p in group]):
            add(a, b, same_name, 90)
        if family != given:
            for other in by_name.get((given, family), ()):
                for p in group:
                    add(p.id, other.id, swapped, 90)
    for local, ids in by_local.items():
        if len(ids) > 1:
            reason = _("Same name in their own script: %(name)s", name=local)
            for a, b in _within(ids):
                add(a, b, reason, 90)
    # Close spellings: within a block of the same given name and the family name's first two letters, and of the
    # same family name and the given name's first two letters (Jon / John Smith).
    blocks: dict[tuple, list[_Person]] = defaultdict(list)
    for p in people:
        if p.family and p.given:
            blocks["g", p.given, p.family[:2]].append(p)
            blocks["f", p.family, p.given[:2]].append(p)
    for block in blocks.values():
        if len(block) < 2 or len(block) > MAX_BLOCK:
            continue
        names = [f"{p.family} {p.given}" for p in block]
        scores = cdist(names, names, scorer=fuzz.ratio, score_cutoff=SIMILAR)
        for i, j in zip(*scores.nonzero(), strict=True):
            if i < j and names[i] != names[j]:
                add(block[i].id, block[j].id, similar, int(scores[i, j]) - 10)
    return sorted(pairs.values(), key=lambda p: (-p.score, p.first_id, p.second_id))


def contacts_of(pairs: Iterable[Pair]) -> dict[int, Contact]:
    """The contacts of `pairs` by id, in one query (what the duplicates page shows of each)."""
    ids = {i for pair in pairs for i in (pair.first_id, pair.second_id)}
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(ids)))}


def _within(ids: Iterable[int]) -> list[tuple[int, int]]:
    ids = sorted(set(ids))[:MAX_BLOCK]
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]


# -- merge -----------------------------------------------------------------------------------------


def merge_contacts(*, keep_id: int, other_id: int, actor, take: Iterable[str] = (), today=None) -> Contact:
    """Merge contact `other_id` into `keep_id` and delete it; nothing of either is lost.

    The fields named in `take` come from the other contact, the rest stay. Every email, phone, language and tag
    of both is kept (the kept contact's main email and phone stay the main ones), every position and every
    interaction moves to the kept contact, and the other's account moves too unless both have one (refused).
    The result must still obey every contact rule (checked by update_contact). The audit log keeps the merge
    under both ids. PartnersError for a contact merged with itself, an erased or missing one, or a result that
    breaks a rule; then nothing has changed. Flushes only.
    """
    if keep_id == other_id:
        raise PartnersError(_("A contact cannot be merged with itself; choose two different contacts."))
    keep = db.session.get(Contact, keep_id)
    other = db.session.get(Contact, other_id)
    if keep is None or other is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    if keep.erased_at is not None or other.erased_at is not None:
        raise PartnersError(_("This person's data has been erased."))
    if keep.user_id is not None and other.user_id is not None:
        raise PartnersError(_("Both contacts have their own account; deactivate one of the accounts and unlink it "
                              "before merging."), "user_id")
    unknown = set(take) - set(MERGE_FIELDS)
    if unknown:
        raise PartnersError(_("%(value)s is not one of: %(choices)s.", value=", ".join(sorted(unknown)),
                              choices=", ".join(MERGE_FIELDS)))
    merged_snapshot = _snapshot(other)
    values = {name: getattr(other if name in take else keep, name) for name in MERGE_FIELDS}
    values = {name: (v.value if hasattr(v, "value") else v) for name, v in values.items()}
    emails = [{"address": e.address, "label": e.label, "primary": e.is_primary} for e in keep.emails]
    held = {e.address for e in keep.emails}
    emails += [{"address": e.address, "label": e.label} for e in other.emails if e.address not in held]
    phones = [{"number": p.number, "label": p.label, "primary": p.is_primary} for p in keep.phones]
    held = {p.number for p in keep.phones}
    phones += [{"number": p.number, "label": p.label} for p in other.phones if p.number not in held]
    user_id = keep.user_id or other.user_id
    # In a savepoint: a merged record that breaks a rule (a consent without its date) leaves both as they were.
    savepoint = db.session.begin_nested()
    if other.user_id is not None:
        other.user_id = None
        db.session.flush()
    # Positions and interactions move in SQL: the rows keep their ids, and the interaction log its history.
    same = {(p.organisation_id, p.title, p.department, p.started_on, p.ended_on) for p in keep.positions}
    for position in list(other.positions):
        if (position.organisation_id, position.title, position.department, position.started_on,
                position.ended_on) in same:
            continue  # the very same post recorded twice
        db.session.execute(update(Position).where(Position.id == position.id).values(contact_id=keep.id))
    taking_part = set(db.session.scalars(select(interaction_contact.c.interaction_id)
                                         .where(interaction_contact.c.contact_id == keep.id)))
    moved = [iid for iid in db.session.scalars(select(interaction_contact.c.interaction_id)
                                               .where(interaction_contact.c.contact_id == other.id))
             if iid not in taking_part]
    db.session.execute(delete(interaction_contact).where(interaction_contact.c.contact_id == other.id))
    if moved:
        db.session.execute(insert(interaction_contact), [{"interaction_id": i, "contact_id": keep.id} for i in moved])
    tags = list(dict.fromkeys([t.name for t in keep.tags] + [t.name for t in other.tags]))
    languages = list(dict.fromkeys(keep.language_codes + other.language_codes))
    # The SQL above bypassed the session: reload what it changed, or deleting `other` would cascade to the
    # positions it still holds in memory.
    db.session.flush()
    db.session.expire_all()
    try:
        services.update_contact(contact_id=keep.id, actor=actor, today=today, **values, languages=languages,
                                emails=emails, phones=phones, tags=tags, user_id=user_id)
    except PartnersError:
        savepoint.rollback()
        raise
    audit.record("contact.merge", actor=actor, object_type="contact", object_id=keep.id,
                 object_label=keep.display_name(),
                 after={"merged_contact_id": other.id, "merged": merged_snapshot, "taken": sorted(take),
                        "interactions_moved": len(moved)})
    audit.record("contact.merged_into", actor=actor, object_type="contact", object_id=other.id,
                 object_label=merged_snapshot["label"], after={"merged_into_id": keep.id})
    db.session.delete(other)
    db.session.flush()
    savepoint.commit()
    return keep


def _snapshot(contact: Contact) -> dict:
    return {"label": contact.display_name(), "family_name": contact.family_name, "given_name": contact.given_name,
            "family_name_local": contact.family_name_local, "given_name_local": contact.given_name_local,
            "emails": [e.address for e in contact.emails], "phones": [p.number for p in contact.phones],
            "user_id": contact.user_id}
