"""flask --app portal incidents site|evaluate: a site's own fault thresholds, and one pass of the rules."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.db import utcnow
from portal.models import ChargePoint, Incident, SiteFaultSettings
from tests.factories import make_charge_point, make_site


def test_site_thresholds_and_an_evaluation_from_the_command_line(app, session):
    site = make_site(session, slug="fjellheim")
    cp = make_charge_point(session, site, online=False)
    cp.last_seen_at = cp.offline_since = utcnow() - timedelta(hours=2)
    session.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["incidents", "site", "fjellheim", "--offline-heartbeats", "5", "--auto-soft-reset"])
    assert out.exit_code == 0, out.output
    assert "offline_heartbeats=5" in out.output and "auto_soft_reset=True" in out.output
    assert runner.invoke(args=["incidents", "site", "nowhere"]).exit_code != 0
    assert runner.invoke(args=["incidents", "site", "fjellheim", "--failed-starts", "0"]).exit_code != 0
    session.expire_all()
    row = session.get(SiteFaultSettings, site.id)
    assert (row.offline_heartbeats, row.auto_soft_reset, row.failed_starts) == (5, True, None)
    out = runner.invoke(args=["incidents", "evaluate"])
    assert out.exit_code == 0 and "opened 1" in out.output, out.output
    assert session.scalar(select(Incident.cause)) == "offline"
    assert session.get(ChargePoint, cp.id).online is False
