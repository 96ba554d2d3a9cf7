"""GS1 identifiers and the one Digital Link builder and parser (GS1 Digital Link URI syntax 1.2)."""
import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import ValidationError, _l

# GS1 AI encodable character set 82, the alphabet of lot and serial values.
CSET82 = re.compile(r"""[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}""")
GS = "\x1d"
KEY_ALIASES = {"01": "01", "gtin": "01"}
QUALIFIERS = {"22": "22", "cpv": "22", "10": "10", "lot": "10", "21": "21", "ser": "21"}
QUALIFIER_ORDER = ("22", "10", "21")
# Digital Link 1.2's convenience names for data elements ("exp" is AI 17...): GS1 data in a query, like digits.
DATA_ELEMENT_NAMES = frozenset((
    "cpid", "cpsn", "cpv", "exp", "expdt", "gcn", "gdti", "giai", "ginc", "gln", "glnx", "gmn", "grai", "gsin",
    "gsrn", "gsrnp", "gtin", "itip", "lot", "party", "refno", "ser", "srin", "sscc"))


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of a string of digits (weights 3 and 1 from the right)."""
    total = 3 * sum(map(int, body[::-1][::2])) + sum(map(int, body[::-1][1::2]))
    return -total % 10


def gtin_problem(digits: str):
    """Why a GTIN is not acceptable, or None."""
    if not digits.isascii() or not digits.isdigit():
        return _l("A GTIN has digits only.")
    if len(digits) not in (8, 12, 13, 14):
        return _l("A GTIN has 8, 12, 13 or 14 digits.")
    if int(digits[-1]) != check_digit(digits[:-1]):
        return _l("The GTIN check digit is wrong: it should be %(digit)s.", digit=check_digit(digits[:-1]))
    return None


def normalize_gtin(text: str, field_name: str = "gtin") -> str:
    """The GTIN-14 form of an entered GTIN-8/12/13/14, or ValidationError."""
    digits = (text or "").strip().replace(" ", "")
    problem = gtin_problem(digits)
    if problem is not None:
        raise ValidationError({field_name: problem})
    return digits.zfill(14)


def allocate_gtin(company_prefix: str, taken: set) -> str:
    """The first free GTIN-13 (as GTIN-14) under a GS1 company prefix."""
    if not company_prefix.isdigit() or not 6 <= len(company_prefix) <= 11:
        raise ValidationError({"gtin": _l("The GS1 company prefix must have 6 to 11 digits.")})
    width = 12 - len(company_prefix)
    for item in range(1, 10**width):
        body = company_prefix + str(item).zfill(width)
        gtin = (body + str(check_digit(body))).zfill(14)
        if gtin not in taken:
            return gtin
    raise ValidationError({"gtin": _l("Every GTIN under this company prefix is taken.")})


def code_problem(value: str):
    if not value:
        return _l("Required.")
    if len(value) > 20:
        return _l("At most 20 characters (this has %(n)s).", n=len(value))
    if " " in value:
        return _l("Spaces are not allowed.")
    if set(value) == {"."}:
        # '.' and '..' are path steps to every URL resolver: /10/../21/1 would open another address.
        return _l("A code cannot be only dots.")
    if not CSET82.fullmatch(value):
        refused = "".join(dict.fromkeys(c for c in value if not CSET82.fullmatch(c)))
        return _l("“%(characters)s” cannot be used: letters A–Z, a–z, digits and - . _ / only (GS1 character set 82; "
                  "no accents). E.g. Đ → D, ư → u.", characters=refused)
    return None


def element_string(gtin14: str, lot: str, serial: str) -> str:
    """The GS1 element string a label signs: (01)(10)<GS>(21), unbracketed."""
    return f"01{gtin14}10{lot}{GS}21{serial}"


def digital_link_path(gtin14: str, qualifiers: dict | None = None, attributes: dict | None = None) -> str:
    """The one Digital Link builder (uncompressed, URI syntax 1.2): /01/ and the GTIN-14, its key qualifiers in
    the order the grammar sets (22, 10, 21), then data attributes as a query, in the order given. Only unreserved
    characters go unencoded in values."""
    qualifiers = qualifiers or {}
    unknown = set(qualifiers) - set(QUALIFIER_ORDER)
    if unknown:
        raise ValueError(f"not key qualifiers of a GTIN: {sorted(unknown)}")
    path = f"/01/{gtin14}" + "".join(f"/{ai}/{quote(qualifiers[ai], safe='')}" for ai in QUALIFIER_ORDER
                                      if ai in qualifiers)
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in (attributes or {}).items())
    return path + (f"?{query}" if query else "")


def origin_of(url: str) -> str:
    """scheme://host[:port], lower case, default port left out: what decides whose URL it is."""
    return _origin(urlsplit(url))


