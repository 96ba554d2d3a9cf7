"""What producers register and record: areas, products, certificates, OCOP ratings and a batch's events."""
import io
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from ..db import savepoint
from ..models import (
    CERTIFICATE_STATUSES,
    FARMING_METHODS,
    MAX_ID,
    OCOP_LEVELS,
    POND_SITE_KINDS,
    PRODUCTION_SITE_KINDS,
    SCHEMES,
    SITE_KINDS,
    Batch,
    Certificate,
    CertificateProduct,
    CertificateSite,
    CertificateStatusChange,
    Event,
    EventLot,
    Lot,
    OcopRating,
    Product,
    Site,
)
from . import organizations, safety
from .errors import NotFound, ValidationError
from .events import clean, corrections_of, in_force, new_event
from .gs1 import code_problem, normalize_gtin
from .ledger import Ledger
from .lineage import event_ids
from .parse import Reader, local_datetime, local_day, row_by_id
from .units import UNITS

INPUT_CATEGORIES = ("fertiliser", "pesticide", "feed", "veterinary_drug")
WITHHOLDING_REQUIRED = ("pesticide", "veterinary_drug")
MAX_IMAGE_BYTES = 3 * 1024 * 1024
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_IMAGE_PIXELS = 50_000_000  # a 50-megapixel phone photo; a decompression bomb has far more


def owned(session: Session, model, object_id, organization_id: int):
    """A row of `model` that belongs to the organization, else NotFound (never says which)."""
    row = row_by_id(session, model, object_id)
    if row.organization_id != organization_id:
        raise NotFound()
    return row


def insert_unique(session: Session, row, field_name: str, message) -> None:
    """Write a row whose unique key was checked free: taken meanwhile by another request, it is the same field
    error, and the caller's transaction goes on (a savepoint), rather than a failed request."""
    try:
        with savepoint(session):
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ValidationError({field_name: message}) from None


def _owned_field(session, reader: Reader, model, name: str, organization_id: int, required=True):
    """An id field naming one of the organization's rows; a foreign or missing id is a field error."""
    value = reader.integer(name, required=required, minimum=1, maximum=MAX_ID)
    if value is None:
        return None
    try:
        return owned(session, model, value, organization_id)
    except NotFound:
        reader.errors[name] = _l("No such item in your organization.")
        return None


# --- production areas and other sites ---

def create_site(session: Session, organization_id: int, data) -> Site:
    r = Reader(data)
    kind = r.choice("kind", SITE_KINDS)
    site = Site(
        organization_id=organization_id, kind=kind or "",
        name=r.text("name"), crop=r.text("crop", required=kind in PRODUCTION_SITE_KINDS, max_length=120),
        area_ha=r.decimal("area_ha", required=kind in PRODUCTION_SITE_KINDS),
        farming_method=r.choice("farming_method", FARMING_METHODS, required=kind in POND_SITE_KINDS),
        address=r.text("address", required=False, max_length=300), location=r.location("location"),
    )
    if site.farming_method and kind not in POND_SITE_KINDS:
        r.errors.setdefault("farming_method", _l("A farming method applies to ponds and cages only."))
    r.done()
    session.add(site)
    session.flush()
    return site


def list_sites(session: Session, organization_id: int) -> list:
    return session.exec(select(Site).where(Site.organization_id == organization_id).order_by(Site.name)).all()


# --- products and OCOP ---

def create_product(session: Session, organization_id: int, data, image: bytes | None = None) -> Product:
    """A product under a GTIN the organization owns: given, it must fall under one of its GS1 company prefixes
    or be assigned to it; left out, the next free one is taken."""
    r = Reader(data)
    product = Product(
        organization_id=organization_id, name_vi=r.text("name_vi"),
        name_en=r.text("name_en", required=False), category=r.text("category", required=False, max_length=60),
        unit=r.choice("unit", UNITS), shelf_life_days=r.integer("shelf_life_days", required=False, minimum=1, maximum=3650),
    )
    if r.present("gtin"):
        try:
            product.gtin = normalize_gtin(str(r.text("gtin", max_length=20) or ""))
        except ValidationError as exc:
            r.errors.setdefault("gtin", exc.errors["gtin"])  # too long or not text: that message, not "digits only"
        else:
            if session.exec(select(Product.id).where(Product.gtin == product.gtin)).first():
                r.errors["gtin"] = _l("This GTIN is already registered.")
            else:
                problem = organizations.ownership_problem(session, organization_id, product.gtin)
                if problem:
                    r.errors["gtin"] = problem
    else:
        try:
            product.gtin = organizations.next_free_gtin(session, organization_id)
        except ValidationError as exc:
            r.errors.update(exc.errors)
    if image is not None:
        try:
            product.image, product.image_type = prepare_image(image)
        except ValidationError as exc:
            r.errors.update(exc.errors)
    r.done()
    insert_unique(session, product, "gtin", _l("This GTIN is already registered."))
    return product


