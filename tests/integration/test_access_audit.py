"""Access-control audit over EVERY rule of app.url_map (except static).

The product promise: every page and action checks role and site access on the server; a resident of one
site never sees or starts another site's charger; CSRF on every form. This file proves it route by route:

1. anonymous visitors get a redirect to /login (or 401/403/404) except on the pages in PUBLIC_ENDPOINTS;
2. a resident (and a board member) of site A, pointed at site B's objects through any URL parameter, gets
   403/404, never B's data, never a 500, and nothing in the database changes;
3. on /manage/... a resident of the site, support staff and sales staff get 403; an operator admin is let in;
4. every POST without a CSRF token is refused with 400 (CSRF_EXEMPT lists exceptions; there are none).

A new route is covered automatically. When it has a URL parameter this file cannot fill, the tests fail
and name it: add the parameter to PARAM_SOURCES (or ENDPOINT_PARAM_SOURCES) below.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import AnyConverter

from portal.models import (
    ActionRequest, Base, Favourite, IdTag, LoginSession, Transaction, UserGroup, UserGroupMember,
)
from portal.services.billing import statements
from portal.services.people import login_sessions
from portal.services.sites import site_people
from portal.services.people.accounts import make_reset_token, make_verify_token
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    make_charge_point, make_group, make_plan, make_site, make_tariff, make_user, subscribe,
)

HX = {"HX-Request": "true"}
AUDITED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# --- 1. what an anonymous visitor may open, and why -------------------------------------------------------
PUBLIC_ENDPOINTS = {
    "public.home": "the landing page",
    "public.healthz": "load-balancer health check (JSON status only)",
    "public.set_language": "the language switcher works before logging in",
    "auth.login": "log-in form",
    "auth.register": "registration form",
    "auth.reset_request": "forgot-password form (same answer whether or not an account exists)",
    "auth.reset_password": "reset link from the e-mail; the signed token is the credential",
    "resident.start_screen": "the QR sticker's address: logged out it shows only the charger's name and a log-in link",
    "invite.accept": "invite link from the e-mail: asks the visitor to log in or register first",
    "help.support": "the support page and ticket form: visitors without an account ask for help too",
    "help.guide": "the defective-charger guide (questions only, no data)",
    "help.token_thread": "a visitor's ticket through the private link e-mailed to them",
    "help.token_reply": "a visitor answers in their ticket through the private link",
    "help.token_photo": "a photo of a visitor's ticket, through the same private link",
    "sales.order": "the ordering portal's cooperative search (names and addresses are public)",
    "sales.order_site": "a cooperative's ordering page and order form, for visitors too",
    "sales.order_by_token": "an order through the private link in its confirmation e-mail",
    "public.new_links": "\"send me a new link\" for expired private links (same answer for any address)",
    "sales.contact": "the quote request form",
    "sales.contact_sent": "thank-you page after a quote request",
    "faq.index": "questions and answers, with search",
    "faq.article": "one published FAQ article",
    "faq.vote": "\"was this helpful?\" (counted once per visitor)",
    "faq.missing": "after \"not helpful\", what was missing (only on the visitor's own \"not helpful\" answer)",
    "auth.verify_email": "confirmation link from the registration e-mail; the signed token is the credential",
    "technician.order": "a work order through the private link e-mailed to the technician",
    "technician.confirm": "the technician confirms the visit's time through the private link",
    "technician.arrive": "the technician reports arrival through the private link",
    "technician.report": "the technician reports outcome and parts through the private link",
    "technician.photo_upload": "the technician adds a photo through the private link",
    "technician.photo": "a photo of the work order, through the same private link",
    "technician.order_done": "a thank-you page after the last report (shows nothing of any order)",
    "public.charger_firmware": "a charger fetches its firmware on the signed, expiring URL it was given (no log-in)",
    "public.charger_diagnostics_upload": "a charger uploads its diagnostics file on a signed, expiring, one-use URL",
}

# --- 4. POST routes that may take a request without a CSRF token (none) ----------------------------------
CSRF_EXEMPT: dict[str, str] = {
    "public.charger_diagnostics_upload": "a charger has no session and no token: the signed, expiring URL for one "
                                         "diagnostics request is the credential, and it takes one file, once",
}

# Routes whose URL carries a secret bearer token: holding the token is the authorisation (the e-mailed link).
# In the cross-site sweep they get a guessed token; a valid token of site B is not "B's object" but B's secret.
BEARER_TOKEN_ENDPOINTS = {
    "invite.accept": "the invite link is the credential (e-mailed to the invitee)",
    "auth.reset_password": "the signed reset link is the credential (e-mailed to the account's owner)",
    "help.token_thread": "a visitor's ticket link is the credential (e-mailed to the requester)",
    "help.token_reply": "a visitor's ticket link is the credential (e-mailed to the requester)",
    "help.token_photo": "a visitor's ticket link is the credential (e-mailed to the requester)",
    "sales.order_by_token": "the order link is the credential (e-mailed to whoever ordered)",
    **{f"technician.{name}": "the work order link is the credential (e-mailed to the technician)"
       for name in ("order", "confirm", "arrive", "report", "photo_upload", "photo")},
    "public.charger_firmware": "the signed URL given to one charger in UpdateFirmware is the credential",
    "public.charger_diagnostics_upload": "the signed URL given to one charger in GetDiagnostics is the credential",
}

# Routes whose object parameter names something public by design: any visitor may open it, so a
# "foreign" value is not a breach. The page must still show nothing private of site B (checked),
# except the texts listed here that the page exists to show.
PUBLIC_OBJECT_ENDPOINTS = {
    "faq.article": "published FAQ articles are for everyone",
    "faq.vote": "anyone may say whether a published article helped",
    "faq.missing": "anyone who found a published article unhelpful may say what was missing",
    "sales.order_site": "the ordering portal shows every cooperative's name, address and ordering terms",
    "auth.verify_email": "the signed confirmation link is the credential (e-mailed to the new address)",
}
GUESSED_TOKEN = "guessed-token-0000000000000000000000"

# Users are global, not site objects: an unknown member is refused by the service (RuleError) with an
# error message and a redirect back to one's own site's page. Allowed only when nothing changes (checked).
SOFT_REFUSALS = {
    ("site.member_remove", "user_id"): "RuleError not_member: flash + redirect to the own site's member list",
    ("site.user_group_remove", "user_id"): "RuleError not_in_group: flash + redirect to the own group page",
    ("site.member_role", "user_id"): "RuleError not_member: flash + redirect to the own site's member list",
}

# POST routes that delete site A's objects: the owners' control runs them after every other route.
RUNS_LAST = {f"site.{kind}_delete": "deletes site A's object" for kind in ("tariff", "tariff_group", "plan", "user_group")}

# URL parameter -> attribute(s) of SiteObjects to fill it from (several: every one is tried).
PARAM_SOURCES = {
    "slug": ("slug",),
    "identity": ("cp_identity", "personal_identity"),
    "cp_id": ("cp_id", "personal_cp_id"),
    "tariff_id": ("tariff_id",),
    "group_id": ("tariff_group_id",),
    "plan_id": ("plan_id",),
    "tx_id": ("tx_id",),
    "action_id": ("action_id",),
    "invite_id": ("invite_id",),
    "user_id": ("resident_id",),
    "tag_id": ("tag_id",),
    "favourite_id": ("favourite_cp_id", "favourite_site_id"),
    "ticket_id": ("ticket_id",),
    "photo_id": ("photo_id",),
    "order_id": ("order_id",),
    "article_id": ("faq_article_id",),
    "lead_id": ("lead_id",),
    "orphan_id": ("orphan_id",),
    "login_session_id": ("login_session_id",),
    "statement_id": ("statement_id",),
    "wo_id": ("work_order_id",),
    "window_id": ("maintenance_id",),
    "file_id": ("firmware_file_id",),
    "rollout_id": ("firmware_rollout_id",),
    "request_id": ("diagnostics_request_id",),
    "incident_id": ("incident_id",),
    "reply_id": ("saved_reply_id",),
    "template_id": ("config_template_id",),
}
ENDPOINT_PARAM_SOURCES = {
    ("site.user_group", "group_id"): ("user_group_id",),
    ("site.user_group_remove", "group_id"): ("user_group_id",),
    ("invite.accept", "token"): ("invite_token",),
    ("auth.reset_password", "token"): ("reset_token",),
    ("help.token_thread", "token"): ("ticket_token",),
    ("help.token_reply", "token"): ("ticket_token",),
    ("help.token_photo", "token"): ("ticket_token",),
    ("help.token_photo", "photo_id"): ("visitor_photo_id",),
    ("sales.order_by_token", "token"): ("order_token",),
    ("sales.order_site", "slug"): ("slug",),
    ("faq.article", "slug"): ("faq_slug",),
    ("faq.vote", "slug"): ("faq_slug",),
    ("faq.missing", "slug"): ("faq_slug",),
    ("auth.verify_email", "token"): ("verify_token",),
    ("site.user_group_rename", "group_id"): ("user_group_id",),
    ("site.user_group_delete", "group_id"): ("user_group_id",),
    **{(f"technician.{name}", "token"): ("work_order_token",)
       for name in ("order", "confirm", "arrive", "report", "photo_upload", "photo")},
    ("technician.photo", "photo_id"): ("work_order_photo_id",),
    ("staff.workorder_photo", "photo_id"): ("work_order_photo_id",),
    ("public.charger_firmware", "token"): ("firmware_token",),
    ("public.charger_diagnostics_upload", "token"): ("diagnostics_token",),
}
# Parameters that are not objects but a fixed vocabulary (any() converters are read from the rule itself).
LITERAL_PARAMS = {"kind": ("svg", "png"), "filename": ("file.bin",)}


@dataclass
class SiteObjects:
    """One site with one of everything; plain ids and strings (safe outside a session)."""

    site_id: int
    slug: str
    board_id: int
    resident_id: int
    cp_id: int
    cp_identity: str
    personal_cp_id: int
    personal_identity: str
    tariff_id: int
    base_tariff_id: int
    tariff_group_id: int
    plan_id: int
    subscription_id: int
    tx_id: int
    action_id: int
    favourite_cp_id: int
    favourite_site_id: int
    tag_id: int
    invite_id: int
    invite_token: str
    invitee_id: int  # the account of the invited address: only it may accept the invite
    reset_token: str
    verify_token: str
    user_group_id: int
    ticket_id: int  # the resident's ticket, with a photo
    photo_id: int
    ticket_token: str  # a visitor's ticket about this site's charger, with a photo
    visitor_photo_id: int
    order_id: int  # the resident's charger order
    order_token: str
    faq_slug: str  # FAQ articles are public; one per "site" so the sweeps have something to open
    faq_article_id: int
    login_session_id: int  # the resident's log-in session on another device
    public_markers: list[str] = field(default_factory=list)  # shown on purpose by PUBLIC_OBJECT_ENDPOINTS
    statement_id: int = 0
    markers: list[str] = field(default_factory=list)  # texts only this site's pages may show
    # Staff console objects of the site: a quote request (lead) and an orphan stop.
    lead_id: int = 0
    orphan_id: int = 0
    # Work orders and maintenance (issue 20): a sent work order with its link and a photo, a window.
    work_order_id: int = 0
    work_order_token: str = ""
    work_order_photo_id: int = 0
    maintenance_id: int = 0
    # Firmware and diagnostics (staff only; a charger reaches them on signed URLs): the upload URL's
    # request has its file already, so any upload to it is refused.
    firmware_file_id: int = 0
    firmware_rollout_id: int = 0
    diagnostics_request_id: int = 0
    firmware_token: str = ""
    diagnostics_token: str = ""
    incident_id: int = 0  # an open fault of the site's charger (issue 20)
    saved_reply_id: int = 0  # support's saved replies are not per site; one per "site" for the sweeps
    config_template_id: int = 0  # a charger configuration template (issue 21; staff only, not a site's)


@dataclass
class World:
    a: SiteObjects
    b: SiteObjects
    support_id: int
    sales_id: int
    admin_id: int
    owned_b: dict[str, set] = field(default_factory=dict)  # table -> primary keys of rows that are B's


def _help_objects(session, letter: str, city: str, site, resident, cp, upload_dir: str) -> tuple[dict, dict, list]:
    """A ticket (with photo) of the resident, a visitor's ticket (with photo), an order and an FAQ article."""
    import io

    from PIL import Image

    from portal.services.helpdesk import faq, tickets
    from portal.services.sales import orders
    from portal.services.helpdesk.photos import reencode, store_photo

    def photo(ticket, message_id):
        out = io.BytesIO()
        Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "PNG")
        return store_photo(session, ticket, reencode(io.BytesIO(out.getvalue())), upload_dir, None, message_id)

    own = tickets.open_ticket(session, category="charger_fault", description=f"{city} resident ticket text",
                              language="en", requester=resident, charge_point=cp)
    own_photo = photo(own.ticket, own.ticket.messages[0].id)
    visitor = tickets.open_ticket(session, category="other", description=f"{city} visitor ticket text",
                                  language="en", requester=None, email=f"visitor-{letter}@audit.test",
                                  charger_identity=cp.identity)
    visitor_photo = photo(visitor.ticket, visitor.ticket.messages[0].id)
    site.order_charger_model = f"{city} Home 11 kW"
    order = orders.place_order(session, site, name=f"Orderer {city}", email=f"orderer-{letter}@audit.test",
                               phone="+47 1", parking_space=f"{city} space 7", charger_model=site.order_charger_model,
                               language="en", user=resident)
    article = faq.save_article(session, None, category="charging", published=True, slug=f"audit-faq-{letter}",
                               actor=None, texts={"en": faq.ArticleText(f"{city} FAQ", "Public words.")})
    from portal.models import SavedReply

    saved = SavedReply(language="en", title=f"{city} saved reply", body=f"Hello {{name}}, {city} saved words")
    session.add(saved)
    session.flush()
    values = dict(ticket_id=own.ticket.id, photo_id=own_photo.id, ticket_token=visitor.token,
                  visitor_photo_id=visitor_photo.id, order_id=order.order.id, order_token=order.token,
                  faq_slug=article.slug, faq_article_id=article.id, saved_reply_id=saved.id)
    owned = {"support_tickets": {own.ticket.id, visitor.ticket.id}, "ticket_photos": {own_photo.id, visitor_photo.id},
             "charger_orders": {order.order.id}}
    markers = [f"{city} resident ticket text", f"{city} visitor ticket text", f"{city} space 7",
               f"orderer-{letter}@audit.test", f"visitor-{letter}@audit.test"]
    return values, owned, markers


