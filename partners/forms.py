"""Forms of the partners pages (organisations, contacts, positions, bulk tags, saved searches, own profile),
and the names pages give the module's enums."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from network.forms import choices

from .models import LegalBasis, NameOrder, OrganisationKind

ORGANISATION_KINDS = {
    OrganisationKind.PARTNER_GOVERNMENT: _l("Partner government"),
    OrganisationKind.GOVERNMENT_DEPARTMENT: _l("Government department"),
    OrganisationKind.EMBASSY: _l("Embassy or consulate"),
    OrganisationKind.NETWORK_SECRETARIAT: _l("Network secretariat"),
    OrganisationKind.INTERNATIONAL_ORGANISATION: _l("International organisation"),
    OrganisationKind.COMPANY: _l("Company"),
    OrganisationKind.UNIVERSITY: _l("University"),
    OrganisationKind.NGO: _l("NGO"),
    OrganisationKind.OTHER: _l("Other"),
}
LEGAL_BASES = {
    LegalBasis.CONSENT: _l("Consent"),
    LegalBasis.LEGITIMATE_INTEREST: _l("Legitimate interest"),
    LegalBasis.PUBLIC_TASK: _l("Public task"),
    LegalBasis.CONTRACT: _l("Contract"),
}
NAME_ORDERS = {
    NameOrder.FAMILY_FIRST: _l("Family name first"),
    NameOrder.GIVEN_FIRST: _l("Given name first"),
}
ORGANISATION_LINKS = {
    "partner": _l("Linked to a partner city"),
    "embassy": _l("Linked to an embassy"),
    "network": _l("Linked to a city network"),
    "none": _l("Not linked"),
}
# Rows a contact form shows beyond those filled; "Add another" gives one more, up to the maximum.
REACH_MAX = 50

OPTIONAL_NAME = [Optional(), Length(max=200)]


def _choices(labels: dict, blank: str | None = None):
    pairs = [(k.value, v) for k, v in labels.items()]
    return choices(([("", blank)] if blank is not None else []) + pairs)


class OrganisationForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_choices(ORGANISATION_KINDS))
    name = StringField(_l("Name in Latin script"), validators=[DataRequired(), Length(max=300)])
    name_local = StringField(_l("Name in the organisation's own script"), validators=[Optional(), Length(max=300)])
    # Menus filled by the view; an unknown id is the service's to refuse, with its message.
    parent_id = SelectField(_l("Part of"), validate_choice=False,
                            description=_l("For a department: the government or department it belongs to."))
    partner_id = SelectField(_l("Partner city in the registry"), validate_choice=False,
                             description=_l("For a partner government; its departments take it from it."))
    embassy_id = SelectField(_l("Mission in the registry"), validate_choice=False,
                             description=_l("For an embassy or a consulate."))
    network_id = SelectField(_l("City network in the registry"), validate_choice=False,
                             description=_l("For a network secretariat."))
    country_code = SelectField(_l("Country"), validate_choice=False)
    website = URLField(_l("Website"), validators=[Optional(), Length(max=500)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save"))

    def organisation_fields(self) -> dict:
        """The form's values as services.create_organisation and update_organisation take them."""
        def as_id(field):
            return int(field.data) if str(field.data or "").isdigit() else None

        return {"kind": self.kind.data, "name": self.name.data, "name_local": self.name_local.data,
                "parent_id": as_id(self.parent_id), "partner_id": as_id(self.partner_id),
                "embassy_id": as_id(self.embassy_id), "network_id": as_id(self.network_id),
                "country_code": self.country_code.data, "website": self.website.data, "notes": self.notes.data or ""}


class EmailRow(Form):
    address = StringField(_l("Email address"), validators=[Optional(), Length(max=254)])
    label = StringField(_l("Label"), validators=[Optional(), Length(max=50)],
                        description=_l("Such as work or private (optional)."))
    primary = BooleanField(_l("Main address"))


