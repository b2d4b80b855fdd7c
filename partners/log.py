"""The interaction log beyond partners/services.py: its read queries (pages and API share them, with typed
filters, never the request), the participant lookup, and the change of a logged interaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from kizuna.extensions import db
from kizuna.models import STAFF_ROLES, User

from . import queries
from .models import (
    Contact,
    FollowUp,
    Interaction,
    InteractionKind,
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
