"""The staff charger page as a diagnosis: the live session's energy is the resident's figure, the message log
pages 50 rows with the payload folded, every row says what it means, and the page stays small."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.models import OcppMessage, Transaction
from portal.services.charging import sessions
from tests.factories import make_user, resident_with_access

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(session, client, login):
    site, resident, cp = resident_with_access(session)
    support = make_user(session, "support@diagnosis.test", staff_role="support")
    session.commit()
    login(client, support)
    return {"site": site, "resident": resident, "cp": cp, "support": support}


def _log(session, identity, direction, frame, action=None, mtype=2, uid="u1", minutes_ago=0.0):
    session.add(OcppMessage(identity=identity, direction=direction, frame=frame, action=action, message_type=mtype,
                            unique_id=uid, created_at=utcnow() - timedelta(minutes=minutes_ago)))


def test_live_session_energy_is_the_figure_the_resident_sees(client, session, staff):
    cp, resident = staff["cp"], staff["resident"]
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T1", status="active", start_key="k-live",
                     user_id=resident.id, meter_start_wh=1000, meter_last_wh=1240,
                     started_at=utcnow() - timedelta(minutes=10))
    session.add(tx)
    session.commit()
    resident_figure = sessions.live_figures(session, tx).energy_wh
    assert resident_figure == 240
    page = client.get(f"/staff/chargers/{cp.identity}").get_data(as_text=True)
    row = re.search(rf'<tr data-session="{tx.id}".*?</tr>', page, re.S).group(0)
    assert 'data-wh="240"' in row and "0.24 kWh" in row
