"""A meeting's agenda and documents: sessions with speakers in the meeting's languages and zone, kept in order
and moved up or down; documents judged by their bytes, downloaded by staff and by invitees through their signed
link; every change audited, every refusal at its field with nothing changed; the same over the JSON API."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import AuditEvent
from meetings import agenda, services
from meetings.models import AgendaItem, Meeting, MeetingDocument, Speaker
from tests.conftest import csrf_token

TOKYO = "Asia/Tokyo"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def plan(**overrides) -> Meeting:
    fields = {"titles": {"en": "Leaders' meeting", "ja": "首長会議"}, "tier": "leaders", "format": "hybrid",
              "timezone": TOKYO, "starts_at": datetime(2027, 3, 4, 10, 0), "ends_at": datetime(2027, 3, 5, 17, 0),
              "venue": "Tokyo Metropolitan Government Building", "online_url": "https://meet.example.org/lm",
              "interpretation_languages": ["en", "ja", "fr"], **overrides}
    meeting = services.create_meeting(actor=None, **fields)
    services.schedule_meeting(meeting_id=meeting.id, actor=None)
    db.session.commit()
    return meeting


@pytest.fixture
def meeting(db_session):
    return plan()


def session(meeting: Meeting, title: str, start: tuple[int, int, int] | None = None,
            end: tuple[int, int, int] | None = None, **kwargs) -> AgendaItem:
    """A session on day `start[0]` of March 2027 from start[1]:start[2] (Tokyo) to end."""
    item = agenda.add_item(meeting_id=meeting.id, titles={"en": title}, actor=None,
                           starts_at=datetime(2027, 3, start[0], start[1], start[2]) if start else None,
                           ends_at=datetime(2027, 3, end[0], end[1], end[2]) if end else None, **kwargs)
    db.session.commit()
    return item


def titles_in_order(meeting: Meeting) -> list[str]:
    db.session.expire_all()
    return [item.titles["en"] for item in db.session.get(Meeting, meeting.id).agenda]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def post(client, path: str, data: dict, form_path: str = "/account", **kwargs):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_path)}, **kwargs)


def error_at(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    assert match, f"no error shown at {field_id}"
    return match.group(1).strip()


# -- services: sessions ---------------------------------------------------------------------------


def test_sessions_keep_their_order_times_in_utc_and_speakers_and_each_change_is_audited(meeting):
    opening = session(meeting, "Opening remarks", (4, 10, 0), (4, 10, 30),
                      speakers=[{"name": "Governor of Tokyo", "role": "opening remarks"}])
    panel = session(meeting, "Panel on resilience", (4, 11, 0), (4, 12, 30), room="Hall A",
                    speakers=[{"name": "Moderator", "role": "moderator"}, {"name": "Mayor", "role": "panellist"}])
    assert (opening.position, panel.position) == (0, 1)
    assert opening.starts_at == datetime(2027, 3, 4, 1, 0, tzinfo=UTC)
    assert [(s.name, s.role, s.position) for s in panel.speakers] == [("Moderator", "moderator", 0),
                                                                      ("Mayor", "panellist", 1)]
    [added, _second] = audits("meeting.agenda_add")
    assert added.object_type == "meeting" and added.object_id == str(meeting.id)
    assert added.after["titles"] == {"en": "Opening remarks"} and added.after["speakers"][0]["name"] == \
        "Governor of Tokyo"

    agenda.update_item(item_id=panel.id, titles={"en": "Panel on resilience", "ja": "強靭化パネル"}, actor=None,
                       starts_at=datetime(2027, 3, 4, 11, 0), ends_at=datetime(2027, 3, 4, 12, 0), room="Hall A",
                       speakers=[{"name": "Mayor", "role": "panellist"}])
    db.session.commit()
    db.session.expire_all()
    panel = db.session.get(AgendaItem, panel.id)
    assert [s.name for s in panel.speakers] == ["Mayor"] and count(Speaker) == 2
    [updated] = audits("meeting.agenda_update")
    assert updated.before["ends_at"].startswith("2027-03-04T03:30") and "room" not in updated.after
    assert panel.position == 1  # an edit keeps the session's place


def test_a_session_is_read_in_the_meetings_zone_across_a_clock_change(db_session):
    paris = plan(timezone="Europe/Paris", starts_at=datetime(2027, 3, 27, 9, 0), ends_at=datetime(2027, 3, 28, 18, 0))
    item = agenda.add_item(meeting_id=paris.id, titles={"en": "Night session"}, actor=None,
                           starts_at=datetime(2027, 3, 28, 1, 30), ends_at=datetime(2027, 3, 28, 3, 30))
    # 01:30 is winter time (UTC+1), 03:30 summer time (UTC+2): the session lasts one hour, not two
    assert (item.starts_at, item.ends_at) == (datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
                                              datetime(2027, 3, 28, 1, 30, tzinfo=UTC))
    with pytest.raises(services.MeetingError) as skipped:
        agenda.add_item(meeting_id=paris.id, titles={"en": "Never"}, actor=None,
                        starts_at=datetime(2027, 3, 28, 2, 30))
    assert skipped.value.field == "starts_at" and "clocks skip it" in str(skipped.value)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"titles": {"en": " ", "ja": ""}}, "titles", "at least one language"),
    ({"ends_at": datetime(2027, 3, 4, 9, 0)}, "ends_at", "end after it starts"),
    ({"starts_at": datetime(2027, 3, 3, 23, 0)}, "starts_at", "meeting's days (2027-03-04 – 2027-03-05"),
    ({"ends_at": datetime(2027, 3, 6, 0, 30)}, "ends_at", "meeting's days"),
    ({"starts_at": None}, "starts_at", "start of a session that has an end"),
    ({"speakers": [{"name": "Fine"}, {"name": "", "role": "panellist"}]}, "speakers-1-name", "speaker's name"),
    ({"speakers": [{"name": "", "contact_id": 999_999}]}, "speakers-0-contact", "no longer exists"),
    ({"room": "R" * 201}, "room", "At most 200"),
])
def test_bad_input_is_refused_at_its_field_and_nothing_is_added(meeting, changes, field, message):
    fields = {"titles": {"en": "Session"}, "starts_at": datetime(2027, 3, 4, 10, 0),
              "ends_at": datetime(2027, 3, 4, 11, 0), **changes}
    with pytest.raises(services.MeetingError) as refused:
        agenda.add_item(meeting_id=meeting.id, actor=None, **fields)
    assert refused.value.field == field and message in str(refused.value)
    db.session.rollback()
    assert count(AgendaItem) == 0 and count(Speaker) == 0 and audits("meeting.agenda_add") == []


def test_a_contact_fills_a_speakers_name_left_empty(meeting):
    from partners import services as partners

    taro = partners.create_contact(family_name="Yamada", given_name="Taro", family_name_local="山田",
                                   given_name_local="太郎", actor=None)
    item = agenda.add_item(meeting_id=meeting.id, titles={"en": "Keynote"}, actor=None,
                           speakers=[{"name": "", "role": "keynote", "contact_id": taro.id}])
    assert [(s.name, s.role, s.contact_id) for s in item.speakers] == [(taro.display_name("en"), "keynote", taro.id)]
    named = agenda.add_item(meeting_id=meeting.id, titles={"en": "Panel"}, actor=None,
                            speakers=[{"name": "Mr Taro Yamada", "contact_id": taro.id}])
    assert named.speakers[0].name == "Mr Taro Yamada"  # a name given is the name printed


def test_sessions_move_up_and_down_and_removal_closes_the_gap(meeting):
    a, b, c = (session(meeting, title) for title in ("A", "B", "C"))
    agenda.move_item(item_id=c.id, direction="up", actor=None)
    assert titles_in_order(meeting) == ["A", "C", "B"]
    agenda.move_item(item_id=a.id, direction="down", actor=None)
    assert titles_in_order(meeting) == ["C", "A", "B"]
    for item, direction, message in ((c, "up", "first already"), (b, "down", "last already"),
                                     (a, "sideways", "options offered")):
        with pytest.raises(services.MeetingError) as refused:
            agenda.move_item(item_id=item.id, direction=direction, actor=None)
        assert refused.value.field == "direction" and message in str(refused.value)
    assert titles_in_order(meeting) == ["C", "A", "B"]
    moves = audits("meeting.agenda_move")
    assert [(m.before["position"], m.after["position"]) for m in moves] == [(2, 1), (0, 1)]
    agenda.remove_item(item_id=c.id, actor=None)
    db.session.commit()
    db.session.expire_all()
    assert [(i.titles["en"], i.position) for i in db.session.get(Meeting, meeting.id).agenda] == [("A", 0), ("B", 1)]
    [removed] = audits("meeting.agenda_remove")
    assert removed.before["titles"] == {"en": "C"}


def test_the_agenda_of_a_cancelled_meeting_cannot_change(meeting):
    item = session(meeting, "Opening")
    services.cancel_meeting(meeting_id=meeting.id, reason="Typhoon", actor=None)
    db.session.commit()
    for call in (lambda: agenda.add_item(meeting_id=meeting.id, titles={"en": "X"}, actor=None),
                 lambda: agenda.update_item(item_id=item.id, titles={"en": "X"}, actor=None),
                 lambda: agenda.remove_item(item_id=item.id, actor=None)):
        with pytest.raises(services.MeetingError, match="cancelled"):
            call()
        db.session.rollback()
    assert titles_in_order(meeting) == ["Opening"]


# -- services: documents --------------------------------------------------------------------------


def test_a_document_is_kept_under_its_hash_and_removal_discards_the_unused_file(app, meeting):
    document = agenda.add_document(meeting_id=meeting.id, kind="concept_note", language="ja", filename="構想.pdf",
                                   data=PDF, actor=None)
    db.session.commit()
    path = agenda.path_of(document)
    assert path.read_bytes() == PDF and path.parent.name == "meeting-documents"
    assert (document.content_type, document.size, document.kind, document.language) == \
        ("application/pdf", len(PDF), "concept_note", "ja")
    assert audits("meeting.document_add")[0].after["document"] == "構想.pdf"
    twin = agenda.add_document(meeting_id=meeting.id, kind="agenda", filename="agenda", data=PDF, actor=None)
    assert twin.filename == "agenda.pdf"
    db.session.commit()
    agenda.remove_document(document_id=document.id, meeting_id=meeting.id, actor=None)
    db.session.commit()
    assert not agenda.discard_unused_file(document.sha256) and path.exists()  # the twin still needs it
    agenda.remove_document(document_id=twin.id, meeting_id=meeting.id, actor=None)
    db.session.commit()
    assert agenda.discard_unused_file(twin.sha256) and not path.exists()
    assert len(audits("meeting.document_remove")) == 2


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"data": PNG, "filename": "agenda.pdf"}, "file", "whatever its name says"),
    ({"data": b""}, "file", "empty"),
    ({"kind": "minutes"}, "kind", "options offered"),
    ({"language": "not a code"}, "language", "not a language code"),
])
def test_a_bad_document_is_refused_at_its_field(meeting, fields, field, message):
    with pytest.raises(services.MeetingError) as refused:
        agenda.add_document(meeting_id=meeting.id, actor=None, **{"kind": "agenda", "filename": "a.pdf",
                                                                  "data": PDF, **fields})
    assert refused.value.field == field and message in str(refused.value)
    assert count(MeetingDocument) == 0


def test_a_document_over_the_size_limit_is_refused(app, meeting, monkeypatch):
    monkeypatch.setitem(app.config, "AGREEMENT_DOCUMENT_MAX_BYTES", 1024 * 1024)
    with pytest.raises(services.MeetingError, match="larger than 1 MB") as refused:
        agenda.add_document(meeting_id=meeting.id, kind="agenda", filename="big.pdf",
                            data=PDF + b"\0" * (1024 * 1024), actor=None)
    assert refused.value.field == "file" and count(MeetingDocument) == 0


# -- pages ----------------------------------------------------------------------------------------


SESSION_FORM = {"title_en": "Opening remarks", "title_ja": "開会挨拶", "title_fr": "", "starts_at": "2027-03-04T10:00",
                "ends_at": "2027-03-04T10:30", "room": "", "notes": "", "speakers-0-name": "Governor of Tokyo",
                "speakers-0-role": "opening remarks", "speakers-0-contact": "", "speakers-1-name": "",
                "speakers-1-role": "", "speakers-1-contact": ""}


def test_an_editor_adds_a_session_in_the_meetings_languages_and_reads_it_in_both_zones(as_role, meeting):
    client = as_role("editor")
    form = client.get(f"/meetings/{meeting.id}/agenda/new").get_data(as_text=True)
    for name in ("title_en", "title_ja", "title_fr", "speakers-0-name", "speakers-1-contact"):
        assert f'name="{name}"' in form
    assert "Asia/Tokyo" in form
    response = post(client, f"/meetings/{meeting.id}/agenda/new", SESSION_FORM)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    [item] = db.session.scalars(select(AgendaItem)).all()
    assert item.titles == {"en": "Opening remarks", "ja": "開会挨拶"}
    assert response.location.endswith(f"/meetings/{meeting.id}#agenda-item-{item.id}")
    client.user.timezone = "America/New_York"
    db.session.commit()
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True).replace("\u202f", " ")
    row = html.split(f'id="agenda-item-{item.id}"')[1].split("</tr>")[0]
    assert "Mar 4, 2027, 10:00 – 10:30 (Asia/Tokyo)" in row
    assert "Mar 3, 2027, 20:00 – 20:30 (America/New_York)" in row  # the evening before in New York
    assert "Governor of Tokyo (opening remarks)" in row


def test_a_refused_session_is_shown_at_its_field_with_422_and_nothing_saved(as_role, meeting):
    client = as_role("editor")
    path = f"/meetings/{meeting.id}/agenda/new"
    response = post(client, path, {**SESSION_FORM, "ends_at": "2027-03-04T09:00"})
    assert response.status_code == 422
    assert "end after it starts" in error_at(response.get_data(as_text=True), "ends_at")
    response = post(client, path, {**SESSION_FORM, "starts_at": "2027-03-09T10:00", "ends_at": ""})
    assert response.status_code == 422 and "meeting&#39;s days" in error_at(response.get_data(as_text=True),
                                                                            "starts_at")
    response = post(client, path, {**SESSION_FORM, "speakers-1-role": "panellist",
                                   "speakers-1-contact": "nobody@nowhere.example"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "No contact has the address" in error_at(html, "speakers-1-contact")
    assert 'href="#speakers-1-contact"' in html  # the summary leads to the row
    response = post(client, path, {**SESSION_FORM, "title_en": "", "title_ja": ""})
    assert response.status_code == 422 and "at least one language" in error_at(response.get_data(as_text=True),
                                                                                "title_en")
    assert count(AgendaItem) == 0 and count(Speaker) == 0


def test_more_speaker_rows_are_offered_without_saving(as_role, meeting):
    client = as_role("editor")
    response = post(client, f"/meetings/{meeting.id}/agenda/new", {**SESSION_FORM, "more_speakers": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="speakers-3-name"' in html
    assert 'value="Governor of Tokyo"' in html and count(AgendaItem) == 0


def test_an_editor_edits_moves_and_removes_sessions_from_the_meeting_page(as_role, meeting):
    first, second = session(meeting, "First", (4, 10, 0)), session(meeting, "Second", (4, 11, 0))
    client = as_role("editor")
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    first_row = html.split(f'id="agenda-item-{first.id}"')[1].split("</tr>")[0]
    assert 'value="down"' in first_row and 'value="up"' not in first_row  # no button that cannot work
    response = post(client, f"/meetings/agenda/{second.id}/move", {"direction": "up"})
    assert response.status_code == 303 and response.location.endswith(f"#agenda-item-{second.id}")
    assert titles_in_order(meeting) == ["Second", "First"]
    assert post(client, f"/meetings/agenda/{second.id}/move", {"direction": "up"}).status_code == 303
    assert "This session is first already." in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert post(client, f"/meetings/agenda/{second.id}/move", {"direction": "left"}).status_code == 400

    edit = client.get(f"/meetings/agenda/{first.id}/edit").get_data(as_text=True)
    assert 'value="First"' in edit and 'value="2027-03-04T10:00"' in edit
    response = post(client, f"/meetings/agenda/{first.id}/edit",
                    {**SESSION_FORM, "title_en": "First, renamed", "title_ja": ""})
    assert response.status_code == 303
    assert titles_in_order(meeting) == ["Second", "First, renamed"]

    confirm = client.get(f"/meetings/agenda/{second.id}/remove")
    assert confirm.status_code == 200 and "Remove “Second”" in confirm.get_data(as_text=True)
    assert post(client, f"/meetings/agenda/{second.id}/remove", {}).status_code == 303
    assert titles_in_order(meeting) == ["First, renamed"]
    assert [a.action for a in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("meeting.agenda_%")).order_by(AuditEvent.id))][-3:] == [
        "meeting.agenda_move", "meeting.agenda_update", "meeting.agenda_remove"]


def test_viewers_read_the_agenda_and_documents_but_change_nothing(as_role, meeting):
    item = session(meeting, "Opening", (4, 10, 0))
    document = agenda.add_document(meeting_id=meeting.id, kind="agenda", filename="agenda.pdf", data=PDF,
                                   actor=None)
    db.session.commit()
    client = as_role("viewer")
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Opening" in html and "agenda.pdf" in html
    assert "/agenda/new" not in html and f"/agenda/{item.id}/move" not in html and "document-file" not in html
    assert client.get(f"/meetings/{meeting.id}/documents/{document.id}").data == PDF
    for path in (f"/meetings/{meeting.id}/agenda/new", f"/meetings/agenda/{item.id}/edit",
                 f"/meetings/agenda/{item.id}/remove", f"/meetings/{meeting.id}/documents",
                 f"/meetings/{meeting.id}/documents/{document.id}/remove"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/meetings/agenda/{item.id}/move", {"direction": "down"}).status_code == 403
    assert post(client, f"/meetings/agenda/{item.id}/remove", {}).status_code == 403
    assert post(client, f"/meetings/{meeting.id}/agenda/new", SESSION_FORM).status_code == 403
    assert count(AgendaItem) == 1 and count(MeetingDocument) == 1


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_reach_neither_the_agenda_pages_nor_the_staff_download(as_role, meeting, role):
    item = session(meeting, "Opening")
    document = agenda.add_document(meeting_id=meeting.id, kind="agenda", filename="a.pdf", data=PDF, actor=None)
    db.session.commit()
    client = as_role(role)
    for path in (f"/meetings/{meeting.id}/agenda/new", f"/meetings/agenda/{item.id}/edit",
                 f"/meetings/{meeting.id}/documents/{document.id}", f"/meetings/{meeting.id}/documents"):
        assert client.get(path).status_code == 403, path


def test_an_editor_uploads_downloads_and_removes_a_document_with_confirmation(app, as_role, meeting):
    client = as_role("editor")
    path = f"/meetings/{meeting.id}/documents"
    refused = post(client, path, {"document-kind": "agenda", "document-language": "",
                                  "document-file": (io.BytesIO(PNG), "agenda.pdf")},
                   content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "whatever its name says" in error_at(refused.get_data(as_text=True), "document-file")
    response = post(client, path, {"document-kind": "communique", "document-language": "ja",
                                   "document-file": (io.BytesIO(PDF), "共同声明.pdf")},
                    content_type="multipart/form-data")
    assert response.status_code == 303 and response.location.endswith("#documents")
    document = db.session.scalar(select(MeetingDocument))
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Communiqué (ja): 共同声明.pdf" in html
    download = client.get(f"/meetings/{meeting.id}/documents/{document.id}")
    assert download.data == PDF and download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == \
        "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E5%85%B1%E5%90%8C%E5%A3%B0%E6%98%8E.pdf"
    assert download.headers["Cache-Control"] == "private, no-store"
    other = plan(titles={"en": "Another meeting"})
    assert client.get(f"/meetings/{other.id}/documents/{document.id}").status_code == 404
    confirm = client.get(f"/meetings/{meeting.id}/documents/{document.id}/remove")
    assert confirm.status_code == 200 and "Remove 共同声明.pdf" in confirm.get_data(as_text=True)
    stored = agenda.path_of(document)
    assert post(client, f"/meetings/{meeting.id}/documents/{document.id}/remove", {}).status_code == 303
    assert count(MeetingDocument) == 0 and not stored.exists()


# -- the invitee's page ---------------------------------------------------------------------------


def test_the_invitee_reads_the_agenda_in_their_time_and_downloads_documents_through_their_link(app, meeting):
    item = session(meeting, "Opening remarks", (4, 10, 0), (4, 10, 30),
                   speakers=[{"name": "Governor of Tokyo", "role": "opening remarks"}])
    document = agenda.add_document(meeting_id=meeting.id, kind="concept_note", filename="concept.pdf", data=PDF,
                                   actor=None)
    other = plan(titles={"en": "Another meeting"})
    elsewhere = agenda.add_document(meeting_id=other.id, kind="agenda", filename="other.pdf", data=PDF, actor=None)
    invitation = services.invite(meeting_id=meeting.id, email="head@paris.example", name="Anne", language="en",
                                 timezone="Europe/Paris", actor=None)
    db.session.commit()
    token = services.invitation_token(invitation)
    browser = app.test_client()  # signed in to nothing
    html = browser.get(f"/meetings/answer/{token}").get_data(as_text=True).replace("\u202f", " ")
    assert "Opening remarks" in html and "Governor of Tokyo (opening remarks)" in html
    assert "Mar 4, 2027, 02:00 – 02:30 (Europe/Paris)" in html
    assert f"/meetings/answer/{token}/documents/{document.id}" in html
    assert f"/meetings/{meeting.id}/documents/" not in html  # never the staff's address
    download = browser.get(f"/meetings/answer/{token}/documents/{document.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith('attachment; filename="concept.pdf"')
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert browser.get(f"/meetings/answer/{tampered}/documents/{document.id}").status_code == 404
    assert browser.get(f"/meetings/answer/{token}/documents/{elsewhere.id}").status_code == 404
    assert browser.get(f"/meetings/{meeting.id}/documents/{document.id}").status_code == 302  # to sign in
    services.uninvite(invitation_id=invitation.id, actor=None)
    db.session.commit()
    assert browser.get(f"/meetings/answer/{token}/documents/{document.id}").status_code == 410
    assert item.id


# -- API --------------------------------------------------------------------------------------------


def test_the_api_adds_reads_moves_and_removes_sessions(client, meeting, token):
    editor, viewer = token("editor"), token("viewer")
    path = f"/api/v1/meetings/{meeting.id}/agenda"
    body = {"titles": {"en": "Panel", "ja": "パネル"}, "starts_at": "2027-03-04T11:00", "ends_at": "2027-03-04T12:00",
            "room": "Hall A", "speakers": [{"name": "Moderator", "role": "moderator"}]}
    created = client.post(path, headers=editor, json=body)
    assert created.status_code == 201, created.json
    item = created.json
    assert (item["position"], item["starts_at"], item["local_starts_at"]) == \
        (0, "2027-03-04T02:00:00+00:00", "2027-03-04T11:00:00+09:00")
    assert item["speakers"] == [{"name": "Moderator", "role": "moderator", "contact_id": None}]
    second = client.post(path, headers=editor, json={"titles": {"en": "Closing"}}).json
    moved = client.post(f"/api/v1/agenda-items/{second['id']}/move", headers=editor, json={"direction": "up"})
    assert moved.status_code == 200 and moved.json["position"] == 0
    listing = client.get(path, headers=viewer).json
    assert [i["title"] for i in listing["items"]] == ["Closing", "Panel"] and listing["total"] == 2
    assert client.get(f"/api/v1/agenda-items/{item['id']}", headers=viewer).json["room"] == "Hall A"
    # A replacement gives every field, null to clear one: a field left out is refused, not cleared.
    left_out = client.post(f"/api/v1/agenda-items/{item['id']}", headers=editor, json={"titles": {"en": "Panel"}})
    assert left_out.status_code == 422 and "starts_at" in left_out.json["error"]["fields"]
    assert client.get(f"/api/v1/agenda-items/{item['id']}", headers=viewer).json["room"] == "Hall A"
    cleared = {"titles": {"en": "Panel"}, "starts_at": None, "ends_at": None, "room": None, "notes": None,
               "speakers": None}
    replaced = client.post(f"/api/v1/agenda-items/{item['id']}", headers=editor, json=cleared)
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["room"] == "" and replaced.json["speakers"] == [] and replaced.json["starts_at"] is None
    removed = client.post(f"/api/v1/agenda-items/{second['id']}/remove", headers=editor)
    assert removed.status_code == 200 and [i["title"] for i in removed.json["items"]] == ["Panel"]
    assert client.post(path, headers=viewer, json=body).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"titles": {"en": "X"}, "starts_at": "2027-03-04T11:00", "ends_at": "2027-03-04T10:00"}, "ends_at"),
    ({"titles": {"en": "X"}, "starts_at": "2027-03-08T11:00"}, "starts_at"),
    ({"titles": {"en": "X"}, "starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": "2027-03-04T11:00"}, "titles"),
    ({"titles": {"en": "X"}, "speakers": [{"name": "A", "email": "a@b.example"}]}, "speakers-0-email"),
    ({"titles": {"en": "X"}, "speakers": [{"name": "A"}, {"role": "moderator"}]}, "speakers-1-name"),
    ({"titles": {"en": "X"}, "speakers": [{"name": "A", "contact_id": "7"}]}, "speakers-0-contact_id"),
])
def test_the_api_refuses_a_bad_session_naming_its_field(client, meeting, token, body, field):
    response = client.post(f"/api/v1/meetings/{meeting.id}/agenda", headers=token("editor"), json=body)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {field}
    assert count(AgendaItem) == 0


def test_the_api_lists_documents_with_the_staff_download_address(client, meeting, token):
    document = agenda.add_document(meeting_id=meeting.id, kind="agenda", language="en", filename="agenda.pdf",
                                   data=PDF, actor=None)
    db.session.commit()
    [found] = client.get(f"/api/v1/meetings/{meeting.id}/documents", headers=token("viewer")).json["items"]
    assert (found["kind"], found["language"], found["filename"], found["size"]) == ("agenda", "en", "agenda.pdf",
                                                                                  len(PDF))
    assert found["download_url"] == f"http://kizuna.test/meetings/{meeting.id}/documents/{document.id}"
    spec = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/meetings/{meeting_id}/agenda" in spec and "/api/v1/agenda-items/{item_id}/move" in spec


# -- demo -------------------------------------------------------------------------------------------


def test_the_demos_leaders_meeting_has_an_agenda_from_the_governors_opening_to_the_closing(db_session):
    from datetime import date
    from zoneinfo import ZoneInfo

    from meetings import demo
    from meetings.models import Tier
    from network import demo as network_demo

    assert network_demo.seed_tokyo()
    assert demo.seed_meetings(today=date(2026, 11, 25))
    leaders = db.session.scalar(select(Meeting).where(Meeting.tier == Tier.LEADERS))
    items = leaders.agenda
    assert items[0].titles["en"] == "Opening remarks" and items[-1].titles["ja"] == "共同声明の採択・閉会挨拶"
    assert items[0].speakers[0].name == "Governor of Tokyo — sample speaker"
    assert all(s.name.endswith("— sample speaker") for i in items for s in i.speakers)
    zone = ZoneInfo(leaders.timezone)
    assert items[0].starts_at == leaders.starts_at and items[-1].ends_at == leaders.ends_at
    assert all(i.starts_at.astimezone(zone).date() == leaders.starts_at.astimezone(zone).date() for i in items)
    assert [i.position for i in items] == list(range(len(items)))
    others = db.session.scalars(select(Meeting).where(Meeting.tier != Tier.LEADERS)).all()
    assert all(m.agenda == [] for m in others)


def test_a_session_left_off_the_days_by_a_moved_meeting_is_flagged_on_the_meeting_page(as_role, meeting):
    item = session(meeting, "Opening", (4, 10, 0), (4, 10, 30))
    fields = {name: getattr(meeting, name) for name in ("titles", "tier", "format", "timezone", "venue",
                                                        "online_url", "interpretation_languages")}
    services.update_meeting(meeting_id=meeting.id, actor=None, **fields, starts_at=datetime(2027, 4, 8, 10, 0),
                            ends_at=datetime(2027, 4, 8, 17, 0))
    db.session.commit()
    assert agenda.off_the_days(db.session.get(AgendaItem, item.id))
    html = as_role("viewer").get(f"/meetings/{meeting.id}").get_data(as_text=True)
    row = html.split(f'id="agenda-item-{item.id}"')[1].split("</tr>")[0]
    assert "Outside the meeting's days since it was moved" in row


def test_a_speaker_is_chosen_from_contacts_on_the_session_form(as_role, meeting):
    from partners import services as partners

    taro = partners.create_contact(family_name="Yamada", given_name="Taro", emails=[{"address": "taro@tokyo.example"}],
                                   actor=None)
    db.session.commit()
    client = as_role("editor")
    response = post(client, f"/meetings/{meeting.id}/agenda/new",
                    {**SESSION_FORM, "speakers-0-name": "", "speakers-0-contact": "taro@tokyo.example"})
    assert response.status_code == 303
    [speaker] = db.session.scalars(select(Speaker)).all()
    assert (speaker.contact_id, speaker.name, speaker.role) == (taro.id, taro.display_name("en"), "opening remarks")
    edit = client.get(f"/meetings/agenda/{speaker.item_id}/edit").get_data(as_text=True)
    assert 'value="taro@tokyo.example"' in edit  # the contact stays chosen when the session is edited
