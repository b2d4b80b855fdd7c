"""The staff pages of newsletter issues, as editors, approvers and viewers use them: writing with a preview,
languages, files, a test send, the approval workflow with its refusals, scheduling, progress and the report."""

# ruff: noqa: F811 (the fixtures of test_newsletters, imported, are named again as arguments)
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kizuna.extensions import db, utcnow
from kizuna.models import AuditEvent, MessageStatus, OutboundMessage, Role
from partners import newsletters
from partners.models import Issue, IssueStatus
from tests.conftest import csrf_token, login
from tests.network.test_views import error_at
from tests.partners.test_issues import PNG
from tests.partners.test_newsletters import (  # noqa: F401 (fixtures)
    approved_issue,
    approver,
    make_list,
    messages_of,
    send_now,
    subscriber,
)

EVIL = '# Hi\n\n<script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">x</a> **bold**'


@pytest.fixture
def signed_in(app, db_session):
    """signed_in(user) → a client of its own, signed in as that account (several people in one test)."""

    def sign_in(user):
        client = app.test_client()
        login(client, user)
        return client

    return sign_in


@pytest.fixture
def editor(signed_in, staff):
    """The editor who writes the issues (the `staff` fixture, the author of those made by the factories)."""
    return signed_in(staff)


def post(client, path: str, data: dict, prefix: str = ""):
    """Post a form the way its page does: with the CSRF token under the form's prefix."""
    return client.post(path, data={**data, f"{prefix}csrf_token": csrf_token(client, "/account")})


def draft(mailing_list, staff, variants=(("en", "Weekly update", "News **this** week."),)) -> Issue:
    issue = newsletters.create_issue(list_id=mailing_list.id, actor=staff)
    for language, subject, body in variants:
        newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=staff)
    db.session.commit()
    return issue


