"""The Meetings issue's "Done when", end to end on real services.

Staff plan a leaders' meeting (in person) and an online working-level meeting for two of Tokyo's partner cities
and invite each city's head of delegation. A real Celery worker delivers the invitations through the outbox to a
real SMTP sink (aiosmtpd); the test reads each message as a mail program would and parses its text/calendar part
with four independent readers: icalendar, vobject, Mozilla's ical.js (node) and a Radicale CalDAV server (PUT
into the person's calendar, then read back). Seoul's head accepts from Outlook (an iTIP REPLY in the office's
mailbox on a real Dovecot, read by the beat task on the worker); Paris's head accepts through the link in the
email and registers two members of the delegation. The leaders' meeting then moves: everyone invited or
registered gets an updated REQUEST (SEQUENCE 1, the new DTSTART); the working-level meeting is called off: each
invitee gets a METHOD:CANCEL with the same UID and STATUS:CANCELLED.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import requests
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress
from sqlalchemy import select

from kizuna.extensions import db
from kizuna.models import MessageStatus, OutboundMessage
from meetings import inbox, services
from meetings.models import Answer, Invitation, MailboxWatermark, Registration, RegistrationStatus
from tests.conftest import RequestIsolatingClient, csrf_token
from tests.kizuna.test_delivery import (  # noqa: F401 - fixtures, found by pytest under these names
    committed,
    delivery_app,
    delivery_worker,
    settings,
    sink,
    worker,
)
from tests.meetings.test_caldav import USER, collection, radicale  # noqa: F401 - radicale is a fixture
from tests.meetings.test_ical import icaljs, read_vobject
from tests.meetings.test_replies import PASSWORD, dovecot  # noqa: F401 - dovecot is a fixture
from tests.worker_sink import wait_until

TOKYO = "Asia/Tokyo"
TZ = ZoneInfo(TOKYO)
ICS = {"Content-Type": "text/calendar; charset=utf-8"}

LEADERS = {"titles": {"en": "Tokyo Intercity Leaders' Meeting 2027", "ja": "東京都市間首脳会議 2027"},
           "tier": "leaders", "format": "in_person", "timezone": TOKYO,
           "starts_at": datetime(2027, 5, 18, 10), "ends_at": datetime(2027, 5, 18, 17),
           "venue": "Tokyo Metropolitan Government Building", "room": "Conference Room A",
           "delegation_limit": 3, "interpretation_languages": ["en", "ja"]}
WORKING = {"titles": {"en": "Intercity working-level meeting (online)", "ja": "都市間実務者会議（オンライン）"},
           "tier": "working_level", "format": "online", "timezone": TOKYO,
           "starts_at": datetime(2027, 2, 10, 16), "ends_at": datetime(2027, 2, 10, 17, 30),
           "online_url": "https://meet.example.test/j/2027-working-level"}
OUTLOOK_ID = "<TYCP286MB2345A1B2C3D4E5F6@TYCP286MB2345.JPNP286.PROD.OUTLOOK.COM>"
MOVED = {"starts_at": datetime(2027, 5, 19, 13), "ends_at": datetime(2027, 5, 19, 18)}

SEOUL, PARIS = "head@seoul.example.test", "head@paris.example.test"
MEMBERS = [
    {"name": "Camille Laurent", "email": "camille.laurent@paris.example.test", "role": "adviser",
     "title": "Director of International Relations", "arrival_at": "2027-05-17T15:30",
     "departure_at": "2027-05-19T11:00", "dietary": "Vegetarian", "accessibility": "",
     "interpretation_language": "ja"},
    {"name": "Hugo Martin", "email": "hugo.martin@paris.example.test", "role": "interpreter", "title": "",
     "arrival_at": "", "departure_at": "", "dietary": "", "accessibility": "Step-free access",
     "interpretation_language": ""},
]


# -- what a mail program sees ------------------------------------------------------------------------------


def arrived(sink, before: int, count: int) -> dict[str, EmailMessage]:  # noqa: F811 - sink is the handler
    """The `count` messages after the first `before` at the sink, by recipient (one each)."""
    messages = sink.wait_for(before + count)[before:]
    by_recipient = {str(m["To"]): m for m in messages}
    assert len(messages) == count and len(by_recipient) == count, [(m["To"], m["Subject"]) for m in messages]
    return by_recipient


def calendar_part(message: EmailMessage, method: str) -> bytes:
    """The inline text/calendar part that Outlook and Gmail turn into buttons, checked against the attachment
    Apple Mail reads; its `method` parameter must match the calendar's METHOD (RFC 6047)."""
    [inline] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert inline.get_param("method") == method
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "invite.ics"
    ics = inline.get_payload(decode=True)
    assert attached.get_payload(decode=True) == ics
    return ics


