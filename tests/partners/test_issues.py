"""Issue services behind the staff pages: languages and who gets which, sending back and scheduling, images
and attachments, the test send, and the report of what became of an issue."""

# ruff: noqa: F811 (the fixtures of test_newsletters, imported, are named again as arguments)
from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from kizuna import outbox
from kizuna.extensions import db
from kizuna.models import AuditEvent, MessageStatus, OutboundMessage
from partners import newsletters, sending, services
from partners.models import Bounce, Delivery, IssueStatus
from partners.services import PartnersError
from tests.partners.test_newsletters import (  # noqa: F401 (fixtures)
    approved_issue,
    approver,
    make_list,
    messages_of,
    send_now,
    subscriber,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def draft(staff):
    def make(mailing_list, variants: dict[str, tuple[str, str]] | None = None):
        issue = newsletters.create_issue(list_id=mailing_list.id, actor=staff)
        for language, (subject, body) in (variants or {"en": ("Weekly update", "News.")}).items():
            newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=staff)
        return issue

    return make


def audit_actions(issue) -> list[str]:
    return db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "newsletter_issue",
                                                              AuditEvent.object_id == str(issue.id))
                              .order_by(AuditEvent.id)).all()


# -- languages --------------------------------------------------------------------------------------


def test_a_variant_takes_any_known_bcp47_tag_and_plain_japanese_and_refuses_others(db_session, make_list, draft,
                                                                                   staff):
    issue = draft(make_list())
    assert newsletters.save_variant(issue_id=issue.id, language="pt-br", subject="Notícias", body="Olá",
                                    actor=staff).language == "pt-BR"
    assert newsletters.save_variant(issue_id=issue.id, language="JA-X-EASY", subject="おしらせ", body="やさしい",
                                    actor=staff).language == "ja-x-easy"
    for bad in ("xx", "en-ZZ", "ja-x-hard", "<script>"):
        with pytest.raises(PartnersError) as refused:
            newsletters.save_variant(issue_id=issue.id, language=bad, subject="S", body="B", actor=staff)
        assert refused.value.field == "language"
    assert sorted(v.language for v in issue.variants) == ["en", "ja-x-easy", "pt-BR"]


def test_plain_japanese_is_named_as_such_in_english_and_in_japanese(app, db_session):
    with app.test_request_context():
        assert services.language_name("ja-x-easy") == "Plain Japanese (やさしい日本語)"
        assert services.language_name("pt-BR", "en") == "Portuguese (Brazil)"
        assert services.language_name("zh-Hant", "ja") == "中国語 (繁体字)"
        assert services.language_name(None) == "No preference"


def test_coverage_shows_who_gets_which_variant_and_who_falls_back_to_the_default(db_session, make_list, draft,
                                                                                subscriber, staff):
    mailing_list = make_list()
    for language in ("en", "en", "fr", "ja", None):
        subscriber(mailing_list, language)
    issue = draft(mailing_list, {"en": ("Update", "News."), "ja-x-easy": ("おしらせ", "ニュース。")})
    rows = {row["preferred"]: row for row in newsletters.language_coverage(issue)}
    assert rows["en"] == {"preferred": "en", "count": 2, "variant": "en", "fallback": False}
    assert rows["ja"]["variant"] == "ja-x-easy" and not rows["ja"]["fallback"]  # plain Japanese is Japanese
    assert rows["fr"] == {"preferred": "fr", "count": 1, "variant": "en", "fallback": True}
    assert rows[None]["variant"] == "en" and not rows[None]["fallback"]
    assert [row["preferred"] for row in newsletters.missing_languages(newsletters.language_coverage(issue))] == ["fr"]
    newsletters.save_variant(issue_id=issue.id, language="fr", subject="Nouvelles", body="…", actor=staff)
    assert newsletters.missing_languages(newsletters.language_coverage(issue)) == []


