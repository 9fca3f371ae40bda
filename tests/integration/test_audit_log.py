"""The change log reads like sentences in the reader's language, filters by person, kind and date, and pages."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

from portal.models import AuditEntry
from portal.services.sites import site_admin, site_people
from tests.factories import make_plan, make_site, make_tariff, make_user


def _sentences(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", s).strip() for s in re.findall(r'data-testid="audit-sentence">([^<]*)<', html)]


def _price_change(session, kari, tariff, fee: str) -> None:
    data = site_admin.TariffData(name=tariff.name, energy_fee=Decimal(fee),
                                 plan_ids=[p.id for p in tariff.restrictions])
    site_admin.update_tariff(session, kari, tariff, data)


def test_changes_read_as_sentences_in_the_readers_language(client, login, session):
    site = make_site(session, "eik")
    kari = make_user(session, "kari@eik.test", site=site, role="board", name="Kari")
    ola = make_user(session, "ola@eik.test", site=site, name="Ola")
    plan = make_plan(session, site, "Residents")
    tariff = make_tariff(session, site, name="Residents", fee="2.35", plans=[plan])
    _price_change(session, kari, tariff, "2.50")
    group = site_admin.create_group(session, kari, site, "Garage")
    site_admin.attach_tariff(session, kari, group, tariff)
    ug = site_people.create_user_group(session, kari, site, "Caretakers")
    site_people.add_group_member(session, kari, ug, "ola@eik.test")
    from portal.services.sites import board_tools

    board_tools.set_role(session, kari, site, ola.id, "board")
    session.commit()
    login(client, kari)
    english = _sentences(client.get("/manage/eik/audit").get_data(as_text=True))
    assert "Kari changed the price of Residents from 2.35 kr to 2.50 kr." in english
    assert "Kari added the tariff Residents to the tariff group Garage." in english
    assert "Kari added Ola to the user group Caretakers." in english
    assert "Kari made ola@eik.test a board member." in english
    assert "Kari created the tariff group Garage." in english
    client.set_cookie("lang", "nb")
    norwegian = _sentences(client.get("/manage/eik/audit").get_data(as_text=True))
    assert "Kari endret prisen på Residents fra 2,35 kr til 2,50 kr." in norwegian
    client.set_cookie("lang", "sv")
    swedish = _sentences(client.get("/manage/eik/audit").get_data(as_text=True))
    assert "Kari ändrade priset för Residents från 2,35 kr till 2,50 kr." in swedish


def test_filters_and_paging_past_200_entries(client, login, session):
    site = make_site(session, "ask")
    kari = make_user(session, "kari@ask.test", site=site, role="board", name="Kari")
    per = make_user(session, "per@ask.test", site=site, role="board", name="Per")
    tariff = make_tariff(session, site, name="Residents", fee="2.00")
    for i in range(230):
        session.add(AuditEntry(actor_id=kari.id, site_id=site.id, entity="tariff", entity_id=tariff.id,
                               action="update", before={"energy_fee": "2.0000", "name": "Residents"},
                               after={"energy_fee": f"{2 + i / 100:.4f}", "name": "Residents"},
                               created_at=datetime(2026, 3, 1 + i % 28, 12, tzinfo=timezone.utc)))
    session.add(AuditEntry(actor_id=per.id, site_id=site.id, entity="plan", entity_id=None, action="create",
                           after={"name": "Guests"}, created_at=datetime(2026, 4, 2, 9, tzinfo=timezone.utc)))
    session.commit()
    login(client, kari)
    first = client.get("/manage/ask/audit").get_data(as_text=True)
    assert 'data-count="231"' in first and first.count('data-testid="audit-entry"') == 50
    assert "Page 1 of 5" in first
    last = client.get("/manage/ask/audit?page=5").get_data(as_text=True)
    assert last.count('data-testid="audit-entry"') == 31
    by_per = client.get(f"/manage/ask/audit?who={per.id}").get_data(as_text=True)
    assert 'data-count="1"' in by_per and "Per created the subscription plan Guests." in _sentences(by_per)
    plans = client.get("/manage/ask/audit?kind=plan").get_data(as_text=True)
    assert 'data-count="1"' in plans
    april = client.get("/manage/ask/audit?from=2026-04-01&to=2026-04-30").get_data(as_text=True)
    assert 'data-count="1"' in april
    first_day = client.get("/manage/ask/audit?from=2026-03-01&to=2026-03-01").get_data(as_text=True)
    assert 'data-count="9"' in first_day  # 230 entries over 28 days: days 1-6 get 9 each
    junk = client.get("/manage/ask/audit?who=abc&kind=%3Cscript%3E&from=yesterday&page=-1")
    assert junk.status_code == 200 and 'data-count="231"' in junk.get_data(as_text=True)
