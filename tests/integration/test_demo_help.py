"""The help-and-sales demo data: there after seed-demo, and the same after a second run."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.models import ChargerOrder, FaqArticle, Lead, Site, SupportTicket, TicketMessage
from portal.services.sales.site_search import search_sites

MODELS = (Site, FaqArticle, SupportTicket, TicketMessage, Lead, ChargerOrder)


def _counts(session) -> dict:
    session.expire_all()
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def test_seed_demo_loads_help_and_sales_data_once(app, session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    first = _counts(session)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert _counts(session) == first
    assert first["FaqArticle"] >= 13 and first["Lead"] == 1 and first["ChargerOrder"] == 1
    ticket = session.scalar(select(SupportTicket))
    roles = [(m.author_role, m.internal) for m in ticket.messages]
    assert roles == [("requester", False), ("staff", False), ("staff", True)]
    assert ticket.status == "waiting_for_customer"
    without = {s.slug for s in session.scalars(select(Site).where(Site.agreement_status == "none"))}
    assert {"aerfuglen", "fjellstua"} <= without
    assert [s.slug for s in search_sites(session, "bjorkas")] == ["bjorkasen"]
    assert [s.slug for s in search_sites(session, "aerfugl")] == ["aerfuglen"]


def test_every_demo_site_has_an_org_number_the_quote_form_accepts(app, session):
    """The quote form pre-filled from a demo cooperative must not open with a check-digit error."""
    from portal.services.sales.orgnumbers import parse_org_number  # noqa: PLC0415

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    for site in session.scalars(select(Site)):
        assert parse_org_number(site.org_number, site.country).country == site.country, site.slug
