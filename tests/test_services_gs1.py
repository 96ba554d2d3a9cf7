"""GS1 helpers beyond the published vectors: GTIN allocation, code messages, origins, and Digital Link details."""
from trace.services.errors import ValidationError
from trace.services.gs1 import (
    DigitalLinkError,
    allocate_gtin,
    check_digit,
    code_problem,
    digital_link_path,
    gtin_problem,
    normalize_gtin,
    on_base,
    origin_of,
    parse_digital_link,
)
from urllib.parse import urlsplit

import pytest

GTIN = "08936045000014"


def test_allocate_gtin_gives_the_first_free_item_number_under_the_prefix():
    assert allocate_gtin("893604500", set()) == "0" + "893604500001" + "4"
    taken = {allocate_gtin("893604500", set())}
    second = allocate_gtin("893604500", taken)
    assert second == "0893604500002" + str(check_digit("893604500002"))
    assert allocate_gtin("89360450000", set()) == "0" + "893604500001" + "4"  # an 11-digit prefix: one digit left
    assert allocate_gtin("893604", set()) == "0893604000001" + str(check_digit("893604000001"))


def test_allocate_gtin_says_when_the_prefix_is_full_or_malformed():
    prefix = "89360450000"  # 11 digits: item numbers 1 to 9
    every = set()
    for _ in range(9):
        every.add(allocate_gtin(prefix, every))
    assert len(every) == 9
    with pytest.raises(ValidationError) as full:
        allocate_gtin(prefix, every)
    assert full.value.errors == {"gtin": "Every GTIN under this company prefix is taken."}
    for bad in ("89360", "893604500001", "89360A5", ""):
        with pytest.raises(ValidationError) as refused:
            allocate_gtin(bad, set())
        assert refused.value.errors == {"gtin": "The GS1 company prefix must have 6 to 11 digits."}


@pytest.mark.parametrize("digits, message", [
    ("8936045000014", None), ("96385074", None), ("036000291452", None), (GTIN, None),
    ("893604500001", "The GTIN check digit is wrong: it should be 3."),
    ("8936045000010", "The GTIN check digit is wrong: it should be 4."),
    ("893604500001A", "A GTIN has digits only."),
    ("８９３６０４５０００１４", "A GTIN has digits only."),
    ("", "A GTIN has digits only."),
    ("1234567", "A GTIN has 8, 12, 13 or 14 digits."),
    ("123456789", "A GTIN has 8, 12, 13 or 14 digits."),
    ("123456789012345", "A GTIN has 8, 12, 13 or 14 digits."),
])
def test_gtin_problem_says_exactly_what_is_wrong(digits, message):
    problem = gtin_problem(digits)
    assert (None if problem is None else str(problem)) == message


@pytest.mark.parametrize("code, message", [
    ("", "Required."),
    ("x" * 21, "At most 20 characters (this has 21)."),
    ("GAO BH", "Spaces are not allowed."),
    (".", "A code cannot be only dots."),
    ("..", "A code cannot be only dots."),
    ("LÚA", "“Ú” cannot be used: letters A–Z, a–z, digits and - . _ / only (GS1 character set 82; no accents). "
             "E.g. Đ → D, ư → u."),
    ("ĐÔNG-Đ#", "“ĐÔ#” cannot be used: letters A–Z, a–z, digits and - . _ / only (GS1 character set 82; no accents). "
                "E.g. Đ → D, ư → u."),
    ("A.B", None), ("...A", None), ("x" * 20, None),
])
def test_code_problem_messages(code, message):
    problem = code_problem(code)
    assert (None if problem is None else str(problem)) == message


