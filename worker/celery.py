"""The Celery app of a Kizuna deployment, configured from the environment like the web app."""

from kizuna import create_app
from kizuna.config import ConfigError

flask_app = create_app()
if not flask_app.config["REDIS_URL"]:
    raise ConfigError("REDIS_URL", "is not set; the worker needs Redis as its broker (redis://127.0.0.1:6379/0)")
app = flask_app.extensions["celery"]
