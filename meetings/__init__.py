"""Meetings: series and tiers, meetings, agenda, invitations, delegations, registrations, calendar files."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import (
        models,  # noqa: F401 - the tables join the metadata that migrations compare
        views,
        views_public,  # adds its routes to views.bp; the personal feeds are its calendar_bp
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(views_public.calendar_bp)
