"""Forms of prepared alerts: a template's settings, a language, a field, filling one in, approving and sending."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from network.forms import choices as select_choices

FIELD_TYPE_LABELS = {
    "text": _l("Text, shown as typed in every language"),
    "number": _l("Number"),
    "datetime": _l("Date and time"),
    "url": _l("Web address"),
    "choice": _l("Choice, with its words in each language"),
}


class TemplateForm(FlaskForm):
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_ja = StringField(_l("Name in Japanese"), validators=[Optional(), Length(max=200)])
    list_id = SelectField(_l("Mailing list by default"), coerce=int, validate_choice=False,
                          description=_l("Whoever prepares an alert from this template can choose another."))
    submit = SubmitField(_l("Save the template"))


class VariantForm(FlaskForm):
    language = StringField(_l("Language"), validators=[DataRequired(), Length(max=35)],
                           description=_l("A BCP 47 code such as ko, pt-BR or zh-Hant; ja-x-easy for plain "
                                          "Japanese."))
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[DataRequired(), Length(max=20000)],
                         render_kw={"rows": 18},
                         description=_l("Write a field as {magnitude}; write {{ or }} for a brace. A line naming "
                                        "an optional field left empty is left out."))
    submit = SubmitField(_l("Save the language"))


class FieldForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=32)],
                      description=_l("How the texts name it: lower case letters, digits and _, such as magnitude. "
                                     "It cannot be changed later."))
    label_en = StringField(_l("Label in English"), validators=[DataRequired(), Length(max=200)])
    label_ja = StringField(_l("Label in Japanese"), validators=[Optional(), Length(max=200)])
    type = SelectField(_l("Type"), choices=select_choices(FIELD_TYPE_LABELS.items()))
    required = BooleanField(_l("Required"))
    default = StringField(_l("Filled in beforehand with"), validators=[Optional(), Length(max=200)],
                          description=_l("Optional. For a choice, the value of one of its choices."))
    choices = TextAreaField(_l("Choices"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 8},
                            description=_l("For a choice field only: one line per choice and language, as "
                                           "“value language: words”, such as “warning en: A tsunami warning is "
                                           "in force.” Each choice needs its English words."))
    submit = SubmitField(_l("Save the field"))


class PrepareForm(FlaskForm):
    """Step 1 of an alert; prepare_form adds one `value_<key>` input per field of the template."""

    list_id = SelectField(_l("Send to the list"), coerce=int, validate_choice=False)
    review = SubmitField(_l("Review every language"))
    back = SubmitField(_l("Change the values"))
    confirm = SubmitField(_l("Submit for approval"))


def value_name(key: str) -> str:
    return f"value_{key}"


def prepare_form(fields: list[dict], language: str, choice_label, field_label, **kwargs) -> PrepareForm:
    """A PrepareForm with an input per template field, typed for the browser; the service checks the values."""

    class Form(PrepareForm):
        pass

    for definition in fields:
        label = field_label(definition, language)
        kind = definition.get("type", "text")
        if kind == "choice":
            options = [("", _l("Choose…"))] + [(value, choice_label(definition, value, language))
                                                 for value in definition.get("choices") or {}]
            field = SelectField(label, choices=select_choices(options), validate_choice=False)
        else:
            render_kw = {"maxlength": 200}
            if kind == "datetime":
                render_kw["type"] = "datetime-local"
            elif kind == "url":
                render_kw["type"] = "url"
            elif kind == "number":
                render_kw["inputmode"] = "decimal"
            field = StringField(label, render_kw=render_kw)
        field.kwargs["description"] = "" if definition.get("required") else _l("Optional")
        setattr(Form, value_name(definition["key"]), field)
    return Form(**kwargs)


class ApproveForm(FlaskForm):
    checked = BooleanField(_l("I have read this alert in every language, and it is right to send it now."),
                           validators=[DataRequired(message=_l("Confirm that you have read the alert."))])
    submit = SubmitField(_l("Approve and send now"))
