"""An agreement's pages after it is recorded: its documents, editing it, terminating it, renewing it."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from kizuna import services as kizuna_services
from kizuna.extensions import db
from kizuna.models import AuditEvent
from network import documents, queries, services, tabular
from network.models import Agreement, AgreementDocument, Signatory
from tests.conftest import csrf_token

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def parties(db_session):
    paris = services.create_partner(kind="city", name="Paris", country_code="FR", actor=None)
    seoul = services.create_partner(kind="city", name="Seoul", country_code="KR", actor=None)
    return {"Paris": paris, "Seoul": seoul}


@pytest.fixture
def agreement(parties):
    found = services.create_agreement(
        title="Paris–Tokyo MOU", kind="mou", party_ids=[parties["Paris"].id], signed_on=date(2015, 10, 28),
        term_months=120, area_codes=("decarbonisation",), signatories=((None, "Yuriko Koike", "Governor"),),
        actor=None)
    db.session.commit()
    return found


def post(client, path: str, data: dict, form_path: str | None = None, **kwargs):
    """Post `data` as the browser posts the form at `form_path` (default: `path`), with its CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_path or path)}, **kwargs)


def upload(client, agreement, name: str, data: bytes):
    return post(client, f"/network/agreements/{agreement.id}/documents",
                {"file": (io.BytesIO(data), name)}, form_path=f"/network/agreements/{agreement.id}",
                content_type="multipart/form-data")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def error_at(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    assert match, f"no error shown at {field_id}"
    return match.group(1).strip()


def stored_files() -> list[str]:
    folder = documents.STORE.directory()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# -- documents ---------------------------------------------------------------------------------


def test_editor_attaches_a_pdf_and_the_page_lists_it_with_type_size_and_uploader(as_role, agreement):
    client = as_role("editor")
    response = upload(client, agreement, "協定書 2015.pdf", PDF)
    assert response.status_code == 303
    assert urlsplit(response.location).path == f"/network/agreements/{agreement.id}"
    document = db.session.scalar(select(AgreementDocument).where(AgreementDocument.agreement_id == agreement.id))
    assert (document.filename, document.content_type, document.size) == ("協定書 2015.pdf", "application/pdf",
                                                                         len(PDF))
    assert document.uploaded_by_id == client.user.id
    html = client.get(response.location).get_data(as_text=True)
    row = html.split('id="documents-h"')[1].split("</table>")[0]
    assert "協定書 2015.pdf" in row and "<td>PDF</td>" in row and f"{len(PDF)} bytes" in row
    assert client.user.email in row
    assert f'href="/network/agreements/{agreement.id}/documents/{document.id}"' in row


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_staff_download_the_bytes_as_an_attachment_that_is_neither_cached_nor_sniffed(as_role, agreement, role):
    document = documents.add_document(agreement_id=agreement.id, filename="協定書.pdf", data=PDF, actor=None)
    db.session.commit()
    response = as_role(role).get(f"/network/agreements/{agreement.id}/documents/{document.id}")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    # RFC 5987: the real name percent-encoded in UTF-8, and an ASCII fallback for old clients.
    assert "filename*=UTF-8''%E5%8D%94%E5%AE%9A%E6%9B%B8.pdf" in disposition
    assert 'filename="document.pdf";' in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_an_office_document_is_served_as_what_its_bytes_are(as_role, agreement):
    docx = _docx()  # once: a zip's headers hold the time it was written
    document = documents.add_document(agreement_id=agreement.id, filename="annex", data=docx, actor=None)
    db.session.commit()
    response = as_role("viewer").get(f"/network/agreements/{agreement.id}/documents/{document.id}")
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert 'filename="annex.docx"' in response.headers["Content-Disposition"]
    assert response.data == docx


@pytest.mark.parametrize("role", ["delegate", "liaison"])
def test_external_accounts_may_not_download_a_document(as_role, agreement, role):
    document = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    db.session.commit()
    response = as_role(role).get(f"/network/agreements/{agreement.id}/documents/{document.id}")
    assert response.status_code == 403
    assert PDF not in response.data


def test_anonymous_visitors_are_sent_to_sign_in_for_a_document(client, agreement):
    document = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    db.session.commit()
    response = client.get(f"/network/agreements/{agreement.id}/documents/{document.id}")
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"


def test_a_document_is_found_only_under_its_own_agreement(as_role, agreement, parties):
    other = services.create_agreement(title="Seoul MOU", kind="mou", party_ids=[parties["Seoul"].id], actor=None)
    document = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    db.session.commit()
    assert as_role("viewer").get(f"/network/agreements/{other.id}/documents/{document.id}").status_code == 404


@pytest.mark.parametrize(("name", "data", "message"), [
    ("photo.pdf", PNG, "Only PDF and Office documents"),
    ("empty.pdf", b"", "The file is empty."),
    ("big.pdf", b"%PDF-" + b"x" * (1024 * 1024), "The file is larger than 1 MB."),
])
def test_a_refused_upload_is_answered_at_the_file_field_and_nothing_is_kept(app, as_role, agreement, monkeypatch,
                                                                            name, data, message):
    monkeypatch.setitem(app.config, "AGREEMENT_DOCUMENT_MAX_BYTES", 1024 * 1024)
    before = stored_files()
    response = upload(as_role("editor"), agreement, name, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in error_at(html, "file")
    file_input = re.search(r'<input[^>]*id="file"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in file_input and "file-error" in file_input
    assert 'href="#file"' in html.split('class="error-summary"')[1]  # the summary leads to the field
    assert 'enctype="multipart/form-data"' in html
    assert count(AgreementDocument) == 0 and stored_files() == before


def test_an_upload_without_a_file_is_answered_at_the_file_field(as_role, agreement):
    client = as_role("editor")
    response = post(client, f"/network/agreements/{agreement.id}/documents", {},
                    form_path=f"/network/agreements/{agreement.id}", content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a file to upload." in error_at(response.get_data(as_text=True), "file")


def test_the_upload_form_on_the_agreement_page_is_a_labelled_multipart_form_with_csrf(as_role, agreement):
    html = as_role("editor").get(f"/network/agreements/{agreement.id}").get_data(as_text=True)
    form = html.split('id="upload-h"')[1].split("</form>")[0]
    assert f'action="/network/agreements/{agreement.id}/documents"' in form
    assert 'enctype="multipart/form-data"' in form and 'name="csrf_token"' in form
    assert '<label for="file">' in form and 'type="file"' in form and "at most 20 MB" in form


def test_removing_a_document_asks_first_then_deletes_it_and_records_who_did(as_role, agreement):
    client = as_role("editor")
    document = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    db.session.commit()
    path = f"/network/agreements/{agreement.id}/documents/{document.id}/remove"
    page = client.get(f"/network/agreements/{agreement.id}").get_data(as_text=True)
    assert f'href="{path}"' in page
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Remove mou.pdf from the agreement" in confirm.get_data(as_text=True)
    assert count(AgreementDocument) == 1 and documents.path_of(document).is_file()  # asking removes nothing
    file_path = documents.path_of(document)
    response = post(client, path, {})
    assert response.status_code == 303
    assert count(AgreementDocument) == 0 and not file_path.exists()
    [event] = audit_events("agreement.document_remove")
    assert event.actor_id == client.user.id and event.before["document"] == "mou.pdf"
    assert event.object_id == str(agreement.id)


def test_removing_is_post_only_after_the_confirmation(as_role, agreement):
    client = as_role("editor")
    document = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    db.session.commit()
    response = client.delete(f"/network/agreements/{agreement.id}/documents/{document.id}/remove")
    assert response.status_code == 405
    assert count(AgreementDocument) == 1


def test_removing_one_of_two_documents_with_the_same_bytes_keeps_the_file(as_role, agreement, parties):
    other = services.create_agreement(title="Seoul MOU", kind="mou", party_ids=[parties["Seoul"].id], actor=None)
    first = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    second = documents.add_document(agreement_id=other.id, filename="copy.pdf", data=PDF, actor=None)
    db.session.commit()
    client = as_role("editor")
    path = f"/network/agreements/{agreement.id}/documents/{first.id}/remove"
    assert post(client, path, {}).status_code == 303
    response = client.get(f"/network/agreements/{other.id}/documents/{second.id}")
    assert response.status_code == 200 and response.data == PDF


def test_a_viewer_sees_no_edit_controls_and_every_change_is_refused(as_role, agreement):
    document = documents.add_document(agreement_id=agreement.id, filename="mou.pdf", data=PDF, actor=None)
    db.session.commit()
    client = as_role("viewer")
    html = client.get(f"/network/agreements/{agreement.id}").get_data(as_text=True)
    assert "mou.pdf" in html  # listed, and downloadable
    for control in ('type="file"', "/edit", "/terminate", "/remove", "/network/agreements/new", ">Renew<"):
        assert control not in html, control
    token = csrf_token(client, "/account")
    base = f"/network/agreements/{agreement.id}"
    attempts = {
        f"{base}/documents": {"file": (io.BytesIO(PDF), "new.pdf")},
        f"{base}/documents/{document.id}/remove": {},
        f"{base}/edit": {"title": "Changed", "kind": "mou", "party_ids": [str(agreement.parties[0].id)]},
        f"{base}/terminate": {"terminated_on": "2020-01-01", "reason": "No longer needed"},
    }
    for path, data in attempts.items():
        assert client.post(path, data={**data, "csrf_token": token},
                           content_type="multipart/form-data").status_code == 403, path
        assert client.get(path).status_code == 403, path
    db.session.expire_all()
    found = db.session.get(Agreement, agreement.id)
    assert found.title == "Paris–Tokyo MOU" and found.terminated_on is None
    assert [d.filename for d in found.documents] == ["mou.pdf"]


# -- a request larger than the app accepts -----------------------------------------------------


def test_the_request_limit_is_above_the_largest_document_and_import(app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert documents.MAX_BYTES < limit and tabular.MAX_BYTES < limit
    assert limit <= 2 * max(documents.MAX_BYTES, tabular.MAX_BYTES)  # a bit above, not unlimited


def test_an_upload_larger_than_the_request_limit_gets_a_413_page_saying_the_limit(app, as_role, agreement,
                                                                                   monkeypatch):
    client = as_role("editor")
    page = f"http://localhost/network/agreements/{agreement.id}"
    token = csrf_token(client, page)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    builder = EnvironBuilder(path=f"/network/agreements/{agreement.id}/documents", method="POST",
                             headers={"Referer": page}, content_type="multipart/form-data",
                             data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-" + b"x" * 2 * 1024 * 1024),
                                                                 "huge.pdf")})
    try:
        response = client.open(builder)
    finally:
        builder.close()  # the request body was never read: its spooled file is closed here
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Too large" in html and "at most 1 MB" in html and "Nothing was saved" in html
    assert f'<a href="{page}">Go back</a>' in html
    assert count(AgreementDocument) == 0


def test_the_api_answers_a_request_over_the_limit_with_a_413_json_error(app, client, make_user, monkeypatch):
    user = make_user("editor")
    _, secret = kizuna_services.create_api_token(user=user, name="test", actor=user)
    db.session.commit()
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/api/v1/agreements", headers={"Authorization": f"Bearer {secret}"},
                           json={"title": "x" * 4096, "kind": "mou", "party_ids": [1]})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "at most 1 KB in one request" in error["message"]
    assert count(Agreement) == 0


# -- edit --------------------------------------------------------------------------------------


def test_the_edit_form_is_filled_with_the_agreement(as_role, agreement, parties):
    html = as_role("editor").get(f"/network/agreements/{agreement.id}/edit").get_data(as_text=True)
    assert "<h1>Edit the agreement</h1>" in html
    assert 'value="Paris–Tokyo MOU"' in html and 'value="2015-10-28"' in html and 'value="120"' in html
    assert f'<option selected value="{parties["Paris"].id}">' in html
    assert re.search(r'<input checked[^>]*value="decarbonisation"', html)
    assert 'value="Yuriko Koike"' in html
    # It can renew neither itself nor what follows it.
    previous = html.split('id="previous_id"')[1].split("</select>")[0]
    assert f'value="{agreement.id}"' not in previous


def test_a_month_precision_date_is_shown_as_a_month_in_the_edit_form(as_role, parties):
    month = services.create_agreement(title="Month MOU", kind="mou", party_ids=[parties["Seoul"].id],
                                      signed_on=date(2017, 10, 1), signed_precision="month", actor=None)
    db.session.commit()
    html = as_role("editor").get(f"/network/agreements/{month.id}/edit").get_data(as_text=True)
    assert 'id="signed_on" name="signed_on" type="text" value="2017-10"' in html


def test_editor_changes_an_agreement_and_the_audit_log_records_what_changed(as_role, agreement, parties):
    client = as_role("editor")
    path = f"/network/agreements/{agreement.id}/edit"
    response = post(client, path, {
        "title": "Paris–Tokyo MOU on climate", "kind": "mou",
        "party_ids": [str(parties["Paris"].id), str(parties["Seoul"].id)], "signed_on": "2015-10-28",
        "term_months": "120", "expires_on": "2025-10-28", "area_codes": ["decarbonisation", "digital"],
        "signatories-0-party": "", "signatories-0-name": "Yuriko Koike", "signatories-0-title": "Governor",
        "signatories-1-party": str(parties["Paris"].id), "signatories-1-name": "Anne Hidalgo",
        "signatories-1-title": "Mayor of Paris"})
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    found = db.session.get(Agreement, agreement.id)
    assert found.title == "Paris–Tokyo MOU on climate"
    assert {p.name for p in found.parties} == {"Paris", "Seoul"}
    assert {a.code for a in found.areas} == {"decarbonisation", "digital"}
    assert [(s.partner_id, s.name) for s in found.signatories] == [(None, "Yuriko Koike"),
                                                                   (parties["Paris"].id, "Anne Hidalgo")]
    assert count(Signatory) == 2  # the old rows replaced, not left behind
    [event] = audit_events("agreement.update")
    assert event.actor_id == client.user.id
    assert set(event.after) == {"title", "parties", "areas", "signatories"}
    assert event.before["title"] == "Paris–Tokyo MOU" and event.after["title"] == "Paris–Tokyo MOU on climate"
    assert "Paris–Tokyo MOU on climate" in client.get(response.location).get_data(as_text=True)


def test_saving_an_unchanged_agreement_records_nothing(as_role, agreement):
    client = as_role("editor")
    path = f"/network/agreements/{agreement.id}/edit"
    response = post(client, path, {
        "title": "Paris–Tokyo MOU", "kind": "mou", "party_ids": [str(agreement.parties[0].id)],
        "signed_on": "2015-10-28", "term_months": "120", "expires_on": "2025-10-28",
        "area_codes": ["decarbonisation"], "signatories-0-party": "", "signatories-0-name": "Yuriko Koike",
        "signatories-0-title": "Governor"})
    assert response.status_code == 303
    assert audit_events("agreement.update") == []


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"expires_on": "2014-01-01"}, "expires_on", "An agreement cannot expire before it is signed."),
    ({"signed_on": "2999-01-01"}, "signed_on", "is in the future"),
    ({"party_ids": []}, "party_ids", "An agreement needs at least one partner."),
    ({"party_ids": ["999999"]}, "party_ids", "No partner has the id 999999"),
    ({"succession": "renewal"}, "previous_id", "Choose the agreement this one renews or revises."),
    ({"area_codes": ["no_such_area"]}, "area_codes", "Unknown cooperation area: no_such_area."),
    ({"title": ""}, "title", "This field is required."),
])
def test_bad_edits_are_answered_at_the_field_and_change_nothing(as_role, agreement, data, field, message):
    client = as_role("editor")
    path = f"/network/agreements/{agreement.id}/edit"
    response = post(client, path, {"title": "Changed title", "kind": "mou",
                                   "party_ids": [str(agreement.parties[0].id)], "signed_on": "2015-10-28", **data})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    if field == "area_codes":
        assert message in html.split('<fieldset id="area_codes"')[1].split("</fieldset>")[0]
    else:
        assert message in error_at(html, field)
    db.session.expire_all()
    found = db.session.get(Agreement, agreement.id)
    assert found.title == "Paris–Tokyo MOU" and found.signed_on == date(2015, 10, 28)
    assert audit_events("agreement.update") == []


