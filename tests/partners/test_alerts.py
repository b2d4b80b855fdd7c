"""Prepared alerts: the shipped templates' integrity, editing templates, the two steps of preparing an alert,
approval by another staff member, and sending on the alerts queue."""

from __future__ import annotations

import re

import pytest
import redis
from sqlalchemy import func, select

from kizuna import outbox
from kizuna.extensions import db
from kizuna.models import AuditEvent, Role
from partners import alerts, newsletters, sending
from partners.models import AlertTemplate, Delivery, Issue, IssuePriority, IssueStatus
from partners.services import PartnersError
from tests.conftest import csrf_token, login

LANGUAGES = {"en", "ja", "ja-x-easy", "zh-Hans", "zh-Hant", "ko", "es", "pt", "vi", "tl", "ne", "th", "id", "fr"}
QUAKE = {"occurred_at": "2026-10-23T14:30", "epicentre": "Tokyo Bay", "magnitude": "6.5", "intensity": "5+",
         "areas": "Minato, Chuo", "tsunami": "none", "info_url": "https://www.bousai.metro.tokyo.lg.jp/",
         "contact_phone": ""}


@pytest.fixture
def approver(make_user):
    return make_user(Role.EDITOR)


@pytest.fixture
def make_list(staff):
    def make(**overrides):
        fields = {"names": {"en": "Diplomatic corps alerts", "ja": "外交団向け緊急情報"}, "default_language": "en",
                  **overrides}
        return newsletters.create_list(actor=staff, **fields)

    return make


@pytest.fixture
def subscriber(make_contact, staff):
    counter = iter(range(1, 10_000))

    def make(mailing_list, language: str | None = "en"):
        n = next(counter)
        contact = make_contact(family_name=f"Reader{n}", preferred_language=language,
                               emails=[f"alert-reader{n}@embassy.test"])
        return newsletters.subscribe(list_id=mailing_list.id, contact_id=contact.id, actor=staff)

    return make


@pytest.fixture
def quake(db_session):
    alerts.seed_templates()
    return db_session.scalar(select(AlertTemplate).where(AlertTemplate.key == "earthquake"))


def form_data(client, path: str, values: dict, list_id: int, **buttons) -> dict:
    data = {f"value_{key}": value for key, value in values.items()}
    return {"csrf_token": csrf_token(client, path), "list_id": list_id, **data, **buttons}


# -- the shipped templates --------------------------------------------------------------------------------


def test_every_shipped_template_speaks_every_language_and_uses_only_its_own_fields(app):
    shipped = alerts.shipped_templates()
    assert {t["key"] for t in shipped} == {"earthquake", "typhoon", "heavy_rain", "infectious_disease"}
    with app.test_request_context():
        for data in shipped:
            assert alerts.template_problems(data) == [], data["key"]
            assert LANGUAGES <= set(data["variants"]), data["key"]
            keys = {f["key"] for f in data["fields"]}
            for tag, variant in data["variants"].items():
                assert variant["subject"].strip() and "\n" not in variant["subject"], (data["key"], tag)
                used = set(alerts.placeholders(variant["subject"], "subject")) | set(
                    alerts.placeholders(variant["body"], "body"))
                assert used <= keys, (data["key"], tag, used - keys)
                # every required field is said in every language: no reader misses what happened
                required = {f["key"] for f in data["fields"] if f.get("required")}
                assert required <= used, (data["key"], tag, required - used)


def test_a_broken_template_is_reported_not_seeded(app):
    with app.test_request_context():
        data = {**alerts.shipped_templates()[0]}
        data["variants"] = {**data["variants"], "ko": {"subject": "지진 {depth}", "body": "{magnitude"}}
        problems = alerts.template_problems(data)
    assert any("ko subject" in p and "{depth}" in p for p in problems)
    assert any("ko body" in p and "brace" in p for p in problems)


