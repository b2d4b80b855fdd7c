"""Scheduling assistant: start times that fall inside working hours in the most participating cities."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _

MAX_DAYS = 31
MAX_DURATION = timedelta(hours=24)
MIN_STEP = timedelta(minutes=5)


class SchedulingError(ValueError):
    """Input the assistant cannot work with; `field` names the offending input (for forms and the API). The message
    is translated when raised inside a request; outside one it is English."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class WorkingHours:
    """The local wall-clock window a city works in, the same on every day; `start` must come before `end`."""

    start: time = time(8)
    end: time = time(20)


DEFAULT_HOURS = WorkingHours()


@dataclass(frozen=True)
class City:
    """A participating city: its IANA zone, how much it counts (`weight`) and, optionally, its own hours."""

    name: str
    zone: str
    weight: float = 1.0
    hours: WorkingHours | None = None


@dataclass(frozen=True)
class CityTime:
    """How one slot looks from one city: local start and end (aware, in the city's zone)."""

    city: str
    zone: str
    start: datetime
    end: datetime
    inside: bool
    # How far the meeting lies outside the city's hours: the shortest shift that would fit it inside, in minutes
    # (0 when inside); when the meeting is longer than the working day, the minutes that overflow it.
    minutes_outside: int
    weight: float


@dataclass(frozen=True)
class Slot:
    """A candidate start time: `start`/`end` in the host zone, and every city's view of it."""

    start: datetime
    end: datetime
    cities: tuple[CityTime, ...]
    cities_inside: int
    score: float  # sum of the weights of the cities inside hours; equals cities_inside when all weights are 1
    minutes_outside: float  # weighted sum of CityTime.minutes_outside

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)


@dataclass(frozen=True)
class _Prepared:
    city: City
    tz: ZoneInfo
    hours: WorkingHours
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def load_zone(name: str, field: str) -> ZoneInfo:
    """The IANA zone `name`, or a SchedulingError naming `field`."""
    if not isinstance(name, str) or name not in _zone_names():
        raise SchedulingError(_("Unknown time zone '%(zone)s': use an IANA name such as Asia/Tokyo.", zone=name), field)
    return ZoneInfo(name)


def _check_hours(hours: WorkingHours, field: str) -> WorkingHours:
    if not isinstance(hours.start, time) or not isinstance(hours.end, time):
        raise SchedulingError(_("Working hours must be times of day."), field)
    if hours.start.tzinfo is not None or hours.end.tzinfo is not None:
        raise SchedulingError(_("Working hours are local wall-clock times and carry no zone."), field)
    if hours.start >= hours.end:
        raise SchedulingError(
            _("Working hours must start before they end (got %(start)s–%(end)s).", start=f"{hours.start:%H:%M}",
                end=f"{hours.end:%H:%M}"), field)
    return hours


def _local(day: date, moment: time, tz: ZoneInfo) -> datetime:
    # A wall time skipped by a clock change (fold=0) resolves with the offset in force before it, which lands
    # on the first real instant after the gap; a repeated wall time takes its first occurrence.
    return datetime.combine(day, moment, tzinfo=tz)


def _distance(start: datetime, end: datetime, windows: list[tuple[datetime, datetime]]) -> int:
    # Windows are in time order and a day apart, so only the few around the slot can be nearest.
    index = bisect_left(windows, start, key=lambda w: w[0])
    best = math.inf
    for w_start, w_end in windows[max(0, index - 2):index + 2]:
        before = max(timedelta(0), w_start - start)
        after = max(timedelta(0), end - w_end)
        best = min(best, (before + after).total_seconds())
    return math.ceil(best / 60)


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (_local(day, time(0), tz).astimezone(UTC), _local(day + timedelta(days=1), time(0), tz).astimezone(UTC))


