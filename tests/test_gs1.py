"""GS1 check digits, CSET 82 codes and Digital Link URIs, against the vectors in ../shared/anchors/."""
import json
import re
from pathlib import Path
from trace.services.errors import ValidationError
from trace.services.gs1 import (
    DigitalLinkError,
    allocate_gtin,
    code_problem,
    digital_link_path,
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


def elements(bracketed: str) -> list:
    """[(AI, value)] of a bracketed element string such as (01)09520123456788(10)ABC1."""
    return re.findall(r"\((\d{2,4})\)([^(]*)", bracketed)


# A URI written as the builder writes it: GTIN-14, numeric AIs, the grammar's qualifier order, nothing to drop.
CANONICAL = re.compile(r"https?://[^?#]+?/01/\d{14}(/(22|10|21)/[A-Za-z0-9_.~-]+)*(\?\d+=[A-Za-z0-9_.~-]+(&\d+=[A-Za-z0-9_.~-]+)*)?")


def build(stem: str, bracketed: str) -> str:
    """The URI our builder makes for an element string, under the vector's own domain and path stem."""
    (_, gtin), *rest = elements(bracketed)
    qualifiers = {ai: value for ai, value in rest if ai in ("22", "10", "21")}
    attributes = {ai: value for ai, value in rest if ai not in qualifiers}
    return stem + digital_link_path(gtin, qualifiers, attributes)


def stem_of(uri: str) -> str:
    return uri[:max(uri.rfind("/01/"), uri.rfind("/gtin/"))]


@pytest.mark.parametrize("vector", GRAMMAR_1_2, ids=lambda v: v["uri"][:70])
def test_simple_parser_vectors_parse_to_their_element_strings_and_build_back(vector):
    """Both directions: the URI parses to exactly the vector's element string (every qualifier and attribute, in
    order), and the element string builds a URI that parses back to it, which is the vector's URI itself when the
    vector is written the canonical way."""
    uri, expected = vector["uri"], vector["element_string_bracketed"]
    assert parse_digital_link(uri).element_string_bracketed() == expected
    built = build(stem_of(uri), expected)
    assert parse_digital_link(built).element_string_bracketed() == expected
    if CANONICAL.fullmatch(uri):
        assert built == uri


def test_the_canonical_vectors_include_every_qualifier_and_attributes():
    """The exact-URI check above covers 22, 10 and 21 together and a query of several attributes."""
    canonical = [v["uri"] for v in GRAMMAR_1_2 if CANONICAL.fullmatch(v["uri"])]
    assert "https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ" in canonical
    assert "https://a/01/12312312312333?99=ABC&98=XYZ" in canonical
    assert len(canonical) == 9


COMPRESSION_NOTE = re.compile(r"decompress yields numeric-AI form (\S+)")
NAMED_VECTORS = [v for v in JS_VECTORS["compression"] if COMPRESSION_NOTE.search(v["note"])]


@pytest.mark.parametrize("vector", NAMED_VECTORS, ids=lambda v: v["uncompressed"][:70])
def test_convenience_names_build_back_as_numeric_ais(vector):
    """/gtin/…/lot/…/ser/… is the same link as /01/…/10/…/21/…; built again, it takes the numeric form."""
    link = parse_digital_link(vector["uncompressed"])
    numeric = COMPRESSION_NOTE.search(vector["note"]).group(1)
    assert stem_of(vector["uncompressed"]) + digital_link_path(link.gtin, link.qualifiers, link.attributes) == numeric
    assert link.element_string_bracketed() == parse_digital_link(numeric).element_string_bracketed()


def test_the_builder_refuses_what_is_not_a_gtin_qualifier():
    with pytest.raises(ValueError, match="not key qualifiers of a GTIN"):
        digital_link_path("09520123456788", {"235": "TEST"})


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
