"""Invitations received from outside: the staff upload page and `kizuna import ics`, creating the meeting with the
sender's UID, updating it on a newer SEQUENCE, cancelling ours on a CANCEL."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kizuna.extensions import db
from kizuna.models import OutboundMessage, Role
from meetings import services
from meetings.models import Meeting, MeetingFormat, MeetingStatus
from tests.conftest import csrf_token

DATA = Path(__file__).parent / "data"
OUTLOOK = (DATA / "outlook_request_tokyo.ics").read_bytes()
UID = ("040000008200E00074C5B7101A82E00800000000D0C1A2B3C4D4DB01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7"
       "E8F90")


def moved(sequence: int = 1) -> bytes:
    """The same invitation, moved an hour later by its organizer."""
    return (OUTLOOK.replace(b"SEQUENCE:0", f"SEQUENCE:{sequence}".encode())
            .replace(b":20261210T140000", b":20261210T150000").replace(b":20261210T150000\r\nDTSTAMP",
                                                                       b":20261210T160000\r\nDTSTAMP"))


def cancelled(sequence: int = 2) -> bytes:
    return OUTLOOK.replace(b"METHOD:REQUEST", b"METHOD:CANCEL").replace(b"SEQUENCE:0", f"SEQUENCE:{sequence}".encode())


def meetings() -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).order_by(Meeting.id)))


def upload(client, data: bytes, name: str = "invite.ics", tier: str = "working_level"):
    return client.post("/meetings/import", data={"file": (io.BytesIO(data), name), "tier": tier,
                                                 "csrf_token": csrf_token(client, "/meetings/import")},
                       content_type="multipart/form-data")


def save(client, response, tier: str = "working_level"):
    preview = response.location
    return client.post(preview, data={"tier": tier, "csrf_token": csrf_token(client, preview)})


def test_an_outlook_invitation_is_previewed_then_saved_keeping_its_uid_and_organizer(as_role):
    client = as_role(Role.EDITOR)
    response = upload(client, OUTLOOK)
    assert response.status_code == 303
    preview = client.get(response.location).get_data(as_text=True)
    assert "U20 Sherpa preparatory call" in preview and "A new meeting will be created" in preview
    assert meetings() == []  # nothing before the save
    saved = save(client, response)
    assert saved.status_code == 303
    [meeting] = meetings()
    assert (meeting.uid, meeting.imported, meeting.status, meeting.sequence) == (UID, True, MeetingStatus.SCHEDULED, 0)
    assert (meeting.organizer_name, meeting.organizer_email) == ("Tanaka Yuki", "yuki.tanaka@u20secretariat.example")
    assert meeting.title("en") == "U20 Sherpa preparatory call" and meeting.tier.value == "working_level"
    assert meeting.timezone == "Asia/Tokyo"  # Exchange's "Tokyo Standard Time"
    assert meeting.starts_at == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
    assert meeting.online_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert meeting.format == MeetingFormat.HYBRID


def test_the_same_file_again_changes_nothing_and_a_newer_sequence_updates_and_tells_our_invitees(as_role):
    client = as_role(Role.EDITOR)
    save(client, upload(client, OUTLOOK))
    [meeting] = meetings()
    services.invite(meeting_id=meeting.id, email="head@seoul.example", actor=None)
    db.session.commit()
    again = client.get(upload(client, OUTLOOK).location).get_data(as_text=True)
    assert "is not newer: nothing changes" in again and "Save" not in again.split("</dl>")[1]

    preview = upload(client, moved())
    assert "will be updated to the file" in client.get(preview.location).get_data(as_text=True)
    assert save(client, preview).status_code == 303
    db.session.refresh(meeting)
    assert meeting.starts_at == datetime(2026, 12, 10, 6, 0, tzinfo=UTC) and meeting.sequence == 1
    assert meeting.uid == UID and len(meetings()) == 1
    subjects = db.session.scalars(select(OutboundMessage.subject).where(
        OutboundMessage.category == "meeting.invitation").order_by(OutboundMessage.id)).all()
    assert subjects[-1] == "Updated: U20 Sherpa preparatory call"


def test_a_cancel_for_a_known_uid_cancels_ours_and_our_invitees_are_told(as_role):
    client = as_role(Role.EDITOR)
    save(client, upload(client, OUTLOOK))
    [meeting] = meetings()
    services.invite(meeting_id=meeting.id, email="head@seoul.example", actor=None)
    db.session.commit()
    assert save(client, upload(client, cancelled())).status_code == 303
    db.session.refresh(meeting)
    assert meeting.status == MeetingStatus.CANCELLED
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.category == "meeting.cancellation")) == 1


@pytest.mark.parametrize(("data", "message"), [
    (b"this is not a calendar", "not BEGIN:VCALENDAR"),
    (OUTLOOK.replace(b"UID:", b"X-UID:"), "UID"),
])
def test_a_file_that_cannot_be_read_is_refused_at_the_field_and_nothing_is_saved(as_role, data, message):
    client = as_role(Role.EDITOR)
    response = upload(client, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and 'aria-invalid="true"' in html
    assert meetings() == []


def test_a_file_cannot_change_one_of_our_own_meetings(as_role):
    client = as_role(Role.EDITOR)
    ours = services.create_meeting(actor=None, uid=UID, titles={"en": "Ours"}, tier="leaders", format="in_person",
                                   timezone="Asia/Tokyo", starts_at=datetime(2027, 1, 5, 10),
                                   ends_at=datetime(2027, 1, 5, 12), venue="City Hall")
    db.session.commit()
    response = upload(client, moved(5))
    assert response.status_code == 422 and "is one of our own meetings" in response.get_data(as_text=True)
    db.session.refresh(ours)
    assert ours.title("en") == "Ours" and ours.status == MeetingStatus.DRAFT


def test_a_viewer_cannot_import(as_role):
    client = as_role(Role.VIEWER)
    response = client.post("/meetings/import", data={"file": (io.BytesIO(OUTLOOK), "invite.ics"),
                                                     "csrf_token": csrf_token(client, "/account")},
                           content_type="multipart/form-data")
    assert response.status_code == 403 and meetings() == []


def test_the_command_line_previews_with_dry_run_then_imports(app, db_session, tmp_path):
    path = tmp_path / "invite.ics"
    path.write_bytes(OUTLOOK)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "ics", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "A new meeting will be created: U20 Sherpa preparatory call." in result.output and meetings() == []
    result = runner.invoke(args=["import", "ics", str(path)])
    assert result.exit_code == 0, result.output
    [meeting] = meetings()
    assert meeting.uid == UID and meeting.imported and f"meeting {meeting.id}" in result.output
    path.write_bytes(cancelled())
    result = runner.invoke(args=["import", "ics", str(path)])
    assert result.exit_code == 0, result.output
    assert meeting.status == MeetingStatus.CANCELLED
    path.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    result = runner.invoke(args=["import", "ics", str(path)])
    assert result.exit_code == 1 and "Error:" in result.output


def test_the_preview_shows_the_time_as_the_sender_set_it_and_an_all_day_event_by_its_days(as_role):
    client = as_role(Role.EDITOR)
    preview = client.get(upload(client, OUTLOOK).location).get_data(as_text=True)
    assert "Thursday, December 10, 2026" in preview and "2:00:00" in preview and "Japan Standard Time" in preview
    response = upload(client, (DATA / "google_all_day.ics").read_bytes())
    assert "Wednesday, May 12, 2027 – Friday, May 14, 2027" in client.get(response.location).get_data(as_text=True)
    save(client, response)
    [summit] = meetings()
    # Days in the home city's zone, the end exclusive as iCalendar has it.
    assert (summit.timezone, summit.starts_at, summit.ends_at) == (
        "Asia/Tokyo", datetime(2027, 5, 11, 15, 0, tzinfo=UTC), datetime(2027, 5, 14, 15, 0, tzinfo=UTC))


def _requests_to(address: str):
    import email
    from email import policy

    from icalendar import Calendar

    rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == address,
                                                            OutboundMessage.category == "meeting.invitation")
                              .order_by(OutboundMessage.id)).all()
    events = []
    for row in rows:
        message = email.message_from_bytes(row.raw, policy=policy.default)
        [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        events.append(Calendar.from_ical(part.get_content()).walk("VEVENT")[0])
    return events


def test_our_invitations_to_an_imported_meeting_are_our_own_copy_at_the_files_sequence(as_role):
    """We are not the organizer of a meeting received from outside: what we send our invitees is our own copy of
    it (our UID for it, our office as ORGANIZER, so their answers come back to our mailbox, never to the outside
    organizer), while the meeting keeps the sender's UID and organizer to match their later files."""
    from meetings import inbox
    from meetings.models import Answer
    from meetings.replies import PartStat, Reply

    client = as_role(Role.EDITOR)
    save(client, upload(client, OUTLOOK))
    [meeting] = meetings()
    invitation = services.invite(meeting_id=meeting.id, email="head@seoul.example", actor=None)
    db.session.commit()
    [first] = _requests_to("head@seoul.example")
    assert str(first["ORGANIZER"]).lower() == "mailto:noreply@kizuna.test"
    assert str(first["UID"]) != UID and str(first["UID"]) == services.calendar_uid(meeting)
    assert (meeting.uid, meeting.organizer_email) == (UID, "yuki.tanaka@u20secretariat.example")

    assert save(client, upload(client, moved(sequence=3))).status_code == 303
    db.session.refresh(meeting)
    update = _requests_to("head@seoul.example")[-1]
    assert int(update["SEQUENCE"]) == meeting.sequence == 3  # the file's, not an intermediate one
    assert str(update["UID"]) == str(first["UID"])

    answer = Reply(uid=str(update["UID"]), sequence=3, recurrence_id=None, attendee_email="head@seoul.example",
                   attendee_name="Head", partstat=PartStat.ACCEPTED, comment=None, dtstamp=datetime.now(UTC),
                   sender="head@seoul.example")
    assert inbox.handle_reply(answer, "<copy>") is invitation and invitation.answer == Answer.ACCEPTED
