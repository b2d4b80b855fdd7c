"""Prepared multilingual alerts: templates written in advance, filled in when it happens, sent after approval.

A template (AlertTemplate) has typed fields and one subject and Markdown body per language, with {field}
placeholders. Preparing an alert fills every language at once into an Issue of priority `alert` that waits
for another staff member's approval (partners.newsletters.approve_issue); sending it is partners.sending's,
on the alerts queue that overtakes newsletters.
"""

from __future__ import annotations

import json
import re
import string
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time, get_timezone_name
from babel.numbers import format_decimal
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kizuna import audit
from kizuna.extensions import db
from kizuna.i18n import home_timezone

from . import newsletters, sending, services
from .models import (
    AlertKind,
    AlertTemplate,
    Contact,
    Issue,
    IssuePriority,
    IssueStatus,
    MailingList,
    Subscription,
    primary_language,
)
from .services import PartnersError

DATA = Path(__file__).parent / "data" / "alert_templates"
FIELD_TYPES = ("text", "number", "datetime", "url", "choice")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
_URL = re.compile(r"https?://[^\s/<>]+\.[^\s/<>]+(/[^\s<>]*)?\Z", re.IGNORECASE)
VALUE_LIMIT = 200  # a filled-in value: a name, a place, a number, a link
SUBJECT_LIMIT = 300  # IssueVariant.subject
BODY_LIMIT = 20_000
AWAITING = (IssueStatus.DRAFT, IssueStatus.AWAITING_APPROVAL, IssueStatus.APPROVED, IssueStatus.SCHEDULED)
SENDING = (IssueStatus.SENDING, IssueStatus.PAUSED)
DONE = (IssueStatus.SENT, IssueStatus.CANCELLED)


# -- languages ------------------------------------------------------------------------------------


def language_tag(code: str | None, field: str = "language") -> str:
    return services.language_tag(code, field)


def _babel_locale(tag: str) -> Locale:
    for candidate in (tag, primary_language(tag)):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale("en")


def language_name(tag: str, reader: str | None = None) -> str:
    """The name of a template language in the reader's language: 'Korean', '韓国語', 'Plain Japanese'."""
    return services.language_name(tag, reader)


def sort_languages(tags, first: str = "en") -> list[str]:
    """English (or the list's default) first, then Japanese and plain Japanese, then the rest by tag."""
    order = {first: 0, "ja": 1, services.PLAIN_JAPANESE: 2}
    return sorted(tags, key=lambda tag: (order.get(tag, 3), tag))


# -- placeholders -----------------------------------------------------------------------------------


def placeholders(text: str, field: str) -> list[str]:
    """The {field} names a subject or body uses, in order; '{{' and '}}' stand for a brace.

    PartnersError at `field` for a stray brace, a format spec or conversion ({a:>3}, {a!r}), or a name
    that is not a field key (lower case letters, digits and _).
    """
    try:
        parsed = list(string.Formatter().parse(text or ""))
    except ValueError:
        raise PartnersError(_("A brace { or } stands alone. Write a field as {magnitude}; write {{ or }} for a "
                              "brace in the text."), field) from None
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _KEY.match(name) or spec or conversion:
            raise PartnersError(_("{%(name)s} is not a field: a field is written as {magnitude}, lower case "
                                  "letters, digits and _ only.", name=name + (f":{spec}" if spec else "")), field)
        names.append(name)
    return names


def check_text(text: str, keys, field: str) -> None:
    """PartnersError at `field` unless every placeholder of `text` names one of `keys`."""
    unknown = [name for name in placeholders(text, field) if name not in set(keys)]
    if unknown:
        raise PartnersError(_("This template has no field %(names)s. Its fields: %(keys)s.",
                              names=", ".join(f"{{{name}}}" for name in dict.fromkeys(unknown)),
                              keys=", ".join(keys) or "—"), field)


class _Values(dict):
    """format_map's mapping: a value is inserted as it is, never read as a format string itself."""

    def __missing__(self, key):
        return ""


def _label(labels: dict, language: str) -> str:
    labels = labels or {}
    for key in (language, primary_language(language), "en"):
        if labels.get(key):
            return labels[key]
    return next(iter(labels.values()), "")


