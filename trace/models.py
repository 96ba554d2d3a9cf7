"""Tables. Events are append-only; statuses at a date are computed from dated rows, never stored as flags."""
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, Numeric, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


PRODUCER_KINDS = ("farm_household", "cooperative", "enterprise")
SITE_KINDS = (
    "rice_field", "vegetable_plot", "field_crop_plot", "orchard", "flower_field", "brackish_pond",
    "freshwater_pond", "river_cage", "forest_plot", "processing_facility", "packhouse", "warehouse", "store",
)
PRODUCTION_SITE_KINDS = SITE_KINDS[:9]
POND_SITE_KINDS = ("brackish_pond", "freshwater_pond", "river_cage")
FARMING_METHODS = ("extensive", "semi_intensive", "intensive", "high_tech")
SCHEMES = ("vietgap", "globalgap", "organic", "halal")
CERTIFICATE_STATUSES = ("active", "suspended", "revoked")
OCOP_LEVELS = ("ward", "city", "national")
MAX_ID = 2**31 - 1  # PostgreSQL "integer"; larger ids cannot exist, so they are simply not found


class Organization(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    # As English pages show them; empty when the organization has given none (the Vietnamese is shown).
    name_en: str = Field(default="", max_length=200)
    address_en: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=30)
    registration_number: str = Field(default="", max_length=50)
    tax_code: str = Field(default="", max_length=14)
    gln: str | None = Field(default=None, max_length=13)
    created_at: datetime = Field(default_factory=utcnow)


class CompanyPrefix(SQLModel, table=True):
    """A GS1 company prefix licensed to an organization: the GTINs it may register start with it."""
    prefix: str = Field(primary_key=True, max_length=12)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class AssignedGtin(SQLModel, table=True):
    """A GTIN assigned to an organization one by one (it holds no company prefix of its own)."""
    gtin: str = Field(primary_key=True, max_length=14)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class User(UserMixin, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    locale: str | None = Field(default=None, max_length=5)
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.disabled_at is None

    def get_id(self) -> str:
        """The login this request belongs to ('user id.login token'), which both cookies carry: ending the
        login ends them."""
        from flask import g
        return g.get("login_id") or str(self.id)


class LoginSession(SQLModel, table=True):
    """One login of a user, named by its session cookie and, when asked for, its remember-me cookie."""
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    remember: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class LabelReport(SQLModel, table=True):
    """A shopper's one-tap report of a label that did not check out, for the ward's inspectors."""
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2100)
    status: str = Field(max_length=20)  # the verdict when reported, checked again by the service
    client: str = Field(max_length=32)  # a keyed hash of address and browser, as for scans
    reported_at: datetime = Field(default_factory=utcnow, index=True)


class AccountLink(SQLModel, table=True):
    """A one-time link the administrator passes on: an invitation to open an account, or a password reset."""
    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=10)  # "invite" or "reset"
    organization_id: int = Field(foreign_key="organization.id", index=True)
    email: str = Field(max_length=254)
    role: str = Field(max_length=20)
    name: str = Field(default="", max_length=120)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)  # the account a reset is for
    token_hash: str = Field(max_length=64, unique=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")  # none: made on the command line
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(default="", max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    crop: str = Field(default="", max_length=120)
    area_ha: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4)))
    farming_method: str | None = Field(default=None, max_length=20)
    address: str = Field(default="", max_length=300)
    # GeoJSON geometry: a Point or a Polygon, longitude first as GeoJSON says.
    location: dict | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class Product(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    gtin: str = Field(max_length=14, unique=True)
    name_vi: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=60)
    unit: str = Field(default="kg", max_length=20)
    shelf_life_days: int | None = None
    image: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    image_type: str | None = Field(default=None, max_length=30)
    created_at: datetime = Field(default_factory=utcnow)


class OcopRating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    stars: int
    decision_number: str = Field(max_length=60)
    issued_on: date
    valid_until: date
    issuing_level: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow)


