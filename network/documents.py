"""Agreement documents: PDF and Office files, checked by content, size-limited, kept in the instance
folder (never under static/) under their SHA-256, and read back only through a staff-only view."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from kizuna import audit, files
from kizuna.extensions import db

from .models import Agreement, AgreementDocument
from .services import NetworkError

MAX_BYTES = 20 * 1024 * 1024  # AGREEMENT_DOCUMENT_MAX_BYTES overrides
STORE = files.Store("documents", AgreementDocument.sha256)


def max_bytes() -> int:
    """The largest document accepted, in bytes (AGREEMENT_DOCUMENT_MAX_BYTES, else 20 MB)."""
    return int(current_app.config.get("AGREEMENT_DOCUMENT_MAX_BYTES", MAX_BYTES))


def path_of(document: AgreementDocument) -> Path:
    return STORE.path(document.sha256)


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
    kind = files.sniff(data)
    if kind is None:
        raise NetworkError(_("Only PDF and Office documents (Word, Excel, PowerPoint) can be attached; this file "
                             "is neither, whatever its name says."), "file")
    content_type, extension = kind
    name = files.kept_name(filename, extension)
    digest = STORE.keep(data)
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
    return STORE.discard_unused(sha256)