def _build_site(session, letter: str, city: str, upload_dir: str) -> tuple[SiteObjects, dict[str, set]]:
    site = make_site(session, slug=f"audit-{letter}", name=f"{city} Borettslag Audit{letter.upper()}")
    board = make_user(session, f"board-{letter}@audit.test", site=site, role="board", name=f"Board {city}")
    resident = make_user(session, f"resident-{letter}@audit.test", site=site, name=f"Resident {city}")
    plan = make_plan(session, site, f"{city} residents plan")
    base = make_tariff(session, site, name=f"{city} base tariff", pricing_type="not_allowed")
    tariff = make_tariff(session, site, name=f"{city} residents tariff", fee="2.35", plans=[plan])
    group = make_group(session, site, [base, tariff], name=f"{city} tariff group")
    sub = subscribe(session, resident, plan)
    cp = make_charge_point(session, site, f"CP-AUDIT-{letter.upper()}", group=group, name=f"{city} garage charger")
    personal = make_charge_point(session, site, f"CP-AUDIT-{letter.upper()}-HOME", group=group,
                                 name=f"{city} home charger", cp_type="personal", owner_id=resident.id)
    started = datetime(2025, 3, 10, 8, 0, tzinfo=timezone.utc)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag=f"V-{letter}", user_id=resident.id,
                     status="completed", start_key=f"audit-{letter}", stop_key=f"audit-stop-{letter}",
                     meter_start_wh=1000, meter_stop_wh=8000, energy_wh=7000, started_at=started,
                     stopped_at=started + timedelta(hours=2), tariff_id=tariff.id,
                     tariff_name=f"{city} residents tariff", energy_fee=Decimal("2.35"), cost_minor=1645,
                     vat_minor=329, currency="NOK")
    session.add(tx)
    session.flush()
    action = ActionRequest(charge_point_id=cp.id, connector_id=1, action="RemoteStartTransaction", state="queued",
                           requested_by_id=resident.id, payload={}, transaction_id=tx.id)
    fav_cp = Favourite(user_id=resident.id, charge_point_id=cp.id)
    fav_site = Favourite(user_id=resident.id, site_id=site.id)
    tag = IdTag(tag=f"AUDIT{letter.upper()}CARD", user_id=resident.id, kind="rfid", name=f"{city} blue fob")
    user_group = UserGroup(site_id=site.id, name=f"{city} user group")
    session.add_all([action, fav_cp, fav_site, tag, user_group])
    session.flush()
    session.add(UserGroupMember(group_id=user_group.id, user_id=resident.id))
    outcome = site_people.create_invites(session, board, site, [f"invitee-{letter}@audit.test"])
    invite, invite_token = outcome.sent[0]
    invitee = make_user(session, f"invitee-{letter}@audit.test")
    reset_token, _expires = make_reset_token(resident, TEST_SECRET_KEY)
    verify_token = make_verify_token(resident, TEST_SECRET_KEY)
    login_sessions.start(session, resident, remember=True, user_agent=f"{city} phone")
    login_session = session.scalars(select(LoginSession).where(LoginSession.user_id == resident.id)).one()
    statement = statements.issue(session, site, 2025, 3, statements.Operator("Audit Operator AS", "923 609 016"))[0]
    session.flush()
    help_values, help_owned, help_markers = _help_objects(session, letter, city, site, resident, cp, upload_dir)
    desk = _staff_objects(session, letter, city, site, cp)
    visit = _work_objects(session, letter, city, site, cp, upload_dir)
    files = _fleet_file_objects(session, letter, cp, upload_dir)
    objs = SiteObjects(
        site_id=site.id, slug=site.slug, board_id=board.id, resident_id=resident.id, cp_id=cp.id,
        cp_identity=cp.identity, personal_cp_id=personal.id, personal_identity=personal.identity,
        tariff_id=tariff.id, base_tariff_id=base.id, tariff_group_id=group.id, plan_id=plan.id,
        subscription_id=sub.id, tx_id=tx.id, action_id=action.id, favourite_cp_id=fav_cp.id,
        favourite_site_id=fav_site.id, tag_id=tag.id, invite_id=invite.id, invite_token=invite_token,
        invitee_id=invitee.id,
        reset_token=reset_token, verify_token=verify_token, user_group_id=user_group.id,
        login_session_id=login_session.id, statement_id=statement.id, **help_values, **desk["ids"], **visit["ids"],
        **files["ids"],
        public_markers=[site.name],
        markers=[statement.number, *help_markers, site.name, board.email, resident.email, f"Board {city}", f"Resident {city}", plan.name,
                 base.name, tariff.name, group.name, cp.name, personal.name, tag.tag, tag.name, user_group.name,
                 invite.email, *desk["markers"], *visit["markers"]],
    )
    owned = {
        "sites": {site.id}, "users": {board.id, resident.id}, "charge_points": {cp.id, personal.id},
        "tariffs": {base.id, tariff.id}, "tariff_groups": {group.id}, "subscription_plans": {plan.id},
        "user_subscriptions": {sub.id}, "transactions": {tx.id}, "action_requests": {action.id},
        "favourites": {fav_cp.id, fav_site.id}, "id_tags": {tag.id}, "invites": {invite.id},
        "user_groups": {user_group.id}, "login_sessions": {login_session.id}, "statements": {statement.id}, **help_owned, **desk["owned"], **visit["owned"],
        **files["owned"],
    }
    return objs, owned


