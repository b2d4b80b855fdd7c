"""Forms of the network registry: partners, relationships, status changes, agreements, cooperation areas."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from kizuna.extensions import db

from . import documents, services
from .models import (
    Agreement,
    AgreementKind,
    City,
    DatePrecision,
    PartnerKind,
    RelationshipKind,
    RelationshipStatus,
    Succession,
)

PARTNER_KINDS = {
    PartnerKind.CITY: _l("City"),
    PartnerKind.SUBNATIONAL: _l("Sub-national government"),
    PartnerKind.PUBLIC_BODY: _l("Public body"),
}
RELATIONSHIP_KINDS = {
    RelationshipKind.SISTER_CITY: _l("Sister city"),
    RelationshipKind.FRIENDSHIP_CITY: _l("Friendship city"),
    RelationshipKind.FRIENDSHIP_STATE: _l("Friendship state"),
    RelationshipKind.MOU_PARTNER: _l("MOU partner"),
    RelationshipKind.COOPERATION: _l("Cooperation"),
}
STATUSES = {
    RelationshipStatus.ACTIVE: _l("Active"),
    RelationshipStatus.EXCHANGES_SUSPENDED: _l("Exchanges suspended"),
    RelationshipStatus.DORMANT: _l("Dormant"),
    RelationshipStatus.ENDED: _l("Ended"),
}
# What a status change is called on the button that makes it.
STATUS_VERBS = {
    RelationshipStatus.ACTIVE: _l("Resume"),
    RelationshipStatus.EXCHANGES_SUSPENDED: _l("Suspend exchanges"),
    RelationshipStatus.DORMANT: _l("Mark dormant"),
    RelationshipStatus.ENDED: _l("End the relationship"),
}
AGREEMENT_KINDS = {
    AgreementKind.MOU: _l("Memorandum of understanding"),
    AgreementKind.JOINT_STATEMENT: _l("Joint statement"),
    AgreementKind.COMMUNIQUE: _l("Communiqué"),
    AgreementKind.FRIENDSHIP_AGREEMENT: _l("Friendship agreement"),
    AgreementKind.COOPERATION_AGREEMENT: _l("Cooperation agreement"),
    AgreementKind.OTHER: _l("Other"),
}
SUCCESSIONS = {Succession.RENEWAL: _l("Renewal"), Succession.REVISION: _l("Revision")}
AGREEMENT_STATES = {"in_force": _l("In force"), "superseded": _l("Superseded"), "expired": _l("Expired"),
                    "terminated": _l("Terminated")}  # the values of Agreement.state

class PartialDateField(Field):
    """A date the sources may give to the day (2017-10-04), the month (2017-10) or the year (2017).

    `data` is the first day of what was given; `precision` says how much of it was given.
    """

    widget = widgets.TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.precision = DatePrecision.DAY

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        if self.precision == DatePrecision.YEAR:
            return f"{self.data:%Y}"
        return f"{self.data:%Y-%m}" if self.precision == DatePrecision.MONTH else self.data.isoformat()

    def process_formdata(self, valuelist):
        # The registry's one reading of partial dates (imports and the demo use it too).
        try:
            self.data, self.precision = services.parse_partial_date(valuelist[0] if valuelist else "", self.name)
        except services.NetworkError as exc:
            self.data = None
            raise ValueError(str(exc)) from None


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants them (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def _choices(labels: dict) -> list[SelectChoice]:
    return choices((k.value, v) for k, v in labels.items())


OPTIONAL_TEXT = [Optional(), Length(max=200)]


class PartnerForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_choices(PARTNER_KINDS))
    name = StringField(_l("Name in Latin script"), validators=[DataRequired(), Length(max=200)])
    local_name = StringField(_l("Name in the partner's own script"), validators=OPTIONAL_TEXT)
    name_ja = StringField(_l("Name in Japanese"), validators=OPTIONAL_TEXT)
    # Not checked against its choices here: an unknown code is the service's to refuse, with its message.
    country_code = SelectField(_l("Country"), validate_choice=False)
    city = StringField(_l("Reference city"), validators=OPTIONAL_TEXT,
                       description=_l("For a city: its name and country code, such as “Paris, FR”, or its "
                                      "GeoNames id. Leave empty for a state or a public body."))
    city_id = HiddenField()  # the GeoNames id the city suggestions chose (typing over the name clears it)
    subdivision_code = StringField(_l("Subdivision code"), validators=[Optional(), Length(max=8)],
                                   description=_l("ISO 3166-2, such as AU-NSW (optional)."))
    website = URLField(_l("Website"), validators=[Optional(), Length(max=500)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save"))


class RelationshipForm(FlaskForm):
    kind = SelectField(_l("Kind of relationship"), choices=_choices(RELATIONSHIP_KINDS))
    started_on = PartialDateField(_l("Began on"), validators=[InputRequired()],
                                  description=_l("YYYY-MM-DD; YYYY-MM or YYYY when only the month or the year "
                                                 "is known."))
    status = SelectField(_l("Status"), choices=_choices(STATUSES), default=RelationshipStatus.ACTIVE.value)
    status_since = DateField(_l("Status since"), validators=[Optional()],
                             description=_l("Only when the status is not active."))
    reason = TextAreaField(_l("Reason for the status"), validators=[Optional(), Length(max=2000)])
    source = TextAreaField(_l("Source"), validators=[Optional(), Length(max=5000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Add the relationship"))


class RelationshipEditForm(FlaskForm):
    """A correction of a relationship's record; its status changes have their own form (StatusForm)."""

    kind = SelectField(_l("Kind of relationship"), choices=_choices(RELATIONSHIP_KINDS))
    started_on = PartialDateField(_l("Began on"), validators=[InputRequired()],
                                  description=_l("YYYY-MM-DD; YYYY-MM or YYYY when only the month or the year "
                                                 "is known."))
    source = TextAreaField(_l("Source"), validators=[Optional(), Length(max=5000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save the correction"))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"))
    effective_on = DateField(_l("Effective on"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)],
                           description=_l("Required unless the relationship resumes."))
    submit = SubmitField(_l("Change the status"))


