"""Organizations the ward administrator registers, and the GTINs each may use: those under its GS1 company
prefixes, and those assigned to it one by one. A GTIN outside both is someone else's and is refused."""
import re

from sqlmodel import Session, select

from ..models import PRODUCER_KINDS, AssignedGtin, CompanyPrefix, Organization, Product, User
from .errors import NotFound, ValidationError, _l
from .gs1 import allocate_gtin, check_digit, normalize_gtin
from .parse import Reader

RETAILER_KINDS = ("retailer", "tourist_outlet")
AUTHORITY_KINDS = ("authority",)
ORGANIZATION_KINDS = PRODUCER_KINDS + RETAILER_KINDS + AUTHORITY_KINDS
ROLES_OF_KIND = {**{kind: ("producer",) for kind in PRODUCER_KINDS}, **{kind: ("retailer",) for kind in RETAILER_KINDS},
                 "authority": ("inspector", "admin")}
PHONE = re.compile(r"[0-9+][0-9 .()-]{5,28}")
TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")  # a Vietnamese tax code: 10 digits, a branch's with -NNN
PREFIX_SEPARATORS = re.compile(r"[\s,;]+")


def register(session: Session, data) -> Organization:
    organization = Organization()
    _fill(session, organization, data)
    return organization


def update(session: Session, organization: Organization, data) -> Organization:
    _fill(session, organization, data)
    return organization


def set_english_names(session: Session, organization: Organization, data) -> Organization:
    """The organization's own English name and address, for English pages (its members may set them)."""
    r = Reader(data)
    name_en = r.text("name_en", required=False, max_length=200)
    address_en = r.text("address_en", required=False, max_length=300)
    r.done()
    organization.name_en, organization.address_en = name_en or "", address_en or ""
    session.add(organization)
    session.flush()
    return organization


def _fill(session: Session, organization: Organization, data) -> None:
    r = Reader(data)
    kind = r.choice("kind", ORGANIZATION_KINDS)
    name = r.text("name", max_length=200)
    address = r.text("address", required=False, max_length=300)
    name_en = r.text("name_en", required=False, max_length=200)
    address_en = r.text("address_en", required=False, max_length=300)
    phone = r.text("phone", required=False, max_length=30)
    if phone and not PHONE.fullmatch(phone):
        r._fail("phone", _l("A phone number: digits, spaces, dots, dashes, a leading +."))
    tax_code = r.text("tax_code", required=False, max_length=14)
    if tax_code and not TAX_CODE.fullmatch(tax_code):
        r._fail("tax_code", _l("A tax code has 10 digits, or 10 digits, a dash and 3 more for a branch."))
    registration_number = r.text("registration_number", required=False, max_length=50)
    gln = r.text("gln", required=False, max_length=13) or None
    if gln and (not gln.isascii() or not gln.isdigit() or len(gln) != 13 or check_digit(gln[:-1]) != int(gln[-1])):
        r._fail("gln", _l("A GLN has 13 digits, the last one its check digit."))
    wanted = _prefixes(r, session, organization.id)
    if kind and organization.id is not None and kind != organization.kind and session.exec(
            select(User.id).where(User.organization_id == organization.id, User.role.not_in(ROLES_OF_KIND[kind]))).first():
        r._fail("kind", _l("Its users' roles do not fit this kind of organization."))
    kept = set(prefixes_of(session, organization.id)) if organization.id else set()
    for dropped in kept - set(wanted or ()):
        if _products_under(session, organization.id, dropped):
            r._fail("prefixes", _l("Products are registered under %(prefix)s; it cannot be removed.", prefix=dropped))
    r.done()
    organization.kind, organization.name, organization.address, organization.phone = kind, name, address, phone
    organization.tax_code, organization.registration_number, organization.gln = tax_code, registration_number, gln
    organization.name_en, organization.address_en = name_en or "", address_en or ""
    session.add(organization)
    session.flush()
    for dropped in kept - set(wanted):
        session.delete(session.get(CompanyPrefix, dropped))
    for prefix in set(wanted) - kept:
        session.add(CompanyPrefix(prefix=prefix, organization_id=organization.id))
    session.flush()


def _prefixes(r: Reader, session: Session, organization_id: int | None) -> list:
    """The GS1 company prefixes typed in a field, one after another; each must belong to nobody else."""
    text = r.text("prefixes", required=False, max_length=400)
    wanted = [p for p in PREFIX_SEPARATORS.split(text or "") if p]
    for prefix in wanted:
        if not prefix.isascii() or not prefix.isdigit() or not 6 <= len(prefix) <= 11:
            return r._fail("prefixes", _l("A GS1 company prefix has 6 to 11 digits: %(prefix)s does not.",
                                          prefix=prefix)) or []
    for prefix in wanted:
        clash = _overlapping(session, prefix, organization_id) or next(
            (other for other in wanted if other != prefix and other.startswith(prefix)), None)
        if clash == prefix:
            return r._fail("prefixes", _l("%(prefix)s is registered to another organization.", prefix=prefix)) or []
        if clash:
            return r._fail("prefixes", _l("%(prefix)s overlaps %(other)s: one company prefix cannot begin another.",
                                          prefix=prefix, other=clash)) or []
    return sorted(set(wanted))