def _staff_objects(session, letter: str, city: str, site, cp) -> dict:
    """For the staff console: a quote request (lead) linked to the site and an orphan stop at its charger."""
    from portal.models import ConfigTemplate, Incident, Lead, OrphanStop

    lead = Lead(org_type="housing_cooperative", org_name=f"{city} Lead Borettslag", org_number="923609016",
                contact_name=f"{city} lead contact", email=f"lead-{letter}@audit.test", kind="takeover",
                site_id=site.id)
    orphan = OrphanStop(charge_point_id=cp.id, transaction_id=90000 + ord(letter), meter_stop_wh=1,
                        timestamp=datetime(2025, 3, 11, tzinfo=timezone.utc), stop_key=f"audit-orphan-{letter}",
                        payload={}, note=f"{city} orphan note")
    incident = Incident(site_id=site.id, charge_point_id=cp.id, connector_id=1, scope="connector", cause="faulted",
                        error_code="GroundFailure", info=f"{city} fault info"[:50], open_key=f"audit-{letter}",
                        started_at=datetime(2025, 3, 12, tzinfo=timezone.utc),
                        last_event_at=datetime(2025, 3, 12, tzinfo=timezone.utc))
    template = ConfigTemplate(name=f"{city} template", vendor=f"Vendor {letter}", model="M1",
                              entries=[["HeartbeatInterval", "300"]])
    session.add_all([lead, orphan, incident, template])
    session.flush()
    return {
        "ids": {"lead_id": lead.id, "orphan_id": orphan.id, "incident_id": incident.id,
                "config_template_id": template.id},
        "markers": [lead.org_name, orphan.note, incident.info],
        "owned": {"leads": {lead.id}, "orphan_stops": {orphan.id}, "incidents": {incident.id},
                  "config_templates": {template.id}},
    }


