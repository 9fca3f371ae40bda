"""Demo saved replies for support, one set per language (seed-demo; skipped when a title exists)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import SavedReply

DEMO_REPLIES = {
    "nb": ("Omstart av laderen", "Hei {name}! Vi har startet {charger} på {site} på nytt fra driftssenteret. "
                                  "Prøv gjerne igjen, og svar her hvis den fortsatt ikke lader."),
    "sv": ("Omstart av laddaren", "Hej {name}! Vi har startat om {charger} på {site} från driftcentralen. "
                                   "Försök gärna igen och svara här om den fortfarande inte laddar."),
    "en": ("Charger restarted", "Hello {name}, we have restarted {charger} at {site} from our operations centre. "
                                "Please try again, and answer here if it still does not charge."),
}


def seed_saved_replies(session: Session) -> None:
    for language, (title, body) in DEMO_REPLIES.items():
        if session.scalar(select(SavedReply.id).where(SavedReply.language == language, SavedReply.title == title)):
            continue
        session.add(SavedReply(language=language, title=title, body=body))
    session.flush()