class SignatoryForm(Form):
    party = SelectField(_l("Signs for"), validate_choice=False)
    name = StringField(_l("Signatory's name"), validators=[Optional(), Length(max=200)])
    title = StringField(_l("Signatory's title"), validators=[Optional(), Length(max=300)])


SIGNATORY_ROWS = 3  # rows a new agreement's form offers
SIGNATORY_MAX = 30  # rows a form accepts: an agreement edited keeps every signatory it has, and gets one row more


class AgreementForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    title_local = StringField(_l("Title in the partner's language"), validators=[Optional(), Length(max=500)])
    kind = SelectField(_l("Kind"), choices=_choices(AGREEMENT_KINDS))
    party_ids = SelectMultipleField(_l("Parties"), coerce=int, validate_choice=False,
                                    description=_l("Hold Ctrl (⌘ on a Mac) to choose more than one."))
    signed_on = PartialDateField(_l("Signed on"), validators=[Optional()],
                                 description=_l("YYYY-MM-DD; YYYY-MM or YYYY when only the month or the year is "
                                                "known; empty when unknown."))
    term_months = IntegerField(_l("Term in months"), validators=[Optional(), NumberRange(min=1, max=1200)])
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("Leave empty to count it from the signing date and the term."))
    area_codes = MultiCheckboxField(_l("Cooperation areas"), validate_choice=False)
    previous_id = SelectField(_l("Renews or revises"), validate_choice=False)
    succession = SelectField(_l("How it follows"), validate_choice=False,
                             choices=[SelectChoice("", "—")] + _choices(SUCCESSIONS))
    signatories = FieldList(FormField(SignatoryForm), min_entries=SIGNATORY_ROWS, max_entries=SIGNATORY_MAX)
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=20000)])
    source = TextAreaField(_l("Source"), validators=[Optional(), Length(max=5000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Record the agreement"))

    def __init__(self, *args, **kwargs):
        # A form opened from a link (Renew on an agreement's page) starts from what the link carries.
        if not args and not {"formdata", "obj", "data"} & set(kwargs) and request.method == "GET":
            kwargs["data"] = _from_link(request.args)
        super().__init__(*args, **kwargs)

    def validate_previous_id(self, field):
        if field.data and not str(field.data).isdigit():
            raise ValidationError(_l("Choose an agreement from the list."))

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementForm:
        """The form filled with an agreement as it is recorded (to edit it)."""
        signers = [{"party": str(s.partner_id or ""), "name": s.name, "title": s.title} for s in agreement.signatories]
        if SIGNATORY_ROWS <= len(signers) < SIGNATORY_MAX:
            signers.append({})
        form = cls(formdata=None, data={
            "title": agreement.title, "title_local": agreement.title_local or "", "kind": agreement.kind.value,
            "party_ids": [p.id for p in agreement.parties], "signed_on": agreement.signed_on,
            "term_months": agreement.term_months, "expires_on": agreement.expires_on,
            "area_codes": [a.code for a in agreement.areas], "previous_id": str(agreement.previous_id or ""),
            "succession": agreement.succession.value if agreement.succession else "", "signatories": signers,
            "summary": agreement.summary, "source": agreement.source, "notes": agreement.notes})
        form.signed_on.precision = agreement.signed_precision
        return form

    def agreement_fields(self) -> dict:
        """The form's values as services.create_agreement and services.update_agreement take them."""
        signatories = tuple((int(row.form.party.data) if str(row.form.party.data or "").isdigit() else None,
                             row.form.name.data.strip(), (row.form.title.data or "").strip())
                            for row in self.signatories if (row.form.name.data or "").strip())
        return {"title": self.title.data, "title_local": self.title_local.data or "", "kind": self.kind.data,
                "party_ids": self.party_ids.data or [], "signed_on": self.signed_on.data,
                "signed_precision": self.signed_on.precision, "term_months": self.term_months.data,
                "expires_on": self.expires_on.data, "area_codes": tuple(self.area_codes.data or ()),
                "signatories": signatories,
                "previous_id": int(self.previous_id.data) if self.previous_id.data else None,
                "succession": self.succession.data or None, "summary": self.summary.data or "",
                "source": self.source.data or "", "notes": self.notes.data or ""}


def _from_link(args) -> dict:
    """The fields a link to the new-agreement form may fill: ?previous_id=…&succession=…&kind=…&party_ids=…
    (repeated)&area_codes=… (repeated). Anything else, or anything malformed, is ignored."""
    data: dict = {}
    if (previous := args.get("previous_id", "")).isdigit():
        data["previous_id"] = previous
    if args.get("succession") in {s.value for s in Succession}:
        data["succession"] = args["succession"]
    if args.get("kind") in {k.value for k in AgreementKind}:
        data["kind"] = args["kind"]
    if parties := [int(p) for p in args.getlist("party_ids") if p.isdigit()]:
        data["party_ids"] = parties
    if areas := [a for a in args.getlist("area_codes") if a]:
        data["area_codes"] = areas
    return data


class DocumentForm(FlaskForm):
    file = FileField(_l("Document"), validators=[FileRequired(_l("Choose a file to upload."))])
    submit = SubmitField(_l("Attach the document"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file.description = _("PDF, Word, Excel or PowerPoint; at most %(mb)d MB.",
                                  mb=documents.max_bytes() // (1024 * 1024))


class RemoveDocumentForm(FlaskForm):
    submit = SubmitField(_l("Remove the document"))


class TerminateForm(FlaskForm):
    terminated_on = DateField(_l("Terminated on"), validators=[InputRequired()],
                              description=_l("Not before the signing date, and not in the future."))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Terminate the agreement"))


class AreaForm(FlaskForm):
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_ja = StringField(_l("Name in Japanese"), validators=OPTIONAL_TEXT)
    submit = SubmitField(_l("Add the area"))


def city_from(form) -> tuple[bool, int | None]:
    """The reference city a form's `city` text names, and the `city_id` its suggestions chose while the text
    still reads as that city (so a smaller namesake stays chosen); "Paris" is read in the form's country.
    (False, None) with an error on the field when no city is called so; (True, None) when it is empty."""
    spec = (form.city.data or "").strip()
    if not spec:
        return True, None
    chosen_id = str(form.city_id.data or "")  # a form built from an object holds the object's int
    chosen = db.session.get(City, int(chosen_id)) if chosen_id.isdigit() else None
    if chosen is not None and spec == f"{chosen.name}, {chosen.country_code}":
        return True, chosen.id
    country = form.country_code.data
    if not spec.isdigit() and "," not in spec and country:
        spec = f"{spec}, {country}"
    city = services.resolve_city(spec)
    if city is None:
        form.city.errors = [*form.city.errors, _("No reference city is called %(spec)s; write it as “Paris, FR” "
                                                 "or give its GeoNames id.", spec=spec)]
        return False, None
    return True, city.id