def page_of(client, issue: Issue) -> str:
    response = client.get(f"/newsletters/issues/{issue.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# -- index and new ------------------------------------------------------------------------------------


def test_the_index_filters_by_list_and_status(db_session, as_role, make_list, staff):
    first, second = make_list(), make_list(names={"en": "Sister cities news"})
    draft(first, staff, (("en", "First list draft", "a"),))
    waiting = draft(second, staff, (("en", "Second list waiting", "b"),))
    newsletters.submit_issue(issue_id=waiting.id, actor=staff)
    db.session.commit()
    client = as_role("viewer")
    html = client.get("/newsletters/issues/").get_data(as_text=True)
    assert "2 issues" in html and "First list draft" in html and "Second list waiting" in html
    html = client.get(f"/newsletters/issues/?list={second.id}").get_data(as_text=True)
    assert "1 issue" in html and "Second list waiting" in html and "First list draft" not in html
    assert "Issues of Sister cities news." in html
    html = client.get("/newsletters/issues/?status=draft").get_data(as_text=True)
    assert "First list draft" in html and "Second list waiting" not in html
    assert "Write a new issue" not in html  # a viewer writes nothing


def test_an_editor_starts_a_draft_for_a_list_and_lands_on_its_page(db_session, editor, make_list, staff):
    mailing_list = make_list()
    db.session.commit()
    form = editor.get(f"/newsletters/issues/new?list={mailing_list.id}").get_data(as_text=True)
    assert f'<option selected value="{mailing_list.id}">' in form or f'value="{mailing_list.id}" selected' in form
    response = post(editor, "/newsletters/issues/new", {"list_id": mailing_list.id})
    assert response.status_code == 303
    issue = db.session.scalar(select(Issue).where(Issue.list_id == mailing_list.id))
    assert response.headers["Location"].endswith(f"/newsletters/issues/{issue.id}")
    assert issue.status == IssueStatus.DRAFT and issue.author_id == staff.id
    assert "default language, English, first" in page_of(editor, issue)


# -- writing: preview, variants, languages --------------------------------------------------------------


def test_the_preview_endpoint_sanitises_scripts_and_event_handlers(db_session, editor):
    response = post(editor, "/newsletters/issues/preview", {"body": EVIL})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<h1>Hi</h1>" in html and "<strong>bold</strong>" in html
    for bad in ("<script", "onerror", "javascript:", "alert(1)"):
        assert bad not in html


def test_the_preview_button_shows_the_sanitised_text_and_saves_nothing(db_session, editor, make_list, staff):
    issue = draft(make_list(), staff)
    response = post(editor, f"/newsletters/issues/{issue.id}/variants/en",
                    {"v-en-subject": "Changed", "v-en-body": EVIL, "v-en-preview": "Preview"}, prefix="v-en-")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    preview = re.search(r'<div class="issue-preview" id="preview-en"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert "<h1>Hi</h1>" in preview and "onerror" not in preview and "<script" not in preview
    assert 'value="Changed"' in html  # what was typed stays in the form
    db.session.refresh(issue.variants[0])
    assert issue.variants[0].subject == "Weekly update"


def test_saving_a_variant_and_an_empty_subject_refused_at_its_field(db_session, editor, make_list, staff):
    issue = draft(make_list(), staff)
    path = f"/newsletters/issues/{issue.id}/variants/en"
    response = post(editor, path, {"v-en-subject": "", "v-en-body": "Text"}, prefix="v-en-")
    assert response.status_code == 422
    assert "This field is required" in error_at(response.get_data(as_text=True), "v-en-subject")
    response = post(editor, path, {"v-en-subject": "New subject", "v-en-body": "New text"}, prefix="v-en-")
    assert response.status_code == 303
    db.session.refresh(issue.variants[0])
    assert (issue.variants[0].subject, issue.variants[0].body) == ("New subject", "New text")


def test_plain_japanese_is_added_by_its_code_and_labelled_and_a_bad_code_refused(db_session, editor, make_list,
                                                                                  staff):
    issue = draft(make_list(), staff)
    path = f"/newsletters/issues/{issue.id}/variants"
    response = post(editor, path, {"new-language": "", "new-other_language": "klingon", "new-subject": "S",
                                   "new-body": "B"}, prefix="new-")
    assert response.status_code == 422
    assert "is not a language code we know" in error_at(response.get_data(as_text=True), "new-other_language")
    response = post(editor, path, {"new-language": "ja-x-easy", "new-subject": "おしらせ",
                                   "new-body": "じしん が ありました。"}, prefix="new-")
    assert response.status_code == 303
    html = page_of(editor, issue)
    assert "Plain Japanese (やさしい日本語)" in html and 'lang="ja-x-easy"' in html
    response = post(editor, path, {"new-language": "ja-x-easy", "new-subject": "x", "new-body": "y"}, prefix="new-")
    assert response.status_code == 422 and "already" in response.get_data(as_text=True)


def test_a_variant_is_removed_after_confirmation_but_not_the_default_one(db_session, editor, make_list, staff):
    issue = draft(make_list(), staff, (("en", "Update", "a"), ("ko", "소식", "b")))
    path = f"/newsletters/issues/{issue.id}/variants/ko/remove"
    assert "Remove Korean?" in editor.get(path).get_data(as_text=True)
    assert issue.variant("ko") is not None
    assert post(editor, path, {}).status_code == 303
    db.session.expire_all()
    assert [v.language for v in db.session.get(Issue, issue.id).variants] == ["en"]
    assert editor.get(f"/newsletters/issues/{issue.id}/variants/en/remove").status_code == 200
    response = post(editor, f"/newsletters/issues/{issue.id}/variants/en/remove", {})
    assert response.status_code == 422 and "cannot be removed" in response.get_data(as_text=True)


def test_readers_without_a_variant_in_their_language_are_warned_about_before_approval_and_send(
        db_session, editor, make_list, subscriber, staff, approver, signed_in):
    mailing_list = make_list()
    for language in ("en", "fr", "fr"):
        subscriber(mailing_list, language)
    issue = draft(mailing_list, staff)
    html = page_of(editor, issue)
    assert "Some readers will not get the issue in their language" in html
    assert "2 readers prefer French and will get English." in html
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    db.session.commit()
    reviewer = signed_in(approver)
    html = reviewer.get(f"/newsletters/issues/{issue.id}/approve").get_data(as_text=True)
    assert "2 readers prefer French and will get English." in html
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    db.session.commit()
    html = reviewer.get(f"/newsletters/issues/{issue.id}/send").get_data(as_text=True)
    assert "2 readers prefer French and will get English." in html and "It will go to 3 subscribers." in html


# -- files --------------------------------------------------------------------------------------------


def test_an_uploaded_image_gives_markdown_to_paste_and_is_public_once_approved(db_session, editor, client,
                                                                              make_list, staff, approver):
    issue = draft(make_list(), staff)
    response = editor.post(f"/newsletters/issues/{issue.id}/attachments",
                           data={"file-file": (__import__("io").BytesIO(PNG), "map.png"),
                                 "file-csrf_token": csrf_token(editor, "/account")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    image = db.session.get(Issue, issue.id).attachments[0]
    url = f"/newsletters/files/{image.sha256}/map.png"
    assert f"![map](http://kizuna.test{url})" in page_of(editor, issue)
    assert client.get(url).status_code == 404  # a draft's image is not public
    assert editor.get(url).status_code == 200  # its editors see it in the preview
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    db.session.commit()
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png" and response.data == PNG


def test_a_file_that_is_neither_image_nor_document_is_refused_at_its_field(db_session, editor, make_list, staff):
    issue = draft(make_list(), staff)
    response = editor.post(f"/newsletters/issues/{issue.id}/attachments",
                           data={"file-file": (__import__("io").BytesIO(b"<svg onload='x'/>"), "x.png"),
                                 "file-csrf_token": csrf_token(editor, "/account")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "none of them" in error_at(response.get_data(as_text=True), "file-file")
    assert db.session.get(Issue, issue.id).attachments == []


# -- test send ----------------------------------------------------------------------------------------


def test_a_test_goes_to_my_address_or_a_typed_one(db_session, editor, make_list, staff):
    issue = draft(make_list(), staff)
    path = f"/newsletters/issues/{issue.id}/test"
    assert post(editor, path, {"test-language": "en", "test-recipient": "me"}, prefix="test-").status_code == 303
    response = post(editor, path, {"test-language": "en", "test-recipient": "other", "test-address": ""},
                    prefix="test-")
    assert response.status_code == 422
    assert "Enter the address" in error_at(response.get_data(as_text=True), "test-address")
    assert post(editor, path, {"test-language": "en", "test-recipient": "other", "test-address": "boss@city.test"},
                prefix="test-").status_code == 303
    rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.category == "partners.newsletter_test")
                              .order_by(OutboundMessage.id)).all()
    assert [(r.recipient, r.subject) for r in rows] == [(staff.email, "[TEST] Weekly update"),
                                                        ("boss@city.test", "[TEST] Weekly update")]


# -- the workflow ---------------------------------------------------------------------------------------


def test_the_author_is_refused_approval_and_a_viewer_cannot_approve(db_session, editor, as_role, make_list, staff):
    issue = draft(make_list(), staff)
    assert post(editor, f"/newsletters/issues/{issue.id}/submit", {}).status_code == 303
    html = page_of(editor, issue)
    assert "You wrote this issue, so someone else must approve it." in html
    response = post(editor, f"/newsletters/issues/{issue.id}/approve", {})
    assert response.status_code == 422
    assert "Another staff member must approve this issue: its author cannot." in response.get_data(as_text=True)
    viewer = as_role("viewer")
    assert viewer.get(f"/newsletters/issues/{issue.id}/approve").status_code == 403
    assert viewer.post(f"/newsletters/issues/{issue.id}/approve",
                       data={"csrf_token": csrf_token(viewer, "/account")}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == IssueStatus.AWAITING_APPROVAL


def test_another_editor_approves_or_sends_back_with_a_comment_the_author_reads(db_session, editor, make_list, staff,
                                                                              approver, signed_in):
    issue = draft(make_list(), staff)
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    db.session.commit()
    reviewer = signed_in(approver)
    response = post(reviewer, f"/newsletters/issues/{issue.id}/return", {"comment": ""})
    assert response.status_code == 422 and error_at(response.get_data(as_text=True), "comment")
    assert post(reviewer, f"/newsletters/issues/{issue.id}/return",
                {"comment": "Add the Korean text, please."}).status_code == 303
    html = page_of(editor, issue)
    assert "Sent back to draft" in html and "Add the Korean text, please." in html
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    db.session.commit()
    assert post(reviewer, f"/newsletters/issues/{issue.id}/approve", {}).status_code == 303
    db.session.expire_all()
    found = db.session.get(Issue, issue.id)
    assert found.status == IssueStatus.APPROVED and found.approver_id == approver.id
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(issue.id),
                                                                 AuditEvent.object_type == "newsletter_issue")).all()
    assert {"newsletter_issue.submit", "newsletter_issue.return", "newsletter_issue.approve"} <= set(actions)


def test_sending_to_an_empty_list_is_refused_with_a_clear_message(db_session, editor, make_list, approved_issue):
    issue = approved_issue(make_list())
    db.session.commit()
    response = post(editor, f"/newsletters/issues/{issue.id}/send", {})
    assert response.status_code == 422
    assert "there is no one to send to" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == IssueStatus.APPROVED


def test_a_schedule_in_the_past_is_refused_and_one_ahead_is_kept_in_utc(db_session, editor, make_list, staff,
                                                                       approved_issue):
    issue = approved_issue(make_list())
    db.session.commit()
    path = f"/newsletters/issues/{issue.id}/schedule"
    zone = ZoneInfo(staff.timezone)
    past = (utcnow() - timedelta(hours=1)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    response = post(editor, path, {"scheduled_at": past})
    assert response.status_code == 422
    assert "Choose a time in the future." in error_at(response.get_data(as_text=True), "scheduled_at")
    assert post(editor, path, {"scheduled_at": "2099-04-01T09:30"}).status_code == 303
    db.session.expire_all()
    found = db.session.get(Issue, issue.id)
    assert found.status == IssueStatus.SCHEDULED
    assert found.scheduled_at == datetime(2099, 4, 1, 9, 30, tzinfo=zone)
    assert post(editor, f"/newsletters/issues/{issue.id}/unschedule", {}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == IssueStatus.APPROVED


def test_pause_resume_and_cancel_need_confirmation_and_are_audited(db_session, editor, make_list, subscriber,
                                                                   approved_issue):
    mailing_list = make_list()
    subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    db.session.commit()
    assert "Send this issue now?" in editor.get(f"/newsletters/issues/{issue.id}/send").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == IssueStatus.APPROVED  # the GET only asks
    for action, status in (("send", "sending"), ("pause", "paused"), ("resume", "sending"), ("cancel", "cancelled")):
        assert post(editor, f"/newsletters/issues/{issue.id}/{action}", {}).status_code == 303, action
        db.session.expire_all()
        assert db.session.get(Issue, issue.id).status == status
    response = post(editor, f"/newsletters/issues/{issue.id}/resume", {})
    assert response.status_code == 422 and "Only a paused issue can be resumed." in response.get_data(as_text=True)


# -- progress and report --------------------------------------------------------------------------------


def test_progress_json_counts_and_the_report_shows_a_failures_server_answer(db_session, as_role, make_list,
                                                                           subscriber, approved_issue, staff,
                                                                           signed_in):
    mailing_list = make_list()
    for _ in range(3):
        subscriber(mailing_list)
    issue = approved_issue(mailing_list)
    send_now(issue, staff)
    first, second, _third = messages_of(issue)
    first.status = MessageStatus.SENT
    second.status, second.last_error = MessageStatus.FAILED, "550 5.1.1 <x@embassy.test>: Recipient address rejected"
    db.session.commit()
    viewer = as_role("viewer")
    data = viewer.get(f"/newsletters/issues/{issue.id}/progress").get_json()
    assert data == {"status": "sent", "status_label": "Sent", "total": 3, "sent": 1, "failed": 1, "pending": 1,
                    "cancelled": 0}
    html = page_of(viewer, issue)
    assert 'id="progress-bar" max="3" value="2"' in html and "issue-progress.js" in html
    assert "2 of 3 handled: 1 sent, 1 failed, 1 pending, 0 cancelled." in html
    report = viewer.get(f"/newsletters/issues/{issue.id}/report").get_data(as_text=True)
    assert "550 5.1.1 &lt;x@embassy.test&gt;: Recipient address rejected" in report
    assert second.recipient in report
    assert viewer.get(f"/newsletters/issues/{issue.id}/failures.csv").status_code == 403
    csv = signed_in(staff).get(f"/newsletters/issues/{issue.id}/failures.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8-sig")
    assert second.recipient in text and "Recipient address rejected" in text and first.recipient not in text


def test_pages_of_an_editor_and_a_viewer_differ_by_what_they_may_do(db_session, as_role, make_list, staff):
    issue = draft(make_list(), staff)
    html = page_of(as_role(Role.VIEWER), issue)
    assert "Submit for approval" not in html and "<textarea" not in html and "Send a test" not in html
    assert "News <strong>this</strong> week." in html  # the preview is there for everyone
