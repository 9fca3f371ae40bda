"""The TxDefaultProfile that holds a charger at its floor with no help from us, and reading a charger's
smart-charging capabilities from GetConfiguration. Pure.

The profile: connectorId 0 (every outlet), stackLevel 0, purpose TxDefaultProfile, kind Absolute from a fixed
start in the past with one period and no duration or validTo, so it lasts until it is replaced or cleared
(OCPP 1.6: the last period of a schedule without duration continues indefinitely). Unit A, per phase; W only
when the charger allows only W (converted with the site's grid and the charger's phases, rounded down)."""
from __future__ import annotations

from portal.services.smart import grid as g

PROFILE_ID = 220  # our floor profile's id on every charger (issue 22)
START = "2024-01-01T00:00:00+00:00"
CAPABILITY_KEYS = ["SupportedFeatureProfiles", "ChargeProfileMaxStackLevel",
                   "ChargingScheduleAllowedChargingRateUnit", "MaxChargingProfilesInstalled"]


def capabilities(values: dict[str, str | None]) -> dict:
    """smart, max_stack_level, rate_units and max_profiles from the charger's answer."""
    profiles = [p.strip() for p in (values.get("SupportedFeatureProfiles") or "").split(",")]

    def number(key: str) -> int | None:
        text = str(values.get(key) or "").strip()
        return int(text) if text.isdigit() else None
    units = (values.get("ChargingScheduleAllowedChargingRateUnit") or "").replace(" ", "")
    return {"smart": "SmartCharging" in profiles, "max_stack_level": number("ChargeProfileMaxStackLevel"),
            "rate_units": units[:20], "max_profiles": number("MaxChargingProfilesInstalled")}


def only_watts(rate_units: str) -> bool:
    units = {u.strip().lower() for u in rate_units.split(",") if u.strip()}
    return bool(units) and units <= {"power", "w"}


def unit_and_limit(floor_a: int, rate_units: str, grid: str, phases: int) -> tuple[str, float]:
    if only_watts(rate_units):
        return "W", float(g.watts(grid, phases, floor_a))
    return "A", float(floor_a)


def floor_profile(floor_a: int, rate_units: str, grid: str, phases: int) -> dict:
    """The SetChargingProfile request (camelCase, as sent)."""
    unit, limit = unit_and_limit(floor_a, rate_units, grid, phases)
    return {"connectorId": 0, "csChargingProfiles": {
        "chargingProfileId": PROFILE_ID, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"startSchedule": START, "chargingRateUnit": unit,
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit, "numberPhases": phases}]}}}
