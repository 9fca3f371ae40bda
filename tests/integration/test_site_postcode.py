"""A site's postcode: 4 digits in Norway, 5 in Sweden (written "118 20"), checked on the staff form that turns a
won lead into a site, said in the reader's language when wrong (the typed value kept), and shown on site pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Site
from portal.services.sales import leads
from portal.services.sites.postcodes import PostcodeError, parse_postcode
from tests.factories import make_user


@pytest.mark.parametrize("text,country,expected", [
    ("0591", "NO", "0591"), (" 5003 ", "NO", "5003"), ("", "NO", ""), ("11820", "SE", "118 20"),
    ("118 20", "SE", "118 20"), ("75320", "SE", "753 20")])
def test_good_postcodes_are_written_as_the_country_writes_them(text, country, expected):
    assert parse_postcode(text, country) == expected


@pytest.mark.parametrize("text,country,code", [
    ("591", "NO", "postcode_no"), ("05910", "NO", "postcode_no"), ("N-0591", "NO", "postcode_no"),
    ("1182", "SE", "postcode_se"), ("118 200", "SE", "postcode_se"), ("0591", "SE", "postcode_se"),
    ("11a20", "SE", "postcode_se")])
def test_wrong_postcodes_are_refused_by_country(text, country, code):
    with pytest.raises(PostcodeError) as raised:
        parse_postcode(text, country)
    assert raised.value.code == code


def _won_lead(session, sales, country="NO"):
    lead = leads.create_lead(session, leads.LeadRequest(
        org_type="housing_cooperative", org_name="Postkoden Borettslag", org_number="923609016",
        contact_name="Kari", contact_role="", email="kari@post.test", phone="", parking_spaces=10,
        kind="takeover", message="", language="nb"))
    lead.status = "won"
    lead.country = country
    session.commit()
    return lead


def test_the_staff_site_form_checks_the_postcode_for_the_country(client, login, session):
    sales = make_user(session, "sales@post.test", staff_role="sales")
    session.commit()
    login(client, sales)
    lead = _won_lead(session, sales)
    url = f"/staff/leads/{lead.id}/site"
    form = {"name": "Postkoden Borettslag", "slug": "postkoden", "org_number": "923609016", "address": "Veien 1",
            "postcode": "118 20", "city": "Oslo", "price_area": "NO1", "currency": "NOK"}
    client.set_cookie("lang", "nb")
    bad = client.post(url, data=form)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Et norsk postnummer har 4 siffer" in body and 'value="118 20"' in body
    assert session.scalar(select(Site).where(Site.slug == "postkoden")) is None
    client.set_cookie("lang", "sv")
    swedish_area = client.post(url, data=dict(form, postcode="0591", price_area="SE3", currency="SEK",
                                              org_number="5560160680"))
    assert swedish_area.status_code == 422 and "Ett svenskt postnummer har 5 siffror" in swedish_area.get_data(
        as_text=True)
    assert client.post(url, data=dict(form, postcode="0591")).status_code == 303
    site = session.scalar(select(Site).where(Site.slug == "postkoden"))
    assert site.postcode == "0591" and site.country == "NO"
    listing = client.get("/staff/sites").get_data(as_text=True)
    assert "Veien 1, 0591 Oslo" in listing
    assert "0591" in client.get(f"/staff/leads/{lead.id}").get_data(as_text=True)


def test_a_swedish_site_gets_its_postcode_in_the_swedish_form(client, login, session):
    sales = make_user(session, "sales2@post.test", staff_role="sales")
    session.commit()
    login(client, sales)
    lead = _won_lead(session, sales, "SE")
    done = client.post(f"/staff/leads/{lead.id}/site", data={
        "name": "Sjövägen BRF", "slug": "sjovagen", "org_number": "5560160680", "address": "Sjövägen 8",
        "postcode": "11820", "city": "Stockholm", "price_area": "SE3", "currency": "SEK"})
    assert done.status_code == 303
    assert session.scalar(select(Site).where(Site.slug == "sjovagen")).postcode == "118 20"
