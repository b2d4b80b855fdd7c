"""Meetings: series and tiers, meetings, agenda, invitations, delegations, registrations, calendar files."""

from flask import Flask

from . import api  # noqa: F401 - registers its routes on the shared API blueprint


def init_app(app: Flask) -> None:
    from . import (
        models,  # noqa: F401 - the tables join the metadata that migrations compare
        views,
        views_agenda,  # noqa: F401 - adds its routes to views.bp
        views_delegate,  # noqa: F401 - adds its routes to views.bp
        views_print,  # noqa: F401 - adds its routes to views.bp
        views_public,  # adds its routes to views.bp; the personal feeds are its calendar_bp
        views_schedule,  # noqa: F401 - adds its routes to views.bp
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(views_public.calendar_bp)
