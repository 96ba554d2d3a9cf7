"""EPCIS 2.0 capture: an EPCISDocument's events recorded as if entered by hand, all or nothing.

The document is first checked against the EPCIS 2.0 JSON Schema with formats enforced (jsonschema-rs:
the Python validator takes 3 s for a thousand events). Each event is then read into the same fields a
form or the JSON API would send and recorded by the same service function, in document order, in one
Ledger: a later event sees the lots and stock of an earlier one. Every problem of every event is
reported; if there is one, nothing is written. An event already recorded (same hash ID, as sent or as
the service writes it) is skipped, so sending a document twice records it once.
"""
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

import jsonschema_rs
from sqlalchemy import or_
from sqlmodel import Session, select

from ..models import Batch, Event, Organization, Product, Shipment, User
from . import corrections, epcis, event_hash, movements, recording
from .errors import NotFound, ValidationError
from .events import CUSTOM_STEP, ERROR_DECLARATION, NewEvent
from .ledger import Ledger
from .units import FROM_UNECE

SCHEMA = Path(__file__).resolve().parent.parent / "static" / "epcis" / "EPCIS-JSON-Schema.json"
MAX_EVENTS = 10_000


class CaptureError(Exception):
    """The document was refused; `problems` lists every error found, each with its event's index."""

    def __init__(self, problems: list):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s)")


@dataclass
class CaptureResult:
    recorded: list = field(default_factory=list)  # hash IDs, in document order
    skipped: list = field(default_factory=list)  # hash IDs of events already recorded


@lru_cache(maxsize=1)
def validator():
    return jsonschema_rs.Draft7Validator(json.loads(SCHEMA.read_text()), validate_formats=True)


def schema_problems(document) -> list:
    problems = []
    for error in validator().iter_errors(document):
        path = "/".join(str(part) for part in error.instance_path)
        problems.append({"path": "/" + path, "message": error.message})
        if len(problems) >= 100:
            break
    return problems


def capture(session: Session, user: User, document, zone: str) -> CaptureResult:
    if not isinstance(document, dict) or document.get("type") != "EPCISDocument":
        raise CaptureError([{"path": "/type", "message": "Send an EPCISDocument (JSON-LD)."}])
    problems = schema_problems(document)
    if problems:
        raise CaptureError(problems)
    events = document["epcisBody"]["eventList"]
    if len(events) > MAX_EVENTS:
        raise CaptureError([{"path": "/epcisBody/eventList", "message": f"At most {MAX_EVENTS} events a document."}])
    namespaces = event_hash.namespaces_of(document.get("@context", []))
    prehashes = event_hash.document_prehashes(document, events)
    sent_ids = [event_hash.hash_id_of(prehash) for prehash in prehashes]
    known = _known(session, sent_ids)
    ledger = Ledger(session, user.organization_id, user.id, zone)
    reader = EventReader(ledger, namespaces)
    ledger.preload_lots(reader.lot_keys(events))
    reader.preload_batches(events)
    ledger.preload_statuses([found[0].id for found in ledger.lots.values() if found is not None])
    with session.no_autoflush:  # events are written together at the end; lookups go through the ledger
        _record_all(ledger, reader, events, sent_ids, known, problems, result := CaptureResult())
    if problems:
        raise CaptureError(problems)
    ledger.flush()
    return result


def _record_all(ledger, reader, events, sent_ids, known, problems, result) -> None:
    seen = set()
    for index, (event, sent_id) in enumerate(zip(events, sent_ids)):
        declares = "errorDeclaration" in event  # it shares its hash ID with the event it declares wrong
        if (not declares and (sent_id in known or sent_id in seen)) or (declares and reader.declared(event)):
            result.skipped.append(sent_id)
            continue
        seen.add(sent_id)
        checkpoint = ledger.checkpoint()
        try:
            recorded = reader.record(event)
        except ValidationError as exc:
            ledger.restore(checkpoint)
            problems.extend({"event": index, "field": name, "message": message} for name, message in exc.errors.items())
            continue
        except (NotFound, UnreadableEvent) as exc:
            ledger.restore(checkpoint)
            problems.append({"event": index, "message": str(exc) or "Not found."})
            continue
        if recorded is not None and recorded.step != ERROR_DECLARATION:
            recorded.captured_hash_id = sent_id if sent_id != recorded.hash_id else None
            result.recorded.append(recorded.hash_id)
        elif recorded is not None:
            result.recorded.append(sent_id)


def _known(session: Session, ids: list) -> set:
    found = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for hash_id, captured in session.exec(select(Event.hash_id, Event.captured_hash_id).where(
                or_(Event.hash_id.in_(chunk), Event.captured_hash_id.in_(chunk)))).all():
            found |= {hash_id, captured}
    return found