def test_seeding_twice_changes_nothing_and_keeps_what_staff_changed(db_session, staff):
    assert alerts.seed_templates() == 4
    quake = db_session.scalar(select(AlertTemplate).where(AlertTemplate.key == "earthquake"))
    alerts.update_template(template_id=quake.id, names={"en": "Earthquake (Tokyo)"}, list_id=None, actor=staff)
    assert alerts.seed_templates() == 0
    assert db_session.scalar(select(func.count()).select_from(AlertTemplate)) == 4
    db_session.refresh(quake)
    assert quake.names == {"en": "Earthquake (Tokyo)"}


def test_the_cli_command_seeds_the_templates_once(app, db_session):
    runner = app.test_cli_runner()
    first = runner.invoke(alerts.seed_alert_templates_command)
    second = runner.invoke(alerts.seed_alert_templates_command)
    assert "4 added" in first.output and "0 added" in second.output


# -- editing templates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ("Depth: {depth} km", "no field {depth}"),
    ("Magnitude {magnitude", "stands alone"),
    ("Magnitude } here", "stands alone"),
    ("Magnitude {magnitude:>5}", "is not a field"),
])
def test_a_language_naming_an_unknown_field_or_with_a_stray_brace_is_refused_at_the_body(db_session, quake, staff,
                                                                                      body, message):
    before = quake.variants["ko"]
    with pytest.raises(PartnersError, match=re.escape(message)) as refused:
        alerts.save_template_variant(template_id=quake.id, language="ko", subject="지진", body=body, actor=staff)
    assert refused.value.field == "body"
    db_session.refresh(quake)
    assert quake.variants["ko"] == before


def test_editing_a_language_through_the_page_checks_placeholders_and_is_audited(db_session, client, quake, staff):
    login(client, staff)
    path = f"/alerts/templates/{quake.id}/languages/ko/edit"
    bad = client.post(path, data={"csrf_token": csrf_token(client, path), "subject": "지진 {depth}",
                                  "body": "규모 {magnitude}"})
    assert bad.status_code == 422
    assert "This template has no field {depth}" in bad.get_data(as_text=True)
    good = client.post(path, data={"csrf_token": csrf_token(client, path), "subject": "지진 규모 {magnitude}",
                                   "body": "규모 {magnitude}, {{참고}}"})
    assert good.status_code == 303
    db_session.refresh(quake)
    assert quake.variants["ko"] == {"subject": "지진 규모 {magnitude}", "body": "규모 {magnitude}, {{참고}}"}
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "alert_template.variant")) == 1


def test_adding_and_removing_a_language_and_a_field(db_session, client, quake, staff):
    login(client, staff)
    path = f"/alerts/templates/{quake.id}/languages/new"
    taken = client.post(path, data={"csrf_token": csrf_token(client, path), "language": "ko", "subject": "x",
                                    "body": "y"})
    assert taken.status_code == 422 and "already written" in taken.get_data(as_text=True)
    added = client.post(path, data={"csrf_token": csrf_token(client, path), "language": "de",
                                    "subject": "Erdbeben: Magnitude {magnitude}", "body": "Stärke {intensity}."})
    assert added.status_code == 303
    remove = f"/alerts/templates/{quake.id}/languages/de/remove"
    assert client.post(remove, data={"csrf_token": csrf_token(client, remove)}).status_code == 303
    db_session.refresh(quake)
    assert "de" not in quake.variants and "ko" in quake.variants

    path = f"/alerts/templates/{quake.id}/fields/new"
    bad = client.post(path, data={"csrf_token": csrf_token(client, path), "key": "depth", "label_en": "Depth",
                                  "type": "choice", "choices": "shallow: no language"})
    assert bad.status_code == 422 and "Line 1" in bad.get_data(as_text=True)
    good = client.post(path, data={"csrf_token": csrf_token(client, path), "key": "depth", "label_en": "Depth",
                                   "type": "choice", "required": "y",
                                   "choices": "shallow en: It was shallow.\nshallow ja: 浅い地震でした。"})
    assert good.status_code == 303
    db_session.refresh(quake)
    depth = next(f for f in quake.fields if f["key"] == "depth")
    assert depth["choices"] == {"shallow": {"en": "It was shallow.", "ja": "浅い地震でした。"}}
    page = client.get(f"/alerts/templates/{quake.id}").get_data(as_text=True)
    assert "Some choices of depth have no words in" in page


