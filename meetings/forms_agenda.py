"""Forms of a meeting's agenda and documents: a session (titles in the meeting's languages, times in its zone,
room, notes, speakers), moving a session, removing one, and uploading or removing a document."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, FieldList, Form, FormField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from network import documents

from .forms import DOCUMENT_KINDS, LOCAL_FORMATS

SPEAKER_ROWS = 2  # empty speaker rows offered below the speakers a session has
MAX_SPEAKERS = 40


def language_name(code: str) -> str:
    """A language's name in the reader's language ("Japanese", "日本語"), else its code."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(str(get_locale() or "en"))
    except (ValueError, TypeError, UnknownLocaleError):
        name = None
    return name or code


def title_field(code: str) -> str:
    """The form field holding a session's title in `code` (zh-Hant → title_zh_Hant)."""
    return "title_" + code.replace("-", "_")


class SpeakerForm(Form):
    """One row of the session form's speakers (the CSRF token is the session form's)."""

    name = StringField(_l("Speaker's name"), validators=[Optional(), Length(max=300)],
                       description=_l("As the agenda prints it."))
    role = StringField(_l("Speaker's role"), validators=[Optional(), Length(max=200)],
                       description=_l("Such as keynote, moderator or panellist."))
    contact = StringField(_l("Contact (optional)"), validators=[Optional(), Length(max=300)],
                          description=_l("Their email address or name as recorded in Contacts; it fills the name "
                                         "when that is left empty."))


class AgendaItemForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("Starts"), format=LOCAL_FORMATS, validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends"), format=LOCAL_FORMATS, validators=[Optional()])
    room = StringField(_l("Room"), validators=[Optional(), Length(max=200)],
                       description=_l("Leave empty when it is the meeting's own room."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    speakers = FieldList(FormField(SpeakerForm), max_entries=MAX_SPEAKERS)
    more_speakers = SubmitField(_l("More rows for speakers"))
    submit = SubmitField(_l("Save the session"))

    languages: list[str] = []

    def titles(self):
        """The title fields, in the meeting's order of languages."""
        return [self[title_field(code)] for code in self.languages]

    def speaker_rows(self) -> list[tuple[int, dict]]:
        """(row index, values) of the speaker rows filled in; empty rows are left out."""
        rows = []
        for n, entry in enumerate(self.speakers.entries):
            values = {key: (entry.form[key].data or "").strip() for key in ("name", "role", "contact")}
            if any(values.values()):
                rows.append((n, values))
        return rows


def agenda_item_form(languages: list[str], zone: str, **kwargs) -> AgendaItemForm:
    """The session form with a title field per language of the meeting; times are read in `zone`."""

    class SessionForm(AgendaItemForm):
        pass

    for code in languages:
        setattr(SessionForm, title_field(code),
                StringField(_("Title in %(language)s", language=language_name(code)),
                            validators=[Optional(), Length(max=300)], render_kw={"lang": code}))
    SessionForm.languages = list(languages)
    form = SessionForm(**kwargs)
    hint = _("In the meeting's time zone (%(zone)s), on one of its days.", zone=zone)
    form.starts_at.description = form.ends_at.description = hint
    return form


class MoveForm(FlaskForm):
    direction = SelectField(_l("Move"), choices=[SelectChoice("up", _l("Up")), SelectChoice("down", _l("Down"))])


class RemoveItemForm(FlaskForm):
    submit = SubmitField(_l("Remove the session"))


class MeetingDocumentForm(FlaskForm):
    kind = SelectField(_l("Kind of document"),
                       choices=lambda: [SelectChoice(code, label) for code, label in DOCUMENT_KINDS.items()])
    language = SelectField(_l("Language of the document"), validate_choice=False)
    file = FileField(_l("Document"), validators=[FileRequired(_l("Choose a file to upload."))])
    submit = SubmitField(_l("Upload the document"))

    def __init__(self, languages: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [SelectChoice("", _("Several or none"))] + [
            SelectChoice(code, language_name(code)) for code in languages]
        self.file.description = _("PDF, Word, Excel or PowerPoint; at most %(mb)d MB. Invitees can download it "
                                  "from their invitation's page.", mb=documents.max_bytes() // (1024 * 1024))


class RemoveDocumentForm(FlaskForm):
    submit = SubmitField(_l("Remove the document"))