class Certificate(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("scheme", "certifier", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    scheme: str = Field(max_length=20)
    standard: str = Field(default="", max_length=120)
    certifier: str = Field(max_length=200)
    certifier_en: str = Field(default="", max_length=200)  # the certifier's English name, if it has one
    number: str = Field(max_length=60)
    valid_from: date
    valid_to: date
    created_at: datetime = Field(default_factory=utcnow)


class CertificateSite(SQLModel, table=True):
    certificate_id: int = Field(foreign_key="certificate.id", primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True)


class CertificateProduct(SQLModel, table=True):
    certificate_id: int = Field(foreign_key="certificate.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True)


class CertificateStatusChange(SQLModel, table=True):
    """Suspensions and revocations, dated, so a certificate's status on any day can be computed."""
    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    status: str = Field(max_length=20)
    effective_on: date
    reason: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow)


class Batch(SQLModel, table=True):
    """One crop cycle on a field or one stocking of a pond, from planting to harvest."""
    __table_args__ = (UniqueConstraint("organization_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    code: str = Field(max_length=40)
    started_on: date
    created_at: datetime = Field(default_factory=utcnow)


class Lot(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("product_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    code: str = Field(max_length=20)
    quantity: Decimal = Field(sa_column=Column(Numeric(14, 3), nullable=False))
    unit: str = Field(max_length=20)
    produced_on: date  # harvest, catch or processing date, local
    # The highest label serial ever reserved for this lot: raised by one guarded UPDATE per run, so two runs at
    # once take different ranges; the database also refuses overlapping runs (migration 0003).
    serials_issued: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow)


class Holding(SQLModel, table=True):
    """How much of a lot an organization holds now, in the lot's unit; the database refuses a negative stock."""
    __table_args__ = (CheckConstraint("quantity >= 0", name="ck_holding_not_negative"),)
    lot_id: int = Field(foreign_key="lot.id", primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", primary_key=True, index=True)
    quantity: Decimal = Field(sa_column=Column(Numeric(14, 3), nullable=False))


class Shipment(SQLModel, table=True):
    """Goods sent to another organization under a delivery note or invoice, until that organization receives them."""
    id: int | None = Field(default=None, primary_key=True)
    from_organization_id: int = Field(foreign_key="organization.id", index=True)
    to_organization_id: int = Field(foreign_key="organization.id", index=True)
    reference_type: str = Field(max_length=10)  # CBV business transaction type: desadv, inv, po, bol
    reference: str = Field(max_length=60)
    status: str = Field(default="in_transit", max_length=12)  # in_transit, received, cancelled
    created_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """Append-only record of what happened, shaped to map 1:1 onto an EPCIS 2.0 event.

    A wrong event is never changed: an error declaration (step 'error_declaration', `corrects_event_id`)
    says it was wrong, and every view and query leaves it out of the corrected history.
    """
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    step: str = Field(max_length=30)
    epcis_type: str = Field(max_length=30)
    action: str | None = Field(default=None, max_length=10)
    biz_step: str = Field(max_length=120)
    disposition: str | None = Field(default=None, max_length=60)
    parent_id: str | None = Field(default=None, max_length=100, index=True)  # a container (SSCC) packed or unpacked
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id", index=True)
    event_time: datetime  # stored in UTC; the offset where it happened is kept beside it
    event_time_zone_offset: str = Field(max_length=6)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    corrects_event_id: int | None = Field(default=None, foreign_key="event.id", unique=True)
    hash_id: str | None = Field(default=None, max_length=120, unique=True)  # CBV 2.0 event hash ID
    # For an event captured from an EPCIS document: the hash ID of the event as it was sent, which differs from
    # hash_id when the sender wrote it otherwise (other identifiers, fields we do not keep); capturing it again
    # finds it by either.
    captured_hash_id: str | None = Field(default=None, max_length=120, unique=True)
    recorded_at: datetime = Field(default_factory=utcnow)
    shipment: Shipment | None = Relationship()


class EventLot(SQLModel, table=True):
    """Lots an event consumed (input), produced (output) or handled (observed), with quantities in the lot's unit."""
    __table_args__ = (Index("ix_eventlot_lot_role", "lot_id", "role"),)
    event_id: int = Field(foreign_key="event.id", primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", primary_key=True)
    role: str = Field(max_length=10, primary_key=True)
    quantity: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 3)))
    unit: str | None = Field(default=None, max_length=20)
    event: Event | None = Relationship()
    lot: Lot | None = Relationship()


class SigningKey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kid: int = Field(unique=True)
    algorithm: str = Field(default="Ed25519", max_length=20)
    public_key: str = Field(max_length=64)  # base64url, raw 32 bytes
    status: str = Field(default="active", max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = Field(default=None, max_length=300)


class LabelRun(SQLModel, table=True):
    """One issuance of serials first..last for a lot, signed by one key; issued whole or not at all.

    A run written by a command stays 'pending' until its file is complete: a process killed half-way leaves
    its serials reserved (never reused) but not issued. A cancelled run's labels verify as 'cancelled'.
    """
    __table_args__ = (CheckConstraint("first_serial >= 1 AND last_serial >= first_serial", name="ck_labelrun_range"),)
    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    signing_key_id: int = Field(foreign_key="signingkey.id")
    first_serial: int
    last_serial: int
    status: str = Field(default="issued", max_length=10, sa_column_kwargs={"server_default": "issued"})
    over_issue_reason: str | None = Field(default=None, max_length=500)
    issued_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    issued_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None
    cancelled_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    cancel_reason: str | None = Field(default=None, max_length=500)

    @property
    def count(self) -> int:
        return self.last_serial - self.first_serial + 1


class LabelFile(SQLModel, table=True):
    """A printable file of a run (or part of one) in one layout, rendered by the background worker."""
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="labelrun.id", index=True)
    first_serial: int
    last_serial: int
    layout: str = Field(max_length=20)
    status: str = Field(default="queued", max_length=10)  # queued, rendering, ready, failed
    done: int = 0
    error: str | None = Field(default=None, max_length=500)
    requested_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None

    @property
    def total(self) -> int:
        return self.last_serial - self.first_serial + 1


class Scan(SQLModel, table=True):
    """One look at a label: the client only as a salted hash, never its address."""
    # The client in the index lets the distinct-client count read the index alone.
    __table_args__ = (Index("ix_scan_lot_serial_client", "lot_id", "serial", "client"),)
    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id")
    serial: int
    status: str = Field(max_length=20)
    client: str = Field(max_length=64)
    organization_id: int | None = Field(default=None, foreign_key="organization.id")  # a signed-in verifier's
    scanned_at: datetime = Field(default_factory=utcnow)


class Recall(SQLModel, table=True):
    """A lot called back, with every lot made from it (RecallLot); lifting it is an inspector's act with a reason."""
    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    organization_id: int = Field(foreign_key="organization.id")  # who ordered it
    user_id: int | None = Field(default=None, foreign_key="user.id")
    reason: str = Field(max_length=500)
    recalled_at: datetime = Field(default_factory=utcnow)
    lifted_at: datetime | None = None
    lifted_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    lift_reason: str | None = Field(default=None, max_length=500)


class RecallLot(SQLModel, table=True):
    recall_id: int = Field(foreign_key="recall.id", primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", primary_key=True, index=True)
    depth: int = 0


class LotFlag(SQLModel, table=True):
    """A lot that may not be labelled (harvested inside a pre-harvest interval), nor anything made from it,
    until an inspector clears it with a reason or it is destroyed."""
    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    kind: str = Field(max_length=30)
    reason: str = Field(default="", max_length=500)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # to word the reason in any language
    raised_at: datetime = Field(default_factory=utcnow)
    resolution: str | None = Field(default=None, max_length=12)  # cleared, destroyed
    resolved_at: datetime | None = None
    resolved_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    resolution_reason: str | None = Field(default=None, max_length=500)
    resolution_reference: str | None = Field(default=None, max_length=120)


class Revision(SQLModel, table=True):
    """One row counting committed changes to what a scan shows; cached scan facts are valid for one value."""
    id: int = Field(default=1, primary_key=True)
    value: int = 0
