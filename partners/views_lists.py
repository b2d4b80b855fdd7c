"""Staff pages of mailing lists and their subscribers; the public subscribe form and archive are in
views_newsletters.py."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("lists", __name__, url_prefix="/newsletters")
