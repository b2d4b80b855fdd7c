"""The interaction log beyond partners/services.py: its read queries (pages and API share them, with typed
filters, never the request), the participant lookup, and the change of a logged interaction."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from kizuna import audit
from kizuna.extensions import db
from kizuna.models import STAFF_ROLES, User
from network.services import local_today

from . import queries, services
from .models import (
    Contact,
    FollowUp,
    Interaction,
    InteractionKind,
    Organisation,
    interaction_contact,
    interaction_organisation,
    interaction_staff,
)

LOOKUP_LIMIT = 10
MAX_LOOKUP = 100  # characters of a lookup query


def interactions(*, kind: InteractionKind | None = None, since: date | None = None, until: date | None = None,
                 contact_id: int | None = None, organisation_id: int | None = None,
                 staff_id: int | None = None) -> Select:
    """The log, newest first, narrowed by the filters given (a date range is inclusive at both ends),
    with what a list shows loaded."""
    query = (select(Interaction)
             .options(selectinload(Interaction.contacts), selectinload(Interaction.organisations),
                      selectinload(Interaction.staff), selectinload(Interaction.follow_ups))
             .order_by(Interaction.occurred_on.desc(), Interaction.id.desc()))
    if kind is not None:
        query = query.where(Interaction.kind == kind)
    if since is not None:
        query = query.where(Interaction.occurred_on >= since)
    if until is not None:
        query = query.where(Interaction.occurred_on <= until)
    for table, column, value in ((interaction_contact, "contact_id", contact_id),
                                 (interaction_organisation, "organisation_id", organisation_id),
                                 (interaction_staff, "user_id", staff_id)):
        if value is not None:
            query = query.where(Interaction.id.in_(
                select(table.c.interaction_id).where(table.c[column] == value)))
    return query


def interaction(interaction_id: int) -> Interaction | None:
    """One interaction with its participants and follow-ups (and their owners) loaded."""
    return db.session.scalar(
        select(Interaction).where(Interaction.id == interaction_id)
        .options(selectinload(Interaction.contacts), selectinload(Interaction.organisations),
                 selectinload(Interaction.staff), selectinload(Interaction.created_by),
                 selectinload(Interaction.follow_ups).selectinload(FollowUp.owner)))


def follow_ups(*, owner_id: int | None = None, done: bool | None = None, due_by: date | None = None) -> Select:
    """Follow-ups, soonest due first (so the overdue come first), with their interaction and owner loaded."""
    query = (select(FollowUp).options(selectinload(FollowUp.interaction), selectinload(FollowUp.owner))
             .order_by(FollowUp.due_on, FollowUp.id))
    if owner_id is not None:
        query = query.where(FollowUp.owner_id == owner_id)
    if done is not None:
        query = query.where(FollowUp.done_at.is_not(None) if done else FollowUp.done_at.is_(None))
    if due_by is not None:
        query = query.where(FollowUp.due_on <= due_by)
    return query


def lookup(q: str, *, language: str, limit: int = LOOKUP_LIMIT) -> list[dict]:
    """Contacts and organisations named by `q` as the contact and organisation lists find them (any script,
    either order, case- and accent-insensitive), as {type, id, label} for the participant picker: contacts
    first, then organisations, each by name.

    Erased contacts are never offered: they cannot take part in anything new.
    """
    q = " ".join(q.split())[:MAX_LOOKUP]
    if not q:
        return []
    contacts = db.session.scalars(queries.contacts({"q": q})[0].limit(limit)).all()
    organisations = db.session.scalars(queries.organisations({"q": q})[0].limit(limit)).all()
    found = [{"type": "contact", "id": c.id, "label": contact_label(c, language)} for c in contacts]
    found += [{"type": "organisation", "id": o.id, "label": o.display_name(language)} for o in organisations]
    return found[:limit]


def contact_label(contact: Contact, language: str) -> str:
    """The name and the current posts, so that two people of one name can be told apart."""
    posts = [p.organisation.display_name(language) for p in contact.current_positions]
    name = contact.display_name(language)
    return f"{name} ({', '.join(posts)})" if posts else name


def staff_accounts() -> list[User]:
    """The active staff accounts, by name: who may take part in an interaction or own a follow-up."""
    return list(db.session.scalars(select(User).where(User.role.in_(STAFF_ROLES), User.active.is_(True))
                                   .order_by(User.name, User.email, User.id)))


# -- changing a logged interaction --------------------------------------------------------------------

INTERACTION_FIELDS = ("kind", "occurred_on", "subject", "notes", "gift_description", "gift_value", "gift_currency")


def _interaction_snapshot(interaction: Interaction) -> dict:
    return {**services._snapshot(interaction, *INTERACTION_FIELDS),
            "contact_ids": [c.id for c in interaction.contacts], "staff_ids": [u.id for u in interaction.staff],
            "organisation_ids": [o.id for o in interaction.organisations]}


def update_interaction(*, interaction_id: int, kind, occurred_on: date, subject: str, actor, notes: str = "",
                       contact_ids=(), staff_ids=(), organisation_ids=(), gift_description: str | None = None,
                       gift_value=None, gift_currency: str | None = None,
                       today: date | None = None) -> Interaction:
    """Replace a logged interaction's fields and participants (flushed, not committed); audits what changed.

    The same rules as services.add_interaction, checked with its helpers, except that a contact erased since
    stays among the participants (the log keeps that they took part). PartnersError at the field at fault.
    Its follow-ups stay as they are.

    (Belongs in services.py beside add_interaction, with the checks of both in one _interaction_values, once
    that file's owner takes it; it lives here only because this change was made without that file.)
    """
    interaction = services._get(Interaction, interaction_id)
    today = today or local_today()
    kind = services._choice(InteractionKind, kind, "kind")
    if occurred_on is None:
        raise services.PartnersError(_("This field is required."), "occurred_on")
    services._past(occurred_on, "occurred_on", today)
    late = [f for f in interaction.follow_ups if f.due_on < occurred_on]
    if late:
        raise services.PartnersError(_("A follow-up is due on %(date)s, before this date; change it first.",
                                       date=late[0].due_on.isoformat()), "occurred_on")
    subject = services._text(subject, "subject", limit=300, required=True)
    gift = {"gift_description": (gift_description or "").strip(), "gift_value": gift_value,
            "gift_currency": (gift_currency or "").strip()}
    if not kind.is_gift:
        for field, value in gift.items():
            if value not in (None, ""):
                raise services.PartnersError(_("Gift details go only with a gift given or received."), field)
        gift = {field: None for field in gift}
    else:
        gift["gift_description"] = services._text(gift["gift_description"], "gift_description", limit=500,
                                                  required=True)
        if gift["gift_value"] not in (None, ""):
            gift["gift_value"] = services._money(gift["gift_value"], "gift_value")
            gift["gift_currency"] = services._currency(gift["gift_currency"], "gift_currency")
        else:
            gift["gift_value"] = None
            gift["gift_currency"] = (services._currency(gift["gift_currency"], "gift_currency")
                                     if gift["gift_currency"] else None)
    held = {c.id for c in interaction.contacts}
    contacts = []
    for contact_id in dict.fromkeys(contact_ids or ()):
        contact = db.session.get(Contact, contact_id)
        if contact is None or (contact.erased_at is not None and contact.id not in held):
            raise services.PartnersError(_("No contact has the id %(id)s.", id=contact_id), "contact_ids")
        contacts.append(contact)
    organisations = []
    for organisation_id in dict.fromkeys(organisation_ids or ()):
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None:
            raise services.PartnersError(_("No organisation has the id %(id)s.", id=organisation_id),
                                         "organisation_ids")
        organisations.append(organisation)
    if not contacts and not organisations:
        raise services.PartnersError(_("Name at least one contact or organisation who took part."), "contact_ids")
    staff = services._staff(staff_ids, "staff_ids")
    notes = services._text(notes, "notes", limit=20000)
    before = _interaction_snapshot(interaction)
    values = {"kind": kind, "occurred_on": occurred_on, "subject": subject, "notes": notes, **gift}
    for field, value in values.items():
        setattr(interaction, field, value)
    interaction.contacts = sorted(contacts, key=lambda c: c.id)  # in the relationships' order
    interaction.staff = sorted(staff, key=lambda u: u.id)
    interaction.organisations = sorted(organisations, key=lambda o: o.name)
    db.session.flush()
    old, new = audit.changes(before, _interaction_snapshot(interaction))
    if new:
        audit.record("interaction.update", actor=actor, object_type="interaction", object_id=interaction.id,
                     object_label=interaction.subject, before=old, after=new)
    return interaction
