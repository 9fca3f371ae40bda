"""What a simulated charger (ocpp_server.simulator) is made of: its options and its outlets."""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Outlet:
    connector_id: int
    status: str = "Available"
    error_code: str = "NoError"
    plugged: bool = False
    operative: bool = True
    transaction_id: int | None = None
    id_tag: str | None = None
    meter_wh: float = field(default_factory=lambda: float(random.randint(1_000_000, 5_000_000)))


@dataclass
class Options:
    connectors: int = 1
    heartbeat: float | None = None  # None: the interval the server sends
    meter_interval: float = 5.0
    power_w: float = 11_000.0
    auto_plug: bool = False
    reject_remote_start: bool = False
    no_answer: bool = False
    no_start_after_accept: bool = False
    reconnect: bool = True
    vendor: str = "SimuCharge"
    model: str = "Sim-22"
    serial: str = ""
    firmware_version: str = "1.0.0"
    no_smart_charging: bool = False  # issue 22 (ocpp_server.sim_smart)
    reject_charging_profiles: bool = False
    forget_profiles_on_reboot: bool = False
    firmware_fail: str = ""  # "download" or "install": every firmware update fails at that step
