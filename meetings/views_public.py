"""Pages of the meetings module that invitees and delegates reach (routes added to meetings.views.bp), and
the calendar files and feeds."""

from __future__ import annotations

from .views import bp  # noqa: F401 - routes below are added to the module's blueprint
