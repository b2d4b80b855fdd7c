"""Forms of the staff's meeting pages: series, meetings, invitations, cancellation, registration decisions."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kizuna.forms import EmailAddress
from kizuna.i18n import LANGUAGES, timezone_choices

from .models import Answer, DelegateRole, MeetingFormat, MeetingStatus, RegistrationStatus, Tier

TIERS = {
    Tier.LEADERS: _l("Leaders"),
    Tier.SENIOR_OFFICIALS: _l("Senior officials"),
    Tier.WORKING_LEVEL: _l("Working level"),
    Tier.DIPLOMATIC_BRIEFING: _l("Diplomatic-corps briefing"),
    Tier.SIDE_EVENT: _l("Side event"),
}
FORMATS = {MeetingFormat.IN_PERSON: _l("In person"), MeetingFormat.ONLINE: _l("Online"),
           MeetingFormat.HYBRID: _l("Hybrid")}
MEETING_STATUSES = {
    MeetingStatus.DRAFT: _l("Draft"),
    MeetingStatus.SCHEDULED: _l("Scheduled"),
    MeetingStatus.POSTPONED: _l("Postponed"),
    MeetingStatus.CANCELLED: _l("Cancelled"),
    MeetingStatus.HELD: _l("Held"),
}
ANSWERS = {Answer.NEEDS_ACTION: _l("No answer yet"), Answer.ACCEPTED: _l("Accepted"),
           Answer.DECLINED: _l("Declined"), Answer.TENTATIVE: _l("Maybe")}
ANSWERED_VIA = {"link": _l("the link"), "mail": _l("their mail program"), "staff": _l("staff"), "api": _l("the API")}
REGISTRATION_STATUSES = {
    RegistrationStatus.PENDING: _l("Waiting for approval"),
    RegistrationStatus.CONFIRMED: _l("Confirmed"),
    RegistrationStatus.WAITLISTED: _l("On the waiting list"),
    RegistrationStatus.OFFERED: _l("Offered a place"),
    RegistrationStatus.DECLINED: _l("Declined by staff"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
}
ROLES = {DelegateRole.HEAD: _l("Head of delegation"), DelegateRole.MEMBER: _l("Member"),
         DelegateRole.ADVISER: _l("Adviser"), DelegateRole.INTERPRETER: _l("Interpreter"),
         DelegateRole.SUPPORT_STAFF: _l("Support staff")}
DELIVERY = {"queued": _l("Queued"), "sending": _l("Sending"), "retrying": _l("Retrying"), "sent": _l("Sent"),
            "failed": _l("Failed")}
DOCUMENT_KINDS = {"agenda": _l("Agenda"), "concept_note": _l("Concept note"), "communique": _l("Communiqué"),
                  "other": _l("Other document")}
# The languages whose title and description the meeting form always offers; others go in "another language".
FORM_LANGUAGES = ("en", "ja")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# What <input type="datetime-local"> sends: minutes, or seconds when the browser adds them.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(k.value, label) for k, label in labels.items()]


def _language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in LANGUAGES.items()]


class LanguageTag:
    """One BCP 47 tag (fr, zh-Hant), or a comma-separated list of them when `many`."""

    def __init__(self, many: bool = False):
        self.many = many

    def __call__(self, form, field):
        values = [v.strip() for v in (field.data or "").split(",")] if self.many else [(field.data or "").strip()]
        for value in values:
            if value and not LANGUAGE_TAG.match(value):
                raise ValidationError(_l("%(tag)s is not a language code; use codes such as en, ja, zh-Hant.",
                                         tag=value))


TEXT = [Optional(), Length(max=300)]
OPTIONAL = [Optional()]


class SeriesForm(FlaskForm):
    title_en = StringField(_l("Title in English"), validators=TEXT)
    title_ja = StringField(_l("Title in Japanese"), validators=TEXT)
    description_en = TextAreaField(_l("Description in English"), validators=[Optional(), Length(max=20000)])
    description_ja = TextAreaField(_l("Description in Japanese"), validators=[Optional(), Length(max=20000)])
    tier = SelectField(_l("Tier"), choices=_choices(TIERS))
    rrule = StringField(_l("Recurrence"), validators=[Optional(), Length(max=500)],
                        description=_l("An RRULE: FREQ=YEARLY;INTERVAL=2 for every two years, FREQ=YEARLY for "
                                       "every year. Leave empty when the meetings are called as needed."))
    default_format = SelectField(_l("Usual format"), choices=_choices(FORMATS))
    default_delegation_limit = IntegerField(_l("Usual delegation size per city"), validators=[Optional()])
    invitable_ranks = StringField(_l("Who may be invited"), validators=[Optional(), Length(max=500)],
                                  description=_l("Ranks separated by commas, such as governor, mayor, "
                                                 "vice-mayor."))
    accreditation_required = BooleanField(_l("Accreditation required (a note verbale)"))
    submit = SubmitField(_l("Save the series"))


class MeetingForm(FlaskForm):
    series_id = SelectField(_l("Series"), validate_choice=False)
    title_en = StringField(_l("Title in English"), validators=TEXT)
    title_ja = StringField(_l("Title in Japanese"), validators=TEXT)
    description_en = TextAreaField(_l("Description in English"), validators=[Optional(), Length(max=20000)])
    description_ja = TextAreaField(_l("Description in Japanese"), validators=[Optional(), Length(max=20000)])
    other_language = StringField(_l("Language code"), validators=[Optional(), Length(max=16), LanguageTag()],
                                 description=_l("Such as fr, ko or zh-Hant."))
    other_title = StringField(_l("Title in that language"), validators=TEXT)
    other_description = TextAreaField(_l("Description in that language"),
                                      validators=[Optional(), Length(max=20000)])
    default_language = SelectField(_l("Language to fall back on"), choices=_language_choices)
    tier = SelectField(_l("Tier"), choices=_choices(TIERS))
    format = SelectField(_l("Format"), choices=_choices(FORMATS))
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=300)])
    room = StringField(_l("Room"), validators=[Optional(), Length(max=200)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)])
    online_url = URLField(_l("Online meeting link"), validators=[Optional(), Length(max=1000)],
                          description=_l("A full https:// address; required for online and hybrid meetings."))
    timezone = SelectField(_l("Time zone of the meeting"), choices=timezone_choices, validate_choice=False,
                           description=_l("Start, end and the registration window are read in this zone."))
    starts_at = DateTimeLocalField(_l("Starts"), format=LOCAL_FORMATS, validators=OPTIONAL)
    ends_at = DateTimeLocalField(_l("Ends"), format=LOCAL_FORMATS, validators=OPTIONAL)
    registration_opens_at = DateTimeLocalField(_l("Registration opens"), format=LOCAL_FORMATS, validators=OPTIONAL,
                                               description=_l("Leave empty to open it when the meeting is "
                                                              "scheduled."))
    registration_closes_at = DateTimeLocalField(_l("Registration closes"), format=LOCAL_FORMATS, validators=OPTIONAL,
                                                description=_l("Leave empty to close it when the meeting "
                                                               "starts."))
    capacity = IntegerField(_l("Places in all"), validators=[Optional()],
                            description=_l("Leave empty for no limit."))
    delegation_limit = IntegerField(_l("People per delegation"), validators=[Optional()],
                                    description=_l("Leave empty for no limit."))
    interpretation_languages = StringField(_l("Interpretation languages"),
                                           validators=[Optional(), Length(max=200), LanguageTag(many=True)],
                                           description=_l("Language codes separated by commas, such as en, ja, "
                                                          "fr."))
    accreditation_required = BooleanField(_l("Accreditation required (a note verbale)"))
    approval_required = BooleanField(_l("Staff approve each registration"))
    network_event_id = SelectField(_l("Network event"), validate_choice=False,
                                   description=_l("The network's event this meeting belongs to, such as a U20 "
                                                  "Sherpa meeting (optional)."))
    submit = SubmitField(_l("Save"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why is the meeting cancelled?"), validators=[Length(max=2000)],
                           description=_l("Everyone invited or registered is told this, with the calendar "
                                          "cancellation."))
    submit = SubmitField(_l("Cancel the meeting"))


class PostponeForm(FlaskForm):
    reason = TextAreaField(_l("Why is the meeting postponed?"), validators=[Length(max=2000)],
                           description=_l("Everyone invited or registered is told this, with the updated "
                                          "calendar entry."))
    submit = SubmitField(_l("Postpone the meeting"))


class InvitePartnerForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), validate_choice=False)
    name = StringField(_l("Name of the head of delegation"), validators=[DataRequired(), Length(max=300)])
    email = EmailField(_l("Email of the head of delegation"),
                       validators=[DataRequired(), Length(max=254), EmailAddress()])
    language = SelectField(_l("Language of the invitation"), choices=_language_choices)
    submit = SubmitField(_l("Invite the delegation"))


class InviteContactForm(FlaskForm):
    contact = StringField(_l("Contact"), validators=[DataRequired(), Length(max=300)],
                          description=_l("The contact's email address, or their name as recorded in Contacts."))
    submit = SubmitField(_l("Invite the contact"))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Message to the person (optional)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Withdraw the invitation"))


class RecordAnswerForm(FlaskForm):
    """Staff note an answer given by phone, by letter or in person."""

    answer = SelectField(_l("Answer"), choices=[SelectChoice("accepted", _l("Accepted")),
                                                SelectChoice("tentative", _l("Maybe")),
                                                SelectChoice("declined", _l("Declined"))])
    submit = SubmitField(_l("Record the answer"))


class DecideForm(FlaskForm):
    approve = SubmitField(_l("Approve"))
    decline = SubmitField(_l("Decline"))


class ActionForm(FlaskForm):
    """A button that posts with a CSRF token (schedule, send reminders)."""

    submit = SubmitField(_l("Confirm"))
