"""Languages: the catalogs are current and complete, compiled at start, and used per reader."""

import subprocess

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

from kizuna import create_app
from kizuna.paths import TRANSLATIONS
from tests.conftest import ROOT, app_config


def _ids(path):
    with open(path, "rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def test_message_template_is_current(tmp_path):
    """Run scripts/i18n after changing a translatable string; this test names what is missing."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(["pybabel", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                    "-k", "ngettext:1,2", "--ignore-dirs", "tests bench node_modules build", "-o", str(fresh), "."],
                   cwd=ROOT, check=True, capture_output=True)
    committed = _ids(TRANSLATIONS / "messages.pot")
    assert _ids(fresh) - committed == set(), "run scripts/i18n: strings missing from messages.pot"
    assert committed - _ids(fresh) == set(), "run scripts/i18n: messages.pot has strings no longer used"


@pytest.mark.parametrize("language", ["ja"])
def test_catalog_translates_every_message(language):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=language)
    untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not m.string
                                                       or (isinstance(m.string, tuple) and not all(m.string)))]
    assert untranslated == []
    assert _ids(TRANSLATIONS / "messages.pot") <= {m.id if isinstance(m.id, str) else m.id[0]
                                                   for m in catalog if m.id}


def test_catalogs_are_compiled_at_start_into_the_instance_folder(tmp_path_factory):
    app = create_app(app_config(tmp_path_factory))
    mo = app.instance_path + "/translations/ja/LC_MESSAGES/messages.mo"
    with open(mo, "rb") as fh:
        assert fh.read(4) in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")
    with app.test_request_context(), force_locale("ja"):
        assert gettext("Sign in") == "ログイン"