def test_the_default_variant_cannot_be_removed_and_an_approved_issue_keeps_its_variants(
        db_session, make_list, draft, approved_issue, staff):
    issue = draft(make_list(), {"en": ("Update", "News."), "ko": ("소식", "뉴스")})
    with pytest.raises(PartnersError, match="default language"):
        newsletters.remove_variant(issue_id=issue.id, language="en", actor=staff)
    newsletters.remove_variant(issue_id=issue.id, language="ko", actor=staff)
    assert [v.language for v in issue.variants] == ["en"]
    assert "newsletter_issue.variant_remove" in audit_actions(issue)
    approved = approved_issue(make_list(), {"en": ("A", "a"), "ko": ("B", "b")})
    with pytest.raises(PartnersError, match="approved cannot be changed"):
        newsletters.remove_variant(issue_id=approved.id, language="ko", actor=staff)
    assert len(approved.variants) == 2


# -- sending back and scheduling ----------------------------------------------------------------------


def test_sending_back_needs_a_comment_and_ends_the_approval(db_session, make_list, approved_issue, approver):
    issue = approved_issue(make_list())
    with pytest.raises(PartnersError) as refused:
        newsletters.return_to_draft(issue_id=issue.id, comment="  ", actor=approver)
    assert refused.value.field == "comment" and issue.status == IssueStatus.APPROVED
    newsletters.return_to_draft(issue_id=issue.id, comment="The date in the Korean text is wrong.", actor=approver)
    assert issue.status == IssueStatus.DRAFT and issue.approver_id is None and issue.approved_at is None
    assert newsletters.last_return(issue).after["comment"] == "The date in the Korean text is wrong."
    with pytest.raises(PartnersError, match="sent back"):
        newsletters.return_to_draft(issue_id=issue.id, comment="again", actor=approver)


def test_a_viewer_cannot_send_back_or_schedule(db_session, make_list, approved_issue, make_user):
    issue = approved_issue(make_list())
    viewer = make_user("viewer")
    with pytest.raises(PartnersError, match="Only an editor"):
        newsletters.return_to_draft(issue_id=issue.id, comment="no", actor=viewer)
    with pytest.raises(PartnersError, match="Only an editor"):
        newsletters.schedule_issue(issue_id=issue.id, local_time=datetime(2099, 1, 1, 9), zone="Asia/Tokyo",
                                   actor=viewer)
    assert issue.status == IssueStatus.APPROVED


def test_a_schedule_is_read_in_the_choosers_zone_and_must_be_in_the_future(db_session, make_list, draft,
                                                                          approved_issue, staff):
    issue = approved_issue(make_list())
    with pytest.raises(PartnersError) as refused:
        newsletters.schedule_issue(issue_id=issue.id, local_time=datetime(2020, 4, 1, 9), zone="Asia/Tokyo",
                                   actor=staff)
    assert refused.value.field == "scheduled_at" and "future" in str(refused.value)
    assert issue.status == IssueStatus.APPROVED and issue.scheduled_at is None
    newsletters.schedule_issue(issue_id=issue.id, local_time=datetime(2099, 4, 1, 9, 30), zone="Asia/Tokyo",
                               actor=staff)
    assert issue.status == IssueStatus.SCHEDULED
    assert issue.scheduled_at == datetime(2099, 4, 1, 0, 30, tzinfo=UTC)
    newsletters.unschedule_issue(issue_id=issue.id, actor=staff)
    assert issue.status == IssueStatus.APPROVED and issue.scheduled_at is None
    with pytest.raises(PartnersError, match="Only an approved issue"):
        newsletters.schedule_issue(issue_id=draft(make_list()).id, local_time=datetime(2099, 1, 1), zone="UTC",
                                   actor=staff)
    assert {"newsletter_issue.schedule", "newsletter_issue.unschedule"} <= set(audit_actions(issue))


# -- images and attachments ---------------------------------------------------------------------------


def test_images_are_hosted_and_documents_attached_whatever_their_names_say(db_session, make_list, draft, staff):
    issue = draft(make_list())
    image = newsletters.add_attachment(issue_id=issue.id, filename="map", data=PNG, actor=staff)
    assert (image.inline, image.content_type, image.filename) == (True, "image/png", "map.png")
    document = newsletters.add_attachment(issue_id=issue.id, filename="C:\\Users\\me\\notice.docx", data=docx(),
                                          actor=staff)
    assert (document.inline, document.filename) == (False, "notice.docx")
    pdf = newsletters.add_attachment(issue_id=issue.id, filename="report.png", data=PDF, actor=staff)
    assert (pdf.inline, pdf.content_type, pdf.filename) == (False, "application/pdf", "report.png.pdf")
    assert newsletters.attachment_path(image).read_bytes() == PNG
    markdown = newsletters.image_markdown(image)
    assert markdown == f"![map](http://kizuna.test/newsletters/files/{image.sha256}/map.png)"


