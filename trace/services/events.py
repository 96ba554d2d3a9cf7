"""The kinds of event the service records, each mapped onto one EPCIS 2.0 event shape, and the corrected history."""
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import select

from ..models import Event, utcnow

CUSTOM_STEP = "urn:thuynguyen-trace:bizstep:"
CBV_STEP = "https://ref.gs1.org/cbv/BizStep-"
CBV_DISPOSITION = "https://ref.gs1.org/cbv/Disp-"
# step: (EPCIS event type, action, business step, disposition). Standard steps are CBV 2.0 web URIs (exported as
# their bare words); planting, stocking and input applications have no CBV word and keep our own URN.
STEPS = {
    "planting": ("ObjectEvent", "OBSERVE", CUSTOM_STEP + "planting", None),
    "stocking": ("ObjectEvent", "OBSERVE", CUSTOM_STEP + "stocking", None),
    "input_application": ("ObjectEvent", "OBSERVE", CUSTOM_STEP + "input_application", None),
    "harvest": ("ObjectEvent", "ADD", CBV_STEP + "commissioning", CBV_DISPOSITION + "active"),
    "transformation": ("TransformationEvent", None, CBV_STEP + "commissioning", CBV_DISPOSITION + "active"),
    "packing": ("AggregationEvent", "ADD", CBV_STEP + "packing", CBV_DISPOSITION + "in_progress"),
    "unpacking": ("AggregationEvent", "DELETE", CBV_STEP + "unpacking", CBV_DISPOSITION + "in_progress"),
    "storing": ("ObjectEvent", "OBSERVE", CBV_STEP + "storing", CBV_DISPOSITION + "in_progress"),
    "shipping": ("ObjectEvent", "OBSERVE", CBV_STEP + "shipping", CBV_DISPOSITION + "in_transit"),
    "receiving": ("ObjectEvent", "OBSERVE", CBV_STEP + "receiving", CBV_DISPOSITION + "in_progress"),
    "destroying": ("ObjectEvent", "DELETE", CBV_STEP + "destroying", CBV_DISPOSITION + "destroyed"),
}
# A correction is stored as its own row pointing at the event it declares wrong (EPCIS errorDeclaration).
ERROR_DECLARATION = "error_declaration"
ERROR_REASONS = ("incorrect_data", "did_not_occur")


@dataclass
class NewShipment:
    """A shipment being recorded; written with its shipping event, when the ledger is flushed."""
    from_organization_id: int
    to_organization_id: int
    reference_type: str
    reference: str
    status: str = "in_transit"
    created_at: datetime = field(default_factory=utcnow)
    id: int | None = None

    def row(self) -> dict:
        return {name: getattr(self, name) for name in ("from_organization_id", "to_organization_id", "reference_type",
                                                       "reference", "status", "created_at")}

    @staticmethod
    def key_of(row) -> tuple:
        created = row["created_at"]  # aware here, naive UTC from SQLite: compared in UTC either way
        created = created if created.tzinfo is None else created.astimezone(UTC).replace(tzinfo=None)
        return (row["from_organization_id"], row["to_organization_id"], row["reference_type"], row["reference"],
                created.isoformat())


@dataclass
class NewEvent:
    """An event being recorded, with the attributes of an Event row; the ledger writes many at once (an ORM
    object costs more to build than the rest of recording an event), and fills in `id` when it does."""
    organization_id: int
    step: str
    epcis_type: str
    action: str | None
    biz_step: str
    disposition: str | None
    event_time: datetime
    event_time_zone_offset: str
    details: dict
    actor_user_id: int | None = None
    batch_id: int | None = None
    site_id: int | None = None
    parent_id: str | None = None
    shipment_id: int | None = None
    shipment: NewShipment | None = None
    corrects_event_id: int | None = None
    hash_id: str | None = None
    captured_hash_id: str | None = None
    recorded_at: datetime = field(default_factory=utcnow)
    id: int | None = None

    def row(self) -> dict:
        return {name: getattr(self, name) for name in EVENT_COLUMNS}


EVENT_COLUMNS = [column.name for column in Event.__table__.columns if column.name != "id"]


def new_event(organization_id: int, step: str, moment: tuple, user_id, batch_id=None, site_id=None,
              details=None, **columns) -> NewEvent:
    epcis_type, action, biz_step, disposition = STEPS[step]
    return NewEvent(organization_id=organization_id, batch_id=batch_id, site_id=site_id, step=step,
                    epcis_type=epcis_type, action=action, biz_step=biz_step, disposition=disposition,
                    event_time=moment[0], event_time_zone_offset=moment[1], details=details or {},
                    actor_user_id=user_id, **columns)


def clean(details: dict) -> dict:
    """Details as JSON-ready values, empty ones left out."""
    return {k: (str(v) if not isinstance(v, (int, str, bool)) else v) for k, v in details.items() if v not in (None, "")}


CORRECTION = aliased(Event)  # one alias for every query, so that SQLAlchemy compiles each statement once


def in_force(event=Event):
    """SQL condition: a recorded event (not a correction) that no correction declared erroneous."""
    return and_(event.step != ERROR_DECLARATION, ~voided(event))


def voided(event=Event):
    """SQL condition: a correction declared the event erroneous."""
    return exists().where(CORRECTION.corrects_event_id == event.id)


def corrections_of(session, event_ids) -> dict:
    """event id -> the error declaration that voids it, for the events among `event_ids` that have one."""
    if not event_ids:
        return {}
    rows = session.exec(select(Event).where(Event.corrects_event_id.in_(list(event_ids)))).all()
    return {row.corrects_event_id: row for row in rows}
