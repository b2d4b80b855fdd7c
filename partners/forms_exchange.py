"""Forms of the contacts' import, merge and erasure pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired


class ContactImportForm(FlaskForm):
    file = FileField(_l("File of contacts"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("CSV (UTF-8 or Shift_JIS, as Excel saves it) or Excel XLSX with a header row, or "
                                    "vCard (.vcf) from Google Contacts, Apple Contacts, Outlook or a phone."))
    submit = SubmitField(_l("Upload and preview"))


class ContactPreviewForm(FlaskForm):
    """The city choices (choice-<row>) and duplicate decisions (resolve-<row>) are read from the request."""

    check = SubmitField(_l("Check again"))
    save = SubmitField(_l("Save all rows"))


class MergeForm(FlaskForm):
    """Which side each field comes from is read from the request as take-<field>=first|second."""

    submit = SubmitField(_l("Merge the two contacts"))


class EraseForm(FlaskForm):
    confirm = BooleanField(_l("I understand that this person's personal data will be erased for good."),
                           validators=[DataRequired(_l("Tick the box to confirm."))])
    submit = SubmitField(_l("Erase personal data"))
