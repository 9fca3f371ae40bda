"""The operations CLI (flask --app portal ...): seed-demo, users, chargers, db upgrade."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from portal.models import ChargePoint, Connector, Membership, Site, User
from portal.services.people.secrets import verify_secret


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_seed_demo_twice_gives_the_same_data(runner, session):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = {m.__name__: _count(session, m) for m in (User, Site, ChargePoint, Connector, Membership)}
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert {m.__name__: _count(session, m) for m in (User, Site, ChargePoint, Connector, Membership)} == counts
    assert {s.slug for s in session.scalars(select(Site))} >= {"solbakken", "nordlys"}
    identities = set(session.scalars(select(ChargePoint.identity)))
    assert {"CP-DEMO-1", "CP-DEMO-2", "CP-NORDLYS-1"} <= identities
    resident = session.scalar(select(User).where(User.email == "resident@demo.test"))
    assert verify_secret(resident.password_hash, "demo-password")


def test_users_create_with_site_access(runner, session):
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    result = runner.invoke(args=["users", "create", "--email", "New@Example.test", "--password", "tre-ord-som-passer",
                                 "--name", "New Person", "--language", "sv", "--site", "solbakken", "--role", "board"])
    assert result.exit_code == 0, result.output
    assert "created user new@example.test" in result.output
    user = session.scalar(select(User).where(User.email == "new@example.test"))
    assert user.language == "sv" and verify_secret(user.password_hash, "tre-ord-som-passer")
    assert [m.role for m in user.memberships] == ["board"]


def test_users_create_refuses_duplicates_and_unknown_sites(runner, session):
    ok = runner.invoke(args=["users", "create", "--email", "a@example.test", "--password", "tre-ord-som-passer"])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(args=["users", "create", "--email", "A@example.test", "--password", "tre-ord-som-passer"])
    assert again.exit_code != 0 and "already exists" in again.output
    nosite = runner.invoke(args=["users", "create", "--email", "b@example.test", "--password", "tre-ord-som-passer",
                                 "--site", "nowhere"])
    assert nosite.exit_code != 0 and "no site with slug 'nowhere'" in nosite.output
    assert _count(session, User) == 1  # nothing half-created


def test_chargers_add(runner, session):
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    result = runner.invoke(args=["chargers", "add", "CP-NEW-1", "--site", "solbakken",
                                 "--password", "a-secret-of-24-characters", "--connectors", "2"])
    assert result.exit_code == 0, result.output
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-NEW-1"))
    assert sorted(c.connector_id for c in cp.connectors) == [0, 1, 2]
    duplicate = runner.invoke(args=["chargers", "add", "CP-NEW-1", "--site", "solbakken",
                                    "--password", "a-secret-of-24-characters"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output


@pytest.mark.parametrize("password", ["short", "x" * 41])
def test_chargers_add_with_a_bad_password_length_says_why(runner, session, password):
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    result = runner.invoke(args=["chargers", "add", "CP-BAD", "--site", "solbakken", "--password", password])
    assert result.exit_code != 0
    assert "16-40 bytes" in result.output
    assert "Traceback" not in result.output
    assert _count(session, ChargePoint) == 0


def test_chargers_add_without_a_password_makes_one_and_shows_it_once(runner, session):
    """Issue 23: secrets made by the portal by default (20+ random bytes), printed once, stored as a hash."""
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    result = runner.invoke(args=["chargers", "add", "CP-GEN-1", "--site", "solbakken"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().rsplit(" ", 1)[1]
    assert len(secret) >= 27 and result.output.count(secret) == 1  # 24 random bytes, URL-safe
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-GEN-1"))
    assert verify_secret(cp.secret_hash, secret) and secret not in cp.secret_hash


@pytest.mark.parametrize("password", ["demo-charger-secret", "aaaaaaaaaaaaaaaaaaaa", "Password1234567890"])
def test_chargers_add_refuses_a_typed_password_that_is_easy_to_guess(runner, session, password):
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    result = runner.invoke(args=["chargers", "add", "CP-WEAK", "--site", "solbakken", "--password", password])
    assert result.exit_code != 0 and "too easy to guess" in result.output
    assert _count(session, ChargePoint) == 0


def test_chargers_add_to_an_unknown_site(runner):
    result = runner.invoke(args=["chargers", "add", "CP-X", "--site", "nowhere", "--password", "a-secret-of-24-characters"])
    assert result.exit_code != 0 and "no site with slug 'nowhere'" in result.output


def test_chargers_import_good_and_bad_lines(runner, session, tmp_path):
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    csv_file = tmp_path / "fleet.csv"
    csv_file.write_text(
        "identity,site,password,connectors\n"
        "CP-IMP-1,solbakken,Fjord-Lader-01-xyz,2\n"       # line 2: good
        "CP-IMP-2,solbakken,Fjord-Lader-02-xyz,\n"        # line 3: good, 1 connector by default
        "CP-IMP-3,solbakken,short,1\n"                    # line 4: password too short
        "CP-IMP-4,nowhere,Fjord-Lader-04-xyz,1\n"         # line 5: unknown site
        "bad identity!,solbakken,Fjord-Lader-05-xyz,1\n"  # line 6: invalid identity
        "CP-IMP-1,solbakken,Fjord-Lader-01-xyz,1\n"       # line 7: duplicate in the file
        "CP-IMP-7,solbakken,Fjord-Lader-07-xyz,many\n"    # line 8: connectors not a number
        "CP-IMP-9,solbakken,secret-number-nine-x,1\n",  # line 9: long enough, but too easy to guess
        encoding="utf-8",
    )
    result = runner.invoke(args=["chargers", "import", str(csv_file)])
    assert result.exit_code == 1
    assert "imported 2 charge point(s)" in result.output
    for line in ("line 4:", "line 5: unknown site", "line 6: invalid identity", "line 7: duplicate", "line 8:",
                 "line 9: the charger password is too easy to guess"):
        assert line in result.output
    session.expire_all()
    imported = {cp.identity: len(cp.connectors) for cp in session.scalars(select(ChargePoint))}
    assert imported == {"CP-IMP-1": 3, "CP-IMP-2": 2}
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-IMP-1"))
    assert verify_secret(cp.secret_hash, "Fjord-Lader-01-xyz")

    again = runner.invoke(args=["chargers", "import", str(csv_file)])
    assert "already exists" in again.output and "imported 0" in again.output


def test_chargers_import_without_the_needed_columns(runner, tmp_path):
    csv_file = tmp_path / "wrong.csv"
    csv_file.write_text("name,place\nx,y\n", encoding="utf-8")
    result = runner.invoke(args=["chargers", "import", str(csv_file)])
    assert result.exit_code != 0 and "missing columns: identity, password, site" in result.output


def _upgrade_and_check(url: str) -> None:
    from portal import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    try:
        for _ in range(2):  # a second upgrade finds nothing to do
            result = app.test_cli_runner().invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output
            assert "database is up to date" in result.output
    finally:
        app.extensions["portal_db"].dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"users", "sites", "charge_points", "outbox_emails", "alembic_version"} <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_db_upgrade_on_a_fresh_sqlite_file(tmp_path):
    _upgrade_and_check(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_db_upgrade_on_a_fresh_postgresql_database():
    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"portal_cli_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {admin_url}: {type(exc).__name__}")
    try:
        _upgrade_and_check(admin_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_chargers_add_takes_identities_with_colon_and_percent_and_the_start_screen_opens(runner, session, client):
    """The node accepts such identities (percent-encoded in the path), so onboarding must too."""
    session.add(Site(slug="solbakken", name="Solbakken borettslag"))
    session.commit()
    for identity in ("CP:COLON:1", "CP%PERCENT"):
        result = runner.invoke(args=["chargers", "add", identity, "--site", "solbakken",
                                     "--password", "a-secret-of-24-characters"])
        assert result.exit_code == 0, result.output
    assert client.get("/c/CP%25PERCENT").status_code == 200
    assert runner.invoke(args=["chargers", "add", "CP/SLASH", "--site", "solbakken",
                               "--password", "a-secret-of-24-characters"]).exit_code != 0
