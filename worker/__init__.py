"""The Celery app: `celery -A worker worker --beat` runs the tasks of worker.tasks."""

from kizuna import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
