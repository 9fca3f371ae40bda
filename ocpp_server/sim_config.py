"""The simulated charger's configuration keys (issue 21): more keys than the bare simulator knew, some
read-only, some that take effect only after a reboot, and meter values sampled as MeterValuesSampledData says.

Hooked into ocpp_server.simulator by `extend(sim)` at construction, `change(sim, key, value)` from its
change_configuration and `sampled(sim, outlet, power, context)` from send_meter_values."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocpp_server.sim_options import Outlet
    from ocpp_server.simulator import SimulatedCharger

FACTORY_SAMPLED = "Energy.Active.Import.Register,Power.Active.Import,Current.Import"
OFFERED_A = 32
EXTRA_KEYS = {
    "MeterValuesSampledData": FACTORY_SAMPLED,
    "MeterValuesAlignedData": "Energy.Active.Import.Register",
    "LocalAuthListEnabled": "false", "LocalAuthorizeOffline": "false", "LocalPreAuthorize": "false",
    "AuthorizationCacheEnabled": "false", "StopTransactionOnEVSideDisconnect": "true",
    "LocalAuthListMaxLength": "100", "SendLocalListMaxLength": "50", "ChargeProfileMaxStackLevel": "3",
    "WebSocketPingInterval": "0", "ConnectorPhaseRotation": "0.RST",
}
READONLY = frozenset({"NumberOfConnectors", "SupportedFeatureProfiles", "ChargeProfileMaxStackLevel",
                      "LocalAuthListMaxLength", "SendLocalListMaxLength"})
REBOOT_REQUIRED = frozenset({"WebSocketPingInterval", "ConnectorPhaseRotation"})
PROFILES = "Core,RemoteTrigger,LocalAuthListManagement"
PHASES = ("L1", "L2", "L3")


def extend(sim: "SimulatedCharger") -> None:
    """Add the keys a charger of the fleet has, and the local-list profile."""
    for key, value in EXTRA_KEYS.items():
        sim.config.setdefault(key, value)
    sim.config["SupportedFeatureProfiles"] = PROFILES
    sim.READONLY = READONLY


def change(sim: "SimulatedCharger", key: str, value: str) -> str | None:
    """The answer for the keys this module owns (None: the simulator's own rule decides)."""
    if key in REBOOT_REQUIRED:
        sim.config[key] = value  # kept, in force from the next boot
        return "RebootRequired"
    if key in ("MeterValuesSampledData", "MeterValuesAlignedData"):
        known = {"Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage",
                 "Current.Offered", "SoC", "Temperature"}
        if any(m.strip() not in known for m in value.split(",")):
            return "Rejected"
    if key.startswith("Local") and value not in ("true", "false"):
        return "Rejected"
    return None


def _measurands(sim: "SimulatedCharger") -> list[str]:
    return [m.strip() for m in sim.config.get("MeterValuesSampledData", "").split(",") if m.strip()]


def sampled(sim: "SimulatedCharger", outlet: "Outlet", power: float, voltage: float,
            context: str) -> list[dict[str, Any]]:
    """The sampled values of one MeterValues as configured: the energy register always, Current.Import once
    per phase, Current.Offered once."""
    rows: list[dict[str, Any]] = [{"value": str(int(outlet.meter_wh)), "measurand": "Energy.Active.Import.Register",
                                   "unit": "Wh", "context": context}]
    for measurand in _measurands(sim):
        if measurand == "Power.Active.Import":
            rows.append({"value": f"{power:.0f}", "measurand": measurand, "unit": "W", "context": context})
        elif measurand == "Current.Import":
            rows.extend({"value": f"{power / voltage / len(PHASES):.1f}", "measurand": measurand, "unit": "A",
                         "phase": phase, "context": context} for phase in PHASES)
        elif measurand == "Current.Offered":
            rows.append({"value": str(OFFERED_A), "measurand": measurand, "unit": "A", "context": context})
    return rows
