"""Staff pages of newsletter issues: writing in several languages, approval, sending and reports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("issues", __name__, url_prefix="/newsletters/issues")
