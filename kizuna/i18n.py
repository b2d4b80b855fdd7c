"""Languages and time zones: catalogs compiled at start, locale and zone chosen per reader."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .paths import TRANSLATIONS

LANGUAGES = {"en": "English", "ja": "日本語"}
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "editor": _l("Editor"),
    "viewer": _l("Viewer"),
    "delegate": _l("City delegate"),
    "liaison": _l("Embassy liaison"),
}


def role_label(role) -> str:
    """The role's name in the reader's language (roles are StrEnums: str(role) is the stored value)."""
    return str(ROLE_LABELS[str(role)])


def compile_catalogs(target: Path) -> Path:
    """Compile every .po under kizuna/translations into `target` when its .mo is missing or stale.

    Catalogs are never committed compiled, so a checkout and a wheel both compile at start.
    """
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        lang = po_path.parent.parent.name
        mo_path = target / lang / "LC_MESSAGES" / "messages.mo"
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        tmp = mo_path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo_path)  # atomic: several processes may start at once
    return target


def select_locale() -> str:
    if not has_request_context():  # the CLI and the worker: emails choose their locale explicitly
        return "en"
    if current_user and current_user.is_authenticated:
        return current_user.language
    if (lang := session.get("language")) in LANGUAGES:
        return lang
    return request.accept_languages.best_match(LANGUAGES) or "en"


def select_timezone() -> str:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.timezone
    return home_timezone()


def home_timezone() -> str:
    """HOME_TIMEZONE if set, else the zone of HOME_CITY (found by the network module), else UTC."""
    if zone := current_app.config.get("HOME_TIMEZONE"):
        return zone
    resolver = current_app.extensions.get("kizuna.home_timezone")
    zone = resolver() if resolver else None
    if zone:
        current_app.config["HOME_TIMEZONE"] = zone
    return zone or "UTC"


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        return False
    return name in _zones()


_ZONES: list[str] = []


def _zones() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))
    return _ZONES


def timezone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in _zones()]
