"""Agreement documents: PDF and Office files, checked by content, size-limited, kept in the instance
folder (never under static/) under their SHA-256, and read back only through a staff-only view."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from kizuna import audit
from kizuna.extensions import db

from .models import Agreement, AgreementDocument
from .services import NetworkError

MAX_BYTES = 20 * 1024 * 1024  # AGREEMENT_DOCUMENT_MAX_BYTES overrides
# Office Open XML: the part that names the application inside the ZIP.
OOXML = {"word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
         "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
         "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx")}
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls/.ppt


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PDF or Office file, judged by its bytes; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if data.startswith(OLE):
        return "application/x-ole-storage", ".doc"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            for prefix, kind in OOXML.items():
                if any(n.startswith(prefix) for n in names):
                    return kind
    return None


def safe_filename(name: str) -> str:
    """A file name without control characters (a line break in a header would break the response)."""
    return "".join(ch for ch in name if ch.isprintable()).strip() or "document"


def content_disposition(name: str) -> str:
    """`attachment` with the name twice (RFC 6266): an ASCII fallback for old clients, and the real name in
    UTF-8 as RFC 5987 writes it ('協定書.pdf' → filename="document.pdf"; filename*=UTF-8''%E5%8D%94…)."""
    name = safe_filename(name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'["\\]', "_", ascii_name).strip()
    stem, dot, extension = ascii_name.rpartition(".")
    if not (stem if dot else ascii_name).strip(" ._-"):
        ascii_name = "document" + (dot + extension if dot else "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def max_bytes() -> int:
    """The largest document accepted, in bytes (AGREEMENT_DOCUMENT_MAX_BYTES, else 20 MB)."""
    return int(current_app.config.get("AGREEMENT_DOCUMENT_MAX_BYTES", MAX_BYTES))


def storage_dir() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "documents"


def path_of(document: AgreementDocument) -> Path:
    return storage_dir() / document.sha256


def add_document(*, agreement_id: int, filename: str, data: bytes, actor) -> AgreementDocument:
    """Keep an uploaded file for an agreement; NetworkError (field "file") when it is empty, too large, or not
    a PDF or Office file whatever its name says. The file is written before the row, under its hash, so a
    rolled-back upload leaves at most an unreferenced file, never a row without its file."""
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None:
        raise NetworkError(_("It no longer exists; reload the page."))
    limit = max_bytes()
    if not data:
        raise NetworkError(_("The file is empty."), "file")
    if len(data) > limit:
        raise NetworkError(_("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)), "file")
    kind = sniff(data)
    if kind is None:
        raise NetworkError(_("Only PDF and Office documents (Word, Excel, PowerPoint) can be attached; this file "
                             "is neither, whatever its name says."), "file")
    content_type, extension = kind
    name = safe_filename(Path(filename or "document").name.strip()[:200])
    if not name.lower().endswith(extension) and extension != ".doc":
        name += extension
    digest = hashlib.sha256(data).hexdigest()
    folder = storage_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    document = AgreementDocument(agreement=agreement, filename=name, content_type=content_type, size=len(data),
                                 sha256=digest, uploaded_by_id=actor.id if actor is not None else None)
    db.session.add(document)
    db.session.flush()
    audit.record("agreement.document_add", actor=actor, object_type="agreement", object_id=agreement.id,
                 object_label=agreement.title, after={"document": name, "size": len(data), "sha256": digest})
    return document


def remove_document(*, document_id: int, agreement_id: int, actor) -> AgreementDocument:
    """Delete a document's row (flushed, not committed) and record it in the audit log; NetworkError when it is
    not one of this agreement's documents. The file stays until discard_unused_file, called after the commit,
    so that a rolled-back removal never leaves a row without its file."""
    document = db.session.get(AgreementDocument, document_id)
    if document is None or document.agreement_id != agreement_id:
        raise NetworkError(_("It no longer exists; reload the page."))
    agreement = document.agreement
    db.session.delete(document)
    db.session.flush()
    audit.record("agreement.document_remove", actor=actor, object_type="agreement", object_id=agreement.id,
                 object_label=agreement.title,
                 before={"document": document.filename, "size": document.size, "sha256": document.sha256})
    return document


def discard_unused_file(sha256: str) -> bool:
    """Delete the stored file with this hash when no document refers to it any more; True if it was deleted."""
    if db.session.scalar(select(AgreementDocument.id).where(AgreementDocument.sha256 == sha256).limit(1)):
        return False
    path = storage_dir() / sha256
    if not path.is_file():
        return False
    path.unlink()
    return True
