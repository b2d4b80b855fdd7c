"""Where the top-level templates/, static/ and migrations/ folders live: in a checkout or in a wheel."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder `name`: inside the installed package (wheel) or beside it (checkout)."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"Kizuna's {name}/ folder is missing from {_PACKAGE.parent}; reinstall the package.")


TRANSLATIONS = _PACKAGE / "translations"