def prepare_image(raw: bytes) -> tuple:
    """A product photo scaled to at most 480 px and stored as JPEG, small enough for a phone on 3G."""
    if len(raw) > MAX_IMAGE_BYTES:
        raise ValidationError({"image": _l("The image is larger than 3 MB.")})
    too_large = ValidationError({"image": _l("The image is too large: at most %(max)s megapixels.",
                                             max=MAX_IMAGE_PIXELS // 10**6)})
    try:
        # Only the formats a phone takes photos in: no other decoder (EPS would run Ghostscript) is ever tried.
        image = Image.open(io.BytesIO(raw), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise too_large from None
    except Exception:  # Pillow raises many kinds of error on hostile or broken files
        raise ValidationError({"image": _l("This file is not a photo: use JPEG, PNG or WebP.")}) from None
    if image.width * image.height > MAX_IMAGE_PIXELS:  # read from the header, before anything is decoded
        raise too_large
    try:
        image.draft("RGB", (960, 960))  # a JPEG is decoded at a fraction of its size when that is enough
        image.load()
    except Exception:
        raise ValidationError({"image": _l("This file is not a photo: use JPEG, PNG or WebP.")}) from None
    image = image.convert("RGB")
    image.thumbnail((480, 480))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue(), "image/jpeg"


def list_products(session: Session, organization_id: int) -> list:
    return session.exec(select(Product).where(Product.organization_id == organization_id)
                        .order_by(Product.name_vi)).all()


def add_ocop_rating(session: Session, organization_id: int, product_id, data) -> OcopRating:
    product = owned(session, Product, product_id, organization_id)
    r = Reader(data)
    issued_on = r.date("issued_on")
    rating = OcopRating(
        product_id=product.id, stars=r.integer("stars", minimum=1, maximum=5),
        decision_number=r.text("decision_number", max_length=60), issued_on=issued_on,
        valid_until=r.date("valid_until", required=False), issuing_level=r.choice("issuing_level", OCOP_LEVELS),
    )
    if issued_on and rating.valid_until is None:
        # Decision 1048/QĐ-TTg: an OCOP certificate is valid for 36 months.
        rating.valid_until = _add_months(issued_on, 36) - timedelta(days=1)
    if issued_on and rating.valid_until and rating.valid_until <= issued_on:
        r.errors.setdefault("valid_until", _l("Must be after the date of issue."))
    r.done()
    session.add(rating)
    session.flush()
    return rating


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def ocop_ratings(session: Session, product_id: int) -> list:
    return session.exec(select(OcopRating).where(OcopRating.product_id == product_id)
                        .order_by(OcopRating.issued_on.desc())).all()


# --- certificates ---

def create_certificate(session: Session, organization_id: int, data) -> Certificate:
    r = Reader(data)
    certificate = Certificate(
        organization_id=organization_id, scheme=r.choice("scheme", SCHEMES),
        standard=r.text("standard", required=False, max_length=120), certifier=r.text("certifier"),
        certifier_en=r.text("certifier_en", required=False, max_length=200) or "",
        number=r.text("number", max_length=60), valid_from=r.date("valid_from"), valid_to=r.date("valid_to"),
    )
    if certificate.valid_from and certificate.valid_to:
        if certificate.valid_to < certificate.valid_from:
            r.errors.setdefault("valid_to", _l("Must not be before the start of validity."))
        elif certificate.scheme == "vietgap" and certificate.valid_to > _add_months(certificate.valid_from, 24):
            r.errors.setdefault("valid_to", _l("A VietGAP certificate is valid for at most 2 years."))
    site_ids, product_ids = r.ids("site_ids"), r.ids("product_ids")
    # One query each, whatever the number of ids (at most 1,000, see Reader.ids).
    sites = session.exec(select(Site).where(Site.id.in_(site_ids), Site.organization_id == organization_id)).all() \
        if site_ids else []
    products = session.exec(select(Product).where(Product.id.in_(product_ids),
                                                  Product.organization_id == organization_id)).all() \
        if product_ids else []
    if len(sites) != len(site_ids) or len(products) != len(product_ids):
        r.errors.setdefault("scope", _l("The scope names an area or product that is not yours."))
    elif not sites and not products:
        r.errors.setdefault("scope", _l("Choose the areas and/or products the certificate covers."))
    if certificate.scheme and certificate.certifier and certificate.number and session.exec(
            select(Certificate.id).where(Certificate.scheme == certificate.scheme,
                                         Certificate.certifier == certificate.certifier,
                                         Certificate.number == certificate.number)).first():
        r.errors.setdefault("number", _l("This certificate is already registered."))
    r.done()
    insert_unique(session, certificate, "number", _l("This certificate is already registered."))
    session.add_all([CertificateSite(certificate_id=certificate.id, site_id=s.id) for s in sites])
    session.add_all([CertificateProduct(certificate_id=certificate.id, product_id=p.id) for p in products])
    session.flush()
    return certificate


def change_certificate_status(session: Session, organization_id: int, certificate_id, data) -> CertificateStatusChange:
    certificate = owned(session, Certificate, certificate_id, organization_id)
    r = Reader(data)
    change = CertificateStatusChange(certificate_id=certificate.id,
                                     status=r.choice("status", CERTIFICATE_STATUSES),
                                     effective_on=r.date("effective_on"),
                                     reason=r.text("reason", required=False, max_length=300))
    r.done()
    session.add(change)
    session.flush()
    return change


def list_certificates(session: Session, organization_id: int) -> list:
    return session.exec(select(Certificate).where(Certificate.organization_id == organization_id)
                        .order_by(Certificate.valid_to.desc())).all()


# --- a batch's life ---

def start_batch(ledger: Ledger, data) -> Batch:
    """Planting (fields) or stocking (ponds and cages): the first event of a batch."""
    session, organization_id = ledger.session, ledger.organization_id
    r = Reader(data)
    site = _owned_field(session, r, Site, "site_id", organization_id)
    product = _owned_field(session, r, Product, "product_id", organization_id)
    code = r.text("code", max_length=40)
    moment = r.moment("time", ledger.zone)
    if site and site.kind not in PRODUCTION_SITE_KINDS:
        r.errors.setdefault("site_id", _l("Choose a production area (field, orchard, pond…)."))
    step = "stocking" if site and site.kind in POND_SITE_KINDS else "planting"
    details = {"species" if step == "stocking" else "variety": r.text("variety", required=False),
               "quantity": r.decimal("seed_quantity", required=False),
               "unit": r.text("seed_unit", required=False, max_length=20),
               "source": r.text("seed_source", required=False)}
    if code and session.exec(select(Batch.id).where(Batch.organization_id == organization_id, Batch.code == code)).first():
        r.errors.setdefault("code", _l("You already have a batch with this code."))
    r.done()
    batch = Batch(organization_id=organization_id, site_id=site.id, product_id=product.id, code=code,
                  started_on=local_day(moment))
    insert_unique(session, batch, "code", _l("You already have a batch with this code."))
    ledger.record(new_event(organization_id, step, moment, ledger.user_id, batch.id, site.id, clean(details)), [],
                  batch_code=batch.code, extra={"product": product.gtin})
    return batch


def record_input(ledger: Ledger, batch_id, data) -> Event:
    """Fertiliser, pesticide, feed or veterinary drug applied to a batch, with its withholding period."""
    batch = owned(ledger.session, Batch, batch_id, ledger.organization_id)
    r = Reader(data)
    category = r.choice("category", INPUT_CATEGORIES)
    details = {
        "category": category, "input_name": r.text("input_name"),
        "dose": r.decimal("dose"), "dose_unit": r.text("dose_unit", max_length=20),
        "withholding_days": r.integer("withholding_days", required=category in WITHHOLDING_REQUIRED,
                                      minimum=0, maximum=365),
        "note": r.text("note", required=False, max_length=300),
    }
    moment = r.moment("time", ledger.zone)
    _not_before_start(r, batch, moment)
    r.done()
    event = new_event(ledger.organization_id, "input_application", moment, ledger.user_id, batch.id, batch.site_id,
                      clean(details))
    ledger.record(event, [], batch_code=batch.code)
    if details["withholding_days"]:
        end = moment[0] + timedelta(days=details["withholding_days"])
        ledger.withholding_periods(batch.id).append((moment[0], end, event))
        # Entered late, or after the harvest in the same document: a harvest inside this interval gets its lot
        # flagged now.
        with ledger.session.no_autoflush:
            harvests = ledger.session.exec(
                select(Event, Lot).join(EventLot, EventLot.event_id == Event.id).join(Lot, Lot.id == EventLot.lot_id)
                .where(Event.batch_id == batch.id, Event.step == "harvest", in_force(),
                       Event.event_time >= moment[0], Event.event_time < end)).all()
        harvested = [((harvest.event_time, harvest.event_time_zone_offset), lot) for harvest, lot in harvests]
        harvested += [(when, lot) for when, lot in ledger.pending_harvests.get(batch.id, [])
                      if moment[0] <= when[0] < end]
        for when, lot in harvested:
            if not any(flag.kind == safety.PRE_HARVEST_INTERVAL and flag.resolution is None
                       for flag in ledger.status(lot).flags):
                ledger.flag(lot, safety.PRE_HARVEST_INTERVAL, early_harvest(when, details["input_name"], end))
    return event


def early_harvest(harvested: tuple, input_name: str, end) -> dict:
    """What a pre-harvest flag says, worded in the reader's language when shown (safety.flag_reason)."""
    return {"harvest": local_datetime(*harvested).strftime("%d/%m/%Y %H:%M"), "input": input_name,
            "end": local_datetime(end, harvested[1]).strftime("%d/%m/%Y %H:%M")}


def _not_before_start(r: Reader, batch: Batch, moment) -> None:
    if moment and local_day(moment) < batch.started_on:
        r.errors.setdefault("time", _l("Before the batch started (%(day)s).", day=batch.started_on.strftime("%d/%m/%Y")))


def record_harvest(ledger: Ledger, batch_id, data) -> Lot:
    """Harvest (or catch) creates a lot under its lot code: EPCIS commissioning.

    A harvest inside a pre-harvest interval or withdrawal period is recorded as it happened, and its lot
    flagged: no label until an inspector clears it.
    """
    session = ledger.session
    batch = owned(session, Batch, batch_id, ledger.organization_id)
    r = Reader(data)
    code = r.text("lot_code")
    if code is not None:
        problem = code_problem(code)
        if problem is not None:
            r.errors["lot_code"] = problem
    quantity = r.decimal("quantity", places=3)
    unit = r.choice("unit", UNITS)
    moment = r.moment("time", ledger.zone)
    _not_before_start(r, batch, moment)
    product = ledger.get(Product, batch.product_id)
    if "lot_code" not in r.errors and code and ledger.find_lot(product.gtin, code) is not None:
        r.errors["lot_code"] = _l("This product already has a lot with this code.")
    r.done()
    lot = ledger.new_lot(product, code, quantity, unit, local_day(moment), batch.id)
    event = new_event(ledger.organization_id, "harvest", moment, ledger.user_id, batch.id, batch.site_id,
                      clean({"lot_code": code, "quantity": quantity, "unit": unit}))
    ledger.record(event, [("output", lot, product.gtin, quantity, unit)], batch_code=batch.code)
    ledger.pending_harvests.setdefault(batch.id, []).append((moment, lot))
    # Only an input applied before the harvest can leave residues in it; of those still running, the one that
    # runs longest is named.
    running = [(end, application) for start, end, application in ledger.withholding_periods(batch.id)
               if start <= moment[0] < end]
    if running:
        end, application = max(running, key=lambda period: period[0])
        ledger.flag(lot, safety.PRE_HARVEST_INTERVAL, early_harvest(moment, application.details.get("input_name", ""),
                                                                    end))
    return lot


@dataclass
class TimelineEntry:
    event: Event
    site: Site | None
    lots: list
    correction: Event | None = None  # the error declaration that voids this event, if any


def timeline(session: Session, organization_id: int, batch_id) -> tuple:
    """(batch, entries) oldest first: everything that happened to the batch and its lots."""
    batch = owned(session, Batch, batch_id, organization_id)
    lot_ids = session.exec(select(Lot.id).where(Lot.batch_id == batch.id)).all()
    rows = session.exec(
        select(Event, Site).outerjoin(Site, Site.id == Event.site_id)
        .where(Event.id.in_(event_ids(session, lot_ids, [batch.id])), Event.step != "error_declaration")
        .order_by(Event.event_time, Event.id)
    ).all()
    corrections = corrections_of(session, [event.id for event, _ in rows])
    entries = []
    for event, site in rows:
        lots = session.exec(select(Lot).join(EventLot, EventLot.lot_id == Lot.id)
                            .where(EventLot.event_id == event.id)).all()
        entries.append(TimelineEntry(event, site, lots, corrections.get(event.id)))
    return batch, entries


def harvests_of(session: Session, batch_ids) -> dict:
    """{batch id: (lots harvested, day of the last harvest)} of those batches harvested at least once."""
    rows = session.exec(select(Lot.batch_id, func.count(Lot.id), func.max(Lot.produced_on))
                        .where(Lot.batch_id.in_(list(batch_ids))).group_by(Lot.batch_id)).all()
    return {batch_id: (count, last) for batch_id, count, last in rows}


def list_batches(session: Session, organization_id: int) -> list:
    return session.exec(
        select(Batch, Site, Product).join(Site, Site.id == Batch.site_id).join(Product, Product.id == Batch.product_id)
        .where(Batch.organization_id == organization_id).order_by(Batch.started_on.desc(), Batch.id.desc())
    ).all()