class UnreadableEvent(Exception):
    """An event this service has no way to record."""


def sscc_of(parent) -> str | None:
    """The SSCC of a parentID in any URI form (Digital Link or EPC URI), None without one."""
    if parent is None:
        return None
    link = event_hash.digital_link(parent) if isinstance(parent, str) else None
    if not link or "/00/" not in link:
        raise UnreadableEvent(f"parentID {parent} is not an SSCC.")
    return link.rsplit("/", 1)[1]


def temperature_of(event: dict) -> str | None:
    """The temperature in degrees Celsius a sensor reported with the event, if any."""
    for element in event.get("sensorElementList") or []:
        for report in element.get("sensorReport") or []:
            if report.get("type") in ("Temperature", "gs1:Temperature", "https://gs1.org/voc/Temperature") \
                    and report.get("uom") == "CEL" and "value" in report:
                return str(report["value"])
    return None


STEP_OF = {("ObjectEvent", "ADD", "commissioning"): "harvest",
           ("ObjectEvent", "OBSERVE", "storing"): "storing",
           ("ObjectEvent", "OBSERVE", "shipping"): "shipping",
           ("ObjectEvent", "OBSERVE", "receiving"): "receiving",
           ("ObjectEvent", "DELETE", "destroying"): "destroying",
           ("AggregationEvent", "ADD", "packing"): "packing",
           ("AggregationEvent", "DELETE", "unpacking"): "unpacking",
           ("ObjectEvent", "OBSERVE", CUSTOM_STEP + "planting"): "planting",
           ("ObjectEvent", "OBSERVE", CUSTOM_STEP + "stocking"): "stocking",
           ("ObjectEvent", "OBSERVE", CUSTOM_STEP + "input_application"): "input_application"}


def cbv_word(value):
    """A CBV value as its bare word: JSON-LD lets a partner write `shipping` as the web URI it stands for,
    https://ref.gs1.org/cbv/BizStep-shipping (the schema refuses EPCIS 1.x URNs)."""
    if isinstance(value, str) and value.startswith(event_hash.CBV):
        return value[len(event_hash.CBV):].split("-", 1)[-1]
    return value


