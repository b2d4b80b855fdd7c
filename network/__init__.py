"""The network registry: reference geography, partners, agreements, embassies and city networks."""

from flask import Flask

from . import api  # noqa: F401 - registers its routes on the shared API blueprint


def init_app(app: Flask) -> None:
    from . import (
        calendar,
        cli,
        services,
        views,
        views_agreements,  # noqa: F401 - adds its routes to views.bp
        views_directory,  # noqa: F401 - adds its routes to views.bp
        views_exchange,  # noqa: F401 - adds its routes to views.bp
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(calendar.bp)
    views.init_app(app)  # template filters: partial_date
    app.cli.add_command(cli.load_reference)
    app.extensions["kizuna.home_timezone"] = lambda: (city := services.home_city()) and city.timezone
