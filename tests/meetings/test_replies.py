"""Replies from Outlook, Gmail and Apple Mail: read from their MIME, and fetched from a real Dovecot over IMAP."""

import imaplib
import re
import ssl
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar, Event, vCalAddress

from meetings.replies import (
    PROCESSED_MAILBOX,
    PartStat,
    Reply,
    ReplyError,
    ReplyRejected,
    fetch_replies,
    parse_replies,
    parse_reply,
)
from tests.imap_server import PASSWORD, Dovecot, running_dovecot

DATA = Path(__file__).parent / "data" / "replies"
MEETING_UID = "meeting-42@kizuna.example.test"


def load(name: str, mail_policy=policy.default):
    return message_from_bytes((DATA / name).read_bytes(), policy=mail_policy)


# --- the three mail programs ------------------------------------------------------------------------

@pytest.mark.parametrize("mail_policy", [policy.default, policy.compat32], ids=["default", "compat32"])
def test_outlook_accept_is_read_from_the_base64_inline_calendar_part(mail_policy):
    reply = parse_reply(load("outlook_accepted.eml", mail_policy))
    assert reply == Reply(
        uid=MEETING_UID, sequence=2, recurrence_id=None,
        attendee_email="marie.dupont-lefevre@paris.example.test", attendee_name="Dupont-Lefèvre, Marie",
        partstat=PartStat.ACCEPTED,
        comment="Delighted to attend. Our delegation will be the mayor and two staff; we will register them "
                "through the link.",
        dtstamp=datetime(2026, 11, 25, 9, 12, 33, tzinfo=UTC),
        sender="marie.dupont-lefevre@paris.example.test",
    )


def test_outlook_answer_to_one_occurrence_in_a_windows_zone_comes_out_in_utc():
    message = load("outlook_accepted.eml")
    ics = next(p for p in message.walk() if p.get_content_type() == "text/calendar").get_payload(decode=True)
    ics = ics.replace(b"UID:meeting-42@", b"RECURRENCE-ID;TZID=Tokyo Standard Time:20270518T100000\r\nUID:meeting-42@")
    assert parse_reply(reply_mail(ics)).recurrence_id == datetime(2027, 5, 18, 1, 0, tzinfo=UTC)
    # Exchange names the zone in Windows' words even where it leaves its VTIMEZONE out.
    bare = ics.replace(ics[ics.index(b"BEGIN:VTIMEZONE"):ics.index(b"BEGIN:VEVENT")], b"")
    assert parse_reply(reply_mail(bare)).recurrence_id == datetime(2027, 5, 18, 1, 0, tzinfo=UTC)


def test_a_windows_zone_is_read_as_its_name_says_whatever_an_earlier_file_defined():
    """icalendar keeps the first VTIMEZONE of each name it meets in a process; a reply must not inherit a
    stranger's "Tokyo Standard Time" (here one eight hours ahead of UTC)."""
    Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Tokyo Standard Time\r\n"
        b"BEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0800\r\nTZOFFSETTO:+0800\r\n"
        b"END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:other@example.org\r\nDTSTAMP:20260101T000000Z\r\n"
        b"DTSTART;TZID=Tokyo Standard Time:20270518T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").walk("VEVENT")
    message = load("outlook_accepted.eml")
    ics = next(p for p in message.walk() if p.get_content_type() == "text/calendar").get_payload(decode=True)
    ics = ics.replace(b"UID:meeting-42@", b"RECURRENCE-ID;TZID=Tokyo Standard Time:20270518T100000\r\nUID:meeting-42@")
    assert parse_reply(reply_mail(ics)).recurrence_id == datetime(2027, 5, 18, 1, 0, tzinfo=UTC)