def _origin(parts) -> str:
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # a port that is not a number matches no origin of ours
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{netloc}" + (f":{port}" if port not in (None, default) else "")


@lru_cache(maxsize=64)
def _base(base_url: str) -> tuple:
    return origin_of(base_url), urlsplit(base_url).path.rstrip("/")


def on_base(url, base_url: str) -> bool:
    """Whether a label URL (text, or already split) lives under a base URL of the service: same origin, and the
    base's path before /01/."""
    parts = urlsplit(url) if isinstance(url, str) else url
    if "@" in parts.netloc:
        return False  # user info makes a URL that reads like ours but is not
    origin, prefix = _base(base_url)
    return _origin(parts) == origin and (parts.path.startswith(prefix + "/01/") or parts.path.startswith(prefix + "/gtin/"))


def label_url(base_url: str, gtin14: str, lot: str, serial: str, signature: str) -> str:
    return base_url + digital_link_path(gtin14, {"10": lot, "21": serial}, {"8030": signature})


@dataclass
class DigitalLink:
    gtin: str
    qualifiers: dict = field(default_factory=dict)  # AI -> value, in URI order
    attributes: dict = field(default_factory=dict)  # query data elements (AIs or their names) -> value
    parts: object = field(default=None, repr=False, compare=False)  # the URL, split

    @property
    def lot(self):
        return self.qualifiers.get("10")

    @property
    def serial(self):
        return self.qualifiers.get("21")

    @property
    def signature(self):
        return self.attributes.get("8030")

    def element_string_bracketed(self) -> str:
        parts = [("01", self.gtin), *self.qualifiers.items(), *self.attributes.items()]
        return "".join(f"({ai}){value}" for ai, value in parts)


class DigitalLinkError(ValueError):
    pass


def parse_digital_link(url: str) -> DigitalLink:
    """Parse an uncompressed GTIN Digital Link URI strictly: check digit, qualifier order, CSET 82."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise DigitalLinkError("not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DigitalLinkError("not an http(s) URL with a host")
    segments = parts.path.split("/")
    # The key is the rightmost /01/ after which the rest of the path parses as a GTIN path.
    candidates = [i for i, s in enumerate(segments) if s in KEY_ALIASES and (len(segments) - i) % 2 == 0]
    if not candidates:
        raise DigitalLinkError("no GTIN (/01/) path in the URL")
    error = None
    for start in reversed(candidates):
        try:
            gtin, qualifiers = _parse_gtin_path(segments[start + 1:])
            break
        except DigitalLinkError as exc:
            error = error or exc
    else:
        raise error
    attributes = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.isdigit() or name in DATA_ELEMENT_NAMES:  # anything else is not GS1 data (a tracking tag)
            if not value:
                raise DigitalLinkError(f"AI {name} has an empty value")
            if name in attributes:
                raise DigitalLinkError(f"AI {name} appears twice")
            attributes[name] = value
    return DigitalLink(gtin=gtin.zfill(14), qualifiers=qualifiers, attributes=attributes, parts=parts)


def _parse_gtin_path(segments: list) -> tuple:
    gtin = unquote(segments[0])
    problem = gtin_problem(gtin)
    if problem is not None:
        raise DigitalLinkError(str(problem))
    qualifiers = {}
    last_rank = -1
    for i in range(1, len(segments), 2):
        ai = QUALIFIERS.get(segments[i])
        if ai is None:
            raise DigitalLinkError(f"{segments[i]!r} is not a qualifier of a GTIN")
        rank = QUALIFIER_ORDER.index(ai)
        if rank <= last_rank:
            raise DigitalLinkError("qualifiers out of order (22, then 10, then 21)")
        last_rank = rank
        value = unquote(segments[i + 1])
        if not CSET82.fullmatch(value):
            raise DigitalLinkError(f"AI {ai} value is not 1-20 characters of GS1 CSET 82")
        qualifiers[ai] = value
    return gtin, qualifiers