class EventReader:
    """Reads one EPCIS event into the fields its recording function takes, and records it."""

    def __init__(self, ledger: Ledger, namespaces: dict):
        self.ledger = ledger
        self.session = ledger.session
        self.namespaces = namespaces
        self.batches = {}
        # Our own fields, under whatever prefix the sender declared for our namespace.
        self.prefixes = [prefix for prefix, iri in namespaces.items() if iri == "{" + epcis.NAMESPACE + "}"]

    def ours(self, event: dict) -> dict:
        """The event's fields in our namespace, by local name."""
        found = {}
        for key, value in event.items():
            prefix, colon, name = key.partition(":")
            if colon and prefix in self.prefixes:
                found[name] = value
            elif key.startswith(epcis.NAMESPACE):
                found[key[len(epcis.NAMESPACE):]] = value
        return found

    def lot_keys(self, events: list) -> list:
        keys = []
        for event in events:
            if isinstance(event, dict):
                for name in ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList"):
                    for element in event.get(name) or []:
                        parsed = epcis.parse_class_uri(element.get("epcClass")) if isinstance(element, dict) else None
                        if parsed:
                            keys.append(parsed)
        return keys

    def step(self, event: dict) -> str:
        kind = event.get("type")
        if kind == "TransformationEvent":
            return "transformation"
        step = STEP_OF.get((kind, event.get("action"), cbv_word(event.get("bizStep"))))
        if step is None:
            raise UnreadableEvent(f"A {kind} with action {event.get('action')} and business step "
                                  f"{event.get('bizStep')} is not something this service records.")
        return step

    def record(self, event: dict):
        step = self.step(event)
        if "errorDeclaration" in event:
            return self.declaration(event)
        fields = self.ours(event)
        data = {"time": event["eventTime"]}
        site = self.site(event)
        if site is not None:
            data["site_id"] = site
        if step in ("planting", "stocking", "input_application"):
            return self.batch_event(step, fields, data)
        if step == "harvest":
            (line,) = self.lines(event.get("quantityList"), "quantityList", 1)
            batch = self.batch(fields)
            product = self.ledger.get(Product, batch.product_id)
            if product.gtin != line["gtin"]:
                raise UnreadableEvent(f"Batch {batch.code} grows GTIN {product.gtin}, not {line['gtin']}.")
            unit = line.get("unit") or product.unit
            data.update({"lot_code": line["lot"], "quantity": line.get("quantity"), "unit": unit})
            return self.ledger_call(recording.record_harvest, batch.id, data)
        if step == "transformation":
            data.update({"process": fields.get("process", "other"), "note": fields.get("note"),
                         "inputs": self.lines(event.get("inputQuantityList"), "inputQuantityList"),
                         "outputs": [{"gtin": line["gtin"], "lot": line["lot"], "quantity": line.get("quantity"),
                                      **({"unit": line["unit"]} if "unit" in line else {})}
                                     for line in self.lines(event.get("outputQuantityList"), "outputQuantityList")]})
            return self.ledger_call(movements.record_transformation, data)
        if step == "packing":
            (line,) = self.lines(event.get("childQuantityList"), "childQuantityList", 1)
            packing_fields = ("package_count", "package_size", "package_unit", "packaging", "packaging_en")
            data.update({key: fields[key] for key in packing_fields if key in fields})
            data.update({"quantity": line.get("quantity"), "sscc": sscc_of(event.get("parentID"))})
            found = self.ledger.find_lot(line["gtin"], line["lot"])
            if found is None:
                raise UnreadableEvent(f"No lot {line['lot']} of GTIN {line['gtin']}.")
            return self.ledger_call(movements.record_packing, found[0].id, data)
        if step == "unpacking":
            data["sscc"] = sscc_of(event.get("parentID"))
            return self.ledger_call(movements.record_unpacking, data)
        if step == "storing":
            (line,) = self.lines(event.get("quantityList"), "quantityList", 1)
            data.update({"gtin": line["gtin"], "lot": line["lot"], "cooling": fields.get("cooling"),
                         "temperature_c": temperature_of(event)})
            return self.ledger_call(movements.record_storing, data)
        if step == "shipping":
            reference_type, reference = self.transaction(event)
            data.update({"to_organization_id": self.party(event, "destinationList", "destination"),
                         "reference_type": reference_type, "reference": reference,
                         "lines": self.lines(event.get("quantityList"), "quantityList")})
            return self.ledger_call(movements.record_shipping, data)
        if step == "receiving":
            data["lines"] = self.lines(event.get("quantityList"), "quantityList")
            return self.ledger_call(movements.record_receiving, self.shipment(event), data)
        (line,) = self.lines(event.get("quantityList"), "quantityList", 1)  # destroying
        found = self.ledger.find_lot(line["gtin"], line["lot"])
        if found is None:
            raise UnreadableEvent(f"No lot {line['lot']} of GTIN {line['gtin']}.")
        data.update({"reason": fields.get("reason"), "quantity": line.get("quantity")})
        return self.ledger_call(movements.record_destroying, found[0].id, data)

    def ledger_call(self, function, *args):
        result = function(self.ledger, *args)
        return result if isinstance(result, NewEvent) else self.ledger.views[-1].event

    # --- reading parts of an event ---

    def lines(self, elements, name: str, exactly: int | None = None) -> list:
        if not isinstance(elements, list) or not elements:
            raise UnreadableEvent(f"{name} names no lot.")
        if exactly is not None and len(elements) != exactly:
            raise UnreadableEvent(f"{name} must name exactly {exactly} lot.")
        lines = []
        for element in elements:
            parsed = epcis.parse_class_uri(element.get("epcClass"))
            if parsed is None:
                raise UnreadableEvent(f"{element.get('epcClass')} is not a lot (a GS1 Digital Link with GTIN and lot).")
            gtin, lot = parsed
            line = {"gtin": gtin, "lot": lot}
            if "quantity" in element:
                line["quantity"] = str(element["quantity"])
            if "uom" in element:
                if element["uom"] not in FROM_UNECE:
                    raise UnreadableEvent(f"Unit {element['uom']} is not one of {', '.join(sorted(FROM_UNECE))}.")
                line["unit"] = FROM_UNECE[element["uom"]]
            lines.append(line)
        return lines

    def site(self, event: dict):
        for name in ("bizLocation", "readPoint"):
            place = event.get(name)
            uri = place.get("id") if isinstance(place, dict) else None
            if isinstance(uri, str) and uri.startswith(epcis.SITE_URN):
                number = uri[len(epcis.SITE_URN):]
                if not (number.isdigit() and len(number) < 10):  # no id: nor a number past PostgreSQL's integer
                    raise UnreadableEvent(f"{name} {uri} names no site known to this service.")
                return int(number)
        return None

    def preload_batches(self, events: list) -> None:
        """The batches the document names, and when their pre-harvest intervals end, in two queries."""
        codes = {str(self.ours(event).get("batch")) for event in events if isinstance(event, dict)} - {"None"}
        for start in range(0, len(codes), 500):
            chunk = list(codes)[start:start + 500]
            self.batches.update({code: None for code in chunk})
            self.batches.update({batch.code: batch for batch in self.session.exec(select(Batch).where(
                Batch.organization_id == self.ledger.organization_id, Batch.code.in_(chunk))).all()})
            found = [batch.id for batch in self.batches.values() if batch is not None and batch.code in chunk]
            self.ledger.preload_withholding(found)

    def batch(self, fields: dict) -> Batch:
        code = str(fields.get("batch") or "")
        if code not in self.batches:
            self.batches[code] = self.session.exec(select(Batch).where(
                Batch.organization_id == self.ledger.organization_id, Batch.code == code)).first() if code else None
        batch = self.batches[code]
        if batch is None:
            raise UnreadableEvent(f"The event names the batch it belongs to (tn:batch); {code!r} is not one of yours.")
        return batch

    def batch_event(self, step: str, fields: dict, data: dict):
        if step == "input_application":
            data.update({key: fields[key] for key in ("category", "input_name", "dose", "dose_unit", "withholding_days",
                                                      "note") if key in fields})
            return self.ledger_call(recording.record_input, self.batch(fields).id, data)
        gtin = str(fields.get("product") or "")
        product = self.ledger.product(gtin.zfill(14)) if gtin else None
        if product is None:
            raise UnreadableEvent(f"The event names the product of its batch (tn:product); {gtin!r} is not a GTIN known "
                                  "to this service.")
        data.update({"code": fields.get("batch"), "product_id": product.id,
                     "variety": fields.get("variety") or fields.get("species"), "seed_quantity": fields.get("quantity"),
                     "seed_unit": fields.get("unit"), "seed_source": fields.get("source")})
        batch = recording.start_batch(self.ledger, {k: v for k, v in data.items() if v is not None})
        self.batches[batch.code] = batch  # the document's later events may name it
        return self.ledger.views[-1].event

    def transaction(self, event: dict) -> tuple:
        for item in event.get("bizTransactionList") or []:
            uri = item["bizTransaction"]
            kind = cbv_word(item.get("type", "desadv"))
            if uri.startswith(epcis.TRANSACTION_URN):
                return kind, unquote(uri[len(epcis.TRANSACTION_URN):].split(":", 1)[1])
            return kind, uri[-60:]
        raise UnreadableEvent("A shipment names its delivery note or invoice (bizTransactionList).")

    def party(self, event: dict, name: str, key: str):
        for item in event.get(name) or []:
            organization = self.organization(item[key])
            if organization is not None:
                return organization.id
        raise UnreadableEvent(f"{name} names no organization known to this service.")

    def organization(self, uri: str):
        if uri.startswith(epcis.ORGANIZATION_URN):
            number = uri[len(epcis.ORGANIZATION_URN):]
            return self.ledger.organization(int(number)) if number.isdigit() and len(number) < 10 else None
        link = event_hash.digital_link(uri)
        if link and "/417/" in link:
            return self.session.exec(select(Organization).where(Organization.gln == link.rsplit("/", 1)[1])).first()
        return None

    def shipment(self, event: dict) -> int:
        sender = self.party(event, "sourceList", "source")
        kind, reference = self.transaction(event)
        shipment = self.session.exec(select(Shipment).where(
            Shipment.from_organization_id == sender, Shipment.to_organization_id == self.ledger.organization_id,
            Shipment.reference == reference).order_by(Shipment.id.desc())).first()
        if shipment is None:
            raise UnreadableEvent(f"No shipment {reference} to you from that organization.")
        return shipment.id

    def target(self, event: dict) -> Event | None:
        """The recorded event an error declaration is about: by its eventID, or by its content."""
        target = None
        if isinstance(event.get("eventID"), str):
            target = self.session.exec(select(Event).where(or_(Event.hash_id == event["eventID"],
                                                               Event.captured_hash_id == event["eventID"]))).first()
        if target is None:
            sent = event_hash.event_hash_id(event, self.namespaces)  # the hash leaves errorDeclaration out
            target = self.session.exec(select(Event).where(or_(Event.hash_id == sent,
                                                               Event.captured_hash_id == sent))).first()
        return target

    def declared(self, event: dict) -> bool:
        target = self.target(event)
        return target is not None and self.session.exec(
            select(Event.id).where(Event.corrects_event_id == target.id)).first() is not None

    def declaration(self, event: dict):
        declaration = event["errorDeclaration"]
        target = self.target(event)
        if target is None:
            raise UnreadableEvent("The event this error declaration corrects is not recorded here.")
        reason = cbv_word(declaration.get("reason", "incorrect_data"))
        text = next((value for key, value in declaration.items() if key.endswith(":reason") or
                     key == epcis.NAMESPACE + "reason"), None) or str(reason)
        corrective = (declaration.get("correctiveEventIDs") or [None])[0]
        return corrections.declare_error(self.ledger, target.id, {
            "reason": text, "reason_code": reason, "time": declaration["declarationTime"],
            **({"corrective_event_id": corrective} if corrective else {})})
