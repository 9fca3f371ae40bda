"""The simulated charger's smart charging (issue 22): TxDefaultProfile on connector 0 (SetChargingProfile,
ClearChargingProfile, GetCompositeSchedule), its capabilities in GetConfiguration, and a charging current that
follows the limit in force: current per phase = min(the car's draw, the profile's limit).

Options: no_smart_charging (no SmartCharging profile: every SetChargingProfile is Rejected),
reject_charging_profiles (has it, but rejects them), forget_profiles_on_reboot. Hooked into the simulator by
`install(SimChargePoint)`, `extend(sim)` at construction, `power_w(sim)` when metering and `rebooted(sim)`."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

if TYPE_CHECKING:
    from ocpp_server.simulator import SimulatedCharger

VOLTAGE, PHASES = 230.0, 3
KEYS = {"ChargeProfileMaxStackLevel": "3", "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
        "MaxChargingProfilesInstalled": "10"}


def extend(sim: "SimulatedCharger") -> None:
    sim.charging_profiles = {}  # (stack level) -> the TxDefaultProfile as received (snake_case)
    sim.profile_answers: list[str] = []
    if getattr(sim.options, "no_smart_charging", False):
        return
    sim.config.update(KEYS)
    sim.config["SupportedFeatureProfiles"] += ",SmartCharging"
    sim.READONLY = frozenset(sim.READONLY) | set(KEYS)


def limit_a(sim: "SimulatedCharger") -> float | None:
    """The limit in force per phase in A (the highest stack level wins), None without a profile."""
    if not sim.charging_profiles:
        return None
    profile = sim.charging_profiles[max(sim.charging_profiles)]
    schedule = profile["charging_schedule"]
    limit = float(schedule["charging_schedule_period"][0]["limit"])
    if schedule["charging_rate_unit"] == "W":
        limit = limit / VOLTAGE / PHASES
    return limit


def current_a(sim: "SimulatedCharger") -> float:
    """What the car draws per phase, held to the limit in force."""
    draw = sim.options.power_w / VOLTAGE / PHASES
    limit = limit_a(sim)
    return draw if limit is None else min(draw, limit)


def power_w(sim: "SimulatedCharger") -> float:
    return current_a(sim) * VOLTAGE * PHASES


def rebooted(sim: "SimulatedCharger") -> None:
    if getattr(sim.options, "forget_profiles_on_reboot", False):
        sim.charging_profiles.clear()


def _answer(sim: "SimulatedCharger", connector_id: int, profile: dict) -> str:
    if getattr(sim.options, "no_smart_charging", False) or getattr(sim.options, "reject_charging_profiles", False):
        return "Rejected"
    if connector_id != 0 or profile.get("charging_profile_purpose") != "TxDefaultProfile":
        return "Rejected"  # this simulator keeps only the default profile for the whole charger
    if int(profile.get("stack_level", 0)) > int(KEYS["ChargeProfileMaxStackLevel"]):
        return "Rejected"
    return "Accepted"


def install(cls: type) -> None:
    """Give the simulator's protocol class the three smart-charging calls."""

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self: Any, connector_id: int, cs_charging_profiles: dict, **_: Any):
        status = _answer(self.sim, connector_id, cs_charging_profiles)
        self.sim.calls_received.append(("SetChargingProfile", connector_id, cs_charging_profiles, status))
        self.sim.profile_answers.append(status)
        if status == "Accepted":
            self.sim.charging_profiles[int(cs_charging_profiles.get("stack_level", 0))] = cs_charging_profiles
        return call_result.SetChargingProfile(status=status)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self: Any, id: int | None = None, stack_level: int | None = None, **_: Any):
        self.sim.calls_received.append(("ClearChargingProfile", id, stack_level))
        gone = [level for level, p in self.sim.charging_profiles.items()
                if (id is None or p.get("charging_profile_id") == id) and stack_level in (None, level)]
        for level in gone:
            del self.sim.charging_profiles[level]
        return call_result.ClearChargingProfile(status="Accepted" if gone else "Unknown")

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self: Any, connector_id: int, duration: int, **_: Any):
        self.sim.calls_received.append(("GetCompositeSchedule", connector_id, duration))
        limit = limit_a(self.sim)
        if limit is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id,
            schedule_start=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            charging_schedule={"duration": duration, "charging_rate_unit": "A",
                               "charging_schedule_period": [{"start_period": 0, "limit": round(limit, 1)}]})

    cls.on_set_charging_profile = on_set_charging_profile
    cls.on_clear_charging_profile = on_clear_charging_profile
    cls.on_get_composite_schedule = on_get_composite_schedule
