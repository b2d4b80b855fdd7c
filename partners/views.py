"""Pages of the partners module: organisations and contacts (views_log.py adds the interaction log,
views_exchange.py import, export, duplicates and erasure)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("partners", __name__, url_prefix="/partners")
