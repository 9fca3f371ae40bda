"""Ticket photos: checked, re-encoded by Pillow (metadata dropped, size limited), stored outside static/.

The stored file is named by a random key, never by anything the uploader chose, and lives in the
upload folder (config UPLOAD_DIR); pages serve it only through an access-checked view.
"""
from __future__ import annotations

import io
import math
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from portal.models import SupportTicket, TicketPhoto, User

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_SIDE_PX = 2000  # a phone photo of a display stays readable; the stored file stays small
# Pixel limits, read from the file's header before anything is decoded (decompression bombs).
# A baseline JPEG (what cameras write) is decoded at 1/2, 1/4 or 1/8 scale (Pillow's draft mode), so
# even a 100 MP camera costs a few tens of megabytes at most; other formats (PNG), and progressive
# JPEGs (libjpeg keeps every coefficient of the whole picture), cost memory for every pixel, so they get
# a much lower limit (12 MP, a large phone screenshot or a 4000x3000 picture; about 48 MB).
MAX_JPEG_PIXELS = 120_000_000
MAX_FULL_DECODE_PIXELS = 12_000_000
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}
# Decodes at once per process; more wait up to DECODE_WAIT_S, then the upload is refused as busy.
MAX_CONCURRENT_DECODES = 2
DECODE_WAIT_S = 20.0
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)  # per process by design: it bounds this RAM


class PhotoError(ValueError):
    """Why a photo was refused: ``too_large``, ``not_image``, ``too_many_pixels`` or ``busy``."""

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


def decode_slots() -> threading.BoundedSemaphore:
    """The per-process bound on photos being decoded at once."""
    return _SLOTS


def reencode(stream: BinaryIO, max_bytes: int = MAX_UPLOAD_BYTES) -> Encoded:
    """Read at most ``max_bytes``, accept only JPEG or PNG of a sane size, write a fresh file without metadata."""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoError("too_large")
    kind = _check_header(raw)
    if not _SLOTS.acquire(timeout=DECODE_WAIT_S):
        raise PhotoError("busy")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if kind == "JPEG":
                image.draft("RGB", _target_size(image.size))  # decode at 1/2, 1/4 or 1/8 scale when it can
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
            return _save(image, kind)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError("not_image") from exc
    finally:
        _SLOTS.release()


def _check_header(raw: bytes) -> str:
    """The format, after checking it and the pixel count from the header alone (nothing decoded yet)."""
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind, (width, height) = probe.format, probe.size
            scalable = kind == "JPEG" and not probe.info.get("progressive")
            limit = MAX_JPEG_PIXELS if scalable else MAX_FULL_DECODE_PIXELS
            if kind not in FORMATS:
                raise PhotoError("not_image")
            if width * height > limit:
                raise PhotoError("too_many_pixels")
            probe.verify()
    except Image.DecompressionBombError as exc:  # Pillow's own ceiling, far above ours
        raise PhotoError("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PhotoError):
            raise
        raise PhotoError("not_image") from exc
    return kind


def _target_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size the picture is shrunk to (aspect kept); draft mode decodes to no less than this."""
    width, height = size
    scale = min(1.0, MAX_SIDE_PX / max(width, height, 1))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


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
