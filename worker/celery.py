"""The Celery app of a Kizuna deployment, configured from the environment like the web app.

Besides the app's settings (DATABASE_URL, REDIS_URL, SMTP_URL, …), the worker reads tuning knobs from
the environment; unset, the defaults of kizuna.DEFAULTS hold:
- `OUTBOX_*` and `SMTP_TIMEOUT` (numbers), e.g. OUTBOX_LEASE_SECONDS=300, OUTBOX_BATCH_SIZE=100,
  OUTBOX_COMMIT_EVERY=20; Redis' visibility_timeout follows from the lease and the longest backoff.
- `CELERY_TASK_DEFAULT_QUEUE`: the queue this deployment's tasks go to and its workers read.
- `CELERY_BROKER_TRANSPORT_OPTIONS`: JSON merged into kombu's options, e.g.
  '{"unacked_restore_interval": 1}'.
"""

from __future__ import annotations

import json
import os

from celery.signals import worker_process_init

from kizuna import create_app
from kizuna.config import ConfigError
from kizuna.extensions import db


def settings_from_env(environ=os.environ) -> dict:
    """The knobs above, as create_app() overrides."""
    settings: dict = {}
    for name, value in environ.items():
        if name.startswith("OUTBOX_") or name == "SMTP_TIMEOUT":
            try:
                settings[name] = json.loads(value)
            except ValueError:
                raise ConfigError(name, f"{value!r} is not a number") from None
            if not isinstance(settings[name], int | float) or isinstance(settings[name], bool):
                raise ConfigError(name, f"{value!r} is not a number")
    celery: dict = {}
    if queue := environ.get("CELERY_TASK_DEFAULT_QUEUE"):
        celery["task_default_queue"] = queue
    if options := environ.get("CELERY_BROKER_TRANSPORT_OPTIONS"):
        try:
            celery["broker_transport_options"] = dict(json.loads(options))
        except (ValueError, TypeError):
            raise ConfigError("CELERY_BROKER_TRANSPORT_OPTIONS", f"{options!r} is not a JSON object") from None
    if celery:
        settings["CELERY"] = celery
    return settings


def _create_app():
    settings = settings_from_env()
    extra_options = settings.get("CELERY", {}).pop("broker_transport_options", {})
    flask_app = create_app(settings)
    if extra_options:  # merged, so that the visibility_timeout derived from the settings stays
        celery_conf = flask_app.extensions["celery"].conf
        celery_conf.broker_transport_options = {**celery_conf.broker_transport_options, **extra_options}
    return flask_app


flask_app = _create_app()
if not flask_app.config["REDIS_URL"]:
    raise ConfigError("REDIS_URL", "is not set; the worker needs Redis as its broker (redis://127.0.0.1:6379/0)")
app = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    # A prefork child must not share the parent's pooled database connections.
    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
