"""Phone numbers typed by people: Norwegian and Swedish numbers in any usual form end in E.164."""
import pytest

from portal.phones import PhoneError, display, search_digits, to_e164


@pytest.mark.parametrize("typed,region,stored", [
    ("912 34 567", "NO", "+4791234567"),
    ("+47 912 34 567", "SE", "+4791234567"),
    ("0047 91234567", "NO", "+4791234567"),
    ("070-123 45 67", "SE", "+46701234567"),
    ("+46 (0)70 123 45 67", "NO", "+46701234567"),
    ("", "NO", ""),
])
def test_typed_numbers_are_stored_in_e164(typed, region, stored):
    assert to_e164(typed, region=region) == stored


@pytest.mark.parametrize("typed,code", [("12", "invalid"), ("abc", "invalid"), ("+44 20 7946 0958", "country")])
def test_bad_numbers_say_what_is_wrong(typed, code):
    with pytest.raises(PhoneError) as err:
        to_e164(typed)
    assert err.value.code == code


def test_other_countries_when_allowed():
    assert to_e164("+44 20 7946 0958", any_country=True) == "+442079460958"


def test_display_and_search_digits():
    assert display("+4791234567") == "+47 91 23 45 67"
    assert "+4791234567".endswith(search_digits("912 34 567"))
    assert search_digits("070 123") in "+46701234567"
    assert search_digits("0046 70") == "4670"


def test_numbers_stored_before_they_were_checked_are_shown_like_checked_ones():
    from portal.phones import display_typed

    assert display_typed("912 34 567") == "+47 91 23 45 67"
    assert display_typed("070-123 45 67", "SE") == "+46 70 123 45 67"
    assert display_typed("ring meg") == "ring meg" and display_typed("") == ""


def test_support_searches_a_phone_number_in_every_form_it_may_be_stored_in():
    from portal.services.staff.person import phone_variants

    assert phone_variants("912 34") == {"91234"}
    assert phone_variants("+47 912 34 567") >= {"4791234567", "91234567"}  # stored as typed without +47
    assert "701234567" in phone_variants("+46 70 123 45 67")  # a Swedish number stored as 070-...
    assert "7012345" in phone_variants("+46 70 123 45")  # a part, with its country code
    assert phone_variants("04A1B2") == set() and phone_variants("12") == set()  # a tag, too short