def _fleet_file_objects(session, letter: str, cp, upload_dir: str) -> dict:
    """A firmware file for the charger's model with a rollout to it, and a diagnostics request whose file came."""
    import hashlib
    import io
    import time

    from portal.db import utcnow
    from portal.models import FirmwareRollout, FirmwareUpdate
    from portal.services.fleet import diagnostics, firmware_files
    from portal.services.fleet.charger_urls import ChargerLinks

    image = f"SIMFW:9.{letter}\n".encode() * 10
    fw = firmware_files.store(session, upload_dir, stream=io.BytesIO(image), filename="fw.bin", vendor=cp.vendor or "V",
                              model=f"M-{letter}", version="9", checksum=hashlib.sha256(image).hexdigest())
    rollout = FirmwareRollout(firmware_file_id=fw.id, scope="charger", charge_point_id=cp.id, site_id=cp.site_id)
    session.add(rollout)
    session.flush()
    update = FirmwareUpdate(rollout_id=rollout.id, charge_point_id=cp.id, position=0, state="sent")
    session.add(update)
    session.flush()
    links = ChargerLinks(TEST_SECRET_KEY, "http://portal.test")
    request = diagnostics.request_diagnostics(session, None, cp, utcnow(), links)
    diagnostics.accept_upload(session, upload_dir, request.id, "diag.log", io.BytesIO(b"log"), utcnow())
    later = time.time() + 3600
    return {
        "ids": {"firmware_file_id": fw.id, "firmware_rollout_id": rollout.id, "diagnostics_request_id": request.id,
                "firmware_token": links.token("firmware", update.id, later),
                "diagnostics_token": links.token("diagnostics", request.id, later)},
        "owned": {"firmware_rollouts": {rollout.id}, "firmware_updates": {update.id},
                  "diagnostics_requests": {request.id}},
    }


