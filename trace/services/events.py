"""The kinds of event the service records, each mapped onto one EPCIS 2.0 event shape, and the corrected history."""
from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import select

from ..models import Event

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


def new_event(organization_id: int, step: str, moment: tuple, user_id, batch_id=None, site_id=None,
              details=None, **columns) -> Event:
    epcis_type, action, biz_step, disposition = STEPS[step]
    return Event(organization_id=organization_id, batch_id=batch_id, site_id=site_id, step=step,
                 epcis_type=epcis_type, action=action, biz_step=biz_step, disposition=disposition,
                 event_time=moment[0], event_time_zone_offset=moment[1], details=details or {},
                 actor_user_id=user_id, **columns)


def clean(details: dict) -> dict:
    """Details as JSON-ready values, empty ones left out."""
    return {k: (str(v) if not isinstance(v, (int, str, bool)) else v) for k, v in details.items() if v not in (None, "")}


def in_force(event=Event):
    """SQL condition: a recorded event (not a correction) that no correction declared erroneous."""
    correction = aliased(Event)
    return and_(event.step != ERROR_DECLARATION,
                ~exists().where(correction.corrects_event_id == event.id))


def corrections_of(session, event_ids) -> dict:
    """event id -> the error declaration that voids it, for the events among `event_ids` that have one."""
    if not event_ids:
        return {}
    rows = session.exec(select(Event).where(Event.corrects_event_id.in_(list(event_ids)))).all()
    return {row.corrects_event_id: row for row in rows}
