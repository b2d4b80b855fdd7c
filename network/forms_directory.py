"""Forms of the registry's directory: embassies and their status changes, city networks, roles, members, events."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .forms import OPTIONAL_TEXT, PartialDateField, choices
from .models import EmbassyStatus, MissionType, NetworkRole

MISSION_TYPES = {
    MissionType.EMBASSY: _l("Embassy"),
    MissionType.CONSULATE_GENERAL: _l("Consulate-general"),
    MissionType.CONSULATE: _l("Consulate"),
    MissionType.HONORARY_CONSULATE: _l("Honorary consulate"),
    MissionType.REPRESENTATIVE_OFFICE: _l("Representative office"),
}
EMBASSY_STATUSES = {
    EmbassyStatus.OPEN: _l("Open"),
    EmbassyStatus.TEMPORARILY_CLOSED: _l("Temporarily closed"),
    EmbassyStatus.MOVED: _l("Moved"),
    EmbassyStatus.CLOSED: _l("Closed"),
}
# What a status change is called on the form that makes it.
EMBASSY_STATUS_VERBS = {
    EmbassyStatus.TEMPORARILY_CLOSED: _l("Close temporarily"),
    EmbassyStatus.OPEN: _l("Reopen"),
    EmbassyStatus.CLOSED: _l("Close"),
    EmbassyStatus.MOVED: _l("Move to a new address"),
}
NETWORK_ROLES = {
    NetworkRole.MEMBER: _l("Member"),
    NetworkRole.STEERING_COMMITTEE: _l("Steering committee"),
    NetworkRole.CHAIR: _l("Chair"),
    NetworkRole.CO_CHAIR: _l("Co-chair"),
    NetworkRole.VICE_CHAIR: _l("Vice-chair"),
}
CITY_HINT = _l("Its name and country code, such as “Paris, FR”, or its GeoNames id.")


class EmbassyForm(FlaskForm):
    # Not checked against its choices here: an unknown code is the service's to refuse, with its message.
    country_code = SelectField(_l("Country"), validate_choice=False)
    mission_type = SelectField(_l("Kind of mission"), choices=choices((k.value, v) for k, v in MISSION_TYPES.items()))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    name_ja = StringField(_l("Name in Japanese"), validators=[Optional(), Length(max=300)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=500)])
    ward = StringField(_l("Ward"), validators=[Optional(), Length(max=100)], description=_l("Such as Minato."))
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    phones = TextAreaField(_l("Phone numbers"), validators=[Optional(), Length(max=1000)],
                           description=_l("One per line, such as +81 3-3224-5000."))
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)])
    website = URLField(_l("Website"), validators=[Optional(), Length(max=500)])
    head_of_mission = StringField(_l("Head of mission"), validators=OPTIONAL_TEXT)
    head_title = StringField(_l("Title of the head of mission"), validators=OPTIONAL_TEXT,
                             description=_l("Such as Ambassador Extraordinary and Plenipotentiary."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save"))


class EmbassyStatusForm(FlaskForm):
    status = SelectField(_l("Change"))
    effective_on = DateField(_l("Effective on"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])
    new_address = StringField(_l("New address"), validators=[Optional(), Length(max=500)],
                              description=_l("Only for a move; the previous address is kept in the history."))
    new_ward = StringField(_l("New ward"), validators=[Optional(), Length(max=100)],
                           description=_l("Only for a move; leave empty to keep the ward."))
    submit = SubmitField(_l("Record the change"))


class NetworkForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=40)])
    name_ja = StringField(_l("Name in Japanese"), validators=OPTIONAL_TEXT)
    website = URLField(_l("Website"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Add the network"))


class NetworkEditForm(NetworkForm):
    submit = SubmitField(_l("Save"))


class HomeRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices((k.value, v) for k, v in NETWORK_ROLES.items()))
    started_on = PartialDateField(_l("Since"), validators=[Optional()],
                                  description=_l("YYYY-MM-DD; YYYY-MM or YYYY when only the month or the year is "
                                                 "known; empty when unknown."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Set the role"))


class MemberForm(FlaskForm):
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=200)], description=CITY_HINT)
    joined_on = DateField(_l("Joined on"), validators=[Optional()])
    submit = SubmitField(_l("Add the member"))


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    kind = StringField(_l("Kind of event"), validators=[Optional(), Length(max=64)],
                       description=_l("Such as summit or Sherpa meeting."))
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    city = StringField(_l("City"), validators=OPTIONAL_TEXT, description=CITY_HINT)
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=300)])
    url = URLField(_l("Web page"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Add the event"))


class EventEditForm(EventForm):
    submit = SubmitField(_l("Save"))


class MemberEditForm(FlaskForm):
    joined_on = DateField(_l("Joined on"), validators=[Optional()])
    left_on = DateField(_l("Left on"), validators=[Optional()],
                        description=_l("Only when the city has left the network; not before it joined, not in the "
                                       "future. Empty: still a member."))
    submit = SubmitField(_l("Save"))
