"""The delegates' and liaisons' own pages (routes added to meetings.views.bp): the meetings a delegate's city
is invited to and those either is invited to by their own address (a liaison to a diplomatic-corps briefing),
with their answer and both times, the link to each invitation's page where the delegation is registered, and
the delegation's registrations.

A delegate is bound to one partner city (User.partner_id) and sees only what belongs to that city or to their
own address; a liaison only what is addressed to them: any other meeting's page answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, render_template
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from kizuna import auth
from kizuna.extensions import db, utcnow
from kizuna.mail import normalize_address
from kizuna.models import Role

from . import services
from .emails import when
from .forms import MEETING_STATUSES
from .forms_public import ANSWER_LABELS, ROLES
from .models import Delegation, Invitation, Meeting, MeetingStatus, Registration
from .views import bp
from .views_public import STATUSES

# Meetings a delegate may see: never a draft (nobody is invited to one yet).
VISIBLE = (MeetingStatus.SCHEDULED, MeetingStatus.POSTPONED, MeetingStatus.CANCELLED, MeetingStatus.HELD)


@dataclass
class MyMeeting:
    """One meeting as the delegate sees it: their live invitations to it and their delegation's registrations."""

    meeting: Meeting
    invitations: list[Invitation] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)


def _address(user) -> str | None:
    try:
        return normalize_address(user.email or "")
    except ValueError:
        return None


def _invitations_filter(user):
    """Invitations of the user's city, or addressed to the user."""
    mine = []
    if user.partner_id is not None:
        mine.append(Invitation.partner_id == user.partner_id)
    address = _address(user)
    if address:
        mine.append(Invitation.email == address)
    return or_(*mine) if mine else None


def _registrations_filter(user, delegation_ids: list[int]):
    mine = []
    if delegation_ids:
        mine.append(Registration.delegation_id.in_(delegation_ids))
    address = _address(user)
    if address:
        mine.append(Registration.email == address)
    return or_(*mine) if mine else None


def my_meetings(user, meeting_id: int | None = None) -> list[MyMeeting]:
    """The meetings the user's city or the user is invited to (or registered for), upcoming first (soonest
    first), then past ones (latest first)."""
    rows: dict[int, MyMeeting] = {}
    where = _invitations_filter(user)
    if where is not None:
        query = (select(Invitation).join(Meeting, Meeting.id == Invitation.meeting_id)
                 .where(where, Invitation.removed_at.is_(None), Meeting.status.in_(VISIBLE))
                 .options(contains_eager(Invitation.meeting)).order_by(Invitation.id))
        if meeting_id is not None:
            query = query.where(Invitation.meeting_id == meeting_id)
        for invitation in db.session.scalars(query):
            rows.setdefault(invitation.meeting_id, MyMeeting(invitation.meeting)).invitations.append(invitation)
    delegation_ids: list[int] = []
    if user.partner_id is not None:
        query = select(Delegation.id).where(Delegation.partner_id == user.partner_id)
        if meeting_id is not None:
            query = query.where(Delegation.meeting_id == meeting_id)
        delegation_ids = list(db.session.scalars(query))
    where = _registrations_filter(user, delegation_ids)
    if where is not None:
        query = (select(Registration).join(Meeting, Meeting.id == Registration.meeting_id)
                 .where(where, Meeting.status.in_(VISIBLE)).options(contains_eager(Registration.meeting))
                 .order_by(Registration.registered_at, Registration.id))
        if meeting_id is not None:
            query = query.where(Registration.meeting_id == meeting_id)
        for registration in db.session.scalars(query):
            rows.setdefault(registration.meeting_id, MyMeeting(registration.meeting)).registrations.append(
                registration)
    now = utcnow()
    upcoming = sorted((r for r in rows.values() if r.meeting.ends_at >= now),
                      key=lambda r: (r.meeting.starts_at, r.meeting.id))
    past = sorted((r for r in rows.values() if r.meeting.ends_at < now),
                  key=lambda r: (r.meeting.starts_at, r.meeting.id), reverse=True)
    return upcoming + past


def _answer_link(invitation: Invitation) -> str | None:
    """The invitation's own page, while it can still be used: a postponed meeting's too, where places offered
    are taken and registrations cancelled meanwhile."""
    if invitation.meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.POSTPONED):
        return None
    return services.invitation_token(invitation)


def _context() -> dict:
    return {"answers": ANSWER_LABELS, "statuses": STATUSES, "roles": ROLES, "meeting_statuses": MEETING_STATUSES,
            "when": lambda meeting: when(meeting, current_user.timezone), "answer_token": _answer_link,
            "document_token": lambda row: next(filter(None, map(_answer_link, row.invitations)), None),
            "language": current_user.language or "en", "now": utcnow()}


@bp.get("/mine")
@auth.roles_required(Role.DELEGATE, Role.LIAISON)
def mine():
    return render_template("meetings/delegate_mine.html", rows=my_meetings(current_user), **_context())


@bp.get("/mine/<int:meeting_id>")
@auth.roles_required(Role.DELEGATE, Role.LIAISON)
def mine_meeting(meeting_id: int):
    rows = my_meetings(current_user, meeting_id)
    if not rows:
        abort(404)  # not theirs, or no such meeting: the same answer, so nothing leaks
    return render_template("meetings/delegate_meeting.html", row=rows[0], **_context())
