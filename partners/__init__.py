"""Partners: organisations, their people (contacts), and the log of interactions with them."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401 - the tables join the metadata that migrations compare