def test_a_file_of_another_kind_an_empty_or_too_large_one_is_refused(app, db_session, make_list, draft, staff,
                                                                     monkeypatch):
    issue = draft(make_list())
    monkeypatch.setitem(app.config, "NEWSLETTER_ATTACHMENT_MAX_BYTES", 1024 * 1024)
    for data, message in ((b"<svg onload='alert(1)'/>", "none of them"), (b"", "empty"),
                          (PNG + b"\x00" * (1024 * 1024), "larger than 1 MB")):
        with pytest.raises(PartnersError, match=message) as refused:
            newsletters.add_attachment(issue_id=issue.id, filename="x.png", data=data, actor=staff)
        assert refused.value.field == "file"
    assert issue.attachments == []


def test_an_image_is_public_once_its_issue_is_approved_and_staff_see_it_before(db_session, make_list, draft, staff,
                                                                              approver):
    issue = draft(make_list())
    image = newsletters.add_attachment(issue_id=issue.id, filename="map.png", data=PNG, actor=staff)
    assert newsletters.hosted_file(image.sha256, "map.png") is None
    assert newsletters.hosted_file(image.sha256, "map.png", staff=True) == image
    newsletters.submit_issue(issue_id=issue.id, actor=staff)
    newsletters.approve_issue(issue_id=issue.id, actor=approver)
    assert newsletters.hosted_file(image.sha256, "map.png") == image
    assert newsletters.hosted_file(image.sha256, "other.png") is None
    with pytest.raises(PartnersError, match="approved cannot be changed"):
        newsletters.remove_attachment(issue_id=issue.id, attachment_id=image.id, actor=staff)


def test_a_removed_file_is_deleted_once_no_issue_uses_it(db_session, make_list, draft, staff):
    first, second = draft(make_list()), draft(make_list())
    one = newsletters.add_attachment(issue_id=first.id, filename="a.png", data=PNG, actor=staff)
    newsletters.add_attachment(issue_id=second.id, filename="b.png", data=PNG, actor=staff)
    path = newsletters.attachment_path(one)
    newsletters.remove_attachment(issue_id=first.id, attachment_id=one.id, actor=staff)
    assert not newsletters.discard_unused_file(one.sha256) and path.exists()  # the second issue still has it
    newsletters.remove_attachment(issue_id=second.id, attachment_id=second.attachments[0].id, actor=staff)
    assert newsletters.discard_unused_file(one.sha256) and not path.exists()


def test_an_agreement_document_with_the_same_bytes_removed_leaves_the_issues_file(db_session, make_list, draft,
                                                                                   staff):
    """Each kind of file has its folder: discarding an agreement's unused file never deletes an issue's."""
    from network import documents
    from network import services as registry

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    issue = draft(make_list())
    attached = newsletters.add_attachment(issue_id=issue.id, filename="programme.pdf", data=pdf, actor=staff)
    paris = registry.create_partner(kind="city", name="Paris", country_code="FR", actor=None)
    agreement = registry.create_agreement(kind="mou", title="MoU", party_ids=[paris.id],
                                          signed_on=date(2015, 10, 28), actor=None)
    document = documents.add_document(agreement_id=agreement.id, filename="copy.pdf", data=pdf, actor=None)
    documents.remove_document(document_id=document.id, agreement_id=agreement.id, actor=None)
    assert documents.discard_unused_file(document.sha256)
    assert newsletters.attachment_path(attached).read_bytes() == pdf


