"""A charger registered with `flask --app portal chargers add` connects with its password from a plain
OCPP 1.6J client: hand-written JSON frames over a WebSocket, no code of ours on the charger side."""
import json

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from portal.models import ChargePoint
from tests.factories import make_site
from tests.integration.ocpp_helpers import basic, eventually, ocpp_node, run

SECRET = "Acme-0042-fjord-7xQ9"


def test_cli_registered_charger_boots_with_its_password(app, session, db, redis_url):
    make_site(session, "fjord")
    session.commit()
    result = app.test_cli_runner().invoke(
        args=["chargers", "add", "ACME-0042", "--site", "fjord", "--password", SECRET, "--connectors", "2"])
    assert result.exit_code == 0, result.output

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            url = f"{node.url}/ACME-0042"
            try:
                async with connect(url, subprotocols=["ocpp1.6"], additional_headers=basic("ACME-0042", "wrong")):
                    raise AssertionError("a wrong password must not open the socket")
            except InvalidStatus as refused:
                assert refused.response.status_code == 401
            async with connect(url, subprotocols=["ocpp1.6"], additional_headers=basic("ACME-0042", SECRET)) as ws:
                assert ws.subprotocol == "ocpp1.6"
                await ws.send(json.dumps([2, "boot-1", "BootNotification",
                                          {"chargePointVendor": "Acme", "chargePointModel": "Wallbox 22"}]))
                reply = json.loads(await ws.recv())
                assert reply[0] == 3 and reply[1] == "boot-1" and reply[2]["status"] == "Accepted"
                assert reply[2]["currentTime"].endswith(("+00:00", "Z"))
                await ws.send(json.dumps([2, "st-1", "StatusNotification",
                                          {"connectorId": 2, "errorCode": "NoError", "status": "Available"}]))
                assert json.loads(await ws.recv()) == [3, "st-1", {}]
                cp = await eventually(db, lambda s: s.query(ChargePoint).filter_by(
                    identity="ACME-0042", online=True, vendor="Acme").one_or_none())
                assert cp.model == "Wallbox 22"

    run(scenario())