def test_an_agreement_cannot_be_made_to_renew_itself_or_its_renewal(as_role, agreement):
    renewal = services.create_agreement(title="Renewed MOU", kind="mou", party_ids=[agreement.parties[0].id],
                                        signed_on=date(2025, 10, 28), previous_id=agreement.id, actor=None)
    db.session.commit()
    client = as_role("editor")
    for previous in (agreement.id, renewal.id):
        response = post(client, f"/network/agreements/{agreement.id}/edit", {
            "title": "Paris–Tokyo MOU", "kind": "mou", "party_ids": [str(agreement.parties[0].id)],
            "signed_on": "2015-10-28", "previous_id": str(previous), "succession": "renewal"})
        assert response.status_code == 422
        assert "cannot renew or revise itself" in error_at(response.get_data(as_text=True), "previous_id")
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).previous_id is None


def test_an_agreement_cannot_be_moved_to_after_its_renewal_was_signed(as_role, agreement):
    services.create_agreement(title="Renewed MOU", kind="mou", party_ids=[agreement.parties[0].id],
                              signed_on=date(2020, 1, 1), previous_id=agreement.id, actor=None)
    db.session.commit()
    response = post(as_role("editor"), f"/network/agreements/{agreement.id}/edit", {
        "title": "Paris–Tokyo MOU", "kind": "mou", "party_ids": [str(agreement.parties[0].id)],
        "signed_on": "2021-01-01"})
    assert response.status_code == 422
    assert "after an agreement that renews or revises it" in error_at(response.get_data(as_text=True), "signed_on")


