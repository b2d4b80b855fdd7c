"""The live relationships' anniversaries as an iCalendar feed: one yearly all-day event per relationship."""

from __future__ import annotations

from datetime import UTC, date
from urllib.parse import urlsplit

from babel import Locale
from flask import Blueprint, current_app, make_response
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vRecur
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kizuna import auth
from kizuna.extensions import db
from kizuna.models import Role

from .models import DatePrecision, Partner, Relationship, RelationshipStatus
from .worldmap import LABELS

bp = Blueprint("network_calendar", __name__, url_prefix="/network")


def relationship_uid(relationship: Relationship) -> str:
    """The one place a relationship's calendar UID is made: stable for as long as the relationship exists."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "kizuna"
    return f"relationship-{relationship.id}@{host}"


def yearly_rule(start: date) -> vRecur:
    """Every year on the day the tie began; a tie begun on 29 February is marked on the last day of February."""
    if (start.month, start.day) == (2, 29):
        return vRecur(freq="YEARLY", bymonth=2, bymonthday=-1)
    return vRecur(freq="YEARLY")


def _began(day: date, precision: DatePrecision) -> str:
    if precision == DatePrecision.DAY:
        return format_date(day, "long")
    skeletons = (get_locale() or Locale("en")).datetime_skeletons
    return format_date(day, str(skeletons["yMMMM" if precision == DatePrecision.MONTH else "y"]))


def anniversary_event(relationship: Relationship, language: str) -> Event:
    partner, kind = relationship.partner, str(LABELS[relationship.kind.value])
    name = partner.display_name(language)
    description = [_("%(kind)s relationship with %(partner)s (%(country)s), since %(date)s.", kind=kind,
                     partner=name, country=partner.country.name(language),
                     date=_began(relationship.started_on, relationship.started_precision))]
    if relationship.started_precision != DatePrecision.DAY:
        description.append(_("The sources give only the month or the year it began; the anniversary is marked on "
                             "the first day."))
    if relationship.status != RelationshipStatus.ACTIVE:
        description.append(_("Status: %(status)s", status=str(LABELS[relationship.status.value])))
    event = Event()
    event.add("uid", relationship_uid(relationship))
    event.add("dtstamp", relationship.created_at.astimezone(UTC))
    event.add("dtstart", relationship.started_on)  # a date: an all-day event
    event.add("rrule", yearly_rule(relationship.started_on))
    event.add("summary", _("Anniversary: %(partner)s (%(kind)s)", partner=name, kind=kind))
    event.add("description", "\n".join(description))
    event.add("categories", [kind])
    event.add("transp", "TRANSPARENT")  # a day to remember, not time taken
    return event


def anniversaries_calendar(language: str = "en") -> bytes:
    """An RFC 5545 calendar of every live (not ended) relationship's anniversary, in `language`."""
    cal = Calendar()
    cal.add("prodid", "-//Kizuna//Network anniversaries//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Relationship anniversaries"))
    cal.add("x-wr-caldesc", _("The anniversaries of the home city's sister, friendship and partner relationships."))
    live = db.session.scalars(
        select(Relationship).join(Relationship.partner)
        .options(selectinload(Relationship.partner).selectinload(Partner.country))
        .where(Relationship.status != RelationshipStatus.ENDED).order_by(Partner.name, Relationship.id))
    for relationship in live:
        cal.add_component(anniversary_event(relationship, language))
    return cal.to_ical()


@bp.get("/anniversaries.ics")
@auth.roles_required(Role.VIEWER)
def anniversaries():
    response = make_response(anniversaries_calendar(str(get_locale() or "en")))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="anniversaries.ics"'
    return response
