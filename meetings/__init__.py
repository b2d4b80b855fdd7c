"""Meetings: series and tiers, meetings, agenda, invitations, delegations, registrations, calendar files."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import (
        models,  # noqa: F401 - the tables join the metadata that migrations compare
        views,
        views_public,  # noqa: F401 - adds its routes to views.bp
    )

    app.register_blueprint(views.bp)