def test_an_agreement_with_many_signatories_keeps_them_all_when_edited(as_role, agreement):
    names = [f"Signer {n}" for n in range(5)]
    services.update_agreement(agreement_id=agreement.id, title=agreement.title, kind="mou",
                              party_ids=[agreement.parties[0].id], signed_on=agreement.signed_on,
                              signatories=tuple((None, n, "") for n in names), actor=None)
    db.session.commit()
    html = as_role("editor").get(f"/network/agreements/{agreement.id}/edit").get_data(as_text=True)
    assert all(f'value="{n}"' in html for n in names)
    assert 'name="signatories-5-name"' in html  # and a row to add one more


# -- terminate ---------------------------------------------------------------------------------


def test_a_terminated_agreement_shows_the_date_and_stops_counting_as_expiring(as_role, parties):
    today = services.local_today()
    soon = services.create_agreement(title="Expiring MOU", kind="mou", party_ids=[parties["Seoul"].id],
                                     signed_on=today - timedelta(days=700), expires_on=today + timedelta(days=30),
                                     actor=None)
    db.session.commit()
    client = as_role("editor")
    assert soon in queries.expiring(within_days=180)[0]
    assert "Expiring MOU" in client.get("/network/").get_data(as_text=True).split('id="expiring-h"')[1]
    response = post(client, f"/network/agreements/{soon.id}/terminate",
                    {"terminated_on": (today - timedelta(days=1)).isoformat(),
                     "reason": "Replaced by the C40 framework"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Agreement, soon.id).terminated_on == today - timedelta(days=1)
    html = client.get(f"/network/agreements/{soon.id}").get_data(as_text=True)
    assert "Terminated on" in html and "Replaced by the C40 framework" in html
    assert f"/network/agreements/{soon.id}/terminate" not in html  # nothing more to terminate
    assert queries.expiring(within_days=180) == ([], 0)
    home = client.get("/network/").get_data(as_text=True).split('id="expiring-h"')[1].split("</section>")[0]
    assert "Expiring MOU" not in home
    listed = client.get("/network/agreements", query_string={"expiring": "180"}).get_data(as_text=True)
    assert f'/network/agreements/{soon.id}"' not in listed
    [event] = audit_events("agreement.terminate")
    assert event.after == {"terminated_on": (today - timedelta(days=1)).isoformat(),
                           "termination_reason": "Replaced by the C40 framework"}


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"terminated_on": "2015-10-27"}, "terminated_on", "cannot be terminated before it was signed (2015-10-28)"),
    ({"terminated_on": "2999-01-01"}, "terminated_on", "is in the future"),
    ({"terminated_on": ""}, "terminated_on", "This field is required."),
    ({"terminated_on": "2020-02-30"}, "terminated_on", "Not a valid date value."),
    ({"reason": ""}, "reason", "This field is required."),
])
def test_a_bad_termination_is_answered_at_the_field_and_changes_nothing(as_role, agreement, data, field, message):
    response = post(as_role("editor"), f"/network/agreements/{agreement.id}/terminate",
                    {"terminated_on": "2020-01-01", "reason": "Ended by mutual consent", **data})
    assert response.status_code == 422
    assert message in error_at(response.get_data(as_text=True), field)
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).terminated_on is None
    assert audit_events("agreement.terminate") == []


