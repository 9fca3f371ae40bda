"""Which lines a charger loads, and the power of a current, for the two grids of Norwegian buildings.

230 V IT: no neutral; a one-phase charger sits between two lines (L1-L2, L2-L3 or L3-L1) and its current flows
in both. 400 V TN: a one-phase charger sits between one line and neutral. A three-phase charger loads all three
lines on either grid. A one-phase site has L1 only (TN) or L1 and L2 (IT).

Currents in a line are added arithmetically: on IT two chargers sharing a line are 120 degrees apart, so the real
(phasor) sum is smaller; the arithmetic sum is an upper bound and therefore safe. Pure and Flask-free."""
from __future__ import annotations

import math

IT, TN = "IT", "TN"
ALL_LINES = ("L1", "L2", "L3")
TN_CHOICES = ("L1", "L2", "L3")
IT_CHOICES = ("L1-L2", "L2-L3", "L3-L1")
VOLTAGES = {230: IT, 400: TN}
PHASE_VOLTAGE = 230.0  # line to neutral on TN, line to line on IT


def grid_of(voltage: int) -> str:
    """230 V means IT, 400 V means TN."""
    return VOLTAGES[int(voltage)]


def site_lines(grid: str, phases: int) -> tuple[str, ...]:
    """The lines a site has."""
    if phases == 3:
        return ALL_LINES
    return ("L1", "L2") if grid == IT else ("L1",)


def line_choices(grid: str, site_phases: int) -> tuple[str, ...]:
    """Where a one-phase charger may be connected on this site."""
    if site_phases == 1:
        return ("L1-L2",) if grid == IT else ("L1",)
    return IT_CHOICES if grid == IT else TN_CHOICES


def loaded_lines(grid: str, charger_phases: int, connection: str) -> tuple[str, ...]:
    """The lines a charger's current flows in (each carries the charger's full current)."""
    if charger_phases == 3:
        return ALL_LINES
    if grid == IT:
        first, _, second = connection.partition("-")
        return (first, second)
    return (connection,)


def valid_connection(grid: str, site_phases: int, charger_phases: int, connection: str) -> bool:
    if charger_phases == 3:
        return site_phases == 3
    return connection in line_choices(grid, site_phases)


def watts(grid: str, charger_phases: int, amps: float) -> float:
    """The power of a current per line for a charger: for W-only chargers (rounded down, never above)."""
    if charger_phases == 1:
        return math.floor(PHASE_VOLTAGE * amps)
    factor = 3.0 if grid == TN else math.sqrt(3.0)  # TN: 3 x 230 V to neutral; IT: 230 V between lines
    return math.floor(factor * PHASE_VOLTAGE * amps)
