"""Forms of the invitees' pages (answer, register the delegation), the personal calendar feeds and the .ics upload."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from .models import Answer, DelegateRole, Tier

ANSWERS = {Answer.ACCEPTED: _l("Accept"), Answer.TENTATIVE: _l("Maybe"), Answer.DECLINED: _l("Decline")}
ANSWER_LABELS = {Answer.NEEDS_ACTION: _l("Not answered yet"), Answer.ACCEPTED: _l("Accepted"),
                 Answer.TENTATIVE: _l("Maybe"), Answer.DECLINED: _l("Declined")}
ROLES = {DelegateRole.HEAD: _l("Head of delegation"), DelegateRole.MEMBER: _l("Member"),
         DelegateRole.ADVISER: _l("Adviser"), DelegateRole.INTERPRETER: _l("Interpreter"),
         DelegateRole.SUPPORT_STAFF: _l("Support staff")}
TIERS = {Tier.LEADERS: _l("Leaders"), Tier.SENIOR_OFFICIALS: _l("Senior officials"),
         Tier.WORKING_LEVEL: _l("Working level"), Tier.DIPLOMATIC_BRIEFING: _l("Diplomatic-corps briefing"),
         Tier.SIDE_EVENT: _l("Side event")}


class AnswerForm(FlaskForm):
    """One submit button per answer: the pressed one is the answer."""

    answer = SelectField(choices=[SelectChoice(a.value, label) for a, label in ANSWERS.items()])
    comment = TextAreaField(_l("Message to the organizers (optional)"), validators=[Optional(), Length(max=2000)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the person's name.")), Length(max=300)])
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Give a valid email address.")), Length(max=254)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLES.items()],
                       default=DelegateRole.MEMBER.value)
    title = StringField(_l("Title or position"), validators=[Optional(), Length(max=300)],
                        description=_l("As the name badge should print it."))
    arrival_at = DateTimeLocalField(_l("Arrival"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    departure_at = DateTimeLocalField(_l("Departure"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    dietary = StringField(_l("Dietary requirements"), validators=[Optional(), Length(max=500)])
    accessibility = StringField(_l("Accessibility needs"), validators=[Optional(), Length(max=500)])
    interpretation_language = SelectField(_l("Interpretation into"), choices=[])
    accreditation = FileField(_l("Accreditation (note verbale)"),
                              description=_l("A PDF of the note verbale, or a Word document."))
    submit = SubmitField(_l("Register"))


class ActionForm(FlaskForm):
    """A button that posts: cancel a registration, accept a place, revoke a feed."""


class FeedForm(FlaskForm):
    name = StringField(_l("Name of the feed"), validators=[Optional(), Length(max=200)],
                       description=_l("For you to tell your feeds apart, such as the calendar program it is for."))
    submit = SubmitField(_l("Create a feed"))


class IcsUploadForm(FlaskForm):
    file = FileField(_l("Invitation file (.ics)"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("A calendar invitation saved from Outlook, Google Calendar or Apple Calendar."))
    tier = SelectField(_l("Tier of a new meeting"),
                       choices=[SelectChoice(t.value, label) for t, label in TIERS.items()],
                       default=Tier.SIDE_EVENT.value)
    submit = SubmitField(_l("Upload and preview"))


class IcsConfirmForm(FlaskForm):
    tier = SelectField(choices=[SelectChoice(t.value, label) for t, label in TIERS.items()])
    save = SubmitField(_l("Save"))