def test_gmail_decline_sent_inline_and_as_invite_ics_is_one_answer():
    message = load("gmail_declined.eml")
    calendars = [p for p in message.walk() if p.get_content_type() in ("text/calendar", "application/ics")]
    assert [p.get_filename() for p in calendars] == [None, "invite.ics"]
    assert calendars[0].get_payload(decode=True) == calendars[1].get_payload(decode=True)

    (reply,) = parse_replies(message)
    assert reply.partstat is PartStat.DECLINED
    assert (reply.uid, reply.sequence) == (MEETING_UID, 2)
    assert reply.attendee_email == "minjun.kim@seoul.example.test"
    assert reply.attendee_name == "김민준 (Kim Min-jun)"  # folded mid-line by Google, unfolded whole
    assert reply.comment == "The Assembly sits that week. Our Deputy Mayor will answer separately."
    assert reply.dtstamp == datetime(2026, 11, 25, 10, 2, 11, tzinfo=UTC)


def test_gmail_invite_ics_alone_is_read_when_the_inline_part_is_gone():
    """Some gateways drop the alternative they cannot show; the attachment still carries the answer."""
    message = load("gmail_declined.eml")
    alternative = message.get_payload()[0]
    alternative.set_payload([p for p in alternative.get_payload() if p.get_content_type() != "text/calendar"])
    assert parse_reply(message).partstat is PartStat.DECLINED


def test_apple_tentative_for_one_occurrence_is_read_from_a_quoted_printable_attachment():
    message = load("apple_tentative.eml")
    # Apple Mail's layout: the .ics sits in a multipart/mixed inside multipart/alternative, with
    # neither method nor charset parameter, its CR LF encoded as =0D=0A.
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert (part.get_filename(), part.get_param("method"), part.get_param("charset")) == (
        "iCal-20261125-113015.ics", None, None)

    reply = parse_reply(message)
    assert reply.partstat is PartStat.TENTATIVE
    assert reply.uid == "series-7-working-level@kizuna.example.test"
    assert reply.recurrence_id == datetime(2027, 1, 20, 7, 0, tzinfo=UTC)  # 16:00 in Tokyo
    assert (reply.attendee_email, reply.attendee_name) == ("sophie.martin@lyon.example.test", "Sophie Martin")
    assert reply.comment is None
    assert reply.sequence == 0


@pytest.mark.parametrize("name", ["newsletter.eml", "out_of_office.eml", "forwarded.eml", "bounce.eml"])
def test_mail_that_is_not_a_reply_gives_none(name):
    # forwarded.eml holds our REQUEST and, inside an attached message, Marie's REPLY: neither is an answer
    # from the person who sent this email. bounce.eml returns our own REQUEST inside message/rfc822.
    assert parse_reply(load(name)) is None
    assert parse_replies(load(name)) == ()


def test_a_truncated_calendar_part_is_a_clear_error():
    with pytest.raises(ReplyError, match=r"^The calendar part is not iCalendar: .*components"):
        parse_reply(load("broken_truncated.eml"))


# --- built messages: charsets, shapes and bad input -------------------------------------------------