def _work_objects(session, letter: str, city: str, site, cp, upload_dir: str) -> dict:
    """A work order already sent (its link issued; no e-mail address, so sending again is refused) with
    a photo, and a maintenance window of the site."""
    import io

    from PIL import Image

    from portal.models import MaintenanceWindow, WorkOrder
    from portal.services.helpdesk.photos import reencode
    from portal.services.helpdesk.tokens import issue
    from portal.services.workorders.visits import store_photo

    order = WorkOrder(site_id=site.id, charge_point_id=cp.id, status="sent", installer_company=f"{city} Elektro AS",
                      story=f"{city} work order story")
    session.add(order)
    session.flush()
    token = issue(order)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (3, 2, 1)).save(out, "PNG")
    photo = store_photo(session, order, reencode(io.BytesIO(out.getvalue())), upload_dir)
    window = MaintenanceWindow(site_id=site.id, starts_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                               ends_at=datetime(2030, 1, 2, tzinfo=timezone.utc), reason=f"{city} maintenance reason")
    session.add(window)
    session.flush()
    return {
        "ids": {"work_order_id": order.id, "work_order_token": token, "work_order_photo_id": photo.id,
                "maintenance_id": window.id},
        "markers": [order.story, order.installer_company, window.reason],
        "owned": {"work_orders": {order.id}, "work_order_photos": {photo.id}, "maintenance_windows": {window.id}},
    }


@pytest.fixture
def world(session, upload_dir) -> World:
    """Two sites, each with board member, resident, chargers, tariffs, group, plan, subscription, session,
    start request, favourites, RFID tag, invite and user group; plus support, sales and admin staff."""
    a, _owned_a = _build_site(session, "a", "Solvik", upload_dir)
    b, owned_b = _build_site(session, "b", "Nordlys", upload_dir)
    support = make_user(session, "support@audit.test", staff_role="support")
    sales = make_user(session, "sales@audit.test", staff_role="sales")
    admin = make_user(session, "admin@audit.test", staff_role="admin")
    session.commit()
    return World(a=a, b=b, support_id=support.id, sales_id=sales.id, admin_id=admin.id, owned_b=owned_b)


class _Id:
    """Enough of a user for the `login` fixture."""

    def __init__(self, user_id: int) -> None:
        self.id = user_id


# --- walking the url map ----------------------------------------------------------------------------------

def audited_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 40, "the url map looks empty: did the app factory change?"
    return sorted(rules, key=lambda r: r.rule)


def methods_of(rule) -> list[str]:
    return [m for m in AUDITED_METHODS if m in rule.methods]


def param_choices(rule, param: str, objs: SiteObjects) -> list:
    """Every value to try for one URL parameter, taken from `objs`; fails loudly for an unknown parameter."""
    converter = rule._converters[param]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    if param in LITERAL_PARAMS:
        return list(LITERAL_PARAMS[param])
    sources = ENDPOINT_PARAM_SOURCES.get((rule.endpoint, param)) or PARAM_SOURCES.get(param)
    if sources is None:
        pytest.fail(f"access audit: route {rule.rule} ({rule.endpoint}) has a URL parameter <{param}> that "
                    "tests/integration/test_access_audit.py cannot fill. Add it to PARAM_SOURCES or "
                    "ENDPOINT_PARAM_SOURCES so the new route is covered by the audit.")
    return [getattr(objs, name) for name in sources]


def object_params(rule) -> list[str]:
    return [p for p in rule.arguments
            if not isinstance(rule._converters[p], AnyConverter) and p not in LITERAL_PARAMS]


def build(app, rule, values: dict) -> str:
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **values)


def urls_for(app, rule, objs: SiteObjects) -> list[str]:
    """Every URL of the rule with all parameters filled from `objs` (every alternative tried)."""
    params = sorted(rule.arguments)
    combos = itertools.product(*(param_choices(rule, p, objs) for p in params))
    return [build(app, rule, dict(zip(params, combo))) for combo in combos]


def cross_site_urls(app, rule, own: SiteObjects, foreign: SiteObjects):
    """(url, foreign params) for every non-empty subset of object parameters filled from the foreign site,
    the rest from one's own site."""
    params = sorted(rule.arguments)
    objects = object_params(rule)
    for size in range(1, len(objects) + 1):
        for foreign_set in itertools.combinations(objects, size):
            choices = []
            for p in params:
                if p in foreign_set and p in ("token",) and rule.endpoint in BEARER_TOKEN_ENDPOINTS:
                    choices.append([GUESSED_TOKEN])
                else:
                    choices.append(param_choices(rule, p, foreign if p in foreign_set else own))
            for combo in itertools.product(*choices):
                yield build(app, rule, dict(zip(params, combo))), set(foreign_set)