class PhoneRow(Form):
    number = StringField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    label = StringField(_l("Label"), validators=[Optional(), Length(max=50)],
                        description=_l("Such as office or mobile (optional)."))
    primary = BooleanField(_l("Main number"))


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace("、", ",").split(",") if part.strip()]


class _ReachForm(FlaskForm):
    """Names, emails, phones and languages: what staff and the person themselves both edit."""

    family_name = StringField(_l("Family name in Latin script"), validators=OPTIONAL_NAME)
    given_name = StringField(_l("Given name in Latin script"), validators=OPTIONAL_NAME)
    family_name_local = StringField(_l("Family name in the person's own script"), validators=OPTIONAL_NAME)
    given_name_local = StringField(_l("Given name in the person's own script"), validators=OPTIONAL_NAME)
    emails = FieldList(FormField(EmailRow), min_entries=1, max_entries=REACH_MAX)
    add_email = SubmitField(_l("Add another email address"))
    phones = FieldList(FormField(PhoneRow), min_entries=1, max_entries=REACH_MAX)
    add_phone = SubmitField(_l("Add another phone number"))
    languages = StringField(_l("Languages spoken"), validators=[Optional(), Length(max=500)],
                            description=_l("Language codes separated by commas, such as ja, en, ko."))
    preferred_language = StringField(_l("Preferred language for correspondence"),
                                     validators=[Optional(), Length(max=35)],
                                     description=_l("A language code, such as ja, en or pt-BR."))

    def adding_row(self) -> bool:
        """Whether an "Add another" button sent the form: one more row, nothing saved."""
        if self.add_email.data and len(self.emails) < REACH_MAX:
            self.emails.append_entry()
            return True
        if self.add_phone.data and len(self.phones) < REACH_MAX:
            self.phones.append_entry()
            return True
        return bool(self.add_email.data or self.add_phone.data)

    @staticmethod
    def reach_data(fields: dict) -> dict:
        """A contact's names, emails, phones and languages (services.contact_fields) as the form's `data`,
        with an empty email and phone row more."""
        return {**{name: fields[name] or "" for name in ("family_name", "given_name", "family_name_local",
                                                         "given_name_local")},
                "emails": [*fields["emails"], {}][:REACH_MAX], "phones": [*fields["phones"], {}][:REACH_MAX],
                "languages": ", ".join(fields["languages"]), "preferred_language": fields["preferred_language"] or ""}

    def reach_fields(self) -> dict:
        return {"family_name": self.family_name.data or "", "given_name": self.given_name.data or "",
                "family_name_local": self.family_name_local.data or "",
                "given_name_local": self.given_name_local.data or "",
                "emails": [{"address": row.form.address.data or "", "label": row.form.label.data or "",
                            "primary": row.form.primary.data} for row in self.emails],
                "phones": [{"number": row.form.number.data or "", "label": row.form.label.data or "",
                            "primary": row.form.primary.data} for row in self.phones],
                "languages": _split(self.languages.data),
                "preferred_language": self.preferred_language.data or None}


