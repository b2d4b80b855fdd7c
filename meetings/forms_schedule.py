"""The scheduling assistant's form: which cities, which days, how long, and the working hours (sent by GET)."""

from __future__ import annotations

from datetime import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, SubmitField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from kizuna.i18n import timezone_choices
from network.forms import MultiCheckboxField

# Offered durations: half an hour to eight hours, in half hours.
DURATIONS = tuple(range(30, 8 * 60 + 1, 30))


def duration_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)d min", minutes=rest)
    if not rest:
        return _("%(hours)d h", hours=hours)
    return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)


class ScheduleForm(FlaskForm):
    """Read from the query string, so that a proposal can be bookmarked and shared: no CSRF token (it changes
    nothing)."""

    class Meta:
        csrf = False

    meeting = HiddenField()
    cities = MultiCheckboxField(_l("Partner cities"), coerce=int, validate_choice=False,
                                description=_l("The home city is always included."))
    first_day = DateField(_l("First day"), validators=[InputRequired(_l("Enter the first day."))])
    last_day = DateField(_l("Last day"), validators=[InputRequired(_l("Enter the last day."))])
    duration = SelectField(_l("Duration"), coerce=int, default=60)
    hours_start = TimeField(_l("Working hours start"), default=time(8),
                            validators=[InputRequired(_l("Enter when working hours start."))])
    hours_end = TimeField(_l("Working hours end"), default=time(20),
                          validators=[InputRequired(_l("Enter when working hours end."))])
    host_zone = SelectField(_l("Show start times in the zone"), validators=[Optional()])
    weekdays_only = BooleanField(_l("Weekdays only (Monday to Friday, in the host zone)"))
    submit = SubmitField(_l("Propose times"))

    def __init__(self, *args, partner_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.cities.choices = [SelectChoice(pid, label) for pid, label in partner_choices]
        self.duration.choices = [SelectChoice(m, duration_label(m)) for m in DURATIONS]
        self.host_zone.choices = [SelectChoice(z, label) for z, label in timezone_choices()]

    def validate_cities(self, field) -> None:
        known = {choice.value for choice in field.choices}
        if any(pid not in known for pid in field.data or ()):
            raise ValidationError(_("Choose among the partner cities listed."))
