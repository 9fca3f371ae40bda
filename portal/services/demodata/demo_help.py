"""Demo data for the help-and-sales half: searchable cooperatives (one without an agreement), ordering
settings, the FAQ articles, a ticket with a staff reply, a quote request and a charger order.

Safe to load twice: every row is looked up by a natural key before it is created.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ChargePoint, ChargerOrder, Lead, Site, SupportTicket, User
from portal.services.demodata.demo_replies import seed_saved_replies
from portal.services.helpdesk import tickets
from portal.services.sales import leads, orders
from portal.services.helpdesk.faq_seed import seed_faq
from portal.services.sites.onboarding import find_user, site_by_slug

NO_SITE = {"country": "NO", "price_area": "NO1", "currency": "NOK", "timezone": "Europe/Oslo"}
SE_SITE = {"country": "SE", "price_area": "SE3", "currency": "SEK", "timezone": "Europe/Stockholm"}
NO_ORDERING = {"order_delivery_time": "4–6 uker", "order_charger_model": "Hjemmelader 11 kW (Type 2)\nHjemmelader 22 kW (Type 2)",
               "order_instructions": "Bestill for din egen parkeringsplass. Vi avtaler montering med en godkjent "
                                     "elektriker, og laderen kobles til borettslagets anlegg."}
SE_ORDERING = {"order_delivery_time": "3–5 veckor", "order_charger_model": "Hemladdare 11 kW (Typ 2)",
               "order_instructions": "Beställ till din egen parkeringsplats. Vi bokar en behörig elektriker."}
# slug -> fields: a handful of cooperatives to search for in the ordering portal.
COOPERATIVES = {
    "bjorkasen": dict(name="Bjørkåsen borettslag", org_number="931002007", kind="borettslag", agreement_status="active",
                      address="Bjørkåsveien 5", postcode="0591", city="Oslo", **NO_SITE, **NO_ORDERING),
    "lovasen": dict(name="Løvåsen sameie", org_number="948 001 128", kind="sameie", agreement_status="active",
                    address="Løvåsveien 21", postcode="5093", city="Bergen", **NO_SITE, **NO_ORDERING),
    "aerfuglen": dict(name="Ærfuglen sameie", org_number="967003212", kind="sameie", agreement_status="none",
                      address="Ærfuglveien 2", postcode="5003", city="Bergen", **NO_SITE),
    "fjellstua": dict(name="Fjellstua borettslag", org_number="972004561", kind="borettslag", agreement_status="none",
                      address="Fjellveien 40", postcode="7030", city="Trondheim", **NO_SITE),
    "sjoutsikten": dict(name="BRF Sjöutsikten", org_number="716420-5556", kind="brf", agreement_status="active",
                        address="Sjövägen 8", postcode="118 20", city="Stockholm", **SE_SITE, **SE_ORDERING),
}
DEMO_TICKET_SUBJECT = "CP-DEMO-2 viser en rød lampe"


def seed_help_and_sales(session: Session) -> None:
    """Load (or complete) the help-and-sales demo data; flushes, the caller commits."""
    _complete(site_by_slug(session, "solbakken"), postcode="0375", **NO_ORDERING)
    _complete(site_by_slug(session, "nordlys"), postcode="753 20", **SE_ORDERING)
    for slug, fields in COOPERATIVES.items():
        if site_by_slug(session, slug) is None:
            session.add(Site(slug=slug, **fields))
    session.flush()
    seed_faq(session)
    _ticket(session)
    seed_saved_replies(session)
    _lead(session)
    _order(session)
    session.flush()


def _complete(site: Site | None, **fields) -> None:
    """Fill fields that are still empty (a demo database from before these fields existed)."""
    if site is None:
        return
    for key, value in fields.items():
        if not getattr(site, key):
            setattr(site, key, value)


def _ticket(session: Session) -> None:
    if session.scalar(select(SupportTicket.id).where(SupportTicket.subject == DEMO_TICKET_SUBJECT)):
        return
    resident, support = find_user(session, "resident@demo.test"), find_user(session, "support@demo.test")
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-DEMO-2"))
    opened = tickets.open_ticket(
        session, category="charger_fault", subject=DEMO_TICKET_SUBJECT, language="nb", requester=resident,
        charge_point=cp, description="Laderen på plass 3 viser en rød lampe, og ladingen starter ikke. "
                                     "Jeg har prøvd to ganger i kveld.")
    tickets.add_staff_reply(session, opened.ticket, support, notify=False, body=(
        "Takk for beskjeden! Vi ser at laderen meldte en jordfeil i går kveld. Vi har startet den på nytt "
        "fra driftssenteret. Prøv gjerne igjen, og svar her om lampen fortsatt lyser rødt."))
    tickets.add_internal_note(session, opened.ticket, support, "Jordfeil meldt 21:14. Fjernstart utført.")


def _lead(session: Session) -> None:
    if session.scalar(select(Lead.id).where(Lead.email == "styret@fjellstua.demo.test")):
        return
    fjellstua = site_by_slug(session, "fjellstua")
    leads.create_lead(session, leads.LeadRequest(
        org_type="housing_cooperative", org_name="Fjellstua borettslag", org_number="972004561",
        contact_name="Frida Fjell", contact_role="Styreleder", email="styret@fjellstua.demo.test",
        phone="+47 900 00 000", parking_spaces=48, kind="new_installation", language="nb",
        message="Vi har 48 plasser i garasjen og vil gjerne ha et tilbud på lading for alle.",
        site_id=fjellstua.id if fjellstua else None))


def _order(session: Session) -> None:
    resident: User | None = find_user(session, "resident@demo.test")
    solbakken = site_by_slug(session, "solbakken")
    if resident is None or solbakken is None or session.scalar(
            select(ChargerOrder.id).where(ChargerOrder.user_id == resident.id)):
        return
    orders.place_order(session, solbakken, name=resident.display_name, email=resident.email, phone="+47 911 11 111",
                       parking_space="P-14", charger_model=orders.offered_models(solbakken)[0], language="nb",
                       user=resident)