class ContactForm(_ReachForm):
    name_order = SelectField(_l("Name order"), choices=_choices(NAME_ORDERS, _l("As the person's culture writes it")),
                             validate_choice=False)
    honorific = StringField(_l("Honorific"), validators=[Optional(), Length(max=100)],
                            description=_l("Such as H.E., Dr or Ms."))
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)],
                        description=_l("Such as Ambassador or Professor."))
    country_code = SelectField(_l("Country"), validate_choice=False)
    city = StringField(_l("City"), validators=[Optional(), Length(max=200)],
                       description=_l("Where the person works, such as “Paris, FR”, or a GeoNames id: their "
                                      "local time comes from it."))
    city_id = HiddenField()  # the GeoNames id the city suggestions chose (typing over the name clears it)
    timezone_override = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)],
                                    description=_l("Only when not their city's, such as Europe/Paris."))
    protocol_rank = IntegerField(_l("Protocol rank"), validators=[Optional(), NumberRange(min=1, max=9999)],
                                 description=_l("1 goes first in the order of precedence; empty for unranked."))
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=1000)],
                       description=_l("Separated by commas."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    source = StringField(_l("Source of the data"), validators=[Optional(), Length(max=500)],
                         description=_l("Where the office got this person's details."))
    legal_basis = SelectField(_l("Legal basis"), choices=_choices(LEGAL_BASES, "—"), validate_choice=False)
    consent_date = DateField(_l("Consent date"), validators=[Optional()],
                             description=_l("Required when the legal basis is consent."))
    review_date = DateField(_l("Review date"), validators=[Optional()],
                            description=_l("When to check that the office may still keep these details."))
    # Only on a new contact: their first post, saved with them.
    organisation_id = SelectField(_l("Organisation"), validate_choice=False)
    position_title = StringField(_l("Position"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Save"))

    def contact_fields(self, city_id: int | None) -> dict:
        """The form's values as services.create_contact and update_contact take them (user_id and the
        tags' order left to the caller)."""
        return {**self.reach_fields(), "name_order": self.name_order.data or None,
                "honorific": self.honorific.data or "", "title": self.title.data or "",
                "country_code": self.country_code.data or None, "city_id": city_id,
                "timezone_override": self.timezone_override.data or None,
                "protocol_rank": self.protocol_rank.data, "tags": _split(self.tags.data),
                "notes": self.notes.data or "", "source": self.source.data or "",
                "legal_basis": self.legal_basis.data or None, "consent_date": self.consent_date.data,
                "review_date": self.review_date.data}


class ProfileForm(_ReachForm):
    """What a liaison or a delegate edits of their own record."""

    submit = SubmitField(_l("Save my profile"))


class PositionForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), validate_choice=False, validators=[DataRequired()])
    title = StringField(_l("Position"), validators=[Optional(), Length(max=300)],
                        description=_l("Such as Director of International Affairs."))
    department = StringField(_l("Department"), validators=[Optional(), Length(max=300)])
    started_on = DateField(_l("Started on"), validators=[Optional()])
    ended_on = DateField(_l("Ended on"), validators=[Optional()],
                         description=_l("Only for a post held in the past."))
    end_current = BooleanField(_l("The person moved: their current positions end on the start date"))
    submit = SubmitField(_l("Add the position"))


class EndPositionForm(FlaskForm):
    ended_on = DateField(_l("Ended on"), validators=[InputRequired()])
    submit = SubmitField(_l("End the position"))


class TagContactsForm(FlaskForm):
    contact_ids = SelectMultipleField(_l("Contacts"), coerce=int, validate_choice=False)
    tag = StringField(_l("Tag to add or remove"), validators=[DataRequired(), Length(max=64)])
    action = RadioField(_l("Action"), choices=choices([("add", _l("Add the tag")), ("remove", _l("Remove the tag"))]),
                        default="add")
    back = HiddenField()
    submit = SubmitField(_l("Apply to the chosen contacts"))


class ListContactsForm(FlaskForm):
    """Put the contacts chosen on the list on a mailing list (a button of the list's bulk form)."""

    contact_ids = SelectMultipleField(_l("Contacts"), coerce=int, validate_choice=False)
    list_id = SelectField(_l("Mailing list"), coerce=int, validate_choice=False)
    back = HiddenField()
    submit = SubmitField(_l("Add to the mailing list"))


class InviteContactsForm(FlaskForm):
    """Invite the contacts chosen on the list to a scheduled meeting (a button of the list's bulk form)."""

    contact_ids = SelectMultipleField(_l("Contacts"), coerce=int, validate_choice=False)
    meeting_id = SelectField(_l("Meeting"), coerce=int, validate_choice=False)
    back = HiddenField()
    submit = SubmitField(_l("Invite to the meeting"))


class SaveSearchForm(FlaskForm):
    name = StringField(_l("Name of the search"), validators=[DataRequired(), Length(max=100)])
    query = HiddenField()
    submit = SubmitField(_l("Save this search"))
