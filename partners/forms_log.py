"""Forms of the interaction log: an interaction with its participants and gift, and a follow-up."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from network.forms import MultiCheckboxField, choices

from .models import InteractionKind

INTERACTION_KINDS = {
    InteractionKind.VISIT: _l("Visit"),
    InteractionKind.CALL: _l("Call"),
    InteractionKind.MEETING: _l("Meeting"),
    InteractionKind.LETTER: _l("Letter"),
    InteractionKind.EMAIL: _l("Email"),
    InteractionKind.GIFT_GIVEN: _l("Gift given"),
    InteractionKind.GIFT_RECEIVED: _l("Gift received"),
}


class InteractionForm(FlaskForm):
    """What happened, with whom; the services judge the participants and the gift.

    The participants are ticked boxes: those already chosen, and the matches of a search made with the
    `search` button (which saves nothing), so that the form works without JavaScript; with it, the search
    box becomes a combobox that ticks a box for each pick.
    """

    kind = SelectField(_l("Kind"), choices=choices((k.value, v) for k, v in INTERACTION_KINDS.items()))
    occurred_on = DateField(_l("Date"), validators=[InputRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    find = StringField(_l("Find a contact or an organisation"), validators=[Optional(), Length(max=100)],
                       description=_l("Type part of a name in any script, then search; tick who took part."))
    search = SubmitField(_l("Search"))
    contact_ids = MultiCheckboxField(_l("Contacts"), coerce=int, validate_choice=False)
    organisation_ids = MultiCheckboxField(_l("Organisations"), coerce=int, validate_choice=False)
    staff_ids = MultiCheckboxField(_l("Staff"), coerce=int, validate_choice=False)
    gift_description = StringField(_l("Gift"), validators=[Optional(), Length(max=500)],
                                   description=_l("What was given or received."))
    gift_value = StringField(_l("Value"), validators=[Optional(), Length(max=20)],
                             description=_l("For the protocol record, such as 15000 or 120.50."))
    gift_currency = StringField(_l("Currency"), validators=[Optional(), Length(max=3)],
                                description=_l("ISO 4217 code, such as JPY, EUR or USD."))
    submit = SubmitField(_l("Log the interaction"))


class FollowUpForm(FlaskForm):
    owner_id = SelectField(_l("Owner"), coerce=int, validate_choice=False,
                           description=_l("The staff member who is to do it; they are reminded by email when it "
                                          "falls due."))
    due_on = DateField(_l("Due on"), validators=[InputRequired()])
    text = TextAreaField(_l("What is to be done"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Add the follow-up"))
