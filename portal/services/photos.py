"""Ticket photos: checked, re-encoded by Pillow (metadata dropped, size limited), stored outside static/.

The stored file is named by a random key, never by anything the uploader chose, and lives in the
upload folder (config UPLOAD_DIR); pages serve it only through an access-checked view.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from portal.models import SupportTicket, TicketPhoto, User

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_SIDE_PX = 2000  # a phone photo of a display stays readable; the stored file stays small
MAX_PIXELS = 60_000_000  # refuse decompression bombs before decoding
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}


class PhotoError(ValueError):
    """Why a photo was refused: ``too_large`` or ``not_image``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def reencode(stream: BinaryIO, max_bytes: int = MAX_UPLOAD_BYTES) -> Encoded:
    """Read at most ``max_bytes``, accept only JPEG or PNG, and write a fresh file without metadata."""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoError("too_large")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind = probe.format
            if kind not in FORMATS or probe.width * probe.height > MAX_PIXELS:
                raise PhotoError("not_image")
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
            return _save(image, kind)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, PhotoError):
            raise
        raise PhotoError("not_image") from exc


def _save(image: Image.Image, kind: str) -> Encoded:
    out = io.BytesIO()
    if kind == "JPEG":
        image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True)  # no exif=, no icc_profile=: metadata is gone
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)  # a new PNG writes no text chunks of the original
    content_type, extension = FORMATS[kind]
    return Encoded(out.getvalue(), content_type, extension, image.width, image.height)


def store_photo(session: Session, ticket: SupportTicket, encoded: Encoded, upload_dir: str | Path,
                uploaded_by: User | None = None, message_id: int | None = None) -> TicketPhoto:
    """Write the re-encoded file under a random name and record it (flush only)."""
    key = secrets.token_hex(16) + encoded.extension
    path = photo_path(upload_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.data)
    photo = TicketPhoto(ticket_id=ticket.id, message_id=message_id, storage_key=key,
                        uploaded_by_id=uploaded_by.id if uploaded_by else None,
                        content_type=encoded.content_type, width=encoded.width, height=encoded.height,
                        size_bytes=len(encoded.data))
    session.add(photo)
    session.flush()
    return photo


def photo_path(upload_dir: str | Path, storage_key: str) -> Path:
    """Where a stored photo lives; the key is ours (hex + extension), so no path tricks are possible."""
    if not storage_key or "/" in storage_key or "\\" in storage_key or storage_key.startswith("."):
        raise ValueError("bad storage key")
    return Path(upload_dir) / "tickets" / storage_key
