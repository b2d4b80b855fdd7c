"""Agreement documents are checked by content and kept outside static/."""

import io
import zipfile
from datetime import date

import pytest

from kizuna import files
from network import documents, services
from network.services import NetworkError


@pytest.fixture
def agreement(db_session):
    paris = services.create_partner(kind="city", name="Paris", country_code="FR", actor=None)
    return services.create_agreement(title="MoU", kind="mou", party_ids=[paris.id], signed_on=date(2015, 10, 28),
                                     actor=None, today=date(2026, 11, 25))


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_pdf_and_word_files_are_kept_under_their_hash_in_the_instance_folder(app, agreement):
    pdf = documents.add_document(agreement_id=agreement.id, filename="../../mou.pdf", data=b"%PDF-1.7\n...", actor=None)
    word = documents.add_document(agreement_id=agreement.id, filename="signed copy", data=_docx(), actor=None)
    assert (pdf.filename, pdf.content_type) == ("mou.pdf", "application/pdf")
    assert word.filename == "signed copy.docx" and word.content_type.endswith("wordprocessingml.document")
    path = documents.path_of(pdf)
    assert path.read_bytes() == b"%PDF-1.7\n..." and path.is_relative_to(app.instance_path)
    assert "static" not in path.parts


@pytest.mark.parametrize(("name", "data", "message"), [
    ("photo.pdf", b"\x89PNG\r\n\x1a\n....", "Only PDF and Office"),
    ("macro.docx", b"PK\x03\x04 not really a zip", "Only PDF and Office"),
    ("empty.pdf", b"", "empty"),
])
def test_other_files_are_refused_whatever_their_name(agreement, name, data, message):
    with pytest.raises(NetworkError, match=message) as info:
        documents.add_document(agreement_id=agreement.id, filename=name, data=data, actor=None)
    assert info.value.field == "file"
    assert agreement.documents == []


def test_too_large_a_file_is_refused(app, agreement, monkeypatch):
    monkeypatch.setitem(app.config, "AGREEMENT_DOCUMENT_MAX_BYTES", 1024 * 1024)
    with pytest.raises(NetworkError, match="larger than 1 MB"):
        documents.add_document(agreement_id=agreement.id, filename="big.pdf", data=b"%PDF-" + b"x" * 1024 * 1024,
                               actor=None)


@pytest.mark.parametrize(("name", "header"), [
    ("協定書.pdf", "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E5%8D%94%E5%AE%9A%E6%9B%B8.pdf"),
    ("Zürich MoU.docx", "attachment; filename=\"Zurich MoU.docx\"; filename*=UTF-8''Z%C3%BCrich%20MoU.docx"),
    ('say "yes"\r\n.pdf', "attachment; filename=\"say _yes_.pdf\"; filename*=UTF-8''say%20%22yes%22.pdf"),
])
def test_a_download_names_the_file_safely_for_every_client(name, header):
    """RFC 6266 with RFC 5987: an ASCII fallback without quotes or line breaks, and the real name in UTF-8."""
    assert files.content_disposition(name) == header


def test_an_uploaded_name_loses_its_control_characters(agreement):
    document = documents.add_document(agreement_id=agreement.id, filename="mou\r\n\x00.pdf", data=b"%PDF-1.7",
                                      actor=None)
    assert document.filename == "mou.pdf"
