"""The floor profile as sent, capabilities as read, and the simulator's current under a profile."""
from __future__ import annotations

from ocpp_server import sim_smart
from ocpp_server.sim_options import Options
from portal.services.smart import grid as g
from portal.services.smart import profiles


def test_profile_in_amperes_without_end():
    request = profiles.floor_profile(10, "Current,Power", g.TN, 3)
    profile = request["csChargingProfiles"]
    assert request["connectorId"] == 0
    assert profile["stackLevel"] == 0 and profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert profile["chargingProfileKind"] in ("Absolute", "Recurring")
    assert "validTo" not in profile and "duration" not in profile["chargingSchedule"]
    assert profile["chargingSchedule"]["startSchedule"].endswith("+00:00")  # explicit UTC offset
    assert profile["chargingSchedule"]["chargingRateUnit"] == "A"
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 10.0,
                                                                      "numberPhases": 3}]


def test_watts_only_for_chargers_that_allow_only_watts():
    assert profiles.unit_and_limit(10, "Power", g.TN, 3) == ("W", 6900.0)
    assert profiles.unit_and_limit(16, "W", g.IT, 1) == ("W", 3680.0)
    assert profiles.unit_and_limit(16, "", g.IT, 1) == ("A", 16.0)
    assert profiles.unit_and_limit(16, "Current", g.TN, 3) == ("A", 16.0)


def test_capabilities_read_from_get_configuration():
    got = profiles.capabilities({"SupportedFeatureProfiles": "Core, SmartCharging,RemoteTrigger",
                                 "ChargeProfileMaxStackLevel": "8", "MaxChargingProfilesInstalled": "x",
                                 "ChargingScheduleAllowedChargingRateUnit": "Current, Power"})
    assert got == {"smart": True, "max_stack_level": 8, "rate_units": "Current,Power", "max_profiles": None}
    assert profiles.capabilities({"SupportedFeatureProfiles": "Core"})["smart"] is False


class FakeSim:
    READONLY = frozenset()

    def __init__(self, **options):
        self.options = Options(**options)
        self.config = {"SupportedFeatureProfiles": "Core"}
        sim_smart.extend(self)


def test_simulator_current_follows_the_profile_and_forgets_on_reboot():
    sim = FakeSim(power_w=11_000, forget_profiles_on_reboot=True)
    assert "SmartCharging" in sim.config["SupportedFeatureProfiles"]
    assert round(sim_smart.current_a(sim), 1) == 15.9  # the car's own draw
    sim.charging_profiles[0] = {"charging_schedule": {"charging_rate_unit": "A",
                                                      "charging_schedule_period": [{"limit": 8}]}}
    assert sim_smart.current_a(sim) == 8 and sim_smart.power_w(sim) == 8 * 230 * 3
    sim.charging_profiles[0]["charging_schedule"] = {"charging_rate_unit": "W",
                                                     "charging_schedule_period": [{"limit": 22_000}]}
    assert round(sim_smart.current_a(sim), 1) == 15.9  # a limit above the car's draw: the car decides
    sim_smart.rebooted(sim)
    assert sim_smart.limit_a(sim) is None
    assert "SmartCharging" not in FakeSim(no_smart_charging=True).config["SupportedFeatureProfiles"]
