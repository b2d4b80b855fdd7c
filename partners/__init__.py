"""Partners: organisations, their people (contacts), and the log of interactions with them."""

from flask import Flask

from . import api  # noqa: F401 - registers its routes on the shared API blueprint


def init_app(app: Flask) -> None:
    from . import (
        alerts,
        models,  # noqa: F401 - the tables join the metadata that migrations compare
        views,
        views_alerts,
        views_exchange,  # noqa: F401 - adds its routes to views.bp
        views_issues,
        views_lists,
        views_log,  # noqa: F401 - adds its routes to views.bp
        views_newsletters,
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(views_newsletters.bp)
    app.register_blueprint(views_lists.bp)
    app.register_blueprint(views_issues.bp)
    app.register_blueprint(views_alerts.bp)
    app.cli.add_command(alerts.seed_alert_templates_command)