@pytest.mark.parametrize("url, origin", [
    ("HTTPS://Trace.Example.VN/01/x", "https://trace.example.vn"),
    ("https://trace.example.vn:443/", "https://trace.example.vn"),
    ("http://trace.example.vn:80/", "http://trace.example.vn"),
    ("http://trace.example.vn:443/", "http://trace.example.vn:443"),
    ("https://trace.example.vn:8443/", "https://trace.example.vn:8443"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
    ("http://host:port/", "http://host:-1"),
    ("ftp://host/", "ftp://host"),
])
def test_origin_of_is_scheme_host_and_a_port_other_than_the_default(url, origin):
    assert origin_of(url) == origin


@pytest.mark.parametrize("url, ours", [
    (f"https://trace.example.vn/01/{GTIN}/10/A/21/1", True),
    (f"https://TRACE.example.vn:443/01/{GTIN}", True),
    (f"https://trace.example.vn/gtin/{GTIN}", True),
    (f"http://trace.example.vn/01/{GTIN}", False),
    (f"https://trace.example.vn:8443/01/{GTIN}", False),
    (f"https://trace.example.vn.evil.test/01/{GTIN}", False),
    (f"https://trace.example.vn@evil.test/01/{GTIN}", False),
    (f"https://user@trace.example.vn/01/{GTIN}", False),
    (f"https://trace.example.vn/x/01/{GTIN}", False),
    (f"https://trace.example.vn/{GTIN}", False),
])
def test_on_base_at_the_root(url, ours):
    assert on_base(url, "https://trace.example.vn") is ours
    assert on_base(urlsplit(url), "https://trace.example.vn/") is ours


@pytest.mark.parametrize("url, ours", [
    (f"https://ward.example.vn/trace/01/{GTIN}", True),
    (f"https://ward.example.vn/trace/gtin/{GTIN}", True),
    (f"https://ward.example.vn/01/{GTIN}", False),
    (f"https://ward.example.vn/tracer/01/{GTIN}", False),
    (f"https://ward.example.vn/other/trace/01/{GTIN}", False),
])
def test_on_base_under_a_path(url, ours):
    assert on_base(url, "https://ward.example.vn/trace") is ours


def test_parse_digital_link_reads_aliases_attributes_and_the_rightmost_key():
    link = parse_digital_link(" https://x.test/a/01/b/gtin/8936045000014/cpv/V1/lot/L%2F1/ser/7?8030=SIG&17=270101&utm=x ")
    assert (link.gtin, link.qualifiers, link.attributes) == (GTIN, {"22": "V1", "10": "L/1", "21": "7"},
                                                             {"8030": "SIG", "17": "270101"})
    assert (link.lot, link.serial, link.signature) == ("L/1", "7", "SIG")
    assert link.element_string_bracketed() == f"(01){GTIN}(22)V1(10)L/1(21)7(8030)SIG(17)270101"
    assert link.parts.netloc == "x.test"
    bare = parse_digital_link("https://x.test/01/96385074")
    assert (bare.gtin, bare.lot, bare.serial, bare.signature) == ("00000096385074", None, None, None)
    assert parse_digital_link(f"https://x.test/01/{GTIN}?exp=270101").attributes == {"exp": "270101"}


@pytest.mark.parametrize("url, message", [
    (f"https://x.test/01/{GTIN}?8030=", "AI 8030 has an empty value"),
    (f"https://x.test/01/{GTIN}?17=1&17=2", "AI 17 appears twice"),
    (f"https://x.test/01/{GTIN}/21/1/10/A", "qualifiers out of order (22, then 10, then 21)"),
    (f"https://x.test/01/{GTIN}/10/A/10/B", "qualifiers out of order (22, then 10, then 21)"),
    (f"https://x.test/01/{GTIN}/99/A", "'99' is not a qualifier of a GTIN"),
    (f"https://x.test/01/{GTIN}/10/A%20B", "AI 10 value is not 1-20 characters of GS1 CSET 82"),
    (f"https://x.test/01/{GTIN}/21/", "AI 21 value is not 1-20 characters of GS1 CSET 82"),
    ("https://x.test/01/8936045000015", "The GTIN check digit is wrong: it should be 4."),
    ("https://x.test/10/A", "no GTIN (/01/) path in the URL"),
    ("https://x.test/01/", "A GTIN has digits only."),
    ("mailto:someone@x.test", "not an http(s) URL with a host"),
    ("https:///01/" + GTIN, "not an http(s) URL with a host"),
    ("http://[::1/01/" + GTIN, "not a URL"),
])
def test_parse_digital_link_refusals_say_why(url, message):
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link(url)
    assert str(refused.value) == message


def test_the_first_error_is_kept_when_no_key_candidate_parses():
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link(f"https://x.test/01/{GTIN}/99/01/8936045000015/10/A")
    assert str(refused.value) == "The GTIN check digit is wrong: it should be 4."


def test_label_path_encodes_slashes_in_lot_and_serial():
    assert digital_link_path(GTIN, {"10": "L/1", "21": "S/2"}) == f"/01/{GTIN}/10/L%2F1/21/S%2F2"


def test_a_gtin_may_be_entered_with_spaces():
    assert normalize_gtin(" 893 6045 000014 ") == GTIN


def test_allocate_gtin_counts_every_item_number_a_prefix_leaves():
    prefix = "8936045000"  # ten digits: item numbers 1 to 99
    taken = set()
    for _ in range(20):
        taken.add(allocate_gtin(prefix, taken))
    assert allocate_gtin(prefix, taken) == "0" + prefix + "21" + str(check_digit(prefix + "21"))


def test_the_origin_of_a_url_without_a_host_has_no_host():
    assert origin_of("file:///tmp/labels.pdf") == "file://"