def test_images_keep_https_and_our_own_files_only(app, db_session):
    source = """![ok](https://www.metro.tokyo.lg.jp/map.png) ![own](http://kizuna.test/newsletters/files/ab/c.png)
![plain](http://tracker.example/p.gif) ![rel](pic.png) ![data](data:image/png;base64,AAAA)
<img src="javascript:alert(1)" onerror="alert(2)"> <img src="https://x.example/y.png" onload="alert(3)">"""
    with app.app_context():
        html, _text = newsletters.render_markdown(source)
    assert 'src="https://www.metro.tokyo.lg.jp/map.png"' in html
    assert 'src="http://kizuna.test/newsletters/files/ab/c.png"' in html
    assert 'src="https://x.example/y.png"' in html
    for bad in ("tracker.example", "pic.png", "data:", "javascript:", "onerror", "onload"):
        assert bad not in html, bad
    # An image left without a source is dropped; one without a text alternative gets an empty one.
    assert html.count("<img") == 3 and 'alt="ok"' in html and '<img src="https://x.example/y.png" alt="">' in html


# -- test send ----------------------------------------------------------------------------------------


def test_a_test_send_goes_through_the_outbox_marked_test_with_the_attachments(db_session, make_list, draft, staff):
    issue = draft(make_list(), {"en": ("Weekly update", "News."), "ja": ("週報", "ニュース")})
    newsletters.add_attachment(issue_id=issue.id, filename="notice.pdf", data=PDF, actor=staff)
    row = newsletters.send_test(issue_id=issue.id, language="ja", to="Tester@Example.test", actor=staff)
    assert (row.category, row.recipient, row.subject) == ("partners.newsletter_test", "tester@example.test",
                                                          "[TEST] 週報")
    msg = outbox.parse(row.raw)
    assert [part.get_filename() for part in msg.iter_attachments()] == ["notice.pdf"]
    assert "ニュース" in msg.get_body(("plain",)).get_content()
    assert messages_of(issue) == []  # a test is no delivery of the issue
    with pytest.raises(PartnersError) as refused:
        newsletters.send_test(issue_id=issue.id, language="ja", to="not an address", actor=staff)
    assert refused.value.field == "to"
    with pytest.raises(PartnersError) as refused:
        newsletters.send_test(issue_id=issue.id, language="ko", to="tester@example.test", actor=staff)
    assert refused.value.field == "language"


# -- the report ---------------------------------------------------------------------------------------


def test_the_report_counts_failures_with_the_servers_answer_bounces_and_unsubscribes(
        db_session, make_list, subscriber, approved_issue, staff):
    mailing_list = make_list()
    readers = [subscriber(mailing_list, language) for language in ("en", "ja", "ja")]
    issue = approved_issue(mailing_list, {"en": ("Update", "News."), "ja": ("週報", "ニュース")})
    send_now(issue, staff)
    first, second, third = messages_of(issue)
    first.status = MessageStatus.SENT
    second.status, second.last_error = MessageStatus.FAILED, "550 5.1.1 <reader2@embassy.test>: no such user"
    delivery = db.session.scalar(select(Delivery).where(Delivery.outbound_message_id == third.id))
    db.session.add(Bounce(email=delivery.email, message_id=third.message_id, outbound_message_id=third.id,
                          delivery_id=delivery.id, status="5.2.2", diagnostic="mailbox full", permanent=True,
                          received_at=datetime.now(UTC) - timedelta(minutes=1)))
    newsletters.unsubscribe(token=newsletters.unsubscribe_token(readers[0], issue.id))
    db.session.flush()
    report = newsletters.issue_report(issue.id)
    assert report["counts"] == {"sent": 1, "failed": 1, "pending": 1, "cancelled": 0}
    assert [(f["email"], f["error"]) for f in report["failures"]] == [
        (second.recipient, "550 5.1.1 <reader2@embassy.test>: no such user")]
    assert [(b.email, b.status, b.diagnostic) for b in report["bounces"]] == [(delivery.email, "5.2.2",
                                                                               "mailbox full")]
    assert [s.id for s in report["unsubscribed"]] == [readers[0].id]
    assert report["languages"] == {"en": {"total": 1, "sent": 1, "failed": 0, "cancelled": 0},
                                   "ja": {"total": 2, "sent": 0, "failed": 1, "cancelled": 0}}
    assert db.session.scalar(select(OutboundMessage.id).where(OutboundMessage.id == second.id)) == second.id
    assert sending.progress(issue.id)["failed"] == 1
