"""Reading an uploaded photo from a form field and serving a stored one (after the caller's access check)."""
from __future__ import annotations

from flask import current_app, send_file
from flask_babel import lazy_gettext as _l

from portal.models import TicketPhoto
from portal.services.photos import Encoded, PhotoError, photo_path, reencode

PHOTO_ERRORS = {
    "too_large": lambda: str(_l("The photo is larger than 8 MB. Take a new one, or send a smaller copy.")),
    "not_image": lambda: str(_l("That file is not a photo we can read. Send a JPEG or PNG picture.")),
    "too_many_pixels": lambda: str(_l("The picture has too many pixels for us to read. Send a JPEG photo, "
                                      "or a smaller copy (at most 12 megapixels for a PNG).")),
    "busy": lambda: str(_l("We are receiving many photos right now. Send the form again in a minute.")),
}


def read_photo(field) -> Encoded | str | None:
    """None when no file was chosen, the re-encoded photo, or an error code of PHOTO_ERRORS."""
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