def read_everywhere(ics: bytes, *, dav_url: str, tmp_path, method: str, uid: str, sequence: int,
                    start: datetime, status: str, partstat: str | None = None, new: bool) -> None:
    """The calendar file as four independent readers see it: the same METHOD, UID, SEQUENCE, STATUS and DTSTART
    (the same instant, written as wall-clock time in the meeting's zone, Asia/Tokyo)."""
    wall = start.astimezone(TZ)

    cal = icalendar.Calendar.from_ical(ics)
    [event] = cal.events
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])) == (
        method, uid, sequence, status)
    assert event["DTSTART"].params["TZID"] == TOKYO and event.decoded("DTSTART") == wall
    assert [tz.tz_name for tz in cal.timezones] == [TOKYO]
    if partstat:
        assert event["ATTENDEE"].params["PARTSTAT"] == partstat

    vcal = read_vobject(ics)
    assert (vcal.method.value, vcal.vevent.uid.value, int(vcal.vevent.sequence.value),
            vcal.vevent.status.value) == (method, uid, sequence, status)
    assert vcal.vevent.dtstart.value == wall  # the instant, from the file's own VTIMEZONE
    assert vcal.vevent.dtstart.value.replace(tzinfo=None) == wall.replace(tzinfo=None)

    js = icaljs(ics, tmp_path, zone=TOKYO)
    [ev] = js["events"]
    assert (js["method"], ev["uid"], ev["sequence"], ev["status"]) == (method, uid, sequence, status)
    assert ev["start"]["tzid"] == TOKYO
    assert ev["start"]["utc"] == start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert ev["start"]["local"] == wall.strftime("%Y-%m-%dT%H:%M")  # by Node's own zone data
    if partstat:
        assert ev["attendees"][0]["partstat"] == partstat

    # The person's CalDAV calendar takes the file where it keeps this meeting: an update replaces the entry.
    put = requests.put(dav_url, data=ics, auth=USER, headers=ICS, timeout=10)
    assert put.status_code == (201 if new else 204), put.text  # a new entry, or the one it holds replaced
    got = requests.get(dav_url, auth=USER, timeout=10)
    assert got.status_code == 200
    [stored] = icalendar.Calendar.from_ical(got.content).events
    assert (str(stored["UID"]), int(stored["SEQUENCE"]), str(stored["STATUS"])) == (uid, sequence, status)
    assert stored["DTSTART"].params["TZID"] == TOKYO and stored.decoded("DTSTART") == wall


# -- what a delegate sends back ----------------------------------------------------------------------------


