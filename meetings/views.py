"""Pages of the meetings module for staff: the planning board, a meeting, its invitations and
registrations (views_public.py adds the pages invitees and delegates reach through their links, and the
calendar files)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
