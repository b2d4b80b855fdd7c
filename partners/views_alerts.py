"""Staff pages of prepared multilingual alerts: templates, the two steps of sending one, the alerts queue."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
