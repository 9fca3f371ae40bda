"""Fleet commands: flask --app portal sites import-takeover SLUG --chargers FILE --residents FILE [--apply]."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

sites_group = AppGroup("sites", help="Sites (cooperatives).")


def _text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: not UTF-8 text") from None


def report_csv(outcome) -> str:
    """The plan as CSV, one row per line of the files (cells neutralised against formulas)."""
    from portal import refusals
    from portal.services.billing.csv_export import csv_text

    rows = [(line.file, line.number, line.key, line.status, refusals.text("takeover", line.code), line.detail)
            for line in outcome.plan.lines]
    return csv_text(("file", "line", "identity or e-mail", "status", "reason", "detail"), rows)


@sites_group.command("import-takeover")
@click.argument("slug")
@click.option("--chargers", "chargers_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--residents", "residents_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "apply_it", is_flag=True, help="Carry out the plan; without it nothing is changed.")
@click.option("--by", "staff_email", default=None, help="The staff account that applies it (for the audit log).")
@click.option("--reason", default="takeover import from the command line")
def import_takeover(slug, chargers_file, residents_file, apply_it, staff_email, reason) -> None:
    """Take over a site's chargers, residents and RFID tags from CSV files: the plan (a dry run) as CSV on
    stdout; with --apply, then exactly that plan in one transaction (refused while a line has an error)."""
    from portal import refusals
    from portal.extensions import redis_conn
    from portal.services.fleet import takeover
    from portal.services.people.mail import enqueue_outbox
    from portal.services.sites.onboarding import find_user, site_by_slug

    if chargers_file is None and residents_file is None:
        raise click.ClickException("give --chargers FILE, --residents FILE or both")
    texts = _text(chargers_file), _text(residents_file)
    with current_app.extensions["portal_db"].session() as session, force_locale("en"):
        site = site_by_slug(session, slug)
        if site is None:
            raise click.ClickException(f"no site with slug {slug!r}")
        actor = find_user(session, staff_email) if staff_email else None
        if apply_it and (actor is None or actor.staff_role not in ("support", "admin")):
            raise click.ClickException("--apply needs --by EMAIL of a support or admin account")
        try:
            dry = takeover.run(session, actor, site, *texts)
            click.echo(report_csv(dry), nl=False)
            counts = dry.plan.counts()
            if apply_it:
                done = takeover.run(session, actor, site, *texts, apply_it=True, reason=reason,
                                    expect_digest=dry.plan.digest())
                session.commit()
                enqueue_outbox(redis_conn(), done.outbox_ids)
                for identity, secret in done.applied.secrets:  # shown only now: only hashes are stored
                    click.echo(f"secret for {identity} (set it on the charger as its password): {secret}", err=True)
        except takeover.TakeoverRefused as exc:
            raise click.ClickException(str(refusals.text("takeover", exc.code))) from None
    click.echo(f"{'applied' if apply_it else 'dry run, nothing changed'}: {counts['new']} new, "
               f"{counts['unchanged']} unchanged, {counts['conflict']} conflict(s), {counts['error']} error(s)", err=True)
    if counts["error"]:
        sys.exit(1)


@sites_group.command("power")
@click.argument("slug")
@click.option("--max-current", "max_current", type=int, required=True, help="amperes per line available for charging")
@click.option("--phases", type=click.Choice(["1", "3"]), default="3")
@click.option("--voltage", type=click.Choice(["230", "400"]), default="400", help="230: IT grid, 400: TN grid")
def site_power(slug, max_current, phases, voltage) -> None:
    """Set a site's current for charging (issue 22): refused with the reason when the floors cannot hold it;
    otherwise kept, each charger's floor shown, and the floors sent to the online chargers."""
    from portal import refusals
    from portal.extensions import redis_conn
    from portal.services.sites.onboarding import site_by_slug
    from portal.services.smart import power, queueing

    with current_app.extensions["portal_db"].session() as session, force_locale("en"):
        site = site_by_slug(session, slug)
        if site is None:
            raise click.ClickException(f"no site with slug {slug!r}")
        try:
            power.set_power(session, site.id, max_current, int(phases), int(voltage))
        except power.PowerRefused as exc:
            raise click.ClickException("refused: " + " ".join(
                refusals.text("smart", p.code) for p in exc.problems)) from None
        plan = power.plan(session, site.id)
        session.commit()
        for cp, _ in power.chargers_of(session, site.id):
            if cp.id in plan.floors:
                click.echo(f"{cp.identity}: floor {plan.floors[cp.id]} A")
            else:
                click.echo(f"{cp.identity}: cannot be limited, counted at {plan.counted[cp.id]} A")
        session.rollback()
        queueing.for_site(session, redis_conn(), site.id)
    click.echo(f"{slug}: {max_current} A per line, {phases} phase(s), {voltage} V", err=True)