def field_label(definition: dict, language: str) -> str:
    return _label(definition.get("labels"), language) or definition["key"]


def choice_label(definition: dict, value: str, language: str) -> str:
    """A choice in `language` (its primary language, else English): choices carry their words per language."""
    return _label((definition.get("choices") or {}).get(value), language) or value


def _as_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(home_timezone()))


def format_value(definition: dict, value: str, language: str) -> str:
    """A clean value as a reader of `language` reads it: dates and numbers in their conventions, a choice in
    their words, anything else as typed."""
    if value in (None, ""):
        return ""
    kind = definition.get("type", "text")
    locale = _babel_locale(language)
    if kind == "datetime":
        moment = _as_datetime(value)
        zone = get_timezone_name(moment.tzinfo, width="long", locale=locale, zone_variant="generic")
        return (f"{format_skeleton('yMMMEd', moment, locale=locale)} {format_time(moment, 'short', locale=locale)}"
                f" ({zone})")
    if kind == "number":
        return format_decimal(Decimal(value), locale=locale)
    if kind == "choice":
        return choice_label(definition, value, language)
    return value


def fill(text: str, fields: list[dict], values: dict, language: str, *, drop_empty_lines: bool = False) -> str:
    """`text` with each {field} replaced by its value for `language`.

    With drop_empty_lines, a line naming a field left empty is left out (an optional contact phone, say).
    """
    by_key = {f["key"]: f for f in fields}
    shown = _Values({key: format_value(by_key[key], value, language)
                     for key, value in (values or {}).items() if key in by_key})
    if drop_empty_lines:
        kept = []
        for line in text.splitlines():
            names = placeholders(line, "body")
            if any(not shown.get(name) for name in names):
                continue
            kept.append(line)
        text = "\n".join(kept)
    return text.format_map(shown)


def filled(template: AlertTemplate, values: dict, language: str) -> tuple[str, str]:
    """The template's (subject, Markdown body) in `language`, filled in with `values`."""
    variant = template.variants[language]
    subject = " ".join(fill(variant["subject"], template.fields, values, language).split())
    return subject, fill(variant["body"], template.fields, values, language, drop_empty_lines=True).strip()


# -- template data ------------------------------------------------------------------------------------


def _field_problems(definition: dict, languages) -> list[str]:
    problems = []
    key = definition.get("key", "")
    if not _KEY.match(key or ""):
        problems.append(f"field key {key!r}: lower case letters, digits and _")
    if definition.get("type") not in FIELD_TYPES:
        problems.append(f"field {key}: type {definition.get('type')!r} is not one of {FIELD_TYPES}")
    if not (definition.get("labels") or {}).get("en"):
        problems.append(f"field {key}: no English label")
    if definition.get("type") == "choice":
        choices = definition.get("choices") or {}
        if not choices:
            problems.append(f"field {key}: a choice needs choices")
        for value, labels in choices.items():
            missing = [tag for tag in languages if not (labels or {}).get(tag)]
            if missing:
                problems.append(f"field {key}: choice {value} has no words in {', '.join(missing)}")
        if definition.get("default") and definition["default"] not in choices:
            problems.append(f"field {key}: its default is not one of its choices")
    return problems


def template_problems(data: dict) -> list[str]:
    """What is wrong with a template's data (a shipped file, or what is stored): nothing when it is sound.

    Every field well formed; every language with a one-line subject and a body that use only its fields;
    every choice in every language of the template.
    """
    problems = []
    if data.get("kind") not in {kind.value for kind in AlertKind}:
        problems.append(f"kind {data.get('kind')!r} is not an alert kind")
    if not (data.get("names") or {}).get("en"):
        problems.append("no English name")
    fields = data.get("fields") or []
    keys = [f.get("key") for f in fields]
    if len(set(keys)) != len(keys):
        problems.append("two fields have the same key")
    variants = data.get("variants") or {}
    if not variants:
        problems.append("no language")
    for definition in fields:
        problems += _field_problems(definition, variants)
    for tag, variant in variants.items():
        try:
            if language_tag(tag) != tag:
                problems.append(f"{tag}: write the language tag as {language_tag(tag)}")
        except PartnersError as exc:
            problems.append(f"{tag}: {exc}")
        subject, body = (variant or {}).get("subject", ""), (variant or {}).get("body", "")
        if not subject.strip() or "\n" in subject:
            problems.append(f"{tag}: the subject must be one line of text")
        if not body.strip():
            problems.append(f"{tag}: no body")
        for part, text in (("subject", subject), ("body", body)):
            try:
                check_text(text, keys, part)
            except PartnersError as exc:
                problems.append(f"{tag} {part}: {exc}")
    return problems


