"""The invitation email: the MIME structure mail programs turn into an invitation, stored by the outbox and sent
to a real SMTP server unchanged, its calendar read back by icalendar, vobject and ical.js."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import icalendar
import pytest

from kizuna import outbox
from kizuna.models import OutboundMessage
from meetings.ical import Attendee, CalendarError, Occurrence, Organizer, Status, cancel, publish, request
from meetings.invitation_mail import invitation_message

from .test_ical import icaljs, read_vobject

SENDER = "Tokyo Metropolitan Government <intl@metro.example.test>"
TO = "Jane Doe <jane.doe@city-of-paris.example.test>"


@pytest.fixture
def meeting() -> Occurrence:
    start = datetime(2027, 3, 28, 10, tzinfo=ZoneInfo("Europe/Paris"))
    return Occurrence(
        uid="meeting-41@kizuna.example.test", sequence=0, title="東京都市間首脳会議 — 作業部会", start=start,
        end=start + timedelta(hours=2), zone="Europe/Paris",
        organizer=Organizer("東京都 国際交流課", "intl@metro.example.test"),
        last_modified=datetime(2026, 11, 25, 9, tzinfo=UTC), description="Agenda attached.",
        online_url="https://meet.example.test/j/88", url="https://kizuna.example.test/meetings/41")


@pytest.fixture
def jane() -> Attendee:
    return Attendee("Jane Doe", "jane.doe@city-of-paris.example.test", language="en")


def build(calendar: bytes, method: str = "REQUEST", **overrides) -> EmailMessage:
    values = dict(sender=SENDER, to=TO, subject="Invitation: 東京都市間首脳会議", text="You are invited.\n",
                  html="<p>You are <strong>invited</strong>.</p>", calendar=calendar, method=method)
    values.update(overrides)
    return invitation_message(**values)


def structure(msg: EmailMessage) -> list:
    """The MIME tree as nested (content type, children) / (content type, disposition, filename) tuples."""
    if msg.is_multipart():
        return [msg.get_content_type(), [structure(part) for part in msg.iter_parts()]]
    return [msg.get_content_type(), msg.get_content_disposition(), msg.get_filename()]


def on_the_wire(msg: EmailMessage) -> EmailMessage:
    return message_from_bytes(msg.as_bytes(policy=policy.SMTP), policy=policy.default)


def calendar_parts(msg: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    inline = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    attached = next(p for p in msg.iter_attachments())
    return inline, attached


def test_invitation_is_mixed_with_alternatives_and_an_invite_ics(meeting, jane):
    msg = on_the_wire(build(request(meeting, jane)))
    assert structure(msg) == ["multipart/mixed", [
        ["multipart/alternative", [
            ["text/plain", None, None],
            ["text/html", None, None],
            ["text/calendar", None, None],
        ]],
        ["application/ics", "attachment", "invite.ics"],
    ]]
    inline, attached = calendar_parts(msg)
    assert inline.get_param("method") == "REQUEST"
    assert inline.get_content_charset() == "utf-8"
    assert attached.get_param("name") == "invite.ics"


def test_both_calendar_parts_carry_the_request_unchanged(meeting, jane, tmp_path):
    ics = request(meeting, jane)
    msg = on_the_wire(build(ics))
    inline, attached = calendar_parts(msg)
    assert attached.get_content() == ics  # byte for byte: base64 keeps CRLF and UTF-8
    assert inline.get_content().replace("\r\n", "\n") == ics.decode("utf-8").replace("\r\n", "\n")
    for part in (inline.get_content().encode("utf-8"), attached.get_content()):
        cal = icalendar.Calendar.from_ical(part)
        assert cal["METHOD"] == "REQUEST" and str(cal.events[0]["UID"]) == meeting.uid
        assert str(cal.events[0]["SUMMARY"]) == meeting.title
    assert msg.get_body(("plain",)).get_content().rstrip() == "You are invited."
    assert "<strong>invited</strong>" in msg.get_body(("html",)).get_content()


def test_cancellation_uses_the_same_structure_with_method_cancel(meeting, jane):
    ics = cancel(meeting, jane)
    msg = on_the_wire(build(ics, "CANCEL", subject="Cancelled: 東京都市間首脳会議"))
    assert structure(msg) == structure(on_the_wire(build(request(meeting, jane))))
    inline, attached = calendar_parts(msg)
    assert inline.get_param("method") == "CANCEL"
    cal = icalendar.Calendar.from_ical(attached.get_content())
    assert cal["METHOD"] == "CANCEL" and cal.events[0]["STATUS"] == "CANCELLED"
    assert str(cal.events[0]["UID"]) == meeting.uid


def test_method_is_accepted_in_any_case(meeting, jane):
    msg = build(request(meeting, jane), "request")
    assert calendar_parts(msg)[0].get_param("method") == "REQUEST"


def test_message_has_the_headers_the_outbox_needs(meeting, jane):
    msg = build(request(meeting, jane), headers={"Auto-Submitted": "auto-generated"},
                message_id="<inv-41-jane@metro.example.test>")
    assert msg["Message-ID"] == "<inv-41-jane@metro.example.test>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert str(msg["Subject"]) == "Invitation: 東京都市間首脳会議"
    assert [a.addr_spec for a in msg["To"].addresses] == ["jane.doe@city-of-paris.example.test"]
    assert build(request(meeting, jane))["Message-ID"].endswith("@metro.example.test>")


@pytest.mark.parametrize(("calendar", "method", "message"), [
    (None, "PUBLISH", "REQUEST or CANCEL, not 'PUBLISH'"),
    (None, "REPLY", "REQUEST or CANCEL, not 'REPLY'"),
    (None, "CANCEL", "method=CANCEL but the calendar says METHOD:REQUEST"),
    (b"this is not a calendar", "REQUEST", "not iCalendar"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "REQUEST", "has no METHOD"),
])
def test_bad_calendar_or_method_is_refused_clearly(meeting, jane, calendar, method, message):
    with pytest.raises(CalendarError, match=message):
        build(calendar or request(meeting, jane), method)


def test_a_feed_is_not_sent_as_an_invitation(meeting):
    with pytest.raises(CalendarError, match="method=REQUEST but the calendar says METHOD:PUBLISH"):
        build(publish([meeting], "Series"), "REQUEST")


def test_outbox_stores_and_sends_the_invitation_unchanged(db_session, smtp_sink, meeting, jane, tmp_path):
    rescheduled = Occurrence(**{**meeting.__dict__, "sequence": 1, "start": meeting.start + timedelta(days=1),
                                "end": meeting.end + timedelta(days=1), "status": Status.CONFIRMED})
    ics = request(rescheduled, jane)
    msg = build(ics)
    row = outbox.queue(msg, category="meeting_invitation")
    stored = db_session.get(OutboundMessage, row.id)
    assert stored.raw == msg.as_bytes(policy=policy.SMTP)
    assert stored.message_id == msg["Message-ID"] and stored.recipient == TO

    smtp_sink.handler.reset()
    with outbox.SMTPTransport(smtp_sink.url).open() as send:  # the outbox's own delivery path
        send(stored)
    [received] = smtp_sink.handler.wait_for(1)

    assert received["Message-ID"] == msg["Message-ID"]
    assert structure(received) == structure(on_the_wire(msg))
    inline, attached = calendar_parts(received)
    assert inline.get_param("method") == "REQUEST" and attached.get_content() == ics
    js = icaljs(inline.get_content().encode("utf-8"), tmp_path, zone="America/New_York")
    [ev] = js["events"]
    assert (js["method"], ev["uid"], ev["sequence"]) == ("REQUEST", meeting.uid, 1)
    assert ev["start"]["utc"] == "2027-03-29T08:00:00.000Z" and ev["start"]["local"] == "2027-03-29T04:00"
    vcal = read_vobject(attached.get_content())
    assert vcal.vevent.dtstart.value.astimezone(UTC) == datetime(2027, 3, 29, 8, tzinfo=UTC)