def outlook_accept(invitation: EmailMessage, *, name: str, address: str) -> bytes:
    """The answer Outlook (on Exchange) sends when Accept is pressed on `invitation`: METHOD:REPLY in an inline
    base64 text/calendar part, times in Windows' own zone name, the organizer's UID and SEQUENCE kept."""
    request = icalendar.Calendar.from_ical(calendar_part(invitation, "REQUEST"))
    [event] = request.events
    calendar = Calendar()
    calendar.add("method", "REPLY")
    calendar.add("prodid", "Microsoft Exchange Server 2010")
    calendar.add("version", "2.0")
    zone = Timezone()
    zone.add("tzid", "Tokyo Standard Time")
    for part in (TimezoneStandard(), TimezoneDaylight()):
        part.add("dtstart", datetime(1601, 1, 1))
        part.add("tzoffsetfrom", timedelta(hours=9))
        part.add("tzoffsetto", timedelta(hours=9))
        zone.add_component(part)
    calendar.add_component(zone)
    reply = Event()
    attendee = vCalAddress(f"mailto:{address}")
    attendee.params.update({"PARTSTAT": "ACCEPTED", "CN": name})
    reply.add("attendee", attendee)
    reply.add("comment", "喜んで出席いたします。", parameters={"LANGUAGE": "ja-JP"})
    reply.add("summary", f"承諾: {event['SUMMARY']}", parameters={"LANGUAGE": "ja-JP"})
    for prop in ("DTSTART", "DTEND"):
        wall = event.decoded(prop).astimezone(TZ).replace(tzinfo=None)
        reply.add(prop, wall, parameters={"TZID": "Tokyo Standard Time"})
    reply.add("uid", str(event["UID"]))
    reply.add("organizer", event["ORGANIZER"])
    reply.add("dtstamp", datetime.now(UTC))
    reply.add("sequence", int(event["SEQUENCE"]))
    reply.add("x-microsoft-cdo-appt-sequence", str(int(event["SEQUENCE"])))
    reply.add("x-microsoft-isresponse", "TRUE")
    calendar.add_component(reply)

    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = str(invitation["From"])
    message["Subject"] = f"承諾: {event['SUMMARY']}"
    message["Message-ID"] = OUTLOOK_ID
    message["In-Reply-To"] = str(invitation["Message-ID"])
    message.set_content("承諾しました。")
    message.add_alternative(calendar.to_ical(), maintype="text", subtype="calendar", cte="base64",
                            params={"method": "REPLY", "charset": "utf-8"})
    return message.as_bytes()


# -- the story -----------------------------------------------------------------------------------------------


def fresh(statement):
    """Run `statement` in a new transaction, so what the worker committed is seen."""
    db.session.rollback()
    return db.session.execute(statement).all()


