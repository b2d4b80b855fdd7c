"""Enqueue Celery tasks by name, only once the database transaction that asked for them commits."""

from __future__ import annotations

import logging

from celery import Celery, Task
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_PENDING = "kizuna.after_commit"


def celery_init_app(app: Flask) -> Celery:
    """Flask's pattern: a Celery app whose tasks all run inside an app context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    if celery_app.conf.task_always_eager:
        # In-process mode (the demo) runs tasks by their objects, so they must be registered here.
        celery_app.loader.import_default_modules()
    return celery_app


def send(name: str, args: list | tuple = (), **options) -> bool:
    """Enqueue task `name` now. False when the broker cannot be reached (a sweep must recover)."""
    celery_app: Celery = current_app.extensions["celery"]
    try:
        if celery_app.conf.task_always_eager:
            celery_app.tasks[name].apply(args=args, **options)
        else:
            with celery_app.producer_or_acquire() as producer:
                # One connection attempt, no backoff: the caller's rows are committed and a sweep
                # recovers them, so a request must not wait out kombu's reconnection delays (~6 s).
                producer.connection.ensure_connection(max_retries=0)
                celery_app.send_task(name, args=list(args), retry=False, producer=producer, **options)
    except Exception:  # the broker is down or refused: the caller's data is committed; sweeps recover
        log.warning("could not enqueue %s%r; a sweep will pick it up", name, args, exc_info=True)
        return False
    return True


def after_commit(session: Session, name: str, args: list | tuple = (), **options) -> None:
    """Enqueue task `name` once `session` commits; nothing happens if it rolls back."""
    session.info.setdefault(_PENDING, []).append((name, list(args), options))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for name, args, options in session.info.pop(_PENDING, []):
        send(name, args, **options)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
