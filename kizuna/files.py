"""Uploaded files: judged by their bytes, named safely, and kept in the instance folder (never under static/)
under their SHA-256, one folder per kind (agreements' documents, meetings' documents, accreditations,
newsletters' files). A file is written before the row that names it, so a rolled-back upload leaves at most a
file no row names, and deleted only after the commit that removed the last row naming it."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select

from .extensions import db

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


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PNG, JPEG, GIF or WebP image, judged by its bytes; None for anything
    else (SVG too: it can carry script)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", ".gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def safe_filename(name: str) -> str:
    """A file name without control characters (a line break in a header would break the response)."""
    return "".join(ch for ch in name if ch.isprintable()).strip() or "document"


def kept_name(filename: str | None, extension: str, default: str = "document") -> str:
    """The name to keep for an upload: its last path part (a browser may send C:\\…\\協定書.pdf), safe, at most
    200 characters, ending in the extension its content has (.jpeg and legacy Office names left alone)."""
    name = safe_filename(Path((filename or default).replace("\\", "/")).name.strip()[:200] or default)
    lower = name.lower()
    if extension == ".jpg" and lower.endswith(".jpeg"):
        return name
    if extension == ".doc" or lower.endswith(extension):
        return name
    return name + extension


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


@dataclass(frozen=True)
class Store:
    """One kind of file, in a folder of its own in the instance folder; `column` is the column whose rows name
    its files by their SHA-256 (so a file is deleted only when none does)."""

    folder: str
    column: object  # an ORM attribute such as AgreementDocument.sha256

    def directory(self) -> Path:
        return Path(current_app.config["INSTANCE_PATH"]) / self.folder

    def path(self, sha256: str) -> Path:
        return self.directory() / sha256

    def keep(self, data: bytes) -> str:
        """Write `data` under its SHA-256 (once: the same bytes uploaded twice are one file); the digest."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_suffix(".part")
            part.write_bytes(data)
            part.replace(target)
        return digest

    def discard_unused(self, sha256: str) -> bool:
        """Delete the file with this hash when no row names it any more (call it after the commit that removed
        the row); True if it was deleted."""
        if db.session.scalar(select(self.column).where(self.column == sha256).limit(1)) is not None:
            return False
        path = self.path(sha256)
        if not path.is_file():
            return False
        path.unlink()
        return True
