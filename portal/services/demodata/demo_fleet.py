"""Demo data for issue 21: a configuration template for the simulated chargers' model (SimuCharge Sim-22),
the shipped default with meter values every 5 seconds, so the demo's live figures keep moving."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ConfigTemplate
from portal.services.fleet.config_templates import SHIPPED_DEFAULT


def seed_fleet(session: Session) -> None:
    """Add the demo template once (flushes, the caller commits)."""
    if session.scalar(select(ConfigTemplate.id).where(ConfigTemplate.vendor == "SimuCharge",
                                                      ConfigTemplate.model == "Sim-22")) is not None:
        return
    entries = [[key, "5" if key == "MeterValueSampleInterval" else value] for key, value in SHIPPED_DEFAULT]
    session.add(ConfigTemplate(name="SimuCharge Sim-22 (demo)", vendor="SimuCharge", model="Sim-22", entries=entries))
    session.flush()