def calendar_bytes(*, method: str | None = "REPLY", events: int = 1, charset: str = "utf-8",
                   **overrides) -> bytes:
    """A REPLY as icalendar writes it; overrides replace event properties (None removes one)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Test//Replies//EN")
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    for n in range(events):
        event = Event()
        attendee = vCalAddress("MAILTO:Yuki.Sato@Sapporo.example.test")
        attendee.params.update({"CN": "佐藤 由紀", "PARTSTAT": "ACCEPTED"})
        props = {"uid": MEETING_UID, "dtstamp": datetime(2026, 11, 25, 12, 0, tzinfo=UTC), "sequence": 3,
                 "attendee": attendee, "comment": "出席します。"}
        if events > 1:
            props["recurrence-id"] = date(2027, 1, 20 + 7 * n)
        props.update(overrides)
        for name, value in props.items():
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                event.add(name, item)
        calendar.add_component(event)
    return calendar.to_ical().decode().encode(charset)


def reply_mail(ics: bytes, *, inline: bool = True, filename: str | None = None, charset: str = "utf-8",
               maintype: str = "text", subtype: str = "calendar", cte: str = "base64",
               method_param: str | None = "REPLY") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Yuki Sato <yuki.sato@sapporo.example.test>"
    message["To"] = "meetings@kizuna.example.test"
    message["Subject"] = "Accepted: Tokyo Intercity Leaders' Meeting 2027"
    message["Message-ID"] = "<built@sapporo.example.test>"
    message.set_content("Accepted.")
    params = {"charset": charset} | ({"method": method_param} if method_param else {})
    if inline:
        message.add_alternative(ics, maintype=maintype, subtype=subtype, cte=cte, params=params)
    else:
        message.add_attachment(ics, maintype=maintype, subtype=subtype, cte=cte, params=params,
                               filename=filename)
    return message


@pytest.mark.parametrize("charset, cte", [("utf-8", "base64"), ("shift_jis", "base64"), ("utf-8", "quoted-printable"),
                                          ("iso-2022-jp", "7bit"), ("utf-16", "base64")])
def test_any_charset_and_transfer_encoding_is_decoded(charset, cte):
    reply = parse_reply(reply_mail(calendar_bytes(charset=charset), charset=charset, cte=cte))
    assert (reply.attendee_name, reply.comment) == ("佐藤 由紀", "出席します。")
    assert reply.attendee_email == "yuki.sato@sapporo.example.test"


def test_reply_ics_attached_as_octet_stream_is_found_by_its_name():
    message = reply_mail(calendar_bytes(), inline=False, filename="reply.ics", maintype="application",
                         subtype="octet-stream", method_param=None)
    assert parse_reply(message).partstat is PartStat.ACCEPTED


def test_method_parameter_stands_in_when_the_calendar_leaves_method_out():
    assert parse_reply(reply_mail(calendar_bytes(method=None))).uid == MEETING_UID
    assert parse_reply(reply_mail(calendar_bytes(method=None), method_param=None)) is None


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL", "PUBLISH", "COUNTER"])
def test_other_itip_methods_are_not_replies(method):
    assert parse_reply(reply_mail(calendar_bytes(method=method), method_param=method)) is None


def test_a_delegation_names_the_delegator_and_whom_they_delegated_to():
    delegator = vCalAddress("mailto:mayor@sapporo.example.test")
    delegator.params.update({"PARTSTAT": "DELEGATED", "DELEGATED-TO": "mailto:Deputy@Sapporo.example.test",
                             "CN": "Mayor of Sapporo"})
    delegate = vCalAddress("mailto:deputy@sapporo.example.test")
    delegate.params.update({"PARTSTAT": "NEEDS-ACTION", "DELEGATED-FROM": "mailto:mayor@sapporo.example.test"})
    reply = parse_reply(reply_mail(calendar_bytes(attendee=[delegator, delegate])))
    assert (reply.partstat, reply.attendee_email) == (PartStat.DELEGATED, "mayor@sapporo.example.test")
    assert reply.delegated_to == "deputy@sapporo.example.test"


def test_answers_to_several_occurrences_come_one_per_event():
    message = reply_mail(calendar_bytes(events=2))
    assert [r.recurrence_id for r in parse_replies(message)] == [date(2027, 1, 20), date(2027, 1, 27)]
    with pytest.raises(ReplyError, match="answers 2 occurrences .* parse_replies"):
        parse_reply(message)


def test_a_floating_dtstamp_is_read_as_utc_and_an_aware_one_converted():
    floating = parse_reply(reply_mail(calendar_bytes(dtstamp=datetime(2026, 11, 25, 12, 0))))
    assert floating.dtstamp == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_attendee_given_as_urn_with_email_parameter():
    attendee = vCalAddress("urn:uuid:0b0c7f36-5d0e-4c5f-9a1e-6f1d2b3c4d5e")
    attendee.params.update({"EMAIL": "Yuki.Sato@sapporo.example.test", "PARTSTAT": "TENTATIVE"})
    reply = parse_reply(reply_mail(calendar_bytes(attendee=attendee)))
    assert (reply.attendee_email, reply.partstat) == ("yuki.sato@sapporo.example.test", PartStat.TENTATIVE)


def needs_action():
    attendee = vCalAddress("mailto:yuki.sato@sapporo.example.test")
    attendee.params["PARTSTAT"] = "NEEDS-ACTION"
    return attendee


def two_answering():
    first, second = (vCalAddress(f"mailto:{who}@elsewhere.example.test") for who in ("a", "b"))
    first.params["PARTSTAT"] = second.params["PARTSTAT"] = "ACCEPTED"
    return [first, second]


@pytest.mark.parametrize("overrides, error", [
    ({"uid": None}, "has no UID"),
    ({"dtstamp": None}, "has no DTSTAMP"),
    ({"attendee": None}, "names no attendee"),
    ({"attendee": vCalAddress("mailto:nobody")}, "without an email address"),
    ({"attendee": vCalAddress("mailto:yuki.sato@sapporo.example.test")}, "answers 'nothing'"),
    ({"attendee": needs_action()}, "answers 'NEEDS-ACTION', not one of ACCEPTED, DECLINED, TENTATIVE, DELEGATED"),
    ({"attendee": two_answering()}, "names 2 attendees and none of them is clearly the one answering"),
    ({"uid": ["one@x", "two@x"]}, "has 2 UID properties"),
])
def test_a_broken_reply_says_what_is_wrong(overrides, error):
    with pytest.raises(ReplyError, match=re.escape(error)):
        parse_reply(reply_mail(calendar_bytes(**overrides)))


def test_a_property_that_does_not_parse_is_named():
    ics = calendar_bytes().replace(b"DTSTAMP:20261125T120000Z", b"DTSTAMP:tomorrow")
    with pytest.raises(ReplyError, match="malformed: DTSTAMP"):
        parse_reply(reply_mail(ics))


@pytest.mark.parametrize("method_param", ["PUBLISH", None])
def test_a_broken_calendar_that_is_not_a_reply_is_just_mail(method_param):
    """A partner's newsletter with a damaged event attachment is not our problem to flag."""
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:fair@x\r\n"
    assert parse_reply(reply_mail(ics, inline=False, filename="event.ics", method_param=method_param)) is None