def test_plan_invite_answer_register_move_and_cancel_as_mail_programs_and_calendars_see_it(
        delivery_app, worker, sink, settings, dovecot, radicale, make_partner, make_user, tmp_path):  # noqa: F811
    staff = make_user("editor")
    seoul = make_partner(name="Seoul", country_code="KR")
    paris = make_partner(name="Paris", country_code="FR")
    series = services.create_series(titles={"en": "Tokyo intercity leaders' meeting"}, tier="leaders",
                                    rrule="FREQ=YEARLY;INTERVAL=2", actor=staff)
    leaders = services.create_meeting(actor=staff, series_id=series.id, **LEADERS)
    working = services.create_meeting(actor=staff, **WORKING)
    for meeting in (leaders, working):
        services.schedule_meeting(meeting_id=meeting.id, actor=staff)
        services.invite(meeting_id=meeting.id, email=SEOUL, name="Kim Min-jun", language="ja",
                        timezone="Asia/Seoul", partner_id=seoul.id, actor=staff)
        services.invite(meeting_id=meeting.id, email=PARIS, name="Marie Dupont", language="en",
                        timezone="Europe/Paris", partner_id=paris.id, actor=staff)
    db.session.commit()  # the worker sees the outbox rows; their delivery task is sent after this commit
    leaders_uid, working_uid, leaders_id, working_id = leaders.uid, working.uid, leaders.id, working.id
    # Each person's own calendar on the CalDAV server, where their calendar program keeps the meetings.
    dav = {who: collection(radicale, re.sub(r"[^a-z]+", "-", who))
           for who in (SEOUL, PARIS, *(m["email"] for m in MEMBERS))}

    def stored_at(who: str, meeting_id: int) -> str:
        return f"{dav[who]}meeting-{meeting_id}.ics"

    # 1. The invitations: two meetings, two heads of delegation, each in their own language.
    invitations = sink.wait_for(4)
    seen = 4
    by_meeting = {}
    for message in invitations:
        ics = calendar_part(message, "REQUEST")
        uid = str(icalendar.Calendar.from_ical(ics).events[0]["UID"])
        by_meeting[(str(message["To"]), uid)] = message
    assert set(by_meeting) == {(who, uid) for who in (SEOUL, PARIS) for uid in (leaders_uid, working_uid)}
    subjects = {key: str(m["Subject"]) for key, m in by_meeting.items()}
    assert subjects == {(SEOUL, leaders_uid): "招待：東京都市間首脳会議 2027",
                        (SEOUL, working_uid): "招待：都市間実務者会議（オンライン）",
                        (PARIS, leaders_uid): "Invitation: Tokyo Intercity Leaders' Meeting 2027",
                        (PARIS, working_uid): "Invitation: Intercity working-level meeting (online)"}
    for (who, uid), message in by_meeting.items():
        is_leaders = uid == leaders_uid
        plan = LEADERS if is_leaders else WORKING
        read_everywhere(calendar_part(message, "REQUEST"), dav_url=stored_at(who, leaders_id if is_leaders
                                                                              else working_id),
                        tmp_path=tmp_path, method="REQUEST", uid=uid, sequence=0,
                        start=plan["starts_at"].replace(tzinfo=TZ), status="CONFIRMED", partstat="NEEDS-ACTION",
                        new=True)
    paris_text = by_meeting[(PARIS, leaders_uid)].get_body(("plain",)).get_content()
    assert "When (Asia/Tokyo): Tuesday, May 18, 2027" in paris_text
    assert "Your time: Tuesday, May 18, 2027" in paris_text  # 03:00 in Paris (CEST)
    assert "Tokyo Metropolitan Government Building, Conference Room A" in paris_text
    working_text = by_meeting[(SEOUL, working_uid)].get_body(("plain",)).get_content()
    assert WORKING["online_url"] in working_text

    # 2. Seoul's head accepts in Outlook: the REPLY lands in the office's mailbox, the beat task reads it.
    office = dovecot.new_user()
    settings(REPLIES_IMAP_URL=f"imap://{office}:{PASSWORD}@127.0.0.1:{dovecot.port}/INBOX")
    dovecot.append(office, outlook_accept(by_meeting[(SEOUL, leaders_uid)], name="Kim Min-jun", address=SEOUL))
    delivery_app.extensions["celery"].send_task("meetings.read_replies")  # what beat sends every 5 minutes
    mark_key = inbox.mailbox_from_url(delivery_app.config["REPLIES_IMAP_URL"]).key
    wait_until(lambda: fresh(select(MailboxWatermark.last_uid).where(MailboxWatermark.mailbox == mark_key))
               == [(1,)], what="the worker to read the office's mailbox")
    answers = dict((email, (answer, via)) for email, answer, via in fresh(
        select(Invitation.email, Invitation.answer, Invitation.answered_via).where(
            Invitation.meeting_id == leaders_id)))
    assert answers == {SEOUL: (Answer.ACCEPTED, "mail"), PARIS: (Answer.NEEDS_ACTION, "")}
    assert dovecot.state(office) == {}  # filed away, so the next run reads nothing twice
    assert list(dovecot.state(office, f"Kizuna{dovecot.separator(office)}Processed")) == [OUTLOOK_ID]
    assert inbox.read_replies() == {"handled": 0, "failures": 0, "ignored": 0, "last_uid": 1}

    # 3. Paris's head follows the link in the email, accepts and registers two members of the delegation.
    link = re.search(r"https?://\S+/meetings/answer/\S+", paris_text).group(0)
    page = urlsplit(link).path
    browser = RequestIsolatingClient(delivery_app, delivery_app.response_class)
    html = browser.get(page).get_data(as_text=True)
    assert "<h1>Tokyo Intercity Leaders&#39; Meeting 2027</h1>" in html and 'id="current-answer">Not answered' in html
    response = browser.post(page, data={"answer": "accepted", "comment": "With pleasure.",
                                        "csrf_token": csrf_token(browser, page)})
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    for member in MEMBERS:
        response = browser.post(f"{page}/register", data={**member, "csrf_token": csrf_token(browser, page)})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    html = browser.get(page).get_data(as_text=True)
    assert 'id="current-answer">Accepted<' in html and "2 of at most 3 people registered." in html
    assert fresh(select(Invitation.answer, Invitation.answered_via).where(Invitation.email == PARIS,
                                                                          Invitation.meeting_id == leaders_id)) \
        == [(Answer.ACCEPTED, "link")]
    registered = fresh(select(Registration.email, Registration.status, Registration.role, Registration.arrival_at)
                       .where(Registration.meeting_id == leaders_id).order_by(Registration.id))
    assert [(e, s, r.value) for e, s, r, _ in registered] == [
        (MEMBERS[0]["email"], RegistrationStatus.CONFIRMED, "adviser"),
        (MEMBERS[1]["email"], RegistrationStatus.CONFIRMED, "interpreter")]
    assert registered[0][3] == datetime(2027, 5, 17, 6, 30, tzinfo=UTC)  # 15:30 in Tokyo, the host's zone
    notices = arrived(sink, seen, 2)
    seen += 2
    assert {to: str(m["Subject"]) for to, m in notices.items()} == {
        m["email"]: "Registered: Tokyo Intercity Leaders' Meeting 2027" for m in MEMBERS}

    # 4. The leaders' meeting moves a day and three hours: updated REQUESTs to everyone invited or registered.
    services.update_meeting(meeting_id=leaders_id, actor=staff, series_id=series.id, **{**LEADERS, **MOVED})
    db.session.commit()
    updates = arrived(sink, seen, 4)
    seen += 4
    assert {to: str(m["Subject"]) for to, m in updates.items()} == {
        SEOUL: "更新：東京都市間首脳会議 2027", PARIS: "Updated: Tokyo Intercity Leaders' Meeting 2027",
        **{m["email"]: "Updated: Tokyo Intercity Leaders' Meeting 2027" for m in MEMBERS}}
    for who, message in updates.items():
        read_everywhere(calendar_part(message, "REQUEST"), dav_url=stored_at(who, leaders_id), tmp_path=tmp_path,
                        method="REQUEST", uid=leaders_uid, sequence=1,
                        start=MOVED["starts_at"].replace(tzinfo=TZ), status="CONFIRMED",
                        partstat="ACCEPTED",  # the answers given are kept in the updated entries
                        new=who not in (SEOUL, PARIS))  # the members' first calendar entry is this update
    moved_text = updates[PARIS].get_body(("plain",)).get_content()
    assert "When (Asia/Tokyo): Wednesday, May 19, 2027" in moved_text
    assert "Your time: Wednesday, May 19, 2027" in moved_text  # 06:00 in Paris

    # 5. The working-level meeting is called off: a CANCEL with the same UID to each invitee.
    services.cancel_meeting(meeting_id=working_id, reason="The network secretariat postponed the work plan.",
                            actor=staff)
    db.session.commit()
    cancels = arrived(sink, seen, 2)
    seen += 2
    assert {to: str(m["Subject"]) for to, m in cancels.items()} == {
        SEOUL: "中止：都市間実務者会議（オンライン）", PARIS: "Cancelled: Intercity working-level meeting (online)"}
    for who, message in cancels.items():
        read_everywhere(calendar_part(message, "CANCEL"), dav_url=stored_at(who, working_id), tmp_path=tmp_path,
                        method="CANCEL", uid=working_uid, sequence=1, start=WORKING["starts_at"].replace(tzinfo=TZ),
                        status="CANCELLED", new=False)
    assert "The network secretariat postponed the work plan." in cancels[PARIS].get_body(("plain",)).get_content()

    # Every outbox row is marked sent, and the sink got exactly those messages, once each.
    rows = wait_until(lambda: (found := fresh(select(OutboundMessage.message_id, OutboundMessage.status)))
                      and all(status == MessageStatus.SENT for _, status in found) and found,
                      what="every outbox row to be sent")
    assert sorted(mid for mid, _ in rows) == sorted(sink.message_ids())
    assert len(rows) == seen == 12