def _overlapping(session: Session, prefix: str, organization_id: int | None) -> str | None:
    """A registered prefix that begins this one or that this one begins (their GTINs would be the same numbers),
    other than this very prefix already registered to this organization."""
    rows = session.exec(select(CompanyPrefix).where(
        CompanyPrefix.prefix.in_([prefix[:n] for n in range(6, len(prefix) + 1)])
        | CompanyPrefix.prefix.startswith(prefix))).all()
    return next((row.prefix for row in rows if not (row.prefix == prefix and row.organization_id == organization_id)),
                None)


def prefixes_of(session: Session, organization_id: int) -> list:
    return list(session.exec(select(CompanyPrefix.prefix).where(CompanyPrefix.organization_id == organization_id)
                             .order_by(CompanyPrefix.prefix)).all())


def assigned_gtins_of(session: Session, organization_id: int) -> list:
    return list(session.exec(select(AssignedGtin.gtin).where(AssignedGtin.organization_id == organization_id)
                             .order_by(AssignedGtin.gtin)).all())


def _products_under(session: Session, organization_id: int, prefix: str) -> bool:
    return session.exec(select(Product.id).where(Product.organization_id == organization_id,
                                                 Product.gtin.startswith("0" + prefix))).first() is not None


def _prefix_holder(session: Session, gtin: str) -> CompanyPrefix | None:
    """The registered company prefix a GTIN-14 falls under (its indicator digit, then the prefix), if any."""
    body = gtin[1:]
    return session.exec(select(CompanyPrefix).where(
        CompanyPrefix.prefix.in_([body[:n] for n in range(6, 12)]))).first()


def assign_gtin(session: Session, organization: Organization, raw: str) -> str:
    """Register a GTIN for an organization that has it from GS1 one by one, not under a prefix of its own."""
    if organization.kind not in PRODUCER_KINDS:
        raise ValidationError({"gtin": _l("Only producers register products.")})
    gtin = normalize_gtin(str(raw or "").strip())
    holder = _prefix_holder(session, gtin)
    if holder is not None:
        raise ValidationError({"gtin": _l("This GTIN falls under the company prefix %(prefix)s of a registered "
                                          "organization.", prefix=holder.prefix)})
    owner = session.get(AssignedGtin, gtin)
    if owner is not None:
        raise ValidationError({"gtin": _l("This GTIN is already assigned.")})
    used = session.exec(select(Product.organization_id).where(Product.gtin == gtin)).first()
    if used is not None and used != organization.id:
        raise ValidationError({"gtin": _l("Another organization's product has this GTIN.")})
    session.add(AssignedGtin(gtin=gtin, organization_id=organization.id))
    session.flush()
    return gtin


def ownership_problem(session: Session, organization_id: int, gtin: str) -> str | None:
    """Why this organization may not register a product with this GTIN, or None when it may."""
    holder = _prefix_holder(session, gtin)
    if holder is not None:
        if holder.organization_id == organization_id:
            return None
        return _l("This GTIN is under another organization's GS1 company prefix (%(prefix)s).", prefix=holder.prefix)
    assigned = session.get(AssignedGtin, gtin)
    if assigned is not None and assigned.organization_id == organization_id:
        return None
    own = prefixes_of(session, organization_id)
    if own:
        return _l("Your GTINs must begin with your GS1 company prefix (%(prefixes)s), or be assigned to you by the "
                  "ward administrator.", prefixes=", ".join(own))
    return _l("Your organization has no GS1 company prefix or assigned GTIN yet: ask the ward administrator to "
              "register the ones GS1 Vietnam gave you.")


def next_free_gtin(session: Session, organization_id: int) -> str:
    """A GTIN for a new product: the first free one under the organization's prefixes, else an unused
    assigned one."""
    taken = set(session.exec(select(Product.gtin)).all())
    for prefix in prefixes_of(session, organization_id):
        try:
            return allocate_gtin(prefix, taken)
        except ValidationError:
            continue  # this prefix is full; try the next
    for gtin in assigned_gtins_of(session, organization_id):
        if gtin not in taken:
            return gtin
    raise ValidationError({"gtin": _l("No GTIN is free: ask the ward administrator to register your GS1 company "
                                      "prefix or assign GTINs to you.")})


def organization_or_404(session: Session, organization_id: int) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()
    return organization


def all_organizations(session: Session) -> list:
    """(organization, its prefixes, number of active users), by kind then name."""
    organizations = session.exec(select(Organization).order_by(Organization.kind, Organization.name)).all()
    prefixes = {}
    for row in session.exec(select(CompanyPrefix).order_by(CompanyPrefix.prefix)).all():
        prefixes.setdefault(row.organization_id, []).append(row.prefix)
    users = {}
    for organization_id in session.exec(select(User.organization_id).where(User.disabled_at.is_(None))).all():
        users[organization_id] = users.get(organization_id, 0) + 1
    return [(o, prefixes.get(o.id, []), users.get(o.id, 0)) for o in organizations]
