from portal.models import ChargePoint, Connector
from portal.services.charging import access
from portal.services.billing.pricing import TariffChoice

OK = TariffChoice(None, "ok")


def cp(**kw):
    defaults = dict(cp_type="private", enabled=True, online=True, owner_id=None, site_id=1)
    defaults.update(kw)
    c = ChargePoint(identity="CP", **defaults)
    c.connectors = [Connector(connector_id=0, status="Available"), Connector(connector_id=1, status="Available")]
    return c


def decide(charge_point, *, access_=True, user_id=5, choice=OK, connector_id=1):
    return access.decide_start(has_site_access=access_, cp=charge_point, user_id=user_id, choice=choice,
                               connector=charge_point.connector(connector_id))


def test_member_with_allowed_tariff_may_start():
    assert decide(cp()).allowed


def test_private_charger_needs_site_access():
    assert decide(cp(), access_=False).reason == "no_access"


def test_public_charger_open_to_everyone_with_a_tariff():
    assert decide(cp(cp_type="public"), access_=False).allowed


def test_personal_charger_only_for_owner():
    assert decide(cp(cp_type="personal", owner_id=9), user_id=5).reason == "personal_not_owner"
    assert decide(cp(cp_type="personal", owner_id=5), user_id=5).allowed


def test_disabled_blocks():
    assert decide(cp(enabled=False)).reason == "disabled"


def test_tariff_reason_is_passed_on():
    assert decide(cp(), choice=TariffChoice(None, "not_allowed")).reason == "not_allowed"
    assert decide(cp(), choice=TariffChoice(None, "no_tariff")).reason == "no_tariff"


def test_connector_states():
    assert decide(cp(online=False)).reason == "offline"
    c = cp()
    c.connector(1).status = "Charging"
    assert decide(c).reason == "occupied"
    c.connector(1).status = "Faulted"
    assert decide(c).reason == "faulted"
    c.connector(1).status = "Preparing"
    assert decide(c).allowed
    c.connector(0).status = "Faulted"
    assert decide(c).reason == "faulted"