def test_a_broken_calendar_that_says_reply_only_in_its_text_is_an_error():
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:fair@x\r\n"
    with pytest.raises(ReplyError, match="not iCalendar"):
        parse_reply(reply_mail(ics, inline=False, filename="reply.ics", method_param=None))


@pytest.mark.parametrize("ics, charset, error", [
    (b"", "utf-8", "The calendar part is empty."),
    (b"Hello, see you in Tokyo!", "utf-8", "not iCalendar"),
    (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Yuki\r\nEND:VCARD\r\n", "utf-8", "holds a VCARD, not a VCALENDAR"),
    (b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n", "utf-8", "holds no event"),
    ("出席".encode("shift_jis"), "utf-8", "not valid utf-8"),
    (b"BEGIN:VCALENDAR\r\n", "x-klingon", "unknown charset 'x-klingon'"),
])
def test_an_unreadable_calendar_part_is_a_clear_error(ics, charset, error):
    with pytest.raises(ReplyError, match=re.escape(error)):
        parse_reply(reply_mail(ics, charset=charset))


# --- a real Dovecot on loopback ---------------------------------------------------------------------

class ReplyDovecot(Dovecot):
    data = DATA

    def fetch(self, user: str, **kwargs):
        handled: list[tuple[Reply, str | None]] = []
        kwargs.setdefault("handle", lambda reply, message_id: handled.append((reply, message_id)))
        result = fetch_replies("127.0.0.1", self.port, user, PASSWORD, security="none", **kwargs)
        return result, handled


@pytest.fixture(scope="module")
def dovecot():
    with running_dovecot(ReplyDovecot) as server:
        yield server


OUTLOOK_ID = "<PR3P192MB0714C2D1A8E94F3B9D0E6A51C4A92@PR3P192MB0714.EURP192.PROD.OUTLOOK.COM>"
GMAIL_ID = "<calendar-5f1e6a9c-2b7d-4c0e-9a61-3d8f0b7e4c21@google.com>"
APPLE_ID = "<E3A9C1F2-77B0-4D1E-8F5A-2C6B9D0E1F43@lyon.example.test>"
BROKEN_ID = "<SG2P153MB0411A1B2C3D4E5F60718293A4B5C6D7E@SG2P153MB0411.APCP153.PROD.OUTLOOK.COM>"
NEWSLETTER_ID = "<bulletin-2026-11@citynet.example.test>"
BOUNCE_ID = "<20261125090041.3F2A81C0042@mx1.kizuna.example.test>"
OOF_ID = "<AM9P192MB1234ABCD5678EF90A1B2C3D4E5F6A@AM9P192MB1234.EURP192.PROD.OUTLOOK.COM>"


def test_replies_are_handled_once_filed_and_the_rest_left_alone(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, "outlook_accepted.eml", "newsletter.eml", "gmail_declined.eml",
                   "broken_truncated.eml", "apple_tentative.eml", "out_of_office.eml", "bounce.eml")

    result, handled = dovecot.fetch(user)

    assert [(r.attendee_email, r.partstat, mid) for r, mid in handled] == [
        ("marie.dupont-lefevre@paris.example.test", PartStat.ACCEPTED, OUTLOOK_ID),
        ("minjun.kim@seoul.example.test", PartStat.DECLINED, GMAIL_ID),
        ("sophie.martin@lyon.example.test", PartStat.TENTATIVE, APPLE_ID),
    ]
    assert result.handled == (OUTLOOK_ID, GMAIL_ID, APPLE_ID)
    assert [(f.uid, f.message_id) for f in result.failures] == [(4, BROKEN_ID)]
    assert "not iCalendar" in result.failures[0].error
    assert (result.last_uid, result.ignored, result.restarted) == (7, 3, False)

    processed = dovecot.separator(user).join(PROCESSED_MAILBOX)
    assert dovecot.state(user, processed) == {OUTLOOK_ID: {"\\Seen"}, GMAIL_ID: {"\\Seen"}, APPLE_ID: {"\\Seen"}}
    # The broken reply stays for a person to look at, flagged and unread; other mail stays unread.
    assert dovecot.state(user) == {BROKEN_ID: {"\\Flagged"}, NEWSLETTER_ID: set(), OOF_ID: set(),
                                   BOUNCE_ID: set()}

    again, handled_again = dovecot.fetch(user, since_uid=result.last_uid, uidvalidity=result.uidvalidity)
    assert handled_again == []
    assert (again.last_uid, again.uidvalidity, again.failures, again.ignored) == (7, result.uidvalidity, (), 0)

    late = (DATA / "outlook_accepted.eml").read_bytes().replace(
        b"PR3P192MB0714C2D1A8E94F3B9D0E6A51C4A92@", b"PR3P192MB0714C2D1A8E94F3B9D0E6A51C4A93@")
    dovecot.append(user, late)
    third, handled_third = dovecot.fetch(user, since_uid=again.last_uid, uidvalidity=again.uidvalidity)
    assert [mid for _, mid in handled_third] == [OUTLOOK_ID.replace("A92@", "A93@")]
    assert third.last_uid == 8
    assert len(dovecot.state(user, processed)) == 4


def test_a_changed_uidvalidity_reads_the_mailbox_from_the_start(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, "newsletter.eml", "gmail_declined.eml")
    first, _ = dovecot.fetch(user, move_to=None)
    assert first.last_uid == 2
    dovecot.append(user, "apple_tentative.eml")

    # The stored watermark belongs to an older mailbox (restored from backup, recreated): UID 2
    # there says nothing about UID 2 here.
    result, handled = dovecot.fetch(user, since_uid=5, uidvalidity=first.uidvalidity - 1)

    assert result.restarted
    assert [mid for _, mid in handled] == [GMAIL_ID, APPLE_ID]
    assert (result.uidvalidity, result.last_uid) == (first.uidvalidity, 3)


def test_a_limited_run_reads_the_oldest_and_leaves_the_rest_above_its_watermark(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, "outlook_accepted.eml", "newsletter.eml", "gmail_declined.eml")
    first, handled = dovecot.fetch(user, limit=2)
    assert ([mid for _, mid in handled], first.last_uid, first.ignored) == ([OUTLOOK_ID], 2, 1)
    second, handled = dovecot.fetch(user, since_uid=first.last_uid, uidvalidity=first.uidvalidity, limit=2)
    assert ([mid for _, mid in handled], second.last_uid) == ([GMAIL_ID], 3)


def test_move_to_none_marks_replies_seen_where_they_are(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, "outlook_accepted.eml", "newsletter.eml")
    result, handled = dovecot.fetch(user, move_to=None)
    assert [mid for _, mid in handled] == [OUTLOOK_ID]
    assert dovecot.state(user) == {OUTLOOK_ID: {"\\Seen"}, NEWSLETTER_ID: set()}


def test_a_reply_the_handler_rejects_is_flagged_and_the_others_go_on(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, "gmail_declined.eml", "outlook_accepted.eml")
    taken = []

    def handle(reply, message_id):
        if reply.attendee_email.endswith("@seoul.example.test"):
            raise ReplyRejected(f"{reply.attendee_email} was not invited to {reply.uid}")
        taken.append(message_id)

    result, _ = dovecot.fetch(user, handle=handle)
    assert taken == [OUTLOOK_ID]
    assert [(f.message_id, f.error) for f in result.failures] == [
        (GMAIL_ID, f"minjun.kim@seoul.example.test was not invited to {MEETING_UID}")]
    assert dovecot.state(user) == {GMAIL_ID: {"\\Flagged"}}


def test_a_handler_crash_stops_the_run_and_the_next_run_retries_from_the_old_watermark(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, "outlook_accepted.eml", "gmail_declined.eml", "apple_tentative.eml")
    taken = []

    def flaky(reply, message_id):
        if message_id == GMAIL_ID:
            raise ConnectionError("database went away")
        taken.append(message_id)

    with pytest.raises(ConnectionError, match="database went away"):
        dovecot.fetch(user, handle=flaky)
    assert taken == [OUTLOOK_ID]
    assert dovecot.state(user) == {GMAIL_ID: set(), APPLE_ID: set()}

    result, handled = dovecot.fetch(user)  # the stored watermark never moved: start from it again
    assert [mid for _, mid in handled] == [GMAIL_ID, APPLE_ID]
    assert result.last_uid == 3
    assert dovecot.state(user) == {}


def test_an_existing_processed_folder_is_reused(dovecot):
    user = dovecot.new_user()
    processed = dovecot.separator(user).join(PROCESSED_MAILBOX)
    imap = dovecot.client(user)
    assert imap.create(f'"{processed}"')[0] == "OK"
    imap.logout()
    dovecot.append(user, "apple_tentative.eml")
    result, _ = dovecot.fetch(user)
    assert result.handled == (APPLE_ID,)
    assert dovecot.state(user, processed) == {APPLE_ID: {"\\Seen"}}


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_connections_verify_the_server(dovecot, security):
    user = dovecot.new_user()
    dovecot.append(user, "outlook_accepted.eml")
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    seen = []
    result = fetch_replies("127.0.0.1", port, user, PASSWORD, security=security, ssl_context=dovecot.context,
                           handle=lambda reply, mid: seen.append(mid))
    assert seen == [OUTLOOK_ID] and result.last_uid == 1

    with pytest.raises(ssl.SSLCertVerificationError):  # the default context does not trust a self-signed cert
        fetch_replies("127.0.0.1", port, user, PASSWORD, security=security, handle=seen.append)


def test_a_wrong_password_or_mailbox_is_an_imap_error(dovecot):
    user = dovecot.new_user()
    with pytest.raises(ValueError, match="security must be"):
        fetch_replies("127.0.0.1", dovecot.port, user, PASSWORD, security="tls", handle=print)
    with pytest.raises(imaplib.IMAP4.error, match="select Replies failed: Mailbox doesn't exist"):
        fetch_replies("127.0.0.1", dovecot.port, user, PASSWORD, security="none", mailbox="Replies", handle=print)
    # Last: after a failed login dovecot slows down the next logins from this address.
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        fetch_replies("127.0.0.1", dovecot.port, user, "wrong", security="none", handle=print)
