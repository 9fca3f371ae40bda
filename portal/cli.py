"""Operations commands: flask --app portal <group> <command>."""
from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from portal.settings import PROJECT_ROOT


def _db():
    return current_app.extensions["portal_db"]


def upgrade_database(url: str) -> None:
    """Run Alembic migrations to head on the given database."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


# Groups at module level (Flask's AppGroup runs each command inside the app context); register_cli adds them.
db_group = AppGroup("db", help="Database schema.")
users = AppGroup("users", help="User accounts.")
chargers = AppGroup("chargers", help="Charge points.")


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    upgrade_database(current_app.config["DATABASE_URL"])
    click.echo("database is up to date")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo sites, accounts, tariffs and charge points."""
    from portal.services.demodata.demo import NotADemoDatabase, seed_demo

    with _db().session() as session:
        try:
            seed_demo(session)
        except NotADemoDatabase as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo("demo data loaded: resident@demo.test / board@demo.test / support@demo.test (demo-password)")


@users.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True)
@click.option("--name", default="")
@click.option("--language", type=click.Choice(["nb", "sv", "en"]), default="nb")
@click.option("--staff", "staff_role", type=click.Choice(["support", "sales", "admin"]), default=None)
@click.option("--site", "site_slug", default=None, help="Give access to this site.")
@click.option("--role", type=click.Choice(["resident", "board"]), default="resident")
def users_create(email, password, name, language, staff_role, site_slug, role) -> None:
    """Create an account, optionally with access to a site."""
    from portal.security.events import security_event
    from portal.security.passwords import PASSWORD_MAX, PASSWORD_MIN, password_problem
    from portal.services.sites.onboarding import OnboardingError, add_member, create_user, site_by_slug

    problem = password_problem(password, email=email)
    if problem == "length":
        raise click.ClickException(f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long")
    if problem == "common":
        raise click.ClickException("the password is too common or too easy to guess; "
                                   "a few unrelated words make a good one")
    with _db().session() as session:
        try:
            user = create_user(session, email, password, name=name, language=language, staff_role=staff_role)
            if site_slug:
                site = site_by_slug(session, site_slug)
                if site is None:
                    raise OnboardingError(f"no site with slug {site_slug!r}")
                add_member(session, user, site, role)
        except OnboardingError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        security_event("account %s created with staff role %s and site role %s", user.id, staff_role or "-",
                       f"{role} at {site_slug}" if site_slug else "-")
        click.echo(f"created user {user.email} (id {user.id})")


@chargers.command("add")
@click.argument("identity")
@click.option("--site", "site_slug", required=True)
@click.option("--password", default=None,
              help="The charger's secret (16-40 bytes, varied). Without it a random one is made and "
                   "printed once.")
@click.option("--connectors", default=1, type=int, show_default=True)
@click.option("--name", default="")
@click.option("--type", "cp_type", type=click.Choice(["public", "private", "personal"]), default="private")
def chargers_add(identity, site_slug, password, connectors, name, cp_type) -> None:
    """Register a charge point so it can connect with its password (made here unless --password)."""
    from portal.services.sites.onboarding import OnboardingError, add_charge_point, site_by_slug
    from portal.services.people.secrets import charger_secret_problem, new_charger_secret

    generated = password is None
    if generated:
        password = new_charger_secret()
    elif charger_secret_problem(password) == "weak":
        raise click.ClickException(
            "the charger password is too easy to guess: use at least 10 different characters from three "
            "of lower case, upper case, digits and other characters, no common pattern; or leave out "
            "--password and a random one is made")
    with _db().session() as session:
        site = site_by_slug(session, site_slug)
        if site is None:
            raise click.ClickException(f"no site with slug {site_slug!r}")
        try:
            cp = add_charge_point(session, identity, site, password, connectors, name=name, cp_type=cp_type)
        except OnboardingError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"added {cp.identity} at {site.slug} with {connectors} connector(s)")
    if generated:  # shown this once: only its hash is stored
        click.echo(f"charger secret (shown only now; set it on the charger as its password): {password}")


@chargers.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def chargers_import(csv_file: Path) -> None:
    """Register many charge points from a CSV file: identity,site,password,connectors."""
    from portal.services.sites.onboarding import import_charge_points, parse_import_rows

    started = time.perf_counter()
    with csv_file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"identity", "site", "password"} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(f"missing columns: {', '.join(sorted(missing))}")
        rows, errors = parse_import_rows(reader)
    with _db().session() as session:
        created, more_errors = import_charge_points(session, rows)
        session.commit()
    for message in errors + more_errors:
        click.echo(message, err=True)
    click.echo(f"imported {created} charge point(s) in {time.perf_counter() - started:.1f} s; "
               f"{len(errors) + len(more_errors)} line(s) skipped")
    if errors or more_errors:
        sys.exit(1)


def register_cli(app: Flask) -> None:
    from portal.cli_fleet import sites_group
    from portal.cli_incidents import incidents_group
    from portal.cli_statements import statements_group
    from portal import cli_accounting  # noqa: F401  (export-postings, payout-fee on the statements group)

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(db_group)
    app.cli.add_command(statements_group)
    app.cli.add_command(users)
    app.cli.add_command(chargers)
    app.cli.add_command(sites_group)
    app.cli.add_command(incidents_group)