def test_a_terminated_agreement_cannot_be_terminated_again(as_role, agreement):
    services.terminate_agreement(agreement_id=agreement.id, terminated_on=date(2020, 1, 1), reason="Ended",
                                 actor=None)
    db.session.commit()
    client = as_role("editor")
    page = client.get(f"/network/agreements/{agreement.id}/terminate").get_data(as_text=True)
    assert "was terminated on" in page and 'name="terminated_on"' not in page
    response = post(client, f"/network/agreements/{agreement.id}/terminate",
                    {"terminated_on": "2021-01-01", "reason": "Again"},
                    form_path=f"/network/agreements/{agreement.id}")
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).terminated_on == date(2020, 1, 1)


def test_a_terminated_agreement_cannot_be_edited_to_have_been_signed_after_its_end(agreement):
    services.terminate_agreement(agreement_id=agreement.id, terminated_on=date(2020, 1, 1), reason="Ended",
                                 actor=None)
    with pytest.raises(services.NetworkError, match="terminated on 2020-01-01") as info:
        services.update_agreement(agreement_id=agreement.id, title=agreement.title, kind="mou",
                                  party_ids=[agreement.parties[0].id], signed_on=date(2021, 1, 1), actor=None)
    assert info.value.field == "signed_on"


# -- renew -------------------------------------------------------------------------------------