def shipped_templates() -> list[dict]:
    """The templates Kizuna ships (partners/data/alert_templates/*.json), each with its `key` (the file's name)."""
    found = []
    for path in sorted(DATA.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append({"key": path.stem, **data})
    return found


def seed_templates(*, list_id: int | None = None) -> int:
    """Add the shipped templates that are not there yet (matched by key); those there stay as staff left them.

    Idempotent: a second run adds nothing. A new template goes to `list_id` by default, when given.
    Flushes, never commits; returns how many it added. ValueError for a shipped file that is not sound.
    """
    existing = set(db.session.scalars(select(AlertTemplate.key)))
    added = 0
    for data in shipped_templates():
        if data["key"] in existing:
            continue
        if problems := template_problems(data):
            raise ValueError(f"alert template {data['key']}: " + "; ".join(problems))
        template = AlertTemplate(key=data["key"], kind=AlertKind(data["kind"]), names=data["names"],
                                 fields=data["fields"], variants=data["variants"], list_id=list_id)
        db.session.add(template)
        db.session.flush()
        audit.record("alert_template.create", actor=None, object_type="alert_template", object_id=template.id,
                     object_label=template.name(), after={"key": template.key, "languages": sorted(template.variants)})
        added += 1
    return added


@click.command("seed-alert-templates")
@with_appcontext
def seed_alert_templates_command():
    """Add Kizuna's prepared alert templates (earthquake, typhoon, heavy rain, infectious disease) in many
    languages; those already there are left as they are."""
    added = seed_templates()
    db.session.commit()
    click.echo(f"Alert templates: {added} added.")


# -- editing templates --------------------------------------------------------------------------------


def _template(template_id: int, *, lock: bool = False) -> AlertTemplate:
    template = db.session.get(AlertTemplate, template_id, with_for_update=lock or None, populate_existing=lock)
    if template is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    return template


def _audit_template(action: str, template: AlertTemplate, actor, before=None, after=None) -> None:
    audit.record(action, actor=actor, object_type="alert_template", object_id=template.id,
                 object_label=template.name(), before=before, after=after)


def templates() -> list[AlertTemplate]:
    return list(db.session.scalars(select(AlertTemplate).options(selectinload(AlertTemplate.mailing_list))
                                   .order_by(AlertTemplate.kind, AlertTemplate.id)))


def update_template(*, template_id: int, names: dict, list_id: int | None, actor) -> AlertTemplate:
    """A template's names (English required) and the list its alerts go to by default. Flushed, audited."""
    template = _template(template_id, lock=True)
    clean = {}
    for code, name in (names or {}).items():
        if name := services._text(name, f"names-{code}", limit=200):
            clean[code] = name
    if not clean.get("en"):
        raise PartnersError(_("This field is required."), "names-en")
    if list_id is not None:
        list_id = services._get(MailingList, list_id, "list_id").id
    before = {"names": template.names, "list_id": template.list_id}
    template.names, template.list_id = clean, list_id
    db.session.flush()
    changed_before, changed_after = audit.changes(before, {"names": clean, "list_id": list_id})
    if changed_after:
        _audit_template("alert_template.update", template, actor, changed_before, changed_after)
    return template


def save_template_variant(*, template_id: int, language: str, subject: str, body: str, actor,
                          new: bool = False) -> AlertTemplate:
    """Write a template's subject and body in one language; `new` adds a language it does not have yet.

    The placeholders must name the template's fields. PartnersError at language, subject or body. Flushed,
    audited.
    """
    template = _template(template_id, lock=True)
    language = language_tag(language, "language")
    if new and language in template.variants:
        raise PartnersError(_("This template is already written in %(language)s: edit it instead.",
                              language=language_name(language)), "language")
    if not new and language not in template.variants:
        raise PartnersError(_("It no longer exists; reload the page."), "language")
    subject = services._text(subject, "subject", limit=SUBJECT_LIMIT, required=True)
    if "\n" in subject or "\r" in subject:
        raise PartnersError(_("The subject is one line."), "subject")
    body = services._text((body or "").replace("\r\n", "\n"), "body", limit=BODY_LIMIT, required=True)
    keys = [f["key"] for f in template.fields]
    check_text(subject, keys, "subject")
    check_text(body, keys, "body")
    before = template.variants.get(language)
    template.variants = {**template.variants, language: {"subject": subject, "body": body}}
    db.session.flush()
    _audit_template("alert_template.variant", template, actor, {"language": language, **(before or {})},
                    {"language": language, "subject": subject, "body": body})
    return template


def remove_template_variant(*, template_id: int, language: str, actor) -> AlertTemplate:
    """Take a language out of a template; its last language stays. Flushed, audited."""
    template = _template(template_id, lock=True)
    if language not in template.variants:
        raise PartnersError(_("It no longer exists; reload the page."))
    if len(template.variants) == 1:
        raise PartnersError(_("A template needs at least one language."))
    before = template.variants[language]
    template.variants = {tag: v for tag, v in template.variants.items() if tag != language}
    db.session.flush()
    _audit_template("alert_template.variant_remove", template, actor, {"language": language, **before})
    return template


def parse_choices(text: str, field: str = "choices") -> dict:
    """Choices written one per line as `value language: words` ("warning en: A tsunami warning is in force.").

    Each choice needs its English words. PartnersError at `field` naming the line at fault.
    """
    choices: dict[str, dict] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        head, sep, words = line.partition(":")
        parts = head.split()
        if not sep or len(parts) != 2 or not words.strip() or not _KEY.match(parts[0]):
            raise PartnersError(_("Line %(n)d: write a choice as “value language: words”, such as “warning en: A "
                                  "tsunami warning is in force.”", n=number), field)
        value, tag = parts[0], language_tag(parts[1], field)
        choices.setdefault(value, {})[tag] = services._text(words, field, limit=VALUE_LIMIT * 2)
    if not choices:
        raise PartnersError(_("A choice field needs at least one choice."), field)
    for value, labels in choices.items():
        if not labels.get("en"):
            raise PartnersError(_("The choice %(value)s has no English words (%(value)s en: …).", value=value), field)
    return choices


def choices_text(choices: dict | None) -> str:
    """The choices as parse_choices reads them."""
    return "\n".join(f"{value} {tag}: {words}" for value, labels in (choices or {}).items()
                     for tag, words in labels.items())


def save_template_field(*, template_id: int, key: str, label_en: str, label_ja: str = "", type: str = "text",
                        required: bool = True, default: str = "", choices: str = "", actor,
                        new: bool = False) -> AlertTemplate:
    """Add a field to a template (`new`) or change one; its key never changes, since texts name it.

    PartnersError at key, label_en, type, default or choices. Flushed, audited.
    """
    template = _template(template_id, lock=True)
    key = (key or "").strip()
    existing = next((f for f in template.fields if f["key"] == key), None)
    if new:
        if not _KEY.match(key):
            raise PartnersError(_("Lower case letters, digits and _, starting with a letter, such as magnitude."),
                                "key")
        if existing is not None:
            raise PartnersError(_("This template already has a field %(key)s.", key=key), "key")
    elif existing is None:
        raise PartnersError(_("It no longer exists; reload the page."), "key")
    if type not in FIELD_TYPES:
        raise PartnersError(_("%(value)s is not one of: %(choices)s.", value=type, choices=", ".join(FIELD_TYPES)),
                            "type")
    definition = {"key": key, "labels": {"en": services._text(label_en, "label_en", limit=200, required=True)},
                  "required": bool(required), "type": type}
    if label_ja := services._text(label_ja, "label_ja", limit=200):
        definition["labels"]["ja"] = label_ja
    if type == "choice":
        definition["choices"] = parse_choices(choices)
    if default := services._text(default, "default", limit=VALUE_LIMIT):
        definition["default"] = _clean_value(definition, default, "default")
    fields = [definition if f["key"] == key else f for f in template.fields]
    if new:
        fields.append(definition)
    template.fields = fields
    db.session.flush()
    _audit_template("alert_template.field", template, actor, {"field": existing} if existing else None,
                    {"field": definition})
    return template


def choice_gaps(template: AlertTemplate) -> dict[str, list[str]]:
    """For each choice field, the template's languages some choice has no words in (they read English)."""
    missing = {}
    for definition in template.fields:
        if definition.get("type") != "choice":
            continue
        tags = [tag for tag in sort_languages(template.variants)
                if any(not labels.get(tag) for labels in (definition.get("choices") or {}).values())]
        if tags:
            missing[definition["key"]] = tags
    return missing


# -- filling in an alert --------------------------------------------------------------------------------


def _clean_value(definition: dict, raw, field: str) -> str:
    """One value, checked against its field's type, in the form it is stored (ISO datetime, plain number)."""
    value = " ".join(str(raw or "").split())  # one line: a value may not add lines of its own to the text
    if not value:
        if definition.get("required"):
            raise PartnersError(_("This field is required."), field)
        return ""
    if len(value) > VALUE_LIMIT:
        raise PartnersError(_("At most %(n)d characters.", n=VALUE_LIMIT), field)
    kind = definition.get("type", "text")
    if kind == "number":
        try:
            number = Decimal(value.replace(",", "."))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise PartnersError(_("Enter a number, such as 6.5."), field)
        return format(number.normalize(), "f") if number == number.to_integral() else str(number)
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise PartnersError(_("Enter a date and time, such as 2026-10-23 14:30."), field) from None
        return moment.replace(second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")
    if kind == "url":
        if not _URL.match(value):
            raise PartnersError(_("Enter a web address, such as https://www.example.org."), field)
        return value
    if kind == "choice":
        if value not in (definition.get("choices") or {}):
            raise PartnersError(_("Choose one of the options."), field)
        return value
    return value


def check_values(template: AlertTemplate, raw: dict) -> tuple[dict, dict[str, str]]:
    """The values of an alert checked against the template's fields: (clean values, {key: error})."""
    clean, errors = {}, {}
    for definition in template.fields:
        key = definition["key"]
        try:
            clean[key] = _clean_value(definition, (raw or {}).get(key), key)
        except PartnersError as exc:
            errors[key] = str(exc)
    return clean, errors


def _alert_list(template: AlertTemplate, list_id: int | None) -> MailingList:
    mailing_list = services._get(MailingList, list_id, "list_id")
    if mailing_list.default_language not in template.variants:
        raise PartnersError(_("This template is not written in %(language)s, the list's default language, which "
                              "readers without their own language get. Add that language to the template, or "
                              "choose another list.", language=language_name(mailing_list.default_language)),
                            "list_id")
    return mailing_list


def readers(list_id: int, languages, default: str) -> dict:
    """Who on the list gets which language, as sending.pick_language will choose.

    {"languages": {tag: readers}, "fallbacks": [(preferred or None, tag they get, readers)], "total": n}:
    a fallback is a reader whose language (or whose lack of one) the alert is not written in.
    """
    available = set(languages)
    rows = db.session.execute(
        select(Contact.preferred_language, func.count()).select_from(Subscription)
        .join(Contact, Contact.id == Subscription.contact_id)
        .where(Subscription.id.in_(sending._reachable(list_id)))
        .group_by(Contact.preferred_language).order_by(Contact.preferred_language))
    counts = dict.fromkeys(sort_languages(available, default), 0)
    fallbacks = []
    total = 0
    for preferred, count in rows:
        tag = sending.pick_language(preferred, available, default)
        counts[tag] = counts.get(tag, 0) + count
        total += count
        if preferred != tag:
            fallbacks.append((preferred, tag, count))
    return {"languages": counts, "fallbacks": fallbacks, "total": total}


def preview(*, template_id: int, list_id: int | None, values: dict) -> dict:
    """Step 2, changing nothing: every language filled in and rendered (sanitised HTML), and who reads which.

    PartnersError at the value or list at fault.
    """
    template = _template(template_id)
    clean, errors = check_values(template, values)
    if errors:
        key, message = next(iter(errors.items()))
        raise PartnersError(message, key)
    mailing_list = _alert_list(template, list_id)
    languages = []
    for tag in sort_languages(template.variants, mailing_list.default_language):
        subject, body = filled(template, clean, tag)
        languages.append({"language": tag, "subject": subject, "body": body,
                          "html": newsletters.render_markdown(body)[0]})
    return {"template": template, "list": mailing_list, "values": clean, "languages": languages,
            "readers": readers(mailing_list.id, template.variants, mailing_list.default_language)}


def prepare_alert(*, template_id: int, list_id: int | None, values: dict, actor) -> Issue:
    """An alert from a template: an Issue of priority `alert` with every language filled in, awaiting another
    staff member's approval, written by `actor`.

    PartnersError at the value or list at fault. Flushed, audited.
    """
    shown = preview(template_id=template_id, list_id=list_id, values=values)
    template, mailing_list = shown["template"], shown["list"]
    for language in shown["languages"]:
        if len(language["subject"]) > SUBJECT_LIMIT:
            raise PartnersError(_("With these values the subject in %(language)s is longer than %(n)d characters.",
                                  language=language_name(language["language"]), n=SUBJECT_LIMIT), "list_id")
    issue = newsletters.create_issue(list_id=mailing_list.id, actor=actor, priority=IssuePriority.ALERT)
    issue.template_id, issue.template_values = template.id, shown["values"]
    for language in shown["languages"]:
        newsletters.save_variant(issue_id=issue.id, language=language["language"], subject=language["subject"],
                                 body=language["body"], actor=actor)
    audit.record("alert.prepare", actor=actor, object_type="newsletter_issue", object_id=issue.id,
                 object_label=issue.variant(mailing_list.default_language).subject,
                 after={"template": template.key, "list_id": mailing_list.id, "values": shown["values"],
                        "languages": [language["language"] for language in shown["languages"]]})
    return newsletters.submit_issue(issue_id=issue.id, actor=actor)


def approve_and_send(*, issue_id: int, actor) -> Issue:
    """Approve an alert (by another staff member than its author) and send it at once on the alerts queue.

    An alert approved already is only sent. PartnersError as approve_issue and start_sending refuse; both
    happen in the caller's transaction or neither. Flushed, audited.
    """
    issue = alert(issue_id)
    if issue is None:
        raise PartnersError(_("It no longer exists; reload the page."))
    if issue.status == IssueStatus.AWAITING_APPROVAL:
        newsletters.approve_issue(issue_id=issue.id, actor=actor)
    return sending.start_sending(issue_id=issue.id, actor=actor)


# -- the alerts queue -------------------------------------------------------------------------------------


def rendered(issue: Issue) -> list[dict]:
    """An alert's languages as readers get them (sanitised HTML), the list's default language first."""
    default = issue.mailing_list.default_language
    by_tag = {variant.language: variant for variant in issue.variants}
    return [{"language": tag, "subject": by_tag[tag].subject, "body": by_tag[tag].body,
             "html": newsletters.render_markdown(by_tag[tag].body)[0]}
            for tag in sort_languages(by_tag, default)]


def alert(issue_id: int) -> Issue | None:
    """An alert (an issue of priority alert) with its variants, list, author and template; None for anything
    else."""
    issue = db.session.get(Issue, issue_id, options=[selectinload(Issue.variants)])
    return issue if issue is not None and issue.priority == IssuePriority.ALERT else None


def queue(*, recent: int = 10) -> dict:
    """The alerts page: those awaiting approval (oldest first), those being sent with their progress, and the
    `recent` last ones sent or cancelled."""
    base = (select(Issue).where(Issue.priority == IssuePriority.ALERT)
            .options(selectinload(Issue.variants), selectinload(Issue.author), selectinload(Issue.mailing_list),
                     selectinload(Issue.template)))
    awaiting = list(db.session.scalars(base.where(Issue.status.in_(AWAITING)).order_by(Issue.created_at)))
    going = list(db.session.scalars(base.where(Issue.status.in_(SENDING)).order_by(Issue.created_at)))
    done = list(db.session.scalars(base.where(Issue.status.in_(DONE))
                                   .order_by(func.coalesce(Issue.sent_at, Issue.updated_at).desc()).limit(recent)))
    progress = {issue.id: sending.progress(issue.id) for issue in going + done}
    return {"awaiting": awaiting, "sending": going, "sent": done, "progress": progress}
