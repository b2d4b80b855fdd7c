"""The Celery app of a Kizuna deployment, configured from the environment like the web app.

Besides the app's settings, operators may tune the outbox and Celery through the environment
(OUTBOX_*, SMTP_TIMEOUT, CELERY_TASK_DEFAULT_QUEUE, CELERY_BROKER_TRANSPORT_OPTIONS: see kizuna.config).
"""

from celery.signals import worker_process_init

from kizuna import create_app
from kizuna.config import ConfigError
from kizuna.extensions import db

flask_app = create_app()
if not flask_app.config["REDIS_URL"]:
    raise ConfigError("REDIS_URL", "is not set; the worker needs Redis as its broker (redis://127.0.0.1:6379/0)")
app = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    # A prefork child must not share the parent's pooled database connections.
    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
