"""Forms of the registry's spreadsheet import: the upload, and the preview's check and save buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

# In the order network.importing.KINDS offers them.
IMPORT_KINDS = {"partners": _l("Partners"), "agreements": _l("Agreements"), "embassies": _l("Embassies"),
                "network-members": _l("Network members")}


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file lists"), choices=[SelectChoice(k, label) for k, label in IMPORT_KINDS.items()])
    file = FileField(_l("Spreadsheet"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("CSV (UTF-8 or Shift_JIS, as Excel saves it) or Excel XLSX; the first row "
                                    "names the columns."))
    submit = SubmitField(_l("Upload and preview"))


class PreviewForm(FlaskForm):
    """The choices are read from the request as choice-<row>=<city id>: their number depends on the file."""

    check = SubmitField(_l("Check again"))
    save = SubmitField(_l("Save all rows"))
