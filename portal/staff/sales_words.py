"""The stored codes of quote requests, orders and cooperatives in the reader's language (statuses, kinds,
organisation types, languages, countries, agreements), for the staff sales pages and the audit sentences."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

LEAD_STATUS = {"new": _l("New"), "contacted": _l("Contacted"), "offer_sent": _l("Offer sent"), "won": _l("Won"),
               "lost": _l("Lost")}
ORDER_STATUS = {"received": _l("Received"), "installer_booked": _l("Electrician booked"), "installed": _l("Installed"),
                "configured": _l("Configured"), "cancelled": _l("Cancelled")}
LEAD_KIND = {"takeover": _l("Take over existing chargers"), "new_installation": _l("New installation")}
ORG_TYPE = {"housing_cooperative": _l("Housing cooperative"), "condominium": _l("Condominium"),
            "commercial": _l("Commercial property"), "other": _l("Other professional owner")}
LANGUAGE = {"nb": _l("Norwegian (bokmål)"), "sv": _l("Swedish"), "en": _l("English")}
COUNTRY = {"NO": _l("Norway"), "SE": _l("Sweden")}
AGREEMENT = {"none": _l("No agreement"), "active": _l("Active agreement"), "ended": _l("Agreement ended")}

ALL = {**LEAD_STATUS, **ORDER_STATUS, **LEAD_KIND, **ORG_TYPE, **LANGUAGE, **COUNTRY, **AGREEMENT}


def value_label(value) -> str:
    """A stored code in words; anything else (a name, a date) as it is."""
    return str(ALL.get(value, value)) if isinstance(value, str) else str(value)


def words() -> dict:
    """The tables the sales templates read."""
    return dict(lead_status=LEAD_STATUS, order_status=ORDER_STATUS, lead_kind=LEAD_KIND, org_type=ORG_TYPE,
                language_name=LANGUAGE, country_name=COUNTRY)
