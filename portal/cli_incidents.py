"""Operations commands for chargers' own faults: flask --app portal incidents evaluate|site."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

incidents_group = AppGroup("incidents", help="Incidents found in what chargers report (issue 20).")


@incidents_group.command("evaluate")
def evaluate_now() -> None:
    """Run the fault rules once now (the worker does it every minute)."""
    from redis import Redis

    from portal.db import utcnow
    from portal.services.charging import action_queue
    from portal.services.faults.evaluate import evaluate
    from portal.services.people.mail import enqueue_outbox

    with current_app.extensions["portal_db"].session() as session:
        result = evaluate(session, utcnow())
        session.commit()
    redis = Redis.from_url(current_app.config["REDIS_URL"])
    enqueue_outbox(redis, result.outbox_ids)
    for action_id in result.action_ids:
        action_queue.enqueue_action(redis, action_id)
    click.echo(f"opened {len(result.opened)}, resolved {len(result.resolved)}, e-mails {len(result.outbox_ids)}")


@incidents_group.command("site")
@click.argument("slug")
@click.option("--offline-heartbeats", type=click.IntRange(1, 100), default=None)
@click.option("--suspended-after", "suspended_after_s", type=click.IntRange(30, 86400), default=None, help="seconds")
@click.option("--recovery-after", "recovery_after_s", type=click.IntRange(0, 86400), default=None, help="seconds")
@click.option("--failed-starts", type=click.IntRange(1, 100), default=None)
@click.option("--auto-soft-reset/--no-auto-soft-reset", default=None)
def site_settings(slug: str, **values) -> None:
    """Set a site's own fault thresholds (unset ones keep the deployment default) and show them."""
    from portal.models import SiteFaultSettings
    from portal.services.faults.thresholds import SiteThresholds
    from portal.services.sites.onboarding import site_by_slug

    with current_app.extensions["portal_db"].session() as session:
        site = site_by_slug(session, slug)
        if site is None:
            raise click.ClickException(f"no site {slug!r}")
        row = session.get(SiteFaultSettings, site.id) or SiteFaultSettings(site_id=site.id, auto_soft_reset=False)
        session.add(row)
        for name, value in values.items():
            if value is not None:
                setattr(row, name, value)
        session.commit()
        click.echo(f"{slug}: {SiteThresholds(session).of(site.id)}")