def request(client, method: str, url: str, *, htmx: bool = False, data: dict | None = None):
    return client.open(url, method=method, data=data if method != "GET" else None, headers=HX if htmx else {})


def leaked(response, url: str, markers: list[str]) -> list[str]:
    body = response.get_data(as_text=True)
    return [m for m in markers if m in body and m not in url]


def goes_to_login(response) -> bool:
    target = response.headers.get("HX-Redirect") if response.status_code in (200, 204) else None
    if response.status_code in (301, 302, 303, 307, 308):
        target = response.headers.get("Location")
    return target is not None and urlsplit(target).path == "/login"


# Columns a page view changes by design (not a change made by a refused request).
COUNTERS = {("faq_articles", "read_count"): "an FAQ article's page views (\"most read\")"}


def db_snapshot(db) -> dict[str, dict]:
    """Every row of every table, keyed by primary key."""
    snap = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            pk = [c.name for c in table.primary_key.columns]
            rows = {}
            for row in conn.execute(select(table)).mappings():
                rows[tuple(row[k] for k in pk)] = {k: v for k, v in row.items()
                                                   if (table.name, k) not in COUNTERS}
            snap[table.name] = rows
    return snap


def rows_touching(before: dict, after: dict, owned: dict[str, set]) -> list[str]:
    """Rows added, changed or removed that are, or point at, one of the `owned` rows."""
    problems = []
    for table in Base.metadata.sorted_tables:
        old, new = before[table.name], after[table.name]
        for key in set(old) | set(new):
            if old.get(key) == new.get(key):
                continue
            row = new.get(key) or old.get(key)
            if "id" in row and row["id"] in owned.get(table.name, set()):
                problems.append(f"{table.name} {key}: {old.get(key)} -> {new.get(key)}")
                continue
            for column in table.columns:
                for fk in column.foreign_keys:
                    for version in (old.get(key), new.get(key)):
                        if version and version[column.name] in owned.get(fk.column.table.name, set()):
                            problems.append(f"{table.name} {key}.{column.name} -> {fk.column.table.name} "
                                            f"{version[column.name]}: {old.get(key)} -> {new.get(key)}")
    return sorted(set(problems))


# --- the tests --------------------------------------------------------------------------------------------

def test_every_route_parameter_is_known_and_the_lists_are_current(app, world):
    """Fails by name when a route has a parameter the audit cannot fill, or a list names a route that is gone."""
    endpoints = {r.endpoint for r in audited_rules(app)}
    for rule in audited_rules(app):
        assert urls_for(app, rule, world.b), rule.rule
    for name in [*PUBLIC_ENDPOINTS, *CSRF_EXEMPT, *BEARER_TOKEN_ENDPOINTS, *PUBLIC_OBJECT_ENDPOINTS,
                 *(e for e, _p in SOFT_REFUSALS),
                 *(e for e, _p in ENDPOINT_PARAM_SOURCES)]:
        assert name in endpoints, f"{name} is listed in the access audit but is no longer a route"


def test_anonymous_visitors_are_sent_to_log_in_except_on_public_pages(app, client, world):
    problems, checked = [], 0
    for rule in audited_rules(app):
        for method in methods_of(rule):
            for url in urls_for(app, rule, world.b):
                for htmx in (False, True):
                    response = request(client, method, url, htmx=htmx)
                    checked += 1
                    where = f"{method} {url}{' (htmx)' if htmx else ''} -> {response.status_code}"
                    if response.status_code >= 500:
                        problems.append(f"server error: {where}")
                    elif rule.endpoint in PUBLIC_ENDPOINTS:
                        continue
                    elif not (goes_to_login(response) or response.status_code in (401, 403, 404)):
                        problems.append(f"not sent to /login: {where}")
                    elif leaked(response, url, world.b.markers):
                        problems.append(f"shows {leaked(response, url, world.b.markers)}: {where}")
    assert not problems, "\n".join(problems)
    assert checked > 100


