"""The scheduling assistant: ranked start times, each city's local view, right across clock changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from meetings.scheduling import City, SchedulingError, WorkingHours, propose_slots

HOUR = timedelta(hours=1)
HALF = timedelta(minutes=30)
MIX = [City("Tokyo", "Asia/Tokyo"), City("Sydney", "Australia/Sydney"), City("London", "Europe/London"),
       City("New York", "America/New_York")]


def local_views(slot):
    return {view.city: view for view in slot.cities}


def test_every_slot_shows_every_city_in_its_own_zone_and_agrees_with_the_wall_clock():
    """An independent oracle: inside hours means the local start and end fall on one local day between 08:00 and
    20:00. Checked for every slot of a month that holds the European, American and Australian clock changes."""
    slots = propose_slots(MIX, first_day=date(2026, 10, 1), last_day=date(2026, 10, 31), duration=HOUR,
                          host_zone="Asia/Tokyo")
    assert len(slots) == 31 * 48  # Tokyo keeps no summer time: every host day has 24 hours
    for slot in slots:
        assert slot.end - slot.start == HOUR
        assert slot.start.tzinfo == ZoneInfo("Asia/Tokyo")
        assert [view.city for view in slot.cities] == ["Tokyo", "Sydney", "London", "New York"]
        for view in slot.cities:
            assert view.start.tzinfo == ZoneInfo(view.zone)
            # The same instants seen from elsewhere (compared in UTC: Python never calls an ambiguous wall time
            # equal to one in another zone, PEP 495).
            assert view.start.astimezone(UTC) == slot.start_utc and view.end.astimezone(UTC) == slot.end.astimezone(UTC)
            wall = view.start.date() == view.end.date() and time(8) <= view.start.time() \
                and view.end.time() <= time(20)
            assert view.inside is wall, (slot.start, view)
            assert (view.minutes_outside == 0) is view.inside
        assert slot.cities_inside == sum(view.inside for view in slot.cities)


def test_sydney_tokyo_london_new_york_best_slot_leaves_new_york_the_least_early():
    """10 June 2026 (JST): no hour suits all four; three can meet in two windows, and the tie goes to the slot that
    is nearest New York's morning: 18:00 in Tokyo, 19:00 in Sydney, 10:00 in London, 05:00 in New York."""
    slots = propose_slots(MIX, first_day=date(2026, 6, 10), last_day=date(2026, 6, 10), duration=HOUR)
    assert max(slot.cities_inside for slot in slots) == 3
    best, second = slots[0], slots[1]
    views = local_views(best)
    assert best.start == datetime(2026, 6, 10, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert best.start_utc == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    assert views["Sydney"].start.strftime("%H:%M %z") == "19:00 +1000"
    assert views["London"].start.strftime("%H:%M %z") == "10:00 +0100"
    assert views["New York"].start.strftime("%H:%M %z") == "05:00 -0400"
    assert not views["New York"].inside and views["New York"].minutes_outside == 180
    assert best.minutes_outside == 180
    assert second.start == best.start - HALF and second.minutes_outside == 210
    # The other three-city window (Sydney, Tokyo, New York at 08:00 JST) ranks below: London would be 5 hours late.
    morning = next(slot for slot in slots if slot.start.hour == 8 and slot.start.minute == 0)
    assert morning.cities_inside == 3 and local_views(morning)["London"].minutes_outside == 300
    assert slots.index(morning) > slots.index(best)


def test_ties_go_to_the_earliest_slot():
    slots = propose_slots([City("Tokyo", "Asia/Tokyo")], first_day=date(2026, 6, 10), last_day=date(2026, 6, 11),
                          duration=HOUR)
    inside = [slot for slot in slots if slot.cities_inside == 1]
    assert inside == slots[:len(inside)]
    assert [slot.start for slot in inside] == sorted(slot.start for slot in inside)
    assert inside[0].start.time() == time(8) and inside[-1].start.time() == time(19)
    assert len(inside) == 2 * 23  # 08:00 … 19:00 every half hour, on two days


def test_the_day_europe_springs_forward_has_23_hours_and_moves_tokyo_by_one_hour():
    """29 March 2026 in Berlin: 02:00 does not exist; 09:00 Berlin is 16:00 in Tokyo (17:00 the day before)."""
    cities = [City("Berlin", "Europe/Berlin"), City("Tokyo", "Asia/Tokyo")]
    slots = propose_slots(cities, first_day=date(2026, 3, 28), last_day=date(2026, 3, 29), duration=HOUR)
    by_day = {day: [s for s in slots if s.start.date() == day] for day in (date(2026, 3, 28), date(2026, 3, 29))}
    assert len(by_day[date(2026, 3, 28)]) == 48 and len(by_day[date(2026, 3, 29)]) == 46
    times_29 = sorted(slot.start for slot in by_day[date(2026, 3, 29)])
    assert [t.strftime("%H:%M%z") for t in times_29[2:5]] == ["01:00+0100", "01:30+0100", "03:00+0200"]
    for day, tokyo in ((28, "17:00"), (29, "16:00")):
        nine = next(s for s in slots if s.start == datetime(2026, 3, day, 9, tzinfo=ZoneInfo("Europe/Berlin")))
        assert local_views(nine)["Tokyo"].start.strftime("%H:%M") == tokyo
        assert local_views(nine)["Tokyo"].inside and local_views(nine)["Berlin"].inside


def test_the_day_europe_falls_back_has_25_hours_and_the_repeated_hour_twice():
    slots = propose_slots([City("London", "Europe/London")], first_day=date(2026, 10, 25),
                          last_day=date(2026, 10, 25), duration=HOUR)
    assert len(slots) == 50
    ones = sorted((s.start_utc, s.start.strftime("%H:%M%z")) for s in slots if s.start.hour == 1)
    assert [label for _, label in ones] == ["01:00+0100", "01:30+0100", "01:00+0000", "01:30+0000"]
    assert len({utc for utc, _ in ones}) == 4  # four distinct instants


def test_a_range_across_new_yorks_clock_change_keeps_9am_new_york_and_moves_london():
    cities = [City("New York", "America/New_York"), City("London", "Europe/London")]
    slots = propose_slots(cities, first_day=date(2026, 10, 30), last_day=date(2026, 11, 3), duration=HOUR)
    assert len(slots) == 4 * 48 + 50  # 1 November has 25 hours in New York
    nine = {s.start.date(): local_views(s)["London"].start.strftime("%H:%M%z")
            for s in slots if s.start.time() == time(9)}
    assert nine[date(2026, 10, 30)] == "13:00+0000"
    assert nine[date(2026, 11, 2)] == "14:00+0000"
    # London's last hour moves with it: 15:00 New York is inside for London before the change, after it not.
    three = {s.start.date(): local_views(s)["London"] for s in slots if s.start.time() == time(15)}
    assert three[date(2026, 10, 30)].inside  # 19:00–20:00 London
    assert not three[date(2026, 11, 2)].inside and three[date(2026, 11, 2)].minutes_outside == 60


def test_half_and_quarter_hour_offsets_kolkata_and_kathmandu():
    """Kathmandu is UTC+05:45, Kolkata UTC+05:30: the first slot both work in is 08:15 Kathmandu, 08:00 Kolkata."""
    cities = [City("Kathmandu", "Asia/Kathmandu"), City("Kolkata", "Asia/Kolkata")]
    slots = propose_slots(cities, first_day=date(2026, 7, 1), last_day=date(2026, 7, 1), duration=HOUR,
                          step=timedelta(minutes=15))
    best = slots[0]
    assert best.cities_inside == 2
    assert best.start.strftime("%H:%M%z") == "08:15+0545"
    assert local_views(best)["Kolkata"].start.strftime("%H:%M%z") == "08:00+0530"
    early = next(s for s in slots if s.start.strftime("%H:%M") == "08:00")
    assert local_views(early)["Kolkata"].minutes_outside == 15 and early.cities_inside == 1
    last = max((s for s in slots if s.cities_inside == 2), key=lambda s: s.start)
    assert last.start.strftime("%H:%M") == "19:00"  # ends 20:00 Kathmandu, 19:45 Kolkata


def test_weights_let_the_host_city_count_more():
    cities = [City("Tokyo", "Asia/Tokyo", weight=3), City("London", "Europe/London"),
              City("New York", "America/New_York")]
    best = propose_slots(cities, first_day=date(2026, 6, 10), last_day=date(2026, 6, 10), duration=HOUR,
                         host_zone="UTC")[0]
    assert local_views(best)["Tokyo"].inside and local_views(best)["London"].inside
    assert best.score == 4 and best.cities_inside == 2
    unweighted = propose_slots([City(c.name, c.zone) for c in cities], first_day=date(2026, 6, 10),
                               last_day=date(2026, 6, 10), duration=HOUR, host_zone="UTC")[0]
    assert unweighted.score == 2


def test_working_hours_can_be_set_for_all_and_for_one_city():
    cities = [City("Tokyo", "Asia/Tokyo", hours=WorkingHours(time(9), time(18))), City("Seoul", "Asia/Seoul")]
    slots = propose_slots(cities, first_day=date(2026, 6, 10), last_day=date(2026, 6, 10), duration=HOUR,
                          hours=WorkingHours(time(7), time(22)))
    seoul_only = [s for s in slots if local_views(s)["Seoul"].inside and not local_views(s)["Tokyo"].inside]
    both = [s for s in slots if s.cities_inside == 2]
    assert both[0].start.time() == time(9) and max(s.start for s in both).time() == time(17)
    assert min(s.start for s in seoul_only).time() == time(7)
    assert max(s.start for s in seoul_only).time() == time(21)


def test_weekdays_only_skips_the_host_weekend_and_limit_cuts_the_list():
    slots = propose_slots([City("Tokyo", "Asia/Tokyo")], first_day=date(2026, 11, 27), last_day=date(2026, 11, 30),
                          duration=HOUR, weekdays_only=True)
    assert {s.start.date() for s in slots} == {date(2026, 11, 27), date(2026, 11, 30)}
    top = propose_slots([City("Tokyo", "Asia/Tokyo")], first_day=date(2026, 11, 27), last_day=date(2026, 11, 30),
                        duration=HOUR, limit=3)
    assert [s.start.strftime("%d %H:%M") for s in top] == ["27 08:00", "27 08:30", "27 09:00"]


def test_a_meeting_longer_than_the_working_day_is_never_inside_and_counts_its_overflow():
    slots = propose_slots([City("Tokyo", "Asia/Tokyo")], first_day=date(2026, 6, 10), last_day=date(2026, 6, 10),
                          duration=timedelta(hours=13))
    assert all(s.cities_inside == 0 for s in slots)
    assert slots[0].minutes_outside == 60 and slots[0].start.time() in (time(7), time(8))


@pytest.mark.parametrize(("cities", "kwargs", "field", "words"), [
    ([], {}, "cities", "at least one city"),
    ([City("Tokyo", "Asia/Tokyo"), City("Atlantis", "Atlantis/Capital")], {}, "cities[1].zone", "Unknown time zone"),
    ([City("Tokyo", "Asia/Tokio")], {}, "cities[0].zone", "Asia/Tokio"),
    ([City("Tokyo", "")], {}, "cities[0].zone", "Unknown time zone"),
    ([City("Tokyo", "Asia/Tokyo")], {"host_zone": "Mars/Olympus"}, "host_zone", "Unknown time zone"),
    ([City("Tokyo", "Asia/Tokyo"), City("Tokyo", "Asia/Tokyo")], {}, "cities[1].name", "listed twice"),
    ([City("Tokyo", "Asia/Tokyo", weight=0)], {}, "cities[0].weight", "positive"),
    ([City("Tokyo", "Asia/Tokyo")], {"first_day": date(2026, 6, 10), "last_day": date(2026, 6, 9)}, "last_day",
     "before the first day"),
    ([City("Tokyo", "Asia/Tokyo")], {"last_day": date(2026, 7, 2)}, "last_day", "32 days"),
    ([City("Tokyo", "Asia/Tokyo")], {"hours": WorkingHours(time(20), time(8))}, "hours", "start before"),
    ([City("Tokyo", "Asia/Tokyo")], {"hours": WorkingHours(time(9), time(9))}, "hours", "start before"),
    ([City("Tokyo", "Asia/Tokyo", hours=WorkingHours(time(18), time(9)))], {}, "cities[0].hours", "start before"),
    ([City("Tokyo", "Asia/Tokyo")], {"duration": timedelta(0)}, "duration", "longer than zero"),
    ([City("Tokyo", "Asia/Tokyo")], {"duration": timedelta(hours=25)}, "duration", "24 hours"),
    ([City("Tokyo", "Asia/Tokyo")], {"step": timedelta(minutes=1)}, "step", "5 minutes"),
    ([City("Tokyo", "Asia/Tokyo")], {"limit": 0}, "limit", "positive"),
])
def test_bad_input_names_the_field(cities, kwargs, field, words):
    arguments = {"first_day": date(2026, 6, 1), "last_day": date(2026, 6, 1), "duration": HOUR} | kwargs
    with pytest.raises(SchedulingError) as caught:
        propose_slots(cities, **arguments)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_31_day_range_is_accepted():
    slots = propose_slots([City("Tokyo", "Asia/Tokyo")], first_day=date(2026, 6, 1), last_day=date(2026, 7, 1),
                          duration=HOUR, step=timedelta(hours=1))
    assert len(slots) == 31 * 24
