"""The scheduling assistant's page for staff: ranked start times for the chosen cities (routes on meetings.views.bp).

The form travels in the query string, so that a proposal can be bookmarked and shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask import request
from flask_babel import get_locale
from sqlalchemy import select

from kizuna import auth
from kizuna.extensions import db
from kizuna.i18n import home_timezone
from kizuna.models import Role
from network import services as network_services
from network.models import City as ReferenceCity
from network.models import Partner

from .forms_schedule import ScheduleForm
from .models import Delegation, Invitation, Meeting
from .scheduling import City, CityTime, SchedulingError, Slot, WorkingHours, propose_slots
from .views import _attach, _id, _language, _render, bp

BEST = 20  # slots shown


@dataclass(frozen=True)
class Participant:
    """A city on the page: the partner it stands for (None for the home city), its name and zone."""

    partner_id: int | None
    name: str
    zone: str


# -- reads ----------------------------------------------------------------------------------------


def _partners(language: str) -> list[Participant]:
    """Every partner with a reference city (hence a zone), by name in the reader's language."""
    rows = db.session.execute(
        select(Partner.id, Partner.name, Partner.name_ja, ReferenceCity.timezone)
        .join(ReferenceCity, Partner.city_id == ReferenceCity.id)).all()
    found = [Participant(pid, (ja if language == "ja" else None) or name, zone) for pid, name, ja, zone in rows]
    return sorted(found, key=lambda p: (p.name.casefold(), p.partner_id))


def _invited_partner_ids(meeting_id: int) -> set[int]:
    """The partner cities whose delegations are invited to the meeting (live invitations and delegations)."""
    invited = db.session.scalars(select(Invitation.partner_id).where(
        Invitation.meeting_id == meeting_id, Invitation.partner_id.is_not(None), Invitation.removed_at.is_(None)))
    delegated = db.session.scalars(select(Delegation.partner_id).where(Delegation.meeting_id == meeting_id))
    return set(invited) | set(delegated)


# -- presentation ---------------------------------------------------------------------------------


def _offset(moment: datetime) -> str:
    """The zone's abbreviation where it has one (CEST, EDT, JST) and its UTC offset: UTC+02:00."""
    delta = moment.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    offset = f"UTC{sign}{hours:02d}:{rest:02d}"
    name = moment.tzname() or ""
    return f"{name}, {offset}" if name.isalpha() else offset


def _day(moment: datetime) -> str:
    """The local date in the reader's language: Fri, Oct 23, 2026 / 2026年10月23日(金)."""
    return format_skeleton("yMMMEd", moment, tzinfo=moment.tzinfo, locale=get_locale() or "en")


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


@dataclass(frozen=True)
class Cell:
    day: str
    start: str
    end: str
    zone: str
    inside: bool


@dataclass(frozen=True)
class Row:
    start: str
    zone: str
    inside: int
    cells: tuple[Cell, ...]


def _cell(view: CityTime) -> Cell:
    end = _clock(view.end)
    if view.end.date() != view.start.date():  # past local midnight
        end = f"{_day(view.end)} {end}"
    return Cell(day=_day(view.start), start=_clock(view.start), end=end, zone=_offset(view.start),
                inside=view.inside)


def _row(slot: Slot) -> Row:
    return Row(start=f"{_day(slot.start)} {_clock(slot.start)}", zone=_offset(slot.start),
               inside=slot.cities_inside, cells=tuple(_cell(view) for view in slot.cities))


# -- the page -------------------------------------------------------------------------------------

# Where each of the assistant's complaints belongs on the form.
FIELDS = {"hours": "hours_end", "host_zone": "host_zone"}


def _field_for(name: str) -> str:
    if name.startswith("cities"):
        return "cities"
    return FIELDS.get(name, name)


def _clock_changes(cities: list[Participant], first_day: date, last_day: date) -> list[tuple[str, str, str]]:
    """(city, offset before, offset after) for each city whose clocks change between the first and the last day."""
    changes = []
    for city in cities:
        zone = ZoneInfo(city.zone)
        before = datetime.combine(first_day, time(0), zone)
        after = datetime.combine(last_day + timedelta(days=1), time(0), zone)
        if before.utcoffset() != after.utcoffset():
            changes.append((city.name, _offset(before), _offset(after)))
    return changes


def _unique(participants: list[Participant]) -> list[Participant]:
    # The assistant tells cities apart by name: a namesake gets its zone added.
    seen: set[str] = set()
    result = []
    for p in participants:
        name = p.name if p.name not in seen else f"{p.name} ({p.zone})"
        if name in seen:
            name = f"{name} #{p.partner_id}"
        seen.add(name)
        result.append(Participant(p.partner_id, name, p.zone))
    return result


@bp.get("/schedule")
@auth.roles_required(Role.VIEWER)
def propose_times():
    language = _language()
    meeting = None
    if "meeting" in request.args:
        meeting = db.get_or_404(Meeting, _id(request.args["meeting"]) or 0)
    partners = _partners(language)
    by_id = {p.partner_id: p for p in partners}
    home = network_services.home_city()
    home_zone = home.timezone if home is not None else home_timezone()
    form_kwargs = {"partner_choices": [(p.partner_id, f"{p.name} ({p.zone.replace('_', ' ')})") for p in partners]}

    submitted = "first_day" in request.args
    if submitted:
        form = ScheduleForm(formdata=request.args, **form_kwargs)
        if not form.host_zone.data:
            form.host_zone.data = meeting.timezone if meeting is not None else home_zone
    else:
        defaults: dict = {"host_zone": home_zone}
        first = datetime.now(ZoneInfo(home_zone)).date() + timedelta(days=1)
        if meeting is not None:
            defaults["host_zone"] = meeting.timezone
            defaults["cities"] = sorted(i for i in _invited_partner_ids(meeting.id) if i in by_id)
            minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
            defaults["duration"] = min(max(30, round(minutes / 30) * 30), 8 * 60)
            # Propose from the meeting's own (local) day unless it is past.
            local_day = meeting.starts_at.replace(tzinfo=UTC).astimezone(ZoneInfo(meeting.timezone)).date()
            first = max(first, local_day)
        defaults |= {"first_day": first, "last_day": first + timedelta(days=6)}
        form = ScheduleForm(formdata=None, data=defaults, **form_kwargs)

    rows, cities, changes, problem, status = [], [], [], None, 200
    if submitted:
        if form.validate():
            chosen = [by_id[pid] for pid in dict.fromkeys(form.cities.data or ()) if pid in by_id]
            if home is not None:
                chosen.insert(0, Participant(None, home.name, home.timezone))
            cities = _unique(chosen)
            try:
                slots = propose_slots(
                    [City(c.name, c.zone) for c in cities], first_day=form.first_day.data,
                    last_day=form.last_day.data, duration=timedelta(minutes=form.duration.data),
                    hours=WorkingHours(form.hours_start.data, form.hours_end.data),
                    host_zone=form.host_zone.data, weekdays_only=form.weekdays_only.data, limit=BEST)
            except SchedulingError as exc:
                problem = _attach(form, exc, {exc.field: _field_for(exc.field)})
                status = 422
            else:
                rows = [_row(slot) for slot in slots]
                changes = _clock_changes(cities, form.first_day.data, form.last_day.data)
        else:
            status = 422
    return _render("schedule", status, form=form, meeting=meeting, home=home, rows=rows, cities=cities,
                   changes=changes, problem=problem, submitted=submitted and status == 200)

