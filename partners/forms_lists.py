"""Forms of mailing lists: a list's settings, adding contacts, the public subscribe form, a reader's own choice."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kizuna.forms import EMAIL
from network.forms import choices

NAMES_MAX = 12  # languages a list's name is given in
ARCHIVE_CHOICES = choices([("subscribers", _l("Subscribers and staff only")), ("public", _l("Anyone (public)"))])


class NameRow(Form):
    language = StringField(_l("Language"), validators=[Optional(), Length(max=35)],
                           description=_l("A language code such as en, ja, zh-Hans or ko."))
    name = StringField(_l("Name in this language"), validators=[Optional(), Length(max=200)])


class ListForm(FlaskForm):
    """A list's names (one row per language), description and options."""

    names = FieldList(FormField(NameRow), min_entries=2, max_entries=NAMES_MAX)
    add_name = SubmitField(_l("Add another language"))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)],
                                description=_l("What readers get, and how often. Shown on the subscribe form."))
    default_language = StringField(_l("Default language"), validators=[DataRequired(), Length(max=35)],
                                   default="en",
                                   description=_l("Every issue is written in it; readers whose language an issue "
                                                  "lacks get this one. The list needs its name in it."))
    public_subscribe = BooleanField(_l("Anyone may subscribe on the public form"))
    double_opt_in = BooleanField(_l("Ask people who subscribe on the form to confirm by email (double opt-in)"),
                                 default=True)
    archive_visibility = RadioField(_l("Who may read past issues on the web"), choices=ARCHIVE_CHOICES,
                                    default="subscribers")
    submit = SubmitField(_l("Save the list"))

    def adding_row(self) -> bool:
        """Whether "Add another language" sent the form: one more row, nothing saved."""
        if self.add_name.data and len(self.names) < NAMES_MAX:
            self.names.append_entry()
            return True
        return bool(self.add_name.data)

    def validate_names(self, field):
        seen = set()
        for row in field:
            code = (row.form.language.data or "").strip().lower()
            if code and code in seen:
                row.form.language.errors = [*row.form.language.errors, _l("This language is given twice.")]
                raise ValidationError(_l("Give each language once."))
            seen.add(code)
            if (row.form.name.data or "").strip() and not code:
                row.form.language.errors = [*row.form.language.errors, _l("Say which language this name is in.")]
                raise ValidationError(_l("Say which language each name is in."))

    def values(self) -> dict:
        """The fields as newsletters.create_list and update_list take them."""
        return {"names": {row.form.language.data.strip(): row.form.name.data or ""
                          for row in self.names if (row.form.language.data or "").strip()},
                "description": self.description.data or "", "default_language": self.default_language.data,
                "public_subscribe": self.public_subscribe.data, "double_opt_in": self.double_opt_in.data,
                "archive_visibility": self.archive_visibility.data}

    @staticmethod
    def data_of(mailing_list) -> dict:
        """A list's settings as the form's `data`, with an empty name row more."""
        names = [{"language": code, "name": name} for code, name in (mailing_list.names or {}).items()]
        return {"names": [*names, {"language": "", "name": ""}], "description": mailing_list.description,
                "default_language": mailing_list.default_language,
                "public_subscribe": mailing_list.public_subscribe, "double_opt_in": mailing_list.double_opt_in,
                "archive_visibility": mailing_list.archive_visibility.value}


class AddSubscribersForm(FlaskForm):
    """Put the contacts chosen on the page on the list (staff vouch for their consent)."""

    contact_ids = SelectMultipleField(_l("Contacts"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("Add the chosen contacts"))


class SubscribeForm(FlaskForm):
    """The public form. `website` is a trap for robots: people never see it, so a value in it means a robot."""

    email = EmailField(_l("Email"), validators=EMAIL, render_kw={"autocomplete": "email"})
    given_name = StringField(_l("Given name"), validators=[Optional(), Length(max=200)],
                             render_kw={"autocomplete": "given-name"},
                             description=_l("Your given name, your family name, or both."))
    family_name = StringField(_l("Family name"), validators=[Optional(), Length(max=200)],
                              render_kw={"autocomplete": "family-name"})
    language = SelectField(_l("Language you would like to read it in"), validators=[Optional()],
                           validate_choice=True)
    consent = BooleanField(_l("I agree to receive this newsletter by email. I can unsubscribe at any time with the "
                              "link in every issue."),
                           validators=[DataRequired(_l("Tick the box to agree, or we cannot send it to you."))])
    website = StringField(_l("Leave this field empty"), validators=[Optional()],
                          render_kw={"autocomplete": "off", "tabindex": "-1"})
    submit = SubmitField(_l("Subscribe"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # A name is asked of everyone, known address or not: a form that wanted one only from newcomers would
        # tell whoever tries an address whether it is already subscribed.
        if not (self.given_name.data or "").strip() and not (self.family_name.data or "").strip():
            self.given_name.errors = [*self.given_name.errors, _l("Give your given name or your family name.")]
            return False
        return valid


class OwnSubscriptionForm(FlaskForm):
    """A liaison or a delegate joins or leaves one list."""

    action = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Change"))
