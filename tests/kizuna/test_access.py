"""Who may use each route: every endpoint's answer to anonymous visitors and to each role, and API tokens.

ACCESS is the specification, written out by hand: a route added without an entry here fails
test_every_route_has_an_expectation, so a new page cannot go live without someone deciding who sees it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from kizuna import services
from kizuna.extensions import db
from kizuna.models import ApiToken, AuditEvent, Role
from tests.conftest import csrf_token, login

ANON = "anonymous"
PRINCIPALS = (ANON, "admin", "editor", "viewer", "delegate", "liaison")
ANYONE = frozenset(PRINCIPALS)
SIGNED_IN = ANYONE - {ANON}
STAFF = frozenset({"admin", "editor", "viewer"})
EDITORS = frozenset({"admin", "editor"})
ADMINS = frozenset({"admin"})
MISSING = 999_999  # an id nothing has


@dataclass(frozen=True)
class Rule:
    path: str  # a URL that reaches the endpoint (made-up ids where it takes one)
    who: frozenset[str]  # the principals allowed in
    ok: frozenset[int]  # what an allowed principal gets
    ok_anonymous: frozenset[int] | None = None  # when an allowed anonymous visitor gets something else


def rule(path: str, who: frozenset[str], *ok: int, anonymous: tuple[int, ...] | None = None) -> Rule:
    return Rule(path, who, frozenset(ok), frozenset(anonymous) if anonymous else None)


ACCESS: dict[str, Rule] = {
    # core pages
    "kizuna.home": rule("/", SIGNED_IN, 200),
    "kizuna.login": rule("/login", ANYONE, 302, anonymous=(200,)),  # signed in: on to the home page
    "kizuna.logout": rule("/logout", SIGNED_IN, 302),
    "kizuna.forgot_password": rule("/password/forgot", ANYONE, 200),
    "kizuna.accept_invitation": rule("/invitation/not-a-token", ANYONE, 410),
    "kizuna.reset_password": rule("/password/reset/not-a-token", ANYONE, 410),
    "kizuna.account": rule("/account", SIGNED_IN, 200),
    "kizuna.set_language": rule("/language", ANYONE, 302),
    "kizuna.healthz": rule("/healthz", ANYONE, 200),
    "kizuna.create_api_token": rule("/account/tokens", SIGNED_IN, 303),  # no name given: back with a message
    "kizuna.revoke_api_token": rule(f"/account/tokens/{MISSING}/revoke", SIGNED_IN, 303),
    # administration
    "admin.users": rule("/admin/users", ADMINS, 200),
    "admin.user": rule(f"/admin/users/{MISSING}", ADMINS, 404),
    "admin.reinvite": rule(f"/admin/users/{MISSING}/reinvite", ADMINS, 303),
    "admin.audit": rule("/admin/audit", ADMINS, 200),
    "admin.outbox_list": rule("/admin/outbox", STAFF, 200),
    "admin.outbox_message": rule(f"/admin/outbox/{MISSING}", STAFF, 404),
    "admin.outbox_html": rule(f"/admin/outbox/{MISSING}/html", STAFF, 404),
    "admin.outbox_attachment": rule(f"/admin/outbox/{MISSING}/attachments/0", STAFF, 404),
    "admin.outbox_retry": rule(f"/admin/outbox/{MISSING}/retry", EDITORS, 303),
    "admin.mailbox_list": rule("/admin/mailbox", STAFF, 200),
    "admin.mailbox_message": rule("/admin/mailbox/no-such-key", STAFF, 404),
    "admin.mailbox_html": rule("/admin/mailbox/no-such-key/html", STAFF, 404),
    "admin.mailbox_attachment": rule("/admin/mailbox/no-such-key/attachments/0", STAFF, 404),
    # network registry
    "network.cities": rule("/network/cities", STAFF, 200),
    "network_calendar.anniversaries": rule("/network/anniversaries.ics", STAFF, 200),
    "network.home": rule("/network/", STAFF, 200),
    "network.search": rule("/network/search?q=tok", STAFF, 200),
    "network.partners": rule("/network/partners", STAFF, 200),
    "network.partner": rule(f"/network/partners/{MISSING}", STAFF, 404),
    "network.partner_new": rule("/network/partners/new", EDITORS, 200),
    "network.partner_edit": rule(f"/network/partners/{MISSING}/edit", EDITORS, 404),
    "network.relationship_new": rule(f"/network/partners/{MISSING}/relationships/new", EDITORS, 404),
    "network.relationship_status": rule(f"/network/relationships/{MISSING}/status", EDITORS, 404),
    "network.relationship_edit": rule(f"/network/relationships/{MISSING}/edit", EDITORS, 404),
    "network.agreements": rule("/network/agreements", STAFF, 200),
    "network.agreement": rule(f"/network/agreements/{MISSING}", STAFF, 404),
    "network.agreement_new": rule("/network/agreements/new", EDITORS, 200),
    "network.agreement_edit": rule(f"/network/agreements/{MISSING}/edit", EDITORS, 404),
    "network.agreement_terminate": rule(f"/network/agreements/{MISSING}/terminate", EDITORS, 404),
    "network.agreement_document_add": rule(f"/network/agreements/{MISSING}/documents", EDITORS, 404),
    "network.agreement_document": rule(f"/network/agreements/{MISSING}/documents/{MISSING}", STAFF, 404),
    "network.agreement_document_remove": rule(f"/network/agreements/{MISSING}/documents/{MISSING}/remove",
                                              EDITORS, 404),
    "network.area_new": rule("/network/areas/new", EDITORS, 200),
    "network.timeline": rule("/network/timeline", STAFF, 200),
    "network.anniversaries": rule("/network/anniversaries", STAFF, 200),
    "network.import_upload": rule("/network/import", EDITORS, 200),
    "network.import_preview": rule(f"/network/import/partners/{'0' * 64}", EDITORS, 404),
    "network.partners_export": rule("/network/partners/export.csv", STAFF, 200),
    "network.agreements_export": rule("/network/agreements/export.xlsx", STAFF, 200),
    "network.embassies_export": rule("/network/embassies/export.csv", STAFF, 200),
    "network.networks_export": rule("/network/networks/export.xlsx", STAFF, 200),
    "network.network_members_export": rule(f"/network/networks/{MISSING}/members/export.csv", STAFF, 404),
    "network.embassies": rule("/network/embassies", STAFF, 200),
    "network.embassy": rule(f"/network/embassies/{MISSING}", STAFF, 404),
    "network.embassy_new": rule("/network/embassies/new", EDITORS, 200),
    "network.embassy_status": rule(f"/network/embassies/{MISSING}/status", EDITORS, 404),
    "network.embassy_edit": rule(f"/network/embassies/{MISSING}/edit", EDITORS, 404),
    "network.networks": rule("/network/networks", STAFF, 200),
    "network.network": rule(f"/network/networks/{MISSING}", STAFF, 404),
    "network.network_new": rule("/network/networks/new", EDITORS, 200),
    "network.network_role": rule(f"/network/networks/{MISSING}/role", EDITORS, 404),
    "network.network_member": rule(f"/network/networks/{MISSING}/members/new", EDITORS, 404),
    "network.network_event": rule(f"/network/networks/{MISSING}/events/new", EDITORS, 404),
    "network.network_edit": rule(f"/network/networks/{MISSING}/edit", EDITORS, 404),
    "network.network_member_edit": rule(f"/network/networks/{MISSING}/members/{MISSING}/edit", EDITORS, 404),
    "network.network_event_edit": rule(f"/network/networks/{MISSING}/events/{MISSING}/edit", EDITORS, 404),
    # partners: files, duplicates and erasure (viewers may not export)
    "partners.export": rule("/partners/export", EDITORS, 200),
    "partners.contacts_export": rule("/partners/contacts/export.csv", EDITORS, 200),
    "partners.organisations_export": rule("/partners/organisations/export.xlsx", EDITORS, 200),
    "partners.contact_vcard": rule(f"/partners/contacts/{MISSING}/vcard", EDITORS, 404),
    "partners.import_upload": rule("/partners/import", EDITORS, 200),
    "partners.import_preview": rule(f"/partners/import/{'0' * 64}", EDITORS, 404),
    "partners.duplicates": rule("/partners/duplicates", EDITORS, 200),
    "partners.merge": rule(f"/partners/duplicates/merge?first={MISSING}&second=1", EDITORS, 404),
    "partners.erase": rule(f"/partners/contacts/{MISSING}/erase", ADMINS, 404),
    # partners: organisations, contacts, the list's tools, and the external users' own profile
    "partners.organisations": rule("/partners/organisations", STAFF, 200),
    "partners.organisation": rule(f"/partners/organisations/{MISSING}", STAFF, 404),
    "partners.organisation_new": rule("/partners/organisations/new", EDITORS, 200),
    "partners.organisation_edit": rule(f"/partners/organisations/{MISSING}/edit", EDITORS, 404),
    "partners.contacts": rule("/partners/contacts", STAFF, 200),
    "partners.contact": rule(f"/partners/contacts/{MISSING}", STAFF, 404),
    "partners.contact_new": rule("/partners/contacts/new", EDITORS, 200),
    "partners.contact_edit": rule(f"/partners/contacts/{MISSING}/edit", EDITORS, 404),
    "partners.position_new": rule(f"/partners/contacts/{MISSING}/positions/new", EDITORS, 404),
    "partners.position_end": rule(f"/partners/positions/{MISSING}/end", EDITORS, 404),
    "partners.contact_invite": rule(f"/partners/contacts/{MISSING}/invite", EDITORS, 404),
    "partners.contact_email_works": rule(f"/partners/contacts/{MISSING}/emails/{MISSING}/works", EDITORS, 404),
    "partners.contacts_tag": rule("/partners/contacts/tag", EDITORS, 303),  # no tag given: back with a message
    "partners.contacts_subscribe": rule("/partners/contacts/subscribe", EDITORS, 303),  # none chosen: back, told
    "partners.contacts_invite": rule("/partners/contacts/invite", EDITORS, 303),  # none chosen: back, told
    "partners.search_save": rule("/partners/contacts/searches", STAFF, 303),  # no name: back with a message
    "partners.search_delete": rule(f"/partners/contacts/searches/{MISSING}/delete", STAFF, 404),
    "partners.me": rule("/partners/me", frozenset({"delegate", "liaison"}), 200),
    # partners: the interaction log and follow-ups (staff read; editors log, add and complete)
    "partners.log": rule("/partners/log", STAFF, 200),
    "partners.interaction": rule(f"/partners/log/{MISSING}", STAFF, 404),
    "partners.interaction_new": rule("/partners/log/new", EDITORS, 200),
    "partners.interaction_edit": rule(f"/partners/log/{MISSING}/edit", EDITORS, 404),
    "partners.participants": rule("/partners/log/participants?q=a", STAFF, 200),
    "partners.follow_up_new": rule(f"/partners/log/{MISSING}/follow-ups/new", EDITORS, 404),
    "partners.follow_up_done": rule(f"/partners/follow-ups/{MISSING}/done", EDITORS, 404),
    "partners.my_follow_ups": rule("/partners/follow-ups", STAFF, 200),
    # meetings: the staff's pages (staff read; editors plan, invite, decide and export)
    "meetings.board": rule("/meetings/", STAFF, 200),
    "meetings.series_list": rule("/meetings/series", STAFF, 200),
    "meetings.series_new": rule("/meetings/series/new", EDITORS, 200),
    "meetings.new": rule("/meetings/new", EDITORS, 200),
    "meetings.detail": rule(f"/meetings/{MISSING}", STAFF, 404),
    "meetings.edit": rule(f"/meetings/{MISSING}/edit", EDITORS, 404),
    "meetings.schedule": rule(f"/meetings/{MISSING}/schedule", EDITORS, 404),
    "meetings.cancel": rule(f"/meetings/{MISSING}/cancel", EDITORS, 404),
    "meetings.postpone": rule(f"/meetings/{MISSING}/postpone", EDITORS, 404),
    "meetings.invite": rule(f"/meetings/{MISSING}/invitations", EDITORS, 404),
    "meetings.remind": rule(f"/meetings/{MISSING}/remind", EDITORS, 404),
    "meetings.withdraw": rule(f"/meetings/invitations/{MISSING}/withdraw", EDITORS, 404),
    "meetings.record_answer": rule(f"/meetings/invitations/{MISSING}/answer", EDITORS, 404),
    "meetings.registrations": rule(f"/meetings/{MISSING}/registrations", STAFF, 404),
    "meetings.registrations_export": rule(f"/meetings/{MISSING}/registrations.csv", EDITORS, 404),
    "meetings.badges": rule(f"/meetings/{MISSING}/badges.pdf", STAFF, 404),
    "meetings.precedence": rule(f"/meetings/{MISSING}/precedence.pdf", STAFF, 404),
    "meetings.decide": rule(f"/meetings/registrations/{MISSING}/decide", EDITORS, 404),
    "meetings.accreditation": rule(f"/meetings/registrations/{MISSING}/accreditation", STAFF, 404),
    "meetings.agenda_item_new": rule(f"/meetings/{MISSING}/agenda/new", EDITORS, 404),
    "meetings.agenda_item_edit": rule(f"/meetings/agenda/{MISSING}/edit", EDITORS, 404),
    "meetings.agenda_item_move": rule(f"/meetings/agenda/{MISSING}/move", EDITORS, 404),
    "meetings.agenda_item_remove": rule(f"/meetings/agenda/{MISSING}/remove", EDITORS, 404),
    "meetings.document_add": rule(f"/meetings/{MISSING}/documents", EDITORS, 404),
    "meetings.document": rule(f"/meetings/{MISSING}/documents/{MISSING}", STAFF, 404),
    "meetings.document_remove": rule(f"/meetings/{MISSING}/documents/{MISSING}/remove", EDITORS, 404),
    # meetings: the invitee's page behind their signed link, calendar files and feeds, .ics import
    "meetings.answer": rule("/meetings/answer/not-a-token", ANYONE, 404),
    "meetings.register": rule("/meetings/answer/not-a-token/register", ANYONE, 404),
    "meetings.registration_cancel": rule(f"/meetings/answer/not-a-token/registrations/{MISSING}/cancel",
                                         ANYONE, 404),
    "meetings.offer_accept": rule(f"/meetings/answer/not-a-token/registrations/{MISSING}/accept", ANYONE, 404),
    "meetings.answer_ics": rule("/meetings/answer/not-a-token/invite.ics", ANYONE, 404),
    "meetings.registration_page": rule("/meetings/registration/not-a-token", ANYONE, 404),
    "meetings.registration_self_cancel": rule("/meetings/registration/not-a-token/cancel", ANYONE, 404),
    "meetings.registration_self_accept": rule("/meetings/registration/not-a-token/accept", ANYONE, 404),
    "meetings.answer_document": rule(f"/meetings/answer/not-a-token/documents/{MISSING}", ANYONE, 404),
    "meetings.meeting_ics": rule(f"/meetings/{MISSING}/invite.ics", STAFF, 404),
    "meetings.propose_times": rule("/meetings/schedule", STAFF, 200),
    "meetings.series_ics": rule(f"/meetings/series/{MISSING}.ics", STAFF, 404),
    "meetings.import_upload": rule("/meetings/import", EDITORS, 200),
    "meetings.import_preview": rule(f"/meetings/import/{'0' * 64}", EDITORS, 404),
    "meetings.mine": rule("/meetings/mine", frozenset({"delegate", "liaison"}), 200),
    "meetings.mine_meeting": rule(f"/meetings/mine/{MISSING}", frozenset({"delegate", "liaison"}), 404),
    "meetings_calendar.feeds": rule("/calendar/feeds", SIGNED_IN, 200),
    "meetings_calendar.feed_revoke": rule(f"/calendar/feeds/{MISSING}/revoke", SIGNED_IN, 303),
    "meetings_calendar.feed": rule("/calendar/not-a-token.ics", ANYONE, 404),
    # newsletters: public pages behind signed links (RFC 8058 one-click unsubscribe, double opt-in)
    "newsletters.unsubscribe": rule("/unsubscribe/not-a-token", ANYONE, 404),
    "newsletters.confirm": rule("/subscribe/confirm/not-a-token", ANYONE, 404),
    "newsletters.subscribe": rule(f"/newsletters/{MISSING}/subscribe", ANYONE, 404),
    "newsletters.subscribe_sent": rule(f"/newsletters/{MISSING}/subscribe/sent", ANYONE, 404),
    # mailing lists: staff read; editors change; liaisons and delegates choose their own lists
    "lists.index": rule("/newsletters/", STAFF, 200),
    "lists.new": rule("/newsletters/new", EDITORS, 200),
    "lists.detail": rule(f"/newsletters/{MISSING}", STAFF, 404),
    "lists.edit": rule(f"/newsletters/{MISSING}/edit", EDITORS, 404),
    "lists.export": rule(f"/newsletters/{MISSING}/subscribers.csv", EDITORS, 404),
    "lists.unsubscribe": rule(f"/newsletters/{MISSING}/subscribers/{MISSING}/unsubscribe", EDITORS, 404),
    "lists.add": rule(f"/newsletters/{MISSING}/add", EDITORS, 404),
    "lists.mine": rule(f"/newsletters/mine/{MISSING}", frozenset({"delegate", "liaison"}), 303),  # no action: told
    "lists.archive": rule(f"/newsletters/{MISSING}/archive", ANYONE, 404),  # public, or for subscribers
    "lists.archive_issue": rule(f"/newsletters/{MISSING}/archive/{MISSING}", ANYONE, 404),
    # newsletter issues: staff read and follow the sending; editors write, approve, send; images are public
    "issues.index": rule("/newsletters/issues/", STAFF, 200),
    "issues.new": rule("/newsletters/issues/new", EDITORS, 200),
    "issues.issue": rule(f"/newsletters/issues/{MISSING}", STAFF, 404),
    "issues.variant_save": rule(f"/newsletters/issues/{MISSING}/variants/en", EDITORS, 404),
    "issues.variant_add": rule(f"/newsletters/issues/{MISSING}/variants", EDITORS, 404),
    "issues.variant_remove": rule(f"/newsletters/issues/{MISSING}/variants/en/remove", EDITORS, 404),
    "issues.preview": rule("/newsletters/issues/preview", EDITORS, 200),
    "issues.attachment_add": rule(f"/newsletters/issues/{MISSING}/attachments", EDITORS, 404),
    "issues.attachment_remove": rule(f"/newsletters/issues/{MISSING}/attachments/{MISSING}/remove", EDITORS, 404),
    "issues.hosted_file": rule(f"/newsletters/files/{'0' * 64}/map.png", ANYONE, 404),
    "issues.test_send": rule(f"/newsletters/issues/{MISSING}/test", EDITORS, 404),
    "issues.act": rule(f"/newsletters/issues/{MISSING}/approve", EDITORS, 404),
    "issues.send_back": rule(f"/newsletters/issues/{MISSING}/return", EDITORS, 404),
    "issues.schedule": rule(f"/newsletters/issues/{MISSING}/schedule", EDITORS, 404),
    "issues.progress": rule(f"/newsletters/issues/{MISSING}/progress", STAFF, 404),
    "issues.report": rule(f"/newsletters/issues/{MISSING}/report", STAFF, 404),
    "issues.failures_csv": rule(f"/newsletters/issues/{MISSING}/failures.csv", EDITORS, 404),
    # prepared alerts: staff read the queue and the templates; editors edit templates, prepare, approve and send
    "alerts.queue": rule("/alerts/", STAFF, 200),
    "alerts.alert": rule(f"/alerts/{MISSING}", STAFF, 404),
    "alerts.approve_and_send": rule(f"/alerts/{MISSING}/send", EDITORS, 404),
    "alerts.prepare": rule(f"/alerts/templates/{MISSING}/prepare", EDITORS, 404),
    "alerts.templates": rule("/alerts/templates", STAFF, 200),
    "alerts.template": rule(f"/alerts/templates/{MISSING}", STAFF, 404),
    "alerts.template_edit": rule(f"/alerts/templates/{MISSING}/edit", EDITORS, 404),
    "alerts.variant_new": rule(f"/alerts/templates/{MISSING}/languages/new", EDITORS, 404),
    "alerts.variant_edit": rule(f"/alerts/templates/{MISSING}/languages/en/edit", EDITORS, 404),
    "alerts.variant_remove": rule(f"/alerts/templates/{MISSING}/languages/en/remove", EDITORS, 404),
    "alerts.field_new": rule(f"/alerts/templates/{MISSING}/fields/new", EDITORS, 404),
    "alerts.field_edit": rule(f"/alerts/templates/{MISSING}/fields/magnitude/edit", EDITORS, 404),
    # JSON API
    "api.openapi": rule("/api/v1/openapi.json", ANYONE, 200),
    "api.me": rule("/api/v1/me", SIGNED_IN, 200),
    "api.cities": rule("/api/v1/cities?q=tok", SIGNED_IN, 200),
    "api.partners": rule("/api/v1/partners", STAFF, 200),
    "api.partner": rule(f"/api/v1/partners/{MISSING}", STAFF, 404),
    "api.relationships": rule("/api/v1/relationships", STAFF, 200),
    "api.relationship": rule(f"/api/v1/relationships/{MISSING}", STAFF, 404),
    "api.agreements": rule("/api/v1/agreements", STAFF, 200),
    "api.agreement": rule(f"/api/v1/agreements/{MISSING}", STAFF, 404),
    "api.embassies": rule("/api/v1/embassies", STAFF, 200),
    "api.embassy": rule(f"/api/v1/embassies/{MISSING}", STAFF, 404),
    "api.networks": rule("/api/v1/networks", STAFF, 200),
    "api.network": rule(f"/api/v1/networks/{MISSING}", STAFF, 404),
    # API writes: editors with a token only; a browser session (what this table signs in with) gets 403
    "api.create_partner": rule("/api/v1/partners", EDITORS, 403),
    "api.create_relationship": rule("/api/v1/relationships", EDITORS, 403),
    "api.change_relationship_status": rule(f"/api/v1/relationships/{MISSING}/status", EDITORS, 403),
    "api.create_agreement": rule("/api/v1/agreements", EDITORS, 403),
    "api.create_embassy": rule("/api/v1/embassies", EDITORS, 403),
    "api.change_embassy_status": rule(f"/api/v1/embassies/{MISSING}/status", EDITORS, 403),
    "api.create_network": rule("/api/v1/networks", EDITORS, 403),
    "api.add_network_member": rule(f"/api/v1/networks/{MISSING}/members", EDITORS, 403),
    "api.add_network_event": rule(f"/api/v1/networks/{MISSING}/events", EDITORS, 403),
    "api.update_relationship": rule(f"/api/v1/relationships/{MISSING}", EDITORS, 403),
    "api.update_embassy": rule(f"/api/v1/embassies/{MISSING}", EDITORS, 403),
    "api.update_network": rule(f"/api/v1/networks/{MISSING}", EDITORS, 403),
    "api.update_network_member": rule(f"/api/v1/networks/{MISSING}/members/{MISSING}", EDITORS, 403),
    "api.update_network_event": rule(f"/api/v1/networks/{MISSING}/events/{MISSING}", EDITORS, 403),
    # partners API: staff read; editors with a token write (a session gets 403, as above)
    "api.organisations": rule("/api/v1/organisations", STAFF, 200),
    "api.organisation": rule(f"/api/v1/organisations/{MISSING}", STAFF, 404),
    "api.contacts": rule("/api/v1/contacts", STAFF, 200),
    "api.contact": rule(f"/api/v1/contacts/{MISSING}", STAFF, 404),
    "api.interactions": rule("/api/v1/interactions", STAFF, 200),
    "api.interaction": rule(f"/api/v1/interactions/{MISSING}", STAFF, 404),
    "api.follow_ups": rule("/api/v1/follow-ups", STAFF, 200),
    "api.follow_up": rule(f"/api/v1/follow-ups/{MISSING}", STAFF, 404),
    "api.create_organisation": rule("/api/v1/organisations", EDITORS, 403),
    "api.update_organisation": rule(f"/api/v1/organisations/{MISSING}", EDITORS, 403),
    "api.create_contact": rule("/api/v1/contacts", EDITORS, 403),
    "api.update_contact": rule(f"/api/v1/contacts/{MISSING}", EDITORS, 403),
    "api.add_position": rule(f"/api/v1/contacts/{MISSING}/positions", EDITORS, 403),
    "api.create_interaction": rule("/api/v1/interactions", EDITORS, 403),
    "api.update_interaction": rule(f"/api/v1/interactions/{MISSING}", EDITORS, 403),
    "api.add_follow_up": rule(f"/api/v1/interactions/{MISSING}/follow-ups", EDITORS, 403),
    "api.complete_follow_up": rule(f"/api/v1/follow-ups/{MISSING}/done", EDITORS, 403),
    # meetings API: staff read; editors with a token write (a session gets 403)
    "api.meeting_series_list": rule("/api/v1/meeting-series", STAFF, 200),
    "api.meeting_series": rule(f"/api/v1/meeting-series/{MISSING}", STAFF, 404),
    "api.meetings": rule("/api/v1/meetings", STAFF, 200),
    "api.meeting": rule(f"/api/v1/meetings/{MISSING}", STAFF, 404),
    "api.meeting_invitations": rule(f"/api/v1/meetings/{MISSING}/invitations", STAFF, 404),
    "api.invitation": rule(f"/api/v1/invitations/{MISSING}", STAFF, 404),
    "api.meeting_registrations": rule(f"/api/v1/meetings/{MISSING}/registrations", STAFF, 404),
    "api.meeting_agenda": rule(f"/api/v1/meetings/{MISSING}/agenda", STAFF, 404),
    "api.agenda_item": rule(f"/api/v1/agenda-items/{MISSING}", STAFF, 404),
    "api.meeting_documents": rule(f"/api/v1/meetings/{MISSING}/documents", STAFF, 404),
    "api.create_meeting_series": rule("/api/v1/meeting-series", EDITORS, 403),
    "api.create_meeting": rule("/api/v1/meetings", EDITORS, 403),
    "api.update_meeting": rule(f"/api/v1/meetings/{MISSING}", EDITORS, 403),
    "api.schedule_meeting": rule(f"/api/v1/meetings/{MISSING}/schedule", EDITORS, 403),
    "api.cancel_meeting": rule(f"/api/v1/meetings/{MISSING}/cancel", EDITORS, 403),
    "api.postpone_meeting": rule(f"/api/v1/meetings/{MISSING}/postpone", EDITORS, 403),
    "api.invite": rule(f"/api/v1/meetings/{MISSING}/invitations", EDITORS, 403),
    "api.withdraw_invitation": rule(f"/api/v1/invitations/{MISSING}/withdraw", EDITORS, 403),
    "api.decide_registration": rule(f"/api/v1/registrations/{MISSING}/decide", EDITORS, 403),
    "api.add_agenda_item": rule(f"/api/v1/meetings/{MISSING}/agenda", EDITORS, 403),
    "api.update_agenda_item": rule(f"/api/v1/agenda-items/{MISSING}", EDITORS, 403),
    "api.move_agenda_item": rule(f"/api/v1/agenda-items/{MISSING}/move", EDITORS, 403),
    "api.remove_agenda_item": rule(f"/api/v1/agenda-items/{MISSING}/remove", EDITORS, 403),
    "api.remind_invitations": rule(f"/api/v1/meetings/{MISSING}/remind", EDITORS, 403),
    "api.record_invitation_answer": rule(f"/api/v1/invitations/{MISSING}/answer", EDITORS, 403),
    # meetings API of delegates and liaisons (their own, as on /meetings/mine) and everyone's calendar feeds
    "api.my_meetings_list": rule("/api/v1/my/meetings", frozenset({"delegate", "liaison"}), 200),
    "api.my_meeting": rule(f"/api/v1/my/meetings/{MISSING}", frozenset({"delegate", "liaison"}), 404),
    "api.my_answer": rule(f"/api/v1/my/invitations/{MISSING}/answer", frozenset({"delegate", "liaison"}), 403),
    "api.my_register": rule(f"/api/v1/my/invitations/{MISSING}/registrations", frozenset({"delegate", "liaison"}),
                            403),
    "api.my_registration_cancel": rule(f"/api/v1/my/registrations/{MISSING}/cancel",
                                       frozenset({"delegate", "liaison"}), 403),
    "api.my_offer_accept": rule(f"/api/v1/my/registrations/{MISSING}/accept", frozenset({"delegate", "liaison"}),
                                403),
    "api.calendar_feeds": rule("/api/v1/calendar/feeds", SIGNED_IN, 200),
    "api.create_calendar_feed": rule("/api/v1/calendar/feeds", SIGNED_IN, 403),
    "api.revoke_calendar_feed": rule(f"/api/v1/calendar/feeds/{MISSING}/revoke", SIGNED_IN, 403),
}
# Flask's own route, answered before any access check: only files from static/.
UNCHECKED = {"static"}
# Last, because it ends the session the other requests ride on.
ORDER = sorted(ACCESS, key=lambda endpoint: endpoint == "kizuna.logout")


def method_for(app, endpoint: str) -> str:
    methods = set().union(*(r.methods for r in app.url_map.iter_rules(endpoint=endpoint)))
    return "GET" if "GET" in methods else "POST"


def sign_in_as(client, make_user, principal: str):
    if principal == ANON:
        return None
    user = make_user(Role(principal))  # external accounts get a partner or an embassy to be bound to
    login(client, user)
    return user


def judge(endpoint: str, principal: str, response, path: str) -> str | None:
    """What is wrong with `response` to `principal` on `endpoint`, or None."""
    spec = ACCESS[endpoint]
    status = response.status_code
    api = path.startswith("/api/")
    if principal in spec.who:
        ok = spec.ok_anonymous if principal == ANON and spec.ok_anonymous else spec.ok
        if status not in ok:
            return f"allowed, so expected {sorted(ok)}, got {status}"
        if status in (301, 302, 303) and urlsplit(response.location).path == "/login" \
                and endpoint != "kizuna.logout":
            return f"allowed, yet sent to sign in ({response.location})"
        return None
    if principal == ANON and api:
        body = response.get_json(silent=True) or {}
        if status != 401 or body.get("error", {}).get("code") != "unauthorized":
            return f"anonymous on the API: expected 401 unauthorized JSON, got {status} {body or response.data[:80]}"
        return None
    if principal == ANON:
        target = urlsplit(response.location or "")
        wanted = urlsplit(path)
        next_ = parse_qs(target.query).get("next", [""])[0]
        if status != 302 or target.path != "/login" or urlsplit(next_).path != wanted.path:
            return f"anonymous on a page: expected 302 to /login?next={wanted.path}, got {status} {response.location}"
        return None
    if status != 403:
        return f"{principal} is not allowed, so expected 403, got {status}"
    if api and (response.get_json(silent=True) or {}).get("error", {}).get("code") != "forbidden":
        return f"forbidden on the API, but not as a JSON error: {response.data[:80]}"
    return None


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - UNCHECKED
    assert sorted(endpoints - set(ACCESS)) == [], "routes without an entry in ACCESS: decide who may use them"
    assert sorted(set(ACCESS) - endpoints) == [], "ACCESS lists endpoints that no longer exist"


def test_every_expectation_reaches_its_endpoint(app):
    adapter = app.url_map.bind("kizuna.test")
    for endpoint, spec in ACCESS.items():
        found, _ = adapter.match(urlsplit(spec.path).path, method=method_for(app, endpoint))
        assert found == endpoint, f"{spec.path} reaches {found}, not {endpoint}"


def test_every_view_declares_who_may_use_it(app):
    undeclared = sorted(endpoint for endpoint, view in app.view_functions.items()
                        if endpoint not in UNCHECKED and getattr(view, "kizuna_access", None) is None)
    assert undeclared == [], "views without @public, @login_required or @roles_required"


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_route_answers_exactly_as_declared(app, client, make_user, principal):
    """GET for routes that take it, else POST with a valid CSRF token; every mismatch is listed at once."""
    sign_in_as(client, make_user, principal)
    token = csrf_token(client, "/login" if principal == ANON else "/account")
    wrong = []
    for endpoint in ORDER:
        spec = ACCESS[endpoint]
        method = method_for(app, endpoint)
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(spec.path, method=method, data=data)
        if problem := judge(endpoint, principal, response, spec.path):
            wrong.append(f"{method} {spec.path} ({endpoint}): {problem}")
    assert not wrong, f"as {principal}:\n" + "\n".join(wrong)


def test_a_post_without_its_csrf_token_is_refused_before_anything_happens(client, make_user):
    sign_in_as(client, make_user, "admin")
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/account").status_code == 200  # still signed in


def test_an_undeclared_view_is_refused_to_everyone(app, client, make_user, monkeypatch, caplog):
    """enforce_access refuses a view that declares nothing, even to an administrator."""

    def undeclared():
        return "should never be served"

    monkeypatch.setitem(app.view_functions, "admin.audit", undeclared)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        assert client.get("/admin/audit").status_code == 403  # anonymous: refused, not sent to sign in
        sign_in_as(client, make_user, "admin")
        response = client.get("/admin/audit")
    assert response.status_code == 403
    assert "should never be served" not in response.get_data(as_text=True)
    assert "endpoint admin.audit declares no access rule" in caplog.text


# -- API tokens ---------------------------------------------------------------------------------------


def cli_token(app, email: str, name: str = "reports") -> str:
    """A token made the way an operator makes one: `kizuna create-api-token`."""
    result = app.test_cli_runner().invoke(args=["create-api-token", "--email", email, "--name", name])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized" and error["message"]


def test_cli_token_works_as_bearer_on_the_api(app, client, make_user, reference_data):
    user = make_user(Role.VIEWER)
    secret = cli_token(app, user.email)
    assert secret.startswith("kz_")

    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.get_json()["email"] == user.email and me.get_json()["role"] == "viewer"
    cities = client.get("/api/v1/cities?q=tok&country=JP", headers=bearer(secret))
    assert cities.status_code == 200
    assert cities.get_json()["items"][0]["name"] == "Tokyo"
    assert "Set-Cookie" not in me.headers  # a token request opens no browser session
    assert client.get("/api/v1/me").status_code == 401  # and leaves none behind
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.last_used_at is not None


def test_token_is_not_a_session_for_the_web_pages(app, client, make_user):
    secret = cli_token(app, make_user(Role.ADMIN).email)
    response = client.get("/admin/users", headers=bearer(secret))
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"


@pytest.mark.parametrize("header", [
    "Bearer kz_not-a-token-anyone-was-given",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "kz_token-without-the-scheme",
])
def test_wrong_token_gets_401_json(client, header):
    assert_unauthorized(client.get("/api/v1/me", headers={"Authorization": header}))
    assert_unauthorized(client.get("/api/v1/cities?q=tok", headers={"Authorization": header}))


def test_revoked_token_gets_401_json(app, client, make_user):
    user = make_user(Role.EDITOR)
    secret = cli_token(app, user.email)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    services.revoke_api_token(token_id=token.id, actor=user)
    db.session.commit()
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(secret)))
    assert_unauthorized(client.get("/api/v1/cities?q=tok", headers=bearer(secret)))


def test_token_of_a_deactivated_account_gets_401_json(app, client, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.EDITOR)
    secret = cli_token(app, user.email)
    services.update_user(user_id=user.id, role=Role.EDITOR, active=False, actor=admin)
    db.session.commit()
    assert_unauthorized(client.get("/api/v1/me", headers=bearer(secret)))


def test_an_external_accounts_token_reaches_its_own_meetings_and_no_staff_endpoint(app, client, db_session,
                                                                                  make_user):
    delegate = make_user(Role.DELEGATE)
    secret = cli_token(app, delegate.email)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/my/meetings", headers=headers).status_code == 200
    for path in ("/api/v1/contacts", "/api/v1/meetings", "/api/v1/partners"):
        assert client.get(path, headers=headers).status_code == 403, path


def test_token_is_stored_only_as_its_hash(app, db_session, make_user):
    user = make_user(Role.VIEWER)
    secret = cli_token(app, user.email)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8] and len(secret) > 32
    # Nowhere in the database, the audit log included: every row of both tables, as text.
    for table in ("api_token", "audit_event"):
        rows = db.session.execute(text(f"SELECT t::text FROM {table} t")).scalars().all()
        assert rows and not [r for r in rows if secret in r or secret[8:] in r], table
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create")) is not None
