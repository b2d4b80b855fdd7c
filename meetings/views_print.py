"""Pages of the meetings module (routes added to meetings.views.bp): a meeting's printed matter, name
badges and the delegate list in order of precedence, as PDF."""

from __future__ import annotations

from flask import Response

from kizuna import auth
from kizuna.extensions import db
from kizuna.models import Role

from . import printing
from .models import Meeting
from .views import _language, bp


def _pdf(body: bytes, name: str, meeting: Meeting) -> Response:
    # The file name is built from ASCII words and the meeting's id only: no title can break the header.
    return Response(body, 200, {"Content-Type": "application/pdf",
                                "Content-Disposition": f'attachment; filename="{name}-{meeting.id}.pdf"',
                                "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@bp.get("/<int:meeting_id>/badges.pdf")
@auth.roles_required(Role.VIEWER)
def badges(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    return _pdf(printing.badges(meeting, printing.confirmed(meeting.id), _language()), "badges", meeting)


@bp.get("/<int:meeting_id>/precedence.pdf")
@auth.roles_required(Role.VIEWER)
def precedence(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    return _pdf(printing.precedence_list(meeting, printing.confirmed(meeting.id), _language()),
                "delegate-list", meeting)
