"""Reading an uploaded photo from a form field and serving a stored one (after the caller's access check)."""
from __future__ import annotations

from flask import current_app, send_file

from portal.models import TicketPhoto
from portal.services.helpdesk.photos import Encoded, PhotoError, photo_path, reencode


def read_photo(field) -> Encoded | str | None:
    """None when no file was chosen, the re-encoded photo, or an error code (portal.refusals.PHOTOS)."""
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    try:
        return reencode(upload.stream)
    except PhotoError as exc:
        return exc.code


def send_photo(photo: TicketPhoto):
    """The stored file, private to this reader: never cached by shared caches, never sniffed."""
    response = send_file(photo_path(current_app.config["UPLOAD_DIR"], photo.storage_key),
                         mimetype=photo.content_type, max_age=0, conditional=False, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
