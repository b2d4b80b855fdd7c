""""Forget this person": a contact's personal data erased, the audit trail keeping only that it happened."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select

from kizuna import audit
from kizuna import services as accounts
from kizuna.extensions import db, utcnow
from kizuna.models import AuditEvent, User

from .models import Contact, ContactEmail, ContactLanguage, ContactPhone, NameOrder, Position, contact_tag
from .services import PartnersError

ERASED = "[erased]"
# Keys of the contact's audit events that say nothing about the person and stay as they were.
KEPT_KEYS = frozenset({"position_id", "organisation_id", "merged_contact_id", "merged_into_id", "interactions_moved",
                       "erased_at"})


def forget_contact(*, contact_id: int, actor: User) -> Contact:
    """Erase a contact's personal data; the row stays so the interaction log keeps its references.

    Blanked: names (the contact reads "Erased contact"), honorific and title, country, city, time zone,
    languages, protocol rank, emails, phones, notes, tags and the data-protection fields. Positions are
    deleted, not kept as bare links to their organisations: an organisation, a title and dates together
    often point at one person ("the ambassador from 2019 to 2023"). The person's own account, if any, is
    deactivated and unlinked. Every audit event filed under this contact, and under contacts merged into it,
    has its values replaced by "[erased]" (ids and dates of positions stay); a new event records the erasure
    and who did it. Interactions stay, with the erased contact among their participants. PartnersError when
    the contact is missing or already erased. Flushes only.
    """
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    if contact.erased_at is not None:
        raise PartnersError(_("This person's data has been erased."))
    if contact.user_id is not None:
        user = db.session.get(User, contact.user_id)
        contact.user_id = None
        if user is not None and user.active:
            accounts.update_user(user_id=user.id, role=user.role, active=False, actor=actor)
    for name in ("family_name", "given_name", "family_name_local", "given_name_local", "honorific", "title",
                 "notes", "source"):
        setattr(contact, name, "")
    for name in ("country_code", "preferred_language", "city_id", "timezone_override", "protocol_rank",
                 "legal_basis", "consent_date", "review_date"):
        setattr(contact, name, None)
    contact.name_order = NameOrder.GIVEN_FIRST
    contact.erased_at = utcnow()
    db.session.flush()
    for model in (ContactEmail, ContactPhone, ContactLanguage, Position):
        db.session.execute(delete(model).where(model.contact_id == contact.id))
    db.session.execute(delete(contact_tag).where(contact_tag.c.contact_id == contact.id))
    db.session.expire(contact, ["emails", "phones", "languages", "positions", "tags"])
    ids = {str(contact.id)}
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "contact",
                                                             AuditEvent.object_id == str(contact.id),
                                                             AuditEvent.action == "contact.merge")):
        if (merged := (event.after or {}).get("merged_contact_id")) is not None:
            ids.add(str(merged))
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "contact",
                                                             AuditEvent.object_id.in_(ids))):
        event.object_label = ERASED
        event.before = _scrub(event.before)
        event.after = _scrub(event.after)
    audit.record("contact.erase", actor=actor, object_type="contact", object_id=contact.id,
                 object_label=ERASED, after={"erased_at": contact.erased_at.isoformat()})
    db.session.flush()
    return contact


def _scrub(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {key: (value if key in KEPT_KEYS else ERASED) for key, value in values.items()}
