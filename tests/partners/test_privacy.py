"""'Forget this person': personal data erased everywhere, the erasure itself kept in the audit log."""

from datetime import date

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import AuditEvent, Role, User
from partners import privacy, services
from partners.models import Contact, ContactEmail, Interaction, Position
from tests.conftest import csrf_token


@pytest.fixture
def person(make_contact, make_organisation, staff, make_user):
    organisation = make_organisation(name="Embassy of Somewhere")
    contact = make_contact(family_name="Secret", given_name="Agent", family_name_local="秘密",
                           given_name_local="捜査官",
                           emails=["agent@example.org"], phones=["+44 20 7946 0000"], languages=["en"],
                           notes="Private note", tags=["VIP"], legal_basis="consent", consent_date=date(2024, 1, 1),
                           user_id=make_user(Role.LIAISON).id)
    services.update_contact(contact_id=contact.id, actor=staff, family_name="Secret", given_name="Agent",
                            family_name_local="秘密", given_name_local="捜査官", emails=["agent@example.org"],
                            notes="Changed note", legal_basis="consent", consent_date=date(2024, 1, 1),
                            user_id=contact.user_id)
    services.add_position(contact_id=contact.id, organisation_id=organisation.id, actor=staff, title="Attaché")
    services.add_interaction(kind="call", occurred_on=date(2025, 1, 10), subject="Call", actor=staff,
                             contact_ids=[contact.id])
    return contact


def test_forget_erases_personal_data_scrubs_the_log_and_records_the_erasure(person, make_user):
    admin = make_user(Role.ADMIN)
    user_id = person.user_id
    privacy.forget_contact(contact_id=person.id, actor=admin)
    contact = db.session.get(Contact, person.id)
    assert contact.erased_at is not None
    assert contact.display_name() == "Erased contact"
    assert (contact.family_name, contact.given_name, contact.family_name_local, contact.notes) == ("", "", "", "")
    assert contact.emails == [] and contact.phones == [] and contact.languages == [] and contact.tags == []
    assert contact.legal_basis is None and contact.consent_date is None
    assert db.session.scalars(select(Position).where(Position.contact_id == contact.id)).all() == []
    assert db.session.scalar(select(ContactEmail).where(ContactEmail.address == "agent@example.org")) is None
    assert contact.user_id is None and db.session.get(User, user_id).active is False
    assert [c.id for c in db.session.scalar(select(Interaction)).contacts] == [contact.id]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "contact",
                                                         AuditEvent.object_id == str(contact.id))).all()
    dump = repr([(e.object_label, e.before, e.after) for e in events])
    for secret in ("Secret", "Agent", "秘密", "agent@example.org", "+442079460000", "Private note", "Attaché", "VIP"):
        assert secret not in dump
    erase = next(e for e in events if e.action == "contact.erase")
    assert erase.actor_id == admin.id


def test_forgetting_twice_is_refused(person, make_user):
    admin = make_user(Role.ADMIN)
    privacy.forget_contact(contact_id=person.id, actor=admin)
    with pytest.raises(services.PartnersError):
        privacy.forget_contact(contact_id=person.id, actor=admin)


def test_erase_page_names_the_person_and_needs_confirmation(as_role, person):
    client = as_role(Role.ADMIN)
    url = f"/partners/contacts/{person.id}/erase"
    page = client.get(url).get_data(as_text=True)
    assert f"Forget {person.display_name()}" in page and "SECRET Agent" in page
    token = csrf_token(client, url)
    unconfirmed = client.post(url, data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert db.session.get(Contact, person.id).erased_at is None
    done = client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert done.status_code == 303
    assert db.session.get(Contact, person.id).erased_at is not None


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER, Role.LIAISON])
def test_only_admins_may_erase(as_role, person, role):
    client = as_role(role)
    url = f"/partners/contacts/{person.id}/erase"
    response = client.post(url, data={"csrf_token": csrf_token(client, "/account"), "confirm": "y"})
    assert response.status_code == 403
    assert db.session.get(Contact, person.id).family_name == "Secret"


def test_forgetting_a_merged_contact_scrubs_the_events_of_the_record_merged_into_it(make_contact, staff, make_user):
    from partners import duplicates

    keep = make_contact(family_name="Keeper", given_name="Kay", emails=["kay@example.org"])
    other = make_contact(family_name="Keeper", given_name="Kai", emails=["kai.private@example.org"])
    other_id = other.id
    duplicates.merge_contacts(keep_id=keep.id, other_id=other.id, actor=staff)
    privacy.forget_contact(contact_id=keep.id, actor=make_user(Role.ADMIN))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "contact",
                                                         AuditEvent.object_id.in_([str(keep.id), str(other_id)])))
    dump = repr([(e.object_label, e.before, e.after) for e in events])
    assert "kai.private@example.org" not in dump and "Kai" not in dump and "Keeper" not in dump
