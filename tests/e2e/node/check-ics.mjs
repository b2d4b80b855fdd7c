// Parse an iCalendar file with Mozilla's ical.js (the parser of Thunderbird) and print what it read as JSON.
//   node check-ics.mjs FILE [--zone IANA/Zone]
// Exits 1 with "invalid: ..." on stderr when ical.js refuses the file, when a TZID has no VTIMEZONE
// in the file, or when ical.js cannot resolve an event's start. With --zone, each event's start and
// end are also given as wall-clock times in that zone, converted by Node's own time zone database
// (Intl), so the times are checked by a second, independent implementation.
import { readFileSync } from "node:fs";

let ICAL;
try {
  ({ default: ICAL } = await import("ical.js"));
} catch (e) {
  console.error(`ical.js is not installed (${e.code || e.message}): run \`npm ci --prefix tests/e2e/node\``);
  process.exit(2);
}

const args = process.argv.slice(2);
const zoneAt = args.indexOf("--zone");
const zone = zoneAt >= 0 ? args.splice(zoneAt, 2)[1] : null;
const file = args[0];
if (!file) {
  console.error("usage: node check-ics.mjs FILE [--zone IANA/Zone]");
  process.exit(2);
}

function wallClock(date, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    }).formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function address(prop) {
  if (!prop) return null;
  const params = {};
  for (const name of ["cn", "role", "partstat", "rsvp", "language", "cutype"]) {
    const v = prop.getParameter(name);
    if (v !== undefined && v !== null) params[name] = v;
  }
  return { value: prop.getFirstValue(), ...params };
}

function time(t) {
  const date = t.toJSDate();
  const out = { utc: date.toISOString(), date_only: t.isDate, tzid: t.isDate ? null : t.zone?.tzid ?? null };
  if (t.isDate) out.value = t.toString();
  if (zone && !t.isDate) out.local = wallClock(date, zone);
  return out;
}

try {
  const cal = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  if (cal.name !== "vcalendar") throw new Error(`top component is ${cal.name}`);
  const tzids = cal.getAllSubcomponents("vtimezone").map((tz) => tz.getFirstPropertyValue("tzid"));
  const events = cal.getAllSubcomponents("vevent").map((vevent) => {
    for (const prop of vevent.getAllProperties()) {
      const tzid = prop.getParameter("tzid");
      if (tzid && !tzids.includes(tzid)) throw new Error(`${prop.name} uses TZID ${tzid} without a VTIMEZONE`);
    }
    const ev = new ICAL.Event(vevent);
    const start = time(ev.startDate);
    const tzid = vevent.getFirstProperty("dtstart").getParameter("tzid") ?? null;
    if (tzid && start.tzid !== tzid) throw new Error(`DTSTART's zone ${tzid} did not resolve (got ${start.tzid})`);
    return {
      uid: ev.uid,
      sequence: ev.sequence,
      summary: ev.summary,
      description: ev.description,
      location: ev.location,
      status: vevent.getFirstPropertyValue("status"),
      url: vevent.getFirstPropertyValue("url"),
      conference: vevent.getAllProperties("conference").map((p) => p.getFirstValue()),
      organizer: address(vevent.getFirstProperty("organizer")),
      attendees: vevent.getAllProperties("attendee").map(address),
      start,
      end: time(ev.endDate),
    };
  });
  const prop = (name) => cal.getFirstPropertyValue(name);
  const refresh = prop("refresh-interval");
  console.log(JSON.stringify({
    method: prop("method"),
    name: prop("name"),
    x_wr_calname: prop("x-wr-calname"),
    refresh_seconds: refresh ? refresh.toSeconds() : null,
    timezones: tzids,
    events,
  }));
} catch (e) {
  console.error(`invalid: ${e.message}`);
  process.exit(1);
}
