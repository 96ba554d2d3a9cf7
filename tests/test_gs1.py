"""GS1 check digits, CSET 82 codes and Digital Link URIs, against the vectors in ../shared/anchors/."""
import json
from pathlib import Path
from trace.services.errors import ValidationError
from trace.services.gs1 import (
    DigitalLinkError,
    allocate_gtin,
    code_problem,
    element_string,
    label_url,
    normalize_gtin,
    parse_digital_link,
)

import pytest

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "digital-link"
JS_VECTORS = json.loads((ANCHORS / "digital-link-js-vectors.json").read_text())
SIMPLE_VECTORS = json.loads((ANCHORS / "gs1-dl-simple-parser-vectors.json").read_text())["vectors"]


def is_gtin_path(uri: str) -> bool:
    path = uri.split("?")[0].split("/")
    return any(seg in ("01", "gtin") for seg in path[3:]) and not any(
        seg in ("00", "sscc", "gln", "414", "8003", "8004", "grai", "giai", "gsrn", "gdti", "gsin", "gcn")
        for seg in path[3:])


GTIN_CHECK_DIGITS = [v for v in JS_VECTORS["check_digit"]
                     if len(v["value"]) in (8, 12, 13, 14) and not v.get("check_digit_position")]


@pytest.mark.parametrize("vector", GTIN_CHECK_DIGITS, ids=lambda v: v["value"])
def test_check_digit_vectors_for_gtins(vector):
    with_problem = None
    try:
        normalize_gtin(vector["value"])
    except ValidationError as exc:
        with_problem = exc
    assert (with_problem is None) == vector["valid"]


def test_check_digit_agrees_with_biip_on_every_length_gs1_uses():
    """Our mod-10 (kept dependency-free for the offline verifier) against a maintained GS1 library."""
    import random
    from trace.services.gs1 import check_digit

    from biip.checksums import gs1_standard_check_digit
    rng = random.Random(6)
    bodies = ["0" * 12, "9" * 16, "1", *("".join(rng.choice("0123456789") for _ in range(length))
                                          for length in (7, 11, 12, 13, 16, 17) for _ in range(2000))]
    assert [check_digit(body) for body in bodies] == [gs1_standard_check_digit(body) for body in bodies]


def test_gtin_normalisation_and_messages():
    assert normalize_gtin("8936045000014") == "08936045000014"
    assert normalize_gtin(" 8936045000014 ") == "08936045000014"
    with pytest.raises(ValidationError, match="check digit is wrong: it should be 4"):
        normalize_gtin("8936045000018")
    with pytest.raises(ValidationError, match="digits only"):
        normalize_gtin("89360450000A4")
    with pytest.raises(ValidationError, match="8, 12, 13 or 14"):
        normalize_gtin("89360450000")


def test_allocated_gtins_are_valid_and_unique():
    first = allocate_gtin("8936045", set())
    second = allocate_gtin("8936045", {first})
    assert first != second
    assert normalize_gtin(first) == first and normalize_gtin(second) == second
    assert first.startswith("08936045")


@pytest.mark.parametrize("code", ["GAO-BH-2610A", "A", "x" * 20, "AB/C", "!\"%&'()*+,-./:;<=>?_"])
def test_codes_in_cset82_are_accepted(code):
    assert code_problem(code) is None


@pytest.mark.parametrize("code,reason", [("GAO BH", "Spaces"), ("x" * 21, "At most 20"), ("", "Required"),
                                          ("LÚA1", "character set 82"), ("A#B", "character set 82"),
                                          ("A~B", "character set 82")])
def test_codes_outside_cset82_are_refused(code, reason):
    assert reason in str(code_problem(code))


# GTIN URIs only: compressed URIs and other keys (SSCC, GLN, GRAI…) are not label URLs.
# AI 4321's value grammar is not checked: we ignore query attributes other than 8030.
JS_GTIN_VALIDITY = [v for v in JS_VECTORS["validity"] if is_gtin_path(v["uri"]) and "4321" not in v["uri"]]


@pytest.mark.parametrize("vector", JS_GTIN_VALIDITY, ids=lambda v: v["uri"][:70])
def test_digital_link_js_validity_vectors_for_gtin_uris(vector):
    uri = vector["uri"]
    if uri.endswith("/"):
        # digital-link.js accepts a trailing slash, GS1's simple parser does not; we follow the grammar.
        with pytest.raises(DigitalLinkError):
            parse_digital_link(uri)
        return
    try:
        parse_digital_link(uri)
        accepted = True
    except DigitalLinkError:
        accepted = False
    assert accepted == vector["valid"]


def path_qualifiers(uri):
    path = uri.split("?")[0].split("/")
    start = max(i for i, seg in enumerate(path) if seg in ("01", "gtin"))
    return path[start + 2::2]


GTIN_SIMPLE = [v for v in SIMPLE_VECTORS if v["should_parse"] and v["element_string_bracketed"].startswith("(01)")]
GRAMMAR_1_2 = [v for v in GTIN_SIMPLE if set(path_qualifiers(v["uri"])) <= {"22", "10", "21", "cpv", "lot", "ser"}]
BEYOND_1_2 = [v for v in GTIN_SIMPLE if v not in GRAMMAR_1_2]


@pytest.mark.parametrize("vector", GRAMMAR_1_2, ids=lambda v: v["uri"][:70])
def test_simple_parser_element_strings_for_gtin_uris(vector):
    link = parse_digital_link(vector["uri"])
    expected = vector["element_string_bracketed"]
    # We keep only numeric AIs from the query and report key qualifiers first, as the vectors do.
    assert expected.startswith(link.element_string_bracketed()[:len("(01)") + 14])
    for ai, value in link.qualifiers.items():
        assert f"({ai}){value}" in expected


@pytest.mark.parametrize("vector", BEYOND_1_2, ids=lambda v: v["uri"][:70])
def test_path_qualifiers_outside_the_1_2_gtin_grammar_are_refused(vector):
    # GS1's lenient simple parser accepts e.g. /235/ or /89/ after a GTIN; the 1.2 ABNF allows only 22, 10, 21.
    with pytest.raises(DigitalLinkError):
        parse_digital_link(vector["uri"])


def test_label_url_round_trip_with_characters_that_need_encoding():
    lot, serial = "AB/C%D&E", "S?1=2"
    url = label_url("https://trace.example", "08936045000014", lot, serial, "SIG")
    assert "/10/AB%2FC%25D%26E/21/S%3F1%3D2?8030=SIG" in url
    link = parse_digital_link(url)
    assert (link.gtin, link.lot, link.serial, link.signature) == ("08936045000014", lot, serial, "SIG")
    assert element_string(link.gtin, link.lot, link.serial) == "010893604500001410AB/C%D&E\x1d21S?1=2"


@pytest.mark.parametrize("uri", [
    "https://x.test/01/08936045000018/10/A/21/1",        # bad check digit
    "https://x.test/01/08936045000014/21/1/10/A",        # serial before lot
    "https://x.test/01/08936045000014/10/" + "A" * 21,  # lot too long
    "https://x.test/01/08936045000014/99/A",            # not a qualifier
    "ftp://x.test/01/08936045000014",
    "/01/08936045000014",
])
def test_malformed_digital_links_are_refused(uri):
    with pytest.raises(DigitalLinkError):
        parse_digital_link(uri)
