"""Help-and-sales domain pieces that need no database: folding, org numbers, photos, guide, Markdown."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.help.guide import GuideState, guide_state
from portal.services.helpdesk.faq import plain_text, render_markdown
from portal.services.helpdesk.faq_search import query_words
from portal.services.sales.orgnumbers import OrgNumberError, parse_org_number
from portal.services.helpdesk.photos import MAX_SIDE_PX, PhotoError, reencode
from portal.textnorm import digits, fold


@pytest.mark.parametrize("typed, stored", [
    ("bjorkas", "Bjørkåsen"), ("BJØRKÅS", "Bjørkåsen"), ("aerfugl", "Ærfuglen"), ("sjoutsikt", "Sjöutsikten"),
    ("malarhojden", "Mälarhöjden"), ("cafe", "Café"),
])
def test_folding_lets_a_visitor_type_without_nordic_letters(typed, stored):
    assert fold(typed) in fold(stored)


def test_fold_keeps_words_apart_and_digits_drops_separators():
    assert fold("Løvåsen  sameie, 5093-Bergen") == "lovasen sameie 5093 bergen"
    assert digits("948 001 128") == digits("948-001-128") == "948001128"


@pytest.mark.parametrize("text, country, compact", [
    ("923609016", "NO", "923609016"), ("923 609 016", "NO", "923609016"), ("NO 923 609 016".replace("NO ", ""), "NO", "923609016"),
    ("556036-0793", "SE", "5560360793"), ("5560360793", "SE", "5560360793"),
])
def test_valid_org_numbers(text, country, compact):
    org = parse_org_number(text)
    assert (org.country, org.compact) == (country, compact)


@pytest.mark.parametrize("text, code", [
    ("923609017", "checksum"), ("5560360794", "checksum"), ("12345", "format"), ("", "format"),
    ("92360901A", "format"), ("12345678901", "format"),
])
def test_invalid_org_numbers_say_why(text, code):
    with pytest.raises(OrgNumberError) as err:
        parse_org_number(text)
    assert err.value.code == code


def test_org_number_of_the_other_country_is_refused_when_a_country_is_required():
    with pytest.raises(OrgNumberError):
        parse_org_number("5560360793", country="NO")


def _jpeg_with_exif(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (59.0, 54.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_jpeg_is_re_encoded_without_its_metadata():
    raw = _jpeg_with_exif()
    assert b"SecretCam" in raw
    encoded = reencode(io.BytesIO(raw))
    assert encoded.content_type == "image/jpeg" and (encoded.width, encoded.height) == (640, 480)
    assert b"SecretCam" not in encoded.data and b"Exif" not in encoded.data
    with Image.open(io.BytesIO(encoded.data)) as again:
        assert not again.getexif()


def test_a_png_keeps_its_format_and_loses_text_chunks():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address here")
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 255, 128)).save(out, "PNG", pnginfo=info)
    encoded = reencode(io.BytesIO(out.getvalue()))
    assert encoded.content_type == "image/png" and b"home address" not in encoded.data


def test_a_huge_photo_is_scaled_down():
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 10, 10)).save(out, "JPEG")
    encoded = reencode(io.BytesIO(out.getvalue()))
    assert max(encoded.width, encoded.height) == MAX_SIDE_PX


@pytest.mark.parametrize("payload, code", [
    (b"%PDF-1.4 not an image", "not_image"),
    (b"GIF89a" + b"\x00" * 100, "not_image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "not_image"),  # a JPEG header and nothing after it
])
def test_files_that_are_not_jpeg_or_png_are_refused(payload, code):
    with pytest.raises(PhotoError) as err:
        reencode(io.BytesIO(payload))
    assert err.value.code == code


def test_a_gif_image_is_refused_even_though_it_is_an_image():
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    with pytest.raises(PhotoError):
        reencode(io.BytesIO(out.getvalue()))


def test_a_file_over_the_cap_is_refused_before_decoding():
    with pytest.raises(PhotoError) as err:
        reencode(io.BytesIO(_jpeg_with_exif()), max_bytes=1000)
    assert err.value.code == "too_large"


@pytest.mark.parametrize("answers, outcome", [
    ({"sold_by": "operator"}, "operator"),
    ({"sold_by": "installer"}, "technical"),
    ({"sold_by": "other", "warranty": "yes", "signs": "yes"}, "remote"),
    ({"sold_by": "other", "warranty": "no", "signs": "no"}, "supplier"),
    ({"sold_by": "other"}, ""),
    ({"sold_by": "nonsense"}, ""),
])
def test_the_guide_routes_as_the_domain_says(answers, outcome):
    assert guide_state(answers).outcome == outcome


def test_the_guide_asks_warranty_then_signs_for_another_supplier():
    assert GuideState().question == "sold_by"
    assert GuideState("other").question == "warranty"
    assert GuideState("other", "yes").question == "signs"
    assert GuideState("operator").question == ""


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown("**Hei** [lenke](/faq/x) <script>alert(1)</script> [x](javascript:alert(1)) "
                           "<img src=x onerror=alert(1)>")
    assert "<strong>Hei</strong>" in html and 'href="/faq/x"' in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html and "<img" not in html


def test_plain_text_drops_markup_and_link_targets():
    assert plain_text("Se [favoritter](/faq/favourites) og **mer** &amp; mer") == "Se favoritter og mer & mer"


def test_query_words_cannot_carry_search_syntax():
    assert query_words('favoritt" OR * NEAR(') == ["favoritt", "or", "near"]
    assert query_words("  ") == []