# -- filling in -------------------------------------------------------------------------------------------


def test_values_are_checked_by_type_and_inserted_as_typed_whatever_braces_they_hold(db_session, quake):
    clean, errors = alerts.check_values(quake, {**QUAKE, "magnitude": "six", "occurred_at": "yesterday",
                                                "info_url": "javascript:alert(1)", "tsunami": "maybe",
                                                "areas": ""})
    assert set(errors) == {"magnitude", "occurred_at", "info_url", "tsunami", "areas"}
    clean, errors = alerts.check_values(quake, {**QUAKE, "epicentre": "Bay {magnitude} {{x} }", "magnitude": "6,5"})
    assert errors == {} and clean["magnitude"] == "6.5"
    subject, body = alerts.filled(quake, clean, "fr")
    assert subject == "Séisme : magnitude 6,5, intensité sismique 5+ à Tokyo"
    assert "Épicentre : Bay {magnitude} {{x} }" in body
    assert "Renseignements" not in body  # the optional phone left empty: its line is left out
    assert "ven. 23 oct. 2026 14:30" in body


def test_step_one_refuses_bad_values_at_their_fields_and_prepares_nothing(db_session, client, quake, make_list,
                                                                          staff):
    mailing_list = make_list()
    login(client, staff)
    path = f"/alerts/templates/{quake.id}/prepare"
    assert client.get(path).status_code == 200
    response = client.post(path, data=form_data(client, path, {**QUAKE, "magnitude": "strong", "areas": ""},
                                                 mailing_list.id, review="Review"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="value_magnitude-error">Enter a number', html)
    assert re.search(r'id="value_areas-error">This field is required', html)
    no_list = client.post(path, data=form_data(client, path, QUAKE, 0, review="Review"))
    assert no_list.status_code == 422 and 'id="list_id-error"' in no_list.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Issue)) == 0


def test_a_list_whose_default_language_the_template_lacks_is_refused(db_session, client, quake, make_list, staff):
    german = make_list(names={"de": "Konsularkorps"}, default_language="de")
    login(client, staff)
    path = f"/alerts/templates/{quake.id}/prepare"
    response = client.post(path, data=form_data(client, path, QUAKE, german.id, review="Review"))
    assert response.status_code == 422
    assert "This template is not written in German" in response.get_data(as_text=True)


def test_review_shows_every_language_and_who_falls_back_then_confirm_awaits_approval(db_session, client, quake,
                                                                                     make_list, subscriber, staff):
    mailing_list = make_list()
    for language in ("en", "ko", "ko", "th", "de", None):
        subscriber(mailing_list, language)
    login(client, staff)
    path = f"/alerts/templates/{quake.id}/prepare"
    review = client.post(path, data=form_data(client, path, QUAKE, mailing_list.id, review="Review"))
    assert review.status_code == 200
    html = review.get_data(as_text=True)
    for tag in LANGUAGES:
        subject, _body = alerts.filled(quake, alerts.check_values(quake, QUAKE)[0], tag)
        assert subject in html.replace("&#39;", "'"), tag
    assert "1 reader of German gets English." in html
    assert "1 reader with no preferred language gets English." in html
    assert db_session.scalar(select(func.count()).select_from(Issue)) == 0  # reviewing changes nothing

    confirmed = client.post(path, data=form_data(client, path, QUAKE, mailing_list.id, confirm="Submit"))
    assert confirmed.status_code == 303
    issue = db_session.scalar(select(Issue))
    assert (issue.priority, issue.status, issue.author_id) == (IssuePriority.ALERT, IssueStatus.AWAITING_APPROVAL,
                                                               staff.id)
    assert issue.template_id == quake.id and issue.template_values["magnitude"] == "6.5"
    assert {v.language for v in issue.variants} == set(quake.variants)
    assert issue.variant("ja").subject == "【地震】マグニチュード6.5、都内の最大震度5+"


