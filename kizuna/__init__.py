"""Kizuna: the intercity network and conference platform. create_app() builds the Flask app."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from kombu import Queue

from . import config as config_module
from .paths import resource_dir

__all__ = ["create_app"]

DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "en",
    "HOME_TIMEZONE": None,  # resolved from HOME_CITY once reference data is loaded
    "OUTBOX_BATCH_SIZE": 100,
    "OUTBOX_LEASE_SECONDS": 300,
    "OUTBOX_RETRY_BASE": 30.0,
    "OUTBOX_RETRY_MAX": 3600.0,
    "OUTBOX_MAX_ATTEMPTS": 8,
    "OUTBOX_SWEEP_GRACE": 60,
    "OUTBOX_SWEEP_LIMIT": 5000,
    "OUTBOX_SWEEP_INTERVAL": 60.0,
    # Sent marks are committed in groups of at most this many / this long (a batch's worth by default): what
    # the server accepted meanwhile is noted in Redis at once, so a killed worker does not resend it.
    "OUTBOX_COMMIT_EVERY": 100,
    "OUTBOX_COMMIT_AFTER": 0.5,
    "SMTP_TIMEOUT": 30.0,
    "LOGIN_THROTTLE": {"free": 3, "lock_after": 10, "ip_lock_after": 50, "lock_seconds": 900},
    "PAGE_SIZE": 50,
}


def celery_config(cfg: dict) -> dict:
    redis_url = cfg["REDIS_URL"]
    longest_wait = max(cfg["OUTBOX_RETRY_MAX"], cfg["OUTBOX_LEASE_SECONDS"])
    return {
        "broker_url": redis_url or "memory://",
        # Without a broker (the demo), tasks run in-process right after the commit that asked for them.
        "task_always_eager": not redis_url,
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # Must exceed the longest countdown, or Redis hands a waiting task to a second worker.
        "broker_transport_options": {"visibility_timeout": int(longest_wait * 2),
                                     **cfg.get("CELERY_BROKER_TRANSPORT_OPTIONS", {})},
        "include": ["worker.tasks"],
        "timezone": "UTC",
        **({"task_default_queue": cfg["CELERY_TASK_DEFAULT_QUEUE"]} if cfg.get("CELERY_TASK_DEFAULT_QUEUE") else {}),
        "beat_schedule": {
            # A sweep not run within its interval is dropped: the next one does the same work.
            "sweep-outbox": {"task": "kizuna.sweep_outbox", "schedule": cfg["OUTBOX_SWEEP_INTERVAL"],
                             "options": {"expires": cfg["OUTBOX_SWEEP_INTERVAL"]}},
            # Daily; a day missed is caught up by the next run (the reminder due then is sent once).
            "agreement-expiry-reminders": {"task": "network.send_expiry_reminders", "schedule": 24 * 3600.0,
                                           "options": {"expires": 12 * 3600}},
            # Daily; each follow-up due by then is reminded once, a missed day caught up by the next run.
            "follow-up-reminders": {"task": "partners.send_follow_up_reminders", "schedule": 24 * 3600.0,
                                    "options": {"expires": 12 * 3600}},
            # Calendar answers from mail programs; a run not started within its interval is dropped.
            "meeting-replies": {"task": "meetings.read_replies", "schedule": 300.0, "options": {"expires": 300}},
            # Bounces (delivery status notifications) from the bounces mailbox; a run not started in time is dropped.
            "bounces": {"task": "partners.read_bounces", "schedule": 300.0, "options": {"expires": 300}},
            # Newsletters: scheduled issues whose time has come start; sends whose deliveries stopped moving go on.
            "newsletter-schedule": {"task": "partners.start_scheduled_issues", "schedule": 60.0,
                                    "options": {"expires": 60}},
            "newsletter-stalled": {"task": "partners.resume_stalled_issues", "schedule": 60.0,
                                   "options": {"expires": 60}},
            # Hourly; offers from the waiting list past their time lapse and the places go to the next in line.
            "meeting-offers": {"task": "meetings.expire_offers", "schedule": 3600.0, "options": {"expires": 1800}},
            # Daily; scheduled meetings whose end has passed become held (a missed day is caught up next run).
            "meetings-held": {"task": "meetings.mark_held", "schedule": 24 * 3600.0, "options": {"expires": 12 * 3600}},
        },
    }


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment (and .env), with `config` overriding both (tests)."""
    load_dotenv(Path.cwd() / ".env", override=False)
    settings = {**DEFAULTS, **config_module.load(config)}
    app = Flask(
        "kizuna",
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.config.update(settings)
    celery = {**celery_config(app.config), **(config or {}).get("CELERY", {})}
    # A worker started without -Q takes both the default queue and the alerts' (kizuna.outbox.alert_queue):
    # an alert then waits behind at most one newsletter batch. A worker of its own (-Q alerts) gives them
    # strict priority.
    default_queue = celery.get("task_default_queue", "celery")
    app.config["ALERT_QUEUE"] = "alerts" if default_queue == "celery" else f"{default_queue}-alerts"
    celery.setdefault("task_queues", (Queue(default_queue), Queue(app.config["ALERT_QUEUE"])))
    app.config["CELERY"] = celery
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from . import web
    from .extensions import babel, csrf, db, login_manager, migrate
    from .i18n import compile_catalogs, select_locale, select_timezone
    from .tasks import celery_init_app
    from .throttle import LoginThrottle, MemoryStore, RedisStore

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")), compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compile_catalogs(Path(app.instance_path) / "translations"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    celery_init_app(app)
    store = RedisStore(app.config["REDIS_URL"]) if app.config["REDIS_URL"] else MemoryStore()
    app.extensions["kizuna.login_throttle"] = LoginThrottle(store, **app.config["LOGIN_THROTTLE"])

    import meetings
    import network  # imported before the API blueprint is registered: it adds routes to it
    import partners

    from . import admin, api, cli, views

    web.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    network.init_app(app)
    partners.init_app(app)
    meetings.init_app(app)
    cli.init_app(app)
    # Everything built so far (modules, the app, reference tables cached at import) lives as long as the
    # process: moved out of the collector's generations, a full collection no longer walks it during a
    # request (it cost up to 100 ms of a page's time) and forked workers keep sharing its memory pages.
    gc.freeze()
    return app