def propose_slots(
    cities: Sequence[City],
    *,
    first_day: date,
    last_day: date,
    duration: timedelta,
    step: timedelta = timedelta(minutes=30),
    hours: WorkingHours = DEFAULT_HOURS,
    host_zone: str | None = None,
    weekdays_only: bool = False,
    limit: int | None = None,
) -> list[Slot]:
    """Every start time from `first_day` to `last_day` (inclusive, days in the host zone), `step` apart from each
    local midnight, ranked best first.

    Rank: the weighted count of cities that hold the whole meeting inside their working hours, then the least
    weighted distance outside hours, then the earliest instant. All arithmetic is on absolute instants, so days of
    23 or 25 hours and half- or quarter-hour offsets come out right. `host_zone` defaults to the first city's zone.
    Pure and deterministic; raises SchedulingError(message, field) on bad input.
    """
    if not cities:
        raise SchedulingError(_("Choose at least one city."), "cities")
    prepared: list[_Prepared] = []
    seen: set[str] = set()
    for index, city in enumerate(cities):
        where = f"cities[{index}]"
        if not isinstance(city, City):
            raise SchedulingError(_("Each city must be a City(name, zone)."), where)
        if not city.name or not city.name.strip():
            raise SchedulingError(_("Each city needs a name."), f"{where}.name")
        if city.name in seen:
            raise SchedulingError(_("%(city)s is listed twice.", city=city.name), f"{where}.name")
        seen.add(city.name)
        tz = load_zone(city.zone, f"{where}.zone")
        weight = city.weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) \
                or weight <= 0:
            raise SchedulingError(_("The weight of %(city)s must be a positive number.", city=city.name),
                                  f"{where}.weight")
        city_hours = _check_hours(city.hours, f"{where}.hours") if city.hours is not None else None
        prepared.append(_Prepared(city, tz, city_hours or _check_hours(hours, "hours")))
    host = load_zone(host_zone, "host_zone") if host_zone is not None else prepared[0].tz

    if not isinstance(first_day, date) or isinstance(first_day, datetime):
        raise SchedulingError(_("The first day must be a date."), "first_day")
    if not isinstance(last_day, date) or isinstance(last_day, datetime):
        raise SchedulingError(_("The last day must be a date."), "last_day")
    if last_day < first_day:
        raise SchedulingError(_("The last day comes before the first day."), "last_day")
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise SchedulingError(_("The date range covers %(days)d days; choose at most %(most)d.", days=days,
                                most=MAX_DAYS), "last_day")
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise SchedulingError(_("The meeting must last longer than zero minutes."), "duration")
    if duration > MAX_DURATION:
        raise SchedulingError(_("The meeting can last at most 24 hours."), "duration")
    if not isinstance(step, timedelta) or step < MIN_STEP or step > MAX_DURATION:
        raise SchedulingError(_("The step must be between 5 minutes and 24 hours."), "step")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise SchedulingError(_("The limit must be a positive whole number."), "limit")

    span_start = _day_bounds(first_day, host)[0]
    span_end = _day_bounds(last_day, host)[1]
    for entry in prepared:
        # Windows on every local day the candidates can touch, plus a day either side for the nearest-window distance.
        lo = span_start.astimezone(entry.tz).date() - timedelta(days=2)
        hi = (span_end + duration).astimezone(entry.tz).date() + timedelta(days=2)
        day = lo
        while day <= hi:
            entry.windows.append((_local(day, entry.hours.start, entry.tz).astimezone(UTC),
                                  _local(day, entry.hours.end, entry.tz).astimezone(UTC)))
            day += timedelta(days=1)

    slots: list[Slot] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if weekdays_only and day.weekday() >= 5:
            continue
        moment, day_end = _day_bounds(day, host)
        while moment < day_end:
            slots.append(_slot(moment, moment + duration, prepared, host))
            moment += step
    slots.sort(key=lambda s: (-s.score, s.minutes_outside, s.start_utc))
    return slots[:limit] if limit is not None else slots


def _slot(start: datetime, end: datetime, prepared: list[_Prepared], host: ZoneInfo) -> Slot:
    views = []
    for entry in prepared:
        minutes = _distance(start, end, entry.windows)
        views.append(CityTime(city=entry.city.name, zone=entry.city.zone, start=start.astimezone(entry.tz),
                              end=end.astimezone(entry.tz), inside=minutes == 0, minutes_outside=minutes,
                              weight=float(entry.city.weight)))
    inside = [v for v in views if v.inside]
    return Slot(start=start.astimezone(host), end=end.astimezone(host), cities=tuple(views),
                cities_inside=len(inside), score=sum(v.weight for v in inside),
                minutes_outside=sum(v.weight * v.minutes_outside for v in views))