# -- approval and sending ---------------------------------------------------------------------------------


@pytest.fixture
def prepared(db_session, quake, make_list, subscriber, staff):
    mailing_list = make_list()
    subscriber(mailing_list, "ja")
    subscriber(mailing_list, "vi")
    return alerts.prepare_alert(template_id=quake.id, list_id=mailing_list.id, values=QUAKE, actor=staff)


def test_the_author_cannot_approve_and_send_their_own_alert(db_session, client, prepared, staff):
    login(client, staff)
    path = f"/alerts/{prepared.id}"
    response = client.post(f"{path}/send", data={"csrf_token": csrf_token(client, path), "checked": "y"})
    assert response.status_code == 422
    assert "its author cannot" in response.get_data(as_text=True)
    db_session.refresh(prepared)
    assert prepared.status == IssueStatus.AWAITING_APPROVAL and prepared.approver_id is None
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_approving_needs_the_box_ticked(db_session, client, prepared, approver):
    login(client, approver)
    path = f"/alerts/{prepared.id}"
    response = client.post(f"{path}/send", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 422 and "Confirm that you have read the alert." in response.get_data(as_text=True)
    db_session.refresh(prepared)
    assert prepared.status == IssueStatus.AWAITING_APPROVAL


def test_approve_and_send_queues_the_deliveries_on_the_alerts_queue(db_session, client, redis_url, prepared,
                                                                    approver):
    broker = redis.Redis.from_url(redis_url)
    broker.delete(outbox.alert_queue())
    login(client, approver)
    path = f"/alerts/{prepared.id}"
    response = client.post(f"{path}/send", data={"csrf_token": csrf_token(client, path), "checked": "y"})
    assert response.status_code == 303
    db_session.refresh(prepared)
    assert prepared.status == IssueStatus.SENDING and prepared.approver_id == approver.id
    assert any(sending.SEND_TASK.encode() in item for item in broker.lrange(outbox.alert_queue(), 0, -1))

    sending.plan_deliveries(prepared.id)  # what the worker's partners.send_issue does
    deliveries = db_session.scalars(select(Delivery).where(Delivery.issue_id == prepared.id)).all()
    assert sorted(d.language for d in deliveries) == ["ja", "vi"]
    sending.queue_deliveries(issue_id=prepared.id, first_id=min(d.id for d in deliveries),
                             last_id=max(d.id for d in deliveries))
    db_session.commit()
    queued = broker.lrange(outbox.alert_queue(), 0, -1)
    assert any(b"kizuna.deliver_outbox" in item for item in queued)
    broker.delete(outbox.alert_queue())

    page = client.get("/alerts/").get_data(as_text=True)
    assert "No alert is waiting for approval." in page
    assert prepared.variant("en").subject in page


def test_sending_to_a_list_no_one_can_receive_is_refused_and_nothing_is_approved(db_session, quake, make_list,
                                                                                 staff, approver):
    empty = make_list()
    issue = alerts.prepare_alert(template_id=quake.id, list_id=empty.id, values=QUAKE, actor=staff)
    with pytest.raises(PartnersError, match="no one to send to"):
        alerts.approve_and_send(issue_id=issue.id, actor=approver)


def test_the_queue_page_says_when_there_is_nothing(db_session, client, staff, prepared):
    login(client, staff)
    html = client.get("/alerts/").get_data(as_text=True)
    assert prepared.variant("en").subject in html
    assert "No alert is being sent." in html and "No alert has been sent yet." in html
    assert 'href="/alerts/"' in html  # the navigation link
    viewer_page = client.get(f"/alerts/{prepared.id}").get_data(as_text=True)
    assert "another staff member must read and approve it" in viewer_page
    db_session.execute(db.delete(Issue))
    assert "No alert is waiting for approval." in client.get("/alerts/").get_data(as_text=True)
