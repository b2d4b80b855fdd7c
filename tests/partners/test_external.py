"""External accounts: a contact invited as a liaison or a delegate, their own profile page, and what they may
never see or change."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import AuditEvent, OutboundMessage, Role, User
from partners import services
from tests.conftest import csrf_token, login
from tests.network.test_views import count, error_at, post


def invitation_to(address: str) -> OutboundMessage | None:
    return db.session.scalar(select(OutboundMessage).where(OutboundMessage.recipient == address,
                                                           OutboundMessage.category == "account.invitation"))


def subject_of(message: OutboundMessage) -> str:
    return str(make_header(decode_header(message_from_bytes(message.raw)["Subject"])))


@pytest.fixture
def embassy_org(make_organisation, make_embassy):
    embassy = make_embassy(country_code="FR", name="Embassy of France in Japan")
    return make_organisation(kind="embassy", name="Embassy of France", embassy_id=embassy.id)


@pytest.fixture
def city_department(make_organisation, make_partner):
    paris = make_partner(name="Paris", country_code="FR")
    government = make_organisation(kind="partner_government", name="City of Paris", partner_id=paris.id)
    return make_organisation(kind="government_department", name="International Relations Delegation",
                             parent_id=government.id)


def person_at(make_contact, organisation, staff, **overrides):
    contact = make_contact(**{"emails": ["claire.martin@example.fr"], **overrides})
    services.add_position(contact_id=contact.id, organisation_id=organisation.id, title="First Secretary",
                          actor=staff)
    return contact


def test_a_contact_at_an_embassy_is_invited_as_its_liaison_in_their_language(as_role, make_contact, embassy_org,
                                                                            staff):
    contact = person_at(make_contact, embassy_org, staff, family_name="Martin", given_name="Claire",
                        country_code="FR", preferred_language="ja")
    db.session.commit()
    client = as_role("editor")
    html = client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "Invite to an account" in html and "Embassy liaison" in html
    response = post(client, f"/partners/contacts/{contact.id}/invite", {}, form_path=f"/partners/contacts/{contact.id}")
    assert response.status_code == 303
    db.session.refresh(contact)
    user = contact.user
    assert (user.email, user.role, user.embassy_id, user.partner_id) == (
        "claire.martin@example.fr", Role.LIAISON, embassy_org.embassy_id, None)
    assert user.language == "ja" and not user.has_password
    message = invitation_to("claire.martin@example.fr")
    assert message is not None and subject_of(message) == "Kizunaへのご招待"
    linked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact.update",
                                                        AuditEvent.object_id == str(contact.id))
                               .order_by(AuditEvent.id.desc()))
    assert linked.after == {"user_id": user.id} and linked.actor_id == client.user.id
    html = client.get(f"/partners/contacts/{contact.id}").get_data(as_text=True)
    assert "claire.martin@example.fr" in html and "has not been accepted yet" in html


def test_a_contact_at_a_partner_citys_department_is_invited_as_its_delegate(as_role, make_contact, city_department,
                                                                           staff):
    contact = person_at(make_contact, city_department, staff, preferred_language="fr")
    db.session.commit()
    client = as_role("editor")
    post(client, f"/partners/contacts/{contact.id}/invite", {}, form_path=f"/partners/contacts/{contact.id}")
    db.session.refresh(contact)
    assert (contact.user.role, contact.user.partner_id) == (Role.DELEGATE, city_department.partner_id)
    assert contact.user.language == "en"  # Kizuna does not speak French: English, not nothing
    assert subject_of(invitation_to("claire.martin@example.fr")) == "You are invited to Kizuna"


@pytest.mark.parametrize(("case", "message"), [
    ("no_link", "current position at an organisation linked to an embassy or a partner city"),
    ("no_email", "Give Jane Doe an email address first"),
    ("taken", "already exists"),
])
def test_an_invitation_that_cannot_be_made_says_why_and_creates_nothing(as_role, make_contact, make_organisation,
                                                                       embassy_org, make_user, staff, case, message):
    if case == "no_link":
        contact = person_at(make_contact, make_organisation(name="Some Company"), staff)
    elif case == "no_email":
        contact = person_at(make_contact, embassy_org, staff, emails=[])
    else:
        make_user(Role.VIEWER, email="claire.martin@example.fr")
        contact = person_at(make_contact, embassy_org, staff)
    db.session.commit()
    client = as_role("editor")
    users = count(User)
    response = post(client, f"/partners/contacts/{contact.id}/invite", {}, form_path="/partners/contacts")
    assert response.status_code == 303
    assert message in client.get(response.location).get_data(as_text=True)
    db.session.refresh(contact)
    assert contact.user_id is None and count(User) == users
    assert count(OutboundMessage) == 0


def test_an_account_is_given_once(make_contact, embassy_org, staff):
    contact = person_at(make_contact, embassy_org, staff)
    services.invite_contact(contact_id=contact.id, actor=staff)
    with pytest.raises(services.PartnersError, match="already has an account"):
        services.invite_contact(contact_id=contact.id, actor=staff)


@pytest.fixture
def liaison(client, make_contact, embassy_org, staff):
    """A liaison signed in, whose contact record the office keeps, and another person of the same embassy."""
    own = person_at(make_contact, embassy_org, staff, family_name="Martin", given_name="Claire", country_code="FR",
                    phones=["+33 1 42 76 40 40"], notes="Office notes", protocol_rank=30, tags=["VIP"])
    other = person_at(make_contact, embassy_org, staff, family_name="Secret", given_name="Other",
                      emails=["other@example.fr"])
    user = services.invite_contact(contact_id=own.id, actor=staff)
    services.accounts.reset_password(user=user, password="correct horse battery", actor=None)
    db.session.commit()
    login(client, user)
    return {"client": client, "own": own, "other": other, "user": user}


def test_a_liaison_sees_and_edits_their_own_profile_and_organisation(liaison):
    client, own = liaison["client"], liaison["own"]
    html = client.get("/partners/me").get_data(as_text=True)
    assert "Claire" in html and "Embassy of France" in html and 'value="+33142764040"' in html
    assert "Office notes" not in html and ">My profile</a>" in html and ">Contacts</a>" not in html
    response = post(client, "/partners/me", {
        "family_name": "Martin", "given_name": "Claire", "family_name_local": "", "given_name_local": "",
        "emails-0-address": "claire.martin@example.fr", "emails-1-address": "claire@example.org",
        "phones-0-number": "+33 1 42 76 40 40", "phones-1-number": "+81 3-5321-1111",
        "languages": "fr, ja", "preferred_language": "ja",
        "notes": "changed by the liaison", "protocol_rank": "1", "tags": ""})  # not theirs: ignored
    assert response.status_code == 303
    db.session.refresh(own)
    assert [e.address for e in own.emails] == ["claire.martin@example.fr", "claire@example.org"]
    assert [p.number for p in own.phones] == ["+33142764040", "+81353211111"]
    assert own.language_codes == ["fr", "ja"] and own.preferred_language == "ja"
    assert (own.notes, own.protocol_rank, [t.name for t in own.tags]) == ("Office notes", 30, ["VIP"])
    assert own.user_id == liaison["user"].id


def test_a_liaisons_bad_phone_is_told_at_its_row_and_nothing_changes(liaison):
    client, own = liaison["client"], liaison["own"]
    response = post(client, "/partners/me", {
        "family_name": "Martin", "given_name": "Claire", "emails-0-address": "new@example.fr",
        "phones-0-number": "+33 1 42 76 40 40", "phones-1-number": "123"})
    assert response.status_code == 422
    assert "123 is not a phone number" in error_at(response.get_data(as_text=True), "phones-1-number")
    db.session.refresh(own)
    assert [e.address for e in own.emails] == ["claire.martin@example.fr"]


def test_a_liaison_never_sees_another_persons_data_nor_any_staff_page(liaison):
    client, other = liaison["client"], liaison["other"]
    token = csrf_token(client, "/partners/me")
    for path in ("/partners/contacts", f"/partners/contacts/{other.id}", f"/partners/contacts/{liaison['own'].id}",
                 "/partners/organisations", f"/partners/organisations/{other.positions[0].organisation_id}",
                 f"/partners/contacts/{other.id}/edit"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "other@example.fr" not in response.get_data(as_text=True)
    response = client.post(f"/partners/contacts/{other.id}/edit", data={
        "family_name": "Hacked", "emails-0-address": "x@example.org", "csrf_token": token})
    assert response.status_code == 403
    db.session.refresh(other)
    assert other.family_name == "Secret"


def test_an_external_user_without_a_record_is_told_so(as_role):
    html = as_role("delegate").get("/partners/me").get_data(as_text=True)
    assert "No contact record is linked to your account yet" in html


def test_staff_have_no_own_profile_page(as_role):
    assert as_role("editor").get("/partners/me").status_code == 403


def test_the_own_profile_service_refuses_what_the_office_keeps(liaison):
    with pytest.raises(services.PartnersError) as caught:
        services.update_own_profile(user=liaison["user"], notes="mine now", protocol_rank=1)
    assert caught.value.field == "notes"
    db.session.refresh(liaison["own"])
    assert (liaison["own"].notes, liaison["own"].protocol_rank) == ("Office notes", 30)


def test_a_staff_account_has_no_own_contact(make_contact, staff):
    make_contact()
    assert services.own_contact(staff) is None
    with pytest.raises(services.PartnersError):
        services.update_own_profile(user=staff, family_name="Staff")
