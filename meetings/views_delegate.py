"""Pages of the meetings module (routes added to meetings.views.bp)."""

from __future__ import annotations

from .views import bp  # noqa: F401 - routes below are added to the module's blueprint
