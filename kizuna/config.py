"""Settings from environment variables (and a .env file), validated before the app starts."""

from __future__ import annotations

import json
import os
import secrets
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import pycountry
from email_validator import EmailNotValidError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from . import dkim
from .mail import normalize_address

ENV_SETTINGS = (
    "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_URL", "MAIL_FROM", "BASE_URL", "HOME_CITY",
    "INSTANCE_PATH", "REPLIES_IMAP_URL", "BOUNCES_IMAP_URL", "DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY_FILE",
    "NEWSLETTER_UNSUBSCRIBE_ADDRESS",
)
SMTP_SCHEMES = {"smtp", "smtp+starttls", "smtps"}
IMAP_SCHEMES = {"imap", "imap+starttls", "imaps"}


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        super().__init__(f"{setting}: {problem}")


def default_instance_path() -> Path:
    return Path(os.environ.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def _demo_secret(instance: Path) -> str:
    """A random key generated once per instance folder and kept there (never in the code)."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _check_url(setting: str, value: str, schemes: set[str], example: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(setting, f"{value!r} is not a valid URL; expected something like {example}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(setting, f"{value!r} has an invalid port") from None


def load(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Build the Flask configuration from the environment and `overrides`; raise ConfigError."""
    env = dict(os.environ if environ is None else environ)
    overrides = dict(overrides or {})
    get = lambda key: overrides.get(key, env.get(key)) or None  # noqa: E731

    instance = Path(get("INSTANCE_PATH") or default_instance_path()).resolve()
    cfg: dict = {"INSTANCE_PATH": str(instance)}

    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or get("DATABASE_URL")
    if database_url:
        try:
            url = make_url(database_url)
        except ArgumentError:
            raise ConfigError("DATABASE_URL", f"{database_url!r} is not a database URL") from None
        if url.get_backend_name() not in ("postgresql", "sqlite"):
            raise ConfigError("DATABASE_URL", "Kizuna supports postgresql:// and sqlite:// databases")
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        database_url = url.render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{instance / 'kizuna.sqlite'}"
    cfg["SQLALCHEMY_DATABASE_URI"] = database_url

    secret = get("SECRET_KEY")
    if secret is None:
        # A local SQLite instance (the demo, a developer's checkout) keeps a generated key in its
        # instance folder; a deployment with its own database must be given one.
        if get("DATABASE_URL") and not overrides.get("DEMO"):
            raise ConfigError("SECRET_KEY", "is not set; generate one with "
                              "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        secret = _demo_secret(instance)
    elif len(secret) < 16:
        raise ConfigError("SECRET_KEY", "is too short; use at least 16 random characters")
    cfg["SECRET_KEY"] = secret

    if redis_url := get("REDIS_URL"):
        _check_url("REDIS_URL", redis_url, {"redis", "rediss"}, "redis://127.0.0.1:6379/0")
    cfg["REDIS_URL"] = redis_url

    if smtp_url := get("SMTP_URL"):
        _check_url("SMTP_URL", smtp_url, SMTP_SCHEMES, "smtp+starttls://user:password@mail.example.org:587")
    cfg["SMTP_URL"] = smtp_url

    # The office mailbox that calendar answers (iTIP REPLY) land in, read by the meetings.read_replies task.
    if imap_url := get("REPLIES_IMAP_URL"):
        _check_url("REPLIES_IMAP_URL", imap_url, IMAP_SCHEMES, "imaps://user:password@mail.example.org:993/INBOX")
        if not urlsplit(imap_url).username:
            raise ConfigError("REPLIES_IMAP_URL", "names no user; write it as imaps://user:password@host/INBOX")
    cfg["REPLIES_IMAP_URL"] = imap_url

    # The mailbox that delivery status notifications (bounces) come back to, read by partners.read_bounces.
    if bounces_url := get("BOUNCES_IMAP_URL"):
        _check_url("BOUNCES_IMAP_URL", bounces_url, IMAP_SCHEMES, "imaps://bounces:password@mail.example.org/INBOX")
        if not urlsplit(bounces_url).username:
            raise ConfigError("BOUNCES_IMAP_URL", "names no user; write it as imaps://user:password@host/INBOX")
    cfg["BOUNCES_IMAP_URL"] = bounces_url

    cfg.update(_dkim(get))

    mail_from = get("MAIL_FROM") or "Kizuna <noreply@kizuna.test>"
    try:
        normalize_address(parseaddr(mail_from)[1] or mail_from)
    except EmailNotValidError as exc:
        raise ConfigError("MAIL_FROM", f"{mail_from!r} is not an email address ({exc})") from None
    cfg["MAIL_FROM"] = mail_from

    # Where mail programs send a reader's "unsubscribe <token>" (List-Unsubscribe's mailto); by default the
    # address of MAIL_FROM, whose mailbox the bounces reader reads.
    if unsubscribe_address := get("NEWSLETTER_UNSUBSCRIBE_ADDRESS"):
        try:
            unsubscribe_address = normalize_address(unsubscribe_address)
        except EmailNotValidError as exc:
            raise ConfigError("NEWSLETTER_UNSUBSCRIBE_ADDRESS",
                              f"{unsubscribe_address!r} is not an email address ({exc})") from None
    cfg["NEWSLETTER_UNSUBSCRIBE_ADDRESS"] = unsubscribe_address

    base_url = (get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    _check_url("BASE_URL", base_url, {"http", "https"}, "https://kizuna.example.org")
    cfg["BASE_URL"] = base_url
    cfg["PREFERRED_URL_SCHEME"] = urlsplit(base_url).scheme
    cfg["SESSION_COOKIE_SECURE"] = base_url.startswith("https://")

    home_city = (get("HOME_CITY") or "Tokyo, JP").strip()
    name, _, country = home_city.rpartition(",")
    if not home_city.isdigit() and not (name.strip() and pycountry.countries.get(alpha_2=country.strip().upper())):
        raise ConfigError("HOME_CITY", f"{home_city!r} must be a GeoNames id (1850147) or 'City, CC' (Tokyo, JP)")
    cfg["HOME_CITY"] = home_city

    cfg.update(_tuning(env))
    cfg.update(overrides)
    return cfg


def _dkim(get) -> dict:
    """DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE: all three (mail is signed) or none (it is not).
    The key file must exist and hold an RSA key that parses, or the app does not start."""
    names = ("DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY_FILE")
    values = {name: (get(name) or "").strip() or None for name in names}
    given = [name for name in names if values[name]]
    if given and len(given) < len(names):
        missing = next(name for name in names if not values[name])
        raise ConfigError(missing, f"is not set, but {', '.join(given)} is: DKIM needs all three settings "
                          "(docs/email-authentication.md)")
    if not given:
        return values
    values["DKIM_DOMAIN"] = values["DKIM_DOMAIN"].lower().rstrip(".")
    for name, example in (("DKIM_DOMAIN", "metro.tokyo.example"), ("DKIM_SELECTOR", "kizuna2026")):
        if not dkim.check_name(values[name]):
            raise ConfigError(name, f"{values[name]!r} is not a DNS name; expected something like {example}")
    path = Path(values["DKIM_PRIVATE_KEY_FILE"]).expanduser().resolve()
    try:
        dkim.read_key(path)
    except dkim.DKIMKeyError as exc:
        raise ConfigError("DKIM_PRIVATE_KEY_FILE", str(exc)) from None
    values["DKIM_PRIVATE_KEY_FILE"] = str(path)
    return values


def _tuning(env: dict) -> dict:
    """Optional knobs for operators (and tests): OUTBOX_* and SMTP_TIMEOUT as numbers, and the Celery
    queue (CELERY_TASK_DEFAULT_QUEUE) and extra kombu transport options (CELERY_BROKER_TRANSPORT_OPTIONS,
    a JSON object). Unset, kizuna.DEFAULTS hold."""
    cfg: dict = {}
    for name, value in env.items():
        if name.startswith("OUTBOX_") or name == "SMTP_TIMEOUT":
            try:
                number = json.loads(value)
            except ValueError:
                number = None
            if not isinstance(number, int | float) or isinstance(number, bool) or number < 0:
                raise ConfigError(name, f"{value!r} is not a number")
            cfg[name] = number
    if queue := env.get("CELERY_TASK_DEFAULT_QUEUE"):
        cfg["CELERY_TASK_DEFAULT_QUEUE"] = queue
    if options := env.get("CELERY_BROKER_TRANSPORT_OPTIONS"):
        try:
            cfg["CELERY_BROKER_TRANSPORT_OPTIONS"] = dict(json.loads(options))
        except (ValueError, TypeError):
            raise ConfigError("CELERY_BROKER_TRANSPORT_OPTIONS", f"{options!r} is not a JSON object") from None
    return cfg
