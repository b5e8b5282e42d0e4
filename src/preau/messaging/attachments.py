"""Attachments: checked (size, number, type by extension AND by content), stored through Django's storage API
(`default_storage`, local disk or S3), downloaded through an access-checked view.

A file is accepted when its extension is one of PREAU_MESSAGING_ATTACHMENT_TYPES and its first bytes (or, for
office documents, its ZIP directory) are what that extension promises: a `.pdf` that is an executable, a `.jpg`
that is an HTML page or a `.docx` that is any ZIP are refused. The stored name is random (the person's file name is
only shown); the content type served is the one of the extension, never the browser's.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from .errors import MessagingError
from .models import Attachment

HEAD_BYTES = 8192
TEXT_BYTES = 65536


def _starts(*prefixes: bytes):
    return lambda head, _file: any(head.startswith(p) for p in prefixes)


def _webp(head, _file):
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _mp4(head, _file):
    return head[4:8] == b"ftyp"


def _mp3(head, _file):
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _zip_names(file) -> set[str] | None:
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _opendocument(mimetype: str):
    def check(head, file):
        # The OpenDocument format stores an uncompressed "mimetype" member first.
        if not head.startswith(b"PK\x03\x04") or mimetype.encode() not in head[:200]:
            return False
        names = _zip_names(file)
        return names is not None and "content.xml" in names

    return check


def _ooxml(folder: str):
    def check(head, file):
        if not head.startswith(b"PK\x03\x04"):
            return False
        names = _zip_names(file)
        return names is not None and "[Content_Types].xml" in names and any(n.startswith(folder) for n in names)

    return check


def _text(head, file):
    file.seek(0)
    sample = file.read(TEXT_BYTES)
    if b"\x00" in sample:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return True
    except UnicodeDecodeError:
        return False


@dataclass(frozen=True)
class Kind:
    content_type: str
    sniff: object  # (head bytes, file) -> bool


KINDS: dict[str, Kind] = {
    "pdf": Kind("application/pdf", _starts(b"%PDF-")),
    "png": Kind("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    "jpg": Kind("image/jpeg", _starts(b"\xff\xd8\xff")),
    "jpeg": Kind("image/jpeg", _starts(b"\xff\xd8\xff")),
    "gif": Kind("image/gif", _starts(b"GIF87a", b"GIF89a")),
    "webp": Kind("image/webp", _webp),
    "txt": Kind("text/plain; charset=utf-8", _text),
    "csv": Kind("text/csv; charset=utf-8", _text),
    "odt": Kind("application/vnd.oasis.opendocument.text", _opendocument("application/vnd.oasis.opendocument.text")),
    "ods": Kind("application/vnd.oasis.opendocument.spreadsheet",
                _opendocument("application/vnd.oasis.opendocument.spreadsheet")),
    "odp": Kind("application/vnd.oasis.opendocument.presentation",
                _opendocument("application/vnd.oasis.opendocument.presentation")),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ooxml("word/")),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ooxml("xl/")),
    "pptx": Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ooxml("ppt/")),
    "mp3": Kind("audio/mpeg", _mp3),
    "m4a": Kind("audio/mp4", _mp4),
    "mp4": Kind("video/mp4", _mp4),
}


def allowed_extensions() -> list[str]:
    return [ext for ext in settings.PREAU_MESSAGING_ATTACHMENT_TYPES if ext in KINDS]


def max_bytes() -> int:
    return int(settings.PREAU_MESSAGING_MAX_ATTACHMENT_BYTES)


def max_count() -> int:
    return int(settings.PREAU_MESSAGING_MAX_ATTACHMENTS)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_name(name: str) -> str:
    """The file name shown to people: its last path part, without control or path characters, at most 200."""
    name = unicodedata.normalize("NFC", os.path.basename(str(name or "").replace("\\", "/")))
    name = _UNSAFE.sub("_", name).strip(" .") or "fichier"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 199 - len(ext)] + "." + ext) if dot and len(ext) <= 10 else name[:200]
    return name


@dataclass
class Checked:
    upload: object
    name: str
    extension: str
    content_type: str
    size: int


def check(upload) -> Checked:
    """Check one uploaded file (Django UploadedFile or any seekable file with `.name` and `.size`); MessagingError
    with a French message naming the file otherwise."""
    name = clean_name(getattr(upload, "name", "") or "")
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    allowed = allowed_extensions()
    if extension not in allowed:
        raise MessagingError(_("« %(name)s » : ce type de fichier n'est pas accepté (acceptés : %(types)s).")
                             % {"name": name, "types": ", ".join(allowed)})
    if size <= 0:
        raise MessagingError(_("« %(name)s » est vide.") % {"name": name})
    if size > max_bytes():
        raise MessagingError(_("« %(name)s » est trop lourd : %(max)s Mo au plus par pièce jointe.")
                             % {"name": name, "max": _megabytes(max_bytes())})
    kind = KINDS[extension]
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    ok = kind.sniff(head, upload)
    upload.seek(0)
    if not ok:
        raise MessagingError(_("« %(name)s » n'est pas un fichier %(ext)s valide : son contenu ne correspond pas à "
                               "son extension.") % {"name": name, "ext": extension.upper()})
    return Checked(upload=upload, name=name, extension=extension, content_type=kind.content_type, size=size)


def _megabytes(value: int) -> str:
    return f"{value / (1024 * 1024):.3g}".replace(".", ",")


def check_all(uploads, *, existing: int = 0) -> list[Checked]:
    uploads = [u for u in (uploads or ()) if u is not None]
    if existing + len(uploads) > max_count():
        raise MessagingError(_("Un message peut avoir %(max)s pièces jointes au plus.") % {"max": max_count()})
    return [check(u) for u in uploads]


def store(message, checked: Checked) -> Attachment:
    """Save the file through the storage API under a random name and record it."""
    attachment = Attachment(message=message, name=checked.name, size=checked.size,
                            content_type=checked.content_type)
    checked.upload.seek(0)
    attachment.file.save(f"{uuid.uuid4().hex}.{checked.extension}", checked.upload, save=False)
    try:
        attachment.save()
    except Exception:
        discard([attachment.file.name])
        raise
    return attachment


def discard(names) -> None:
    """Delete files just stored under fresh random names (never shared) by a write that failed: their rows,
    written in the same transaction, are rolled back with it, so `delete_files` would still see them in use."""
    for name in {n for n in names if n}:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def copy_to(message, attachments) -> list[Attachment]:
    """Forwarded attachments: new rows sharing the stored files (nothing is copied; see `delete_files`)."""
    rows = [Attachment(message=message, file=a.file.name, name=a.name, size=a.size, content_type=a.content_type)
            for a in attachments]
    return Attachment.objects.bulk_create(rows)


def delete_files(names) -> None:
    """Delete stored files that no attachment row refers to any more (forwards share files)."""
    names = {n for n in names if n}
    if not names:
        return
    still_used = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    for name in names - still_used:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def download_response(attachment: Attachment) -> FileResponse:
    """The file as a download (never rendered inline, its own type, sandboxed, not cached). Give it only an
    attachment returned by `selectors.access_attachment`."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.name,
                            content_type=attachment.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
