"""Firmware files kept for a charger model, outside ``static/``, each with its SHA-256.

Staff type the checksum the vendor publishes beside the file; a file whose own checksum differs is
refused before it is stored, so no charger is ever offered it. The stored file is hashed again before a
rollout offers it (a disk can change what it holds).
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import settings
from portal.models import FirmwareFile, User

CHUNK = 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class FirmwareRefused(ValueError):
    """`code`: bad_checksum_format, checksum_mismatch, too_large, empty, duplicate, missing_field."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def firmware_dir(upload_dir: str | Path) -> Path:
    path = Path(upload_dir) / "firmware"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(settings.get("firmware_max_mb")) * 1024 * 1024


def normalise_checksum(text: str) -> str:
    """The checksum as typed (any case, spaces, an 'sha256:' prefix), or FirmwareRefused."""
    value = re.sub(r"\s+", "", (text or "").lower())
    value = value.removeprefix("sha256:").removeprefix("sha256=")
    if not SHA256.match(value):
        raise FirmwareRefused("bad_checksum_format")
    return value


def safe_filename(name: str) -> str:
    cleaned = SAFE_NAME.sub("_", os.path.basename(name or "")).strip("._")
    return (cleaned or "firmware.bin")[:120]


def store(session: Session, upload_dir: str | Path, *, stream: BinaryIO, filename: str, vendor: str, model: str, version: str,
          checksum: str, notes: str = "", user: User | None = None) -> FirmwareFile:
    """Copy the upload to the firmware directory while hashing it; keep it only when the checksum typed
    matches and the size is within the limit. Flushes, never commits."""
    vendor, model, version = vendor.strip()[:50], model.strip()[:50], version.strip()[:50]
    if not (vendor and model and version):
        raise FirmwareRefused("missing_field")
    expected = normalise_checksum(checksum)
    if session.scalar(select(FirmwareFile.id).where(
            FirmwareFile.vendor == vendor, FirmwareFile.model == model, FirmwareFile.version == version)):
        raise FirmwareRefused("duplicate")
    stored_name = f"{uuid.uuid4().hex}.bin"
    target = firmware_dir(upload_dir) / stored_name
    partial = target.with_suffix(".part")
    digest, size, limit = hashlib.sha256(), 0, max_bytes()
    try:
        with open(partial, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FirmwareRefused("too_large")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise FirmwareRefused("empty")
        if digest.hexdigest() != expected:
            raise FirmwareRefused("checksum_mismatch")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    row = FirmwareFile(vendor=vendor, model=model, version=version, filename=safe_filename(filename), size=size,
                       sha256=expected, stored_name=stored_name, notes=notes.strip()[:2000],
                       uploaded_by_id=user.id if user else None)
    session.add(row)
    session.flush()
    return row


def path_of(row: FirmwareFile, upload_dir: str | Path) -> Path:
    return firmware_dir(upload_dir) / row.stored_name


def intact(row: FirmwareFile, upload_dir: str | Path) -> bool:
    """The stored file is there and still has the checksum it was accepted with."""
    digest = hashlib.sha256()
    try:
        with open(path_of(row, upload_dir), "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == row.sha256