def test_renew_opens_the_new_form_filled_as_a_renewal_with_the_same_parties_and_areas(as_role, agreement, parties):
    services.update_agreement(agreement_id=agreement.id, title=agreement.title, kind="mou",
                              party_ids=[parties["Paris"].id, parties["Seoul"].id], signed_on=agreement.signed_on,
                              area_codes=("decarbonisation", "digital"), actor=None)
    db.session.commit()
    client = as_role("editor")
    html = client.get(f"/network/agreements/{agreement.id}").get_data(as_text=True)
    link = re.search(r'<a[^>]*href="([^"]+)"[^>]*>Renew</a>', html).group(1).replace("&amp;", "&")
    assert urlsplit(link).path == "/network/agreements/new"
    args = parse_qs(urlsplit(link).query)
    assert args["previous_id"] == [str(agreement.id)] and args["succession"] == ["renewal"]
    form = client.get(link).get_data(as_text=True)
    previous = form.split('id="previous_id"')[1].split("</select>")[0]
    assert f'<option selected value="{agreement.id}">' in previous
    assert '<option selected value="renewal">' in form.split('id="succession"')[1].split("</select>")[0]
    chosen = form.split('id="party_ids"')[1].split("</select>")[0]
    assert f'<option selected value="{parties["Paris"].id}">' in chosen
    assert f'<option selected value="{parties["Seoul"].id}">' in chosen
    assert re.search(r'<input checked[^>]*value="decarbonisation"', form)
    assert re.search(r'<input checked[^>]*value="digital"', form)


def test_editors_see_edit_terminate_and_renew_on_the_agreement_page(as_role, agreement):
    html = as_role("editor").get(f"/network/agreements/{agreement.id}").get_data(as_text=True)
    assert f'href="/network/agreements/{agreement.id}/edit"' in html
    assert f'href="/network/agreements/{agreement.id}/terminate"' in html
    assert ">Renew</a>" in html