def test_anonymous_start_screen_shows_the_charger_name_and_nothing_about_prices(client, world):
    page = client.get(f"/c/{world.b.cp_identity}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nordlys garage charger" in body
    for secret in ("Nordlys residents tariff", "Nordlys base tariff", "Nordlys residents plan", "2,35",
                   "resident-b@audit.test", "board-b@audit.test"):
        assert secret not in body
    assert client.get("/c/CP-NO-SUCH-CHARGER").status_code == 404


def _positive_user(rule, world: World, objs: SiteObjects) -> int:
    if rule.endpoint.startswith("staff."):
        return world.admin_id  # operator admins may use every page of the staff console
    if rule.endpoint == "invite.accept":
        return objs.invitee_id
    if rule.endpoint.startswith("faq.manage"):
        return world.admin_id
    return objs.board_id if rule.endpoint.startswith("site.") or rule.endpoint in BOARD_ONLY_RESIDENT_PAGES \
        else objs.resident_id


# Pages outside /manage that only the site's board (and staff) may open.
BOARD_ONLY_RESIDENT_PAGES = {"resident.qr_sticker", "resident.sticker"}


def test_the_owners_of_site_a_reach_its_objects(app, client, login, world):
    """Control for the sweeps below: filled with site A's own objects, every object page opens (200) for
    its natural user, so a 403/404 with site B's objects is the access check, not a badly filled URL."""
    problems = []
    for rule in audited_rules(app):
        if not rule.arguments or "GET" not in rule.methods:
            continue
        for url in urls_for(app, rule, world.a):
            login(client, _Id(_positive_user(rule, world, world.a)))
            response = client.get(url)
            if response.status_code != 200:
                problems.append(f"GET {url} -> {response.status_code}")
    assert not problems, "\n".join(problems)


def test_the_owners_of_site_a_can_post_to_its_objects(app, client, login, world):
    """Control for POST: no 500, and for every route at least one fill with site A's own objects that is
    neither 403 nor 404 (form errors and redirects are fine). The alternatives matter: only the personal
    charger has an owner, and a toggled favourite is gone. /manage runs last: it may remove the resident."""
    problems = []
    rules = sorted((r for r in audited_rules(app) if r.arguments and "POST" in r.methods),
                   key=lambda r: (r.rule.startswith("/manage/"), r.endpoint in RUNS_LAST, r.rule))
    for rule in rules:
        statuses = {}
        for url in urls_for(app, rule, world.a):
            login(client, _Id(_positive_user(rule, world, world.a)))
            statuses[url] = client.post(url).status_code
        if any(s >= 500 for s in statuses.values()) or all(s in (403, 404) for s in statuses.values()):
            problems.append(f"POST {rule.rule}: {statuses}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["resident", "board"])
def test_a_member_of_site_a_never_reaches_site_b(app, client, login, db, world, role):
    """Every route with an object parameter, every mix of own and foreign parameters, GET and POST, plain and
    htmx: 403 or 404, no B data in the page, no 500, and nothing in the database changes."""
    user_id = world.a.resident_id if role == "resident" else world.a.board_id
    login(client, _Id(user_id))
    before = db_snapshot(db)
    problems, checked = [], 0
    for rule in audited_rules(app):
        for method in methods_of(rule):
            if not rule.arguments:
                continue
            for url, foreign in cross_site_urls(app, rule, world.a, world.b):
                for htmx in (False, True):
                    response = request(client, method, url, htmx=htmx)
                    checked += 1
                    status = response.status_code
                    where = f"{method} {url}{' (htmx)' if htmx else ''} [B: {sorted(foreign)}] -> {status}"
                    allowed = {403, 404}
                    markers = world.b.markers
                    if rule.endpoint in BEARER_TOKEN_ENDPOINTS and "token" in foreign:
                        allowed = {400, 404}  # a guessed token: invalid link
                    elif rule.endpoint in PUBLIC_OBJECT_ENDPOINTS:
                        allowed = {200, 303, 400, 422}  # public by design: only a leak of private texts counts
                        markers = [m for m in world.b.markers if m not in world.b.public_markers]
                    soft = all((rule.endpoint, p) in SOFT_REFUSALS for p in foreign)
                    if status >= 500:
                        problems.append(f"server error: {where}")
                    elif status not in allowed and not (soft and status in (204, 303)):
                        problems.append(f"not refused: {where}")
                    elif leaked(response, url, markers):
                        problems.append(f"shows {leaked(response, url, markers)}: {where}")
    after = db_snapshot(db)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not problems, "\n".join(problems)
    assert not changed, f"the refused requests changed the database: {sorted(changed)}"
    assert checked > 150


@pytest.mark.parametrize("role", ["resident", "board"])
def test_pages_without_parameters_show_nothing_of_site_b(app, client, login, world, role):
    """The lists (chargers, favourites, history, CSV, subscriptions, tags, account, /manage/ ...) of a member
    of site A: never a 500, never a text of site B."""
    login(client, _Id(world.a.resident_id if role == "resident" else world.a.board_id))
    problems = []
    for rule in audited_rules(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        url = build(app, rule, {})
        for htmx in (False, True):
            response = request(client, "GET", url, htmx=htmx)
            if response.status_code >= 500 or leaked(response, url, world.b.markers):
                problems.append(f"GET {url} -> {response.status_code} {leaked(response, url, world.b.markers)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["resident", "board"])
def test_form_fields_naming_site_b_objects_change_nothing_at_site_b(app, client, login, db, world, role):
    """Every POST of site A's own routes, with every form field pointing at site B (its tariff group, plan,
    chargers, resident's e-mail): whatever site A's pages do, no row of site B is changed or linked to."""
    b = world.b
    hostile = {
        "name": "Hijack", "description": "x", "pricing_type": "standard", "energy_fee": "0,01", "min_price": "0",
        "preauth": "0", "spot_markup": "0", "spot_markup_percent": "0", "spot_fallback": "1",
        "plans": [str(b.plan_id)], "charge_points": [str(b.cp_id), str(b.personal_cp_id)],
        "tariff_group_id": str(b.tariff_group_id), "status": "disabled", "cp_type": "personal",
        "owner_email": "resident-b@audit.test", "email": "resident-b@audit.test",
        "emails": "resident-b@audit.test", "monthly_fee": "0", "active": "y", "connector": "1",
        "auth": "not_required", "tag": "AUDITBCARD", "language": "en", "lang": "en", "next": "/",
    }
    user_id = world.a.resident_id if role == "resident" else world.a.board_id
    before = db_snapshot(db)
    problems = []
    for rule in audited_rules(app):
        if "POST" not in rule.methods:
            continue
        for url in urls_for(app, rule, world.a):
            login(client, _Id(user_id))
            response = client.post(url, data=hostile)
            if response.status_code >= 500:
                problems.append(f"server error: POST {url} -> {response.status_code}")
    touched = rows_touching(before, db_snapshot(db), world.owned_b)
    assert not problems, "\n".join(problems)
    assert not touched, "site A's forms reached site B:\n" + "\n".join(touched)


@pytest.mark.parametrize("who, expect", [("resident", "403"), ("support", "403"), ("sales", "403"),
                                         ("admin", "allowed"), ("board", "allowed")])
def test_manage_routes_are_for_the_board_and_operator_admins(app, client, login, world, who, expect):
    user_id = {"resident": world.a.resident_id, "support": world.support_id, "sales": world.sales_id,
               "admin": world.admin_id, "board": world.a.board_id}[who]
    rules = sorted((r for r in audited_rules(app) if r.rule.startswith("/manage/")),
                   key=lambda r: r.endpoint in RUNS_LAST)  # (stable: otherwise in url-map order)
    assert len(rules) >= 20 and all(r.endpoint.startswith("site.") for r in rules)
    problems, checked = [], 0
    for rule in rules:
        for method in methods_of(rule):
            for url in urls_for(app, rule, world.a):
                login(client, _Id(user_id))  # a POST (removing a member, ...) never logs the next request out
                response = request(client, method, url)
                checked += 1
                status = response.status_code
                if expect == "403":
                    ok = status == 403 and not leaked(response, url, world.a.markers)
                elif method == "GET":
                    ok = status == 200
                else:
                    ok = status not in (401, 403, 404) and status < 500
                if not ok:
                    problems.append(f"{who}: {method} {url} -> {status}")
    assert not problems, "\n".join(problems)
    assert checked >= 30


@pytest.mark.parametrize("who", ["anonymous", "resident", "board", "admin"])
def test_every_post_without_a_csrf_token_is_refused(app, raw_client, login, db, world, who):
    if who != "anonymous":
        login(raw_client, _Id({"resident": world.a.resident_id, "board": world.a.board_id,
                               "admin": world.admin_id}[who]))
    before = db_snapshot(db)
    problems, checked = [], 0
    for rule in audited_rules(app):
        if rule.endpoint in CSRF_EXEMPT:
            continue
        for method in methods_of(rule):
            if method == "GET":
                continue
            for url in urls_for(app, rule, world.a):
                for htmx in (False, True):
                    response = request(raw_client, method, url, htmx=htmx,
                                       data={"name": "No token", "emails": "x@audit.test", "lang": "en"})
                    checked += 1
                    if response.status_code != 400:
                        problems.append(f"{method} {url}{' (htmx)' if htmx else ''} -> {response.status_code}")
    assert not problems, "POST accepted without a CSRF token:\n" + "\n".join(problems)
    assert db_snapshot(db) == before
    assert checked >= 50


# --- 5. transport: headers, cookie flags and redirect targets on every route ------------------------------

def _transport_problems(response, where: str, logged_in: bool) -> list[str]:
    from portal.security.headers import CSP
    from portal.security.redirects import is_safe_path

    problems = []
    headers = response.headers
    if headers.get("Content-Security-Policy") != CSP or "unsafe" in CSP:
        problems.append(f"CSP {headers.get('Content-Security-Policy')!r}: {where}")
    for name, expected in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY")):
        if headers.get(name) != expected:
            problems.append(f"{name} {headers.get(name)!r}: {where}")
    if "Permissions-Policy" not in headers or "Strict-Transport-Security" not in headers:
        problems.append(f"no Permissions-Policy or HSTS: {where}")
    if logged_in and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"cacheable ({headers.get('Cache-Control')!r}): {where}")
    for cookie in headers.getlist("Set-Cookie"):
        flags = cookie.lower()
        if "; httponly" not in flags or "; secure" not in flags or "samesite=lax" not in flags:
            problems.append(f"cookie without HttpOnly/Secure/SameSite=Lax {cookie.split('=')[0]}: {where}")
    for target in (headers.get("Location"), headers.get("HX-Redirect")):
        if target is None:
            continue
        parts = urlsplit(target)
        same_site = parts.netloc in ("", "localhost") and parts.scheme in ("", "https")
        path = target if not parts.netloc else (parts.path + (f"?{parts.query}" if parts.query else ""))
        if not same_site or not is_safe_path(path):
            problems.append(f"redirect off the site {target!r}: {where}")
    return problems


@pytest.fixture
def https_client(app_config, db):
    from portal import create_app
    from tests.conftest import browser_like_client

    application = create_app({**app_config, "PORTAL_BASE_URL": "https://portal.test"})
    yield application, browser_like_client(application)
    application.extensions["portal_db"].dispose()


@pytest.mark.parametrize("who", ["anonymous", "resident", "board", "admin"])
def test_every_route_sends_the_security_headers_safe_cookies_and_same_site_redirects(https_client, login, world,
                                                                                     who):
    """Behind HTTPS: CSP, nosniff, frame denial, Permissions-Policy and HSTS on every answer; no-store for
    logged-in users; every cookie HttpOnly, Secure and SameSite=Lax; every redirect stays on the site."""
    app, client = https_client
    user_id = {"resident": world.a.resident_id, "board": world.a.board_id, "admin": world.admin_id}.get(who)
    problems, checked = [], 0
    for rule in sorted(audited_rules(app), key=lambda r: (r.rule.startswith("/manage/"), r.rule)):
        for method in methods_of(rule):
            for url in urls_for(app, rule, world.a):
                for htmx in (False, True):
                    if user_id is not None:
                        login(client, _Id(user_id))
                    response = client.open(url, method=method, base_url="https://localhost",
                                           data={"next": "/\\evil.example"} if method != "GET" else None,
                                           headers=HX if htmx else {})
                    checked += 1
                    where = f"{who} {method} {url}{' (htmx)' if htmx else ''} -> {response.status_code}"
                    problems += _transport_problems(response, where, logged_in=user_id is not None
                                                    and rule.endpoint not in ("auth.logout",))
    assert not problems, "\n".join(problems)
    assert checked > 100
