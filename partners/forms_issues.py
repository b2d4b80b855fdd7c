"""Forms of the issue pages: a new issue, a language variant, files, a test send, sending back, scheduling."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, EmailField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from kizuna.forms import EmailAddress
from network.forms import choices

from .models import IssueStatus

STATUS_LABELS = {
    IssueStatus.DRAFT: _l("Draft"),
    IssueStatus.AWAITING_APPROVAL: _l("Awaiting approval"),
    IssueStatus.APPROVED: _l("Approved"),
    IssueStatus.SCHEDULED: _l("Scheduled"),
    IssueStatus.SENDING: _l("Sending"),
    IssueStatus.PAUSED: _l("Paused"),
    IssueStatus.SENT: _l("Sent"),
    IssueStatus.CANCELLED: _l("Cancelled"),
}
# The colour class each state gets on the page (next to its name in words, never instead of it).
STATUS_CLASSES = {
    IssueStatus.DRAFT: "state-queued", IssueStatus.AWAITING_APPROVAL: "state-retrying",
    IssueStatus.APPROVED: "state-sent", IssueStatus.SCHEDULED: "state-sent", IssueStatus.SENDING: "state-sending",
    IssueStatus.PAUSED: "state-retrying", IssueStatus.SENT: "state-sent", IssueStatus.CANCELLED: "state-failed",
}


class NewIssueForm(FlaskForm):
    list_id = SelectField(_l("Mailing list"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Start a draft"))


class VariantForm(FlaskForm):
    """The issue in one language; `preview` shows it rendered and saves nothing (the page without scripts)."""

    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[DataRequired(), Length(max=200_000)],
                         description=_l("Markdown: # a heading, **bold**, [a link](https://…), - a list item. "
                                        "HTML is cleaned: scripts and event handlers are removed."),
                         render_kw={"rows": 14, "spellcheck": "true"})
    submit = SubmitField(_l("Save"))
    preview = SubmitField(_l("Preview"))


class NewVariantForm(VariantForm):
    """Another language: one of the suggested ones, or any BCP 47 tag typed in."""

    language = SelectField(_l("New language"), validate_choice=False)
    other_language = StringField(_l("Or another language code (BCP 47)"), validators=[Optional(), Length(max=35)],
                                 description=_l("For example pt-BR, zh-Hant or vi. Plain Japanese is ja-x-easy."))
    submit = SubmitField(_l("Add this language"))

    def chosen_language(self) -> str:
        return (self.other_language.data or "").strip() or (self.language.data or "")


class AttachmentForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("Images (PNG, JPEG, GIF, WebP) are shown in the text; PDF and Office documents "
                                    "are attached to every message."))
    submit = SubmitField(_l("Upload"))


class TestSendForm(FlaskForm):
    language = SelectField(_l("Language of the test"))
    recipient = RadioField(_l("Send to"), default="me",
                           choices=choices([("me", _l("My own address")), ("other", _l("Another address"))]))
    address = EmailField(_l("Other address"), validators=[Optional(), Length(max=254), EmailAddress()])
    submit = SubmitField(_l("Send a test"))


class ReturnForm(FlaskForm):
    comment = TextAreaField(_l("What should change"), validators=[DataRequired(), Length(max=2000)],
                            render_kw={"rows": 4})
    submit = SubmitField(_l("Send back to draft"))


class ScheduleForm(FlaskForm):
    scheduled_at = DateTimeLocalField(_l("Send at"), format="%Y-%m-%dT%H:%M",
                                      validators=[InputRequired(_l("Enter a date and time."))])
    submit = SubmitField(_l("Schedule"))
