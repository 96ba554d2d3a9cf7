"""The OpenAPI 3.1 document of /api/v1, kept here beside the routes it describes and served at
/api/v1/openapi.json. A test holds it to Flask's url_map (a route added without being described fails the
suite) and to the OpenAPI 3.1 schema; another fuzzes every operation from it (tests/test_api_fuzz.py)."""
from functools import lru_cache

from flask import jsonify

from ..models import FARMING_METHODS, MAX_ID, OCOP_LEVELS, PRODUCER_KINDS, SCHEMES, SITE_KINDS
from ..services.capture import MAX_EVENTS
from ..services.claims import PROCESSING, SOURCES
from ..services.events import ERROR_REASONS
from ..services.issuance import MAX_BATCH
from ..services.labels import MAX_LABELS_PER_RUN
from ..services.movements import PROCESSES, TRANSACTION_TYPES
from ..services.units import UNITS
from ..services.verification import STATUSES
from . import bp
from .chain import SHIPMENT_STATUSES
from .epcis import MAX_LIMIT
from .reports import FORMATS, XLSX
from .verify import MAX_URL_LENGTH

PROBLEM = "application/problem+json"


# --- schema helpers ---

def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def null_or(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


def shape(properties: dict, optional: tuple = (), description: str = "") -> dict:
    """An object the service answers with: every property is always there, but those named in `optional`."""
    schema = {"type": "object", "properties": properties,
              "required": [name for name in properties if name not in optional]}
    if description:
        schema["description"] = description
    return schema


def form(properties: dict, required: tuple = (), description: str = "") -> dict:
    """An object a client sends: `required` properties must be there; unknown ones are ignored."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


TEXT = {"type": "string"}
OPTIONAL_TEXT = null_or(TEXT)
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
DAY = {"type": "string", "format": "date"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# Quantities are exact decimals: a JSON number, or better a string ("820.5") that no float rounds.
DECIMAL = {"type": ["string", "number"],
           "description": "A decimal number, as a JSON number or a string like \"820.5\"."}
QUANTITY_OUT = {"type": "string", "description": "An exact decimal, without trailing zeros: \"18500\", \"0.5\"."}
TIME_IN = {"type": "string", "description": "ISO 8601 date and time, not in the future; without an offset it is read "
                                            "in Asia/Ho_Chi_Minh. Example: 2026-11-20T07:30+07:00."}
TIME_OUT = {"type": "string", "description": "ISO 8601 local date and time with its zone offset, to the minute."}
STAMP = {"type": "string", "description": "ISO 8601 date and time."}
GTIN = {"type": "string", "pattern": "^[0-9]{14}$"}
UNIT = {"type": "string", "enum": list(UNITS)}
DETAILS = {"type": "object", "description": "What the event records beyond its type: doses, quantities, reasons…"}


def schemas() -> dict:
    site = shape({
        "id": INTEGER, "name": TEXT, "kind": {"type": "string", "enum": list(SITE_KINDS)}, "crop": TEXT,
        "area_ha": null_or({"type": "string", "description": "Hectares, 4 decimals."}),
        "farming_method": null_or({"type": "string", "enum": list(FARMING_METHODS)}), "address": TEXT,
        "location": null_or({"type": "object", "description": "GeoJSON Point or Polygon, longitude first."}),
        "map": null_or({"type": "string", "description": "An OpenStreetMap link to the location."}),
    }, description="A production area or another place of an organization.")
    ocop = shape({
        "id": INTEGER, "product_id": INTEGER, "stars": {"type": "integer", "minimum": 1, "maximum": 5},
        "decision_number": TEXT, "issued_on": DAY, "valid_until": DAY,
        "issuing_level": {"type": "string", "enum": list(OCOP_LEVELS)},
    }, description="An OCOP rating (Decision 1048/QĐ-TTg).")
    certificate = shape({
        "id": INTEGER, "scheme": {"type": "string", "enum": list(SCHEMES)}, "standard": TEXT, "certifier": TEXT,
        "certifier_en": {**OPTIONAL_TEXT, "description": "The certifier's English name, if given."},
        "number": TEXT, "valid_from": DAY, "valid_until": DAY,
        "status_today": {"type": "string", "enum": ["active", "not_yet_valid", "expired", "suspended", "revoked"]},
        "valid_today": BOOLEAN, "site_ids": array(INTEGER), "product_ids": array(INTEGER),
        "sites": array(TEXT), "products": array(TEXT),
    }, description="A certificate with its status today (computed from its dates and dated suspensions or "
                    "revocations) and the areas and products it covers.")
    event = shape({
        "id": INTEGER, "step": TEXT, "epcis_type": TEXT, "action": OPTIONAL_TEXT, "biz_step": TEXT, "time": TIME_OUT,
        "site": OPTIONAL_TEXT, "details": DETAILS,
    }, description="An event as its organization recorded it.")
    moved = shape({"gtin": GTIN, "lot": TEXT, "role": {"type": "string", "enum": ["input", "output", "observed"]},
                   "quantity": null_or(QUANTITY_OUT), "unit": OPTIONAL_TEXT})
    recorded = {"allOf": [ref("Event"), shape({"eventID": TEXT, "shipment_id": null_or(INTEGER),
                                               "lots": array(moved)})],
                "description": "An event just recorded, with its CBV 2.0 event hash ID and the lots it moved."}
    lot = shape({"id": INTEGER, "gtin": GTIN, "code": TEXT, "product": TEXT, "quantity": TEXT, "unit": TEXT,
                 "produced_on": DAY, "batch_id": null_or(INTEGER), "recalled": BOOLEAN})
    batch = shape({"id": INTEGER, "code": TEXT, "site_id": INTEGER, "product_id": INTEGER, "started_on": DAY,
                   "timeline": array({"allOf": [ref("Event"), shape({"lots": array(TEXT)})]})},
                  optional=("timeline",), description="A batch; with its timeline when asked for by id.")
    run = shape({
        "run_id": INTEGER, "first_serial": INTEGER, "last_serial": INTEGER, "count": INTEGER,
        "status": {"type": "string", "enum": ["issued", "pending", "cancelled"]}, "issued_at": STAMP,
        "over_issue_reason": OPTIONAL_TEXT, "cancelled_at": null_or(STAMP), "cancel_reason": OPTIONAL_TEXT,
        "labels": array(shape({"serial": TEXT, "url": TEXT}),
                        description="The signed label URLs, when the run has at most 10,000."),
    }, optional=("labels",))
    shipment = shape({
        "id": INTEGER, "status": {"type": "string", "enum": list(SHIPMENT_STATUSES)},
        "from_organization_id": INTEGER, "to_organization_id": INTEGER,
        "reference_type": {"type": "string", "enum": list(TRANSACTION_TYPES)}, "reference": TEXT, "shipped": TIME_OUT,
        "lines": array(shape({"gtin": GTIN, "lot": TEXT, "product": TEXT, "quantity": null_or(QUANTITY_OUT),
                              "unit": OPTIONAL_TEXT})),
    })
    trace_lot = shape({"gtin": GTIN, "lot": TEXT, "product": TEXT, "owner": TEXT, "owner_id": INTEGER,
                       "site": OPTIONAL_TEXT, "quantity": QUANTITY_OUT, "unit": TEXT, "depth": INTEGER,
                       "produced_on": DAY, "kind": {"type": "string", "enum": ["harvest", "processed"]}})
    lot_key = shape({"gtin": GTIN, "lot": TEXT})
    reference = shape({"type": TEXT, "number": TEXT})
    trace = shape({
        "direction": {"type": "string", "enum": ["back", "forward"]}, "root": trace_lot, "lots": array(trace_lot),
        "links": array(shape({"from": lot_key, "to": lot_key, "consumed": null_or(QUANTITY_OUT),
                              "unit": OPTIONAL_TEXT, "produced": null_or(QUANTITY_OUT)})),
        "events": array(shape({
            "eventID": OPTIONAL_TEXT, "id": INTEGER, "step": TEXT, "type": TEXT, "bizStep": TEXT, "time": TIME_OUT,
            "organization": TEXT, "site": OPTIONAL_TEXT, "lots": array(moved), "details": DETAILS,
            "reference": shape({"type": TEXT, "number": TEXT, "from": TEXT, "to": TEXT}),
        }, optional=("reference",))),
        "organizations": array(shape({
            "id": INTEGER, "name": TEXT, "kind": TEXT, "address": TEXT, "roles": array(TEXT),
            "received": array(shape({"gtin": GTIN, "lot": TEXT, "product": TEXT, "shipped": null_or(QUANTITY_OUT),
                                     "quantity": null_or(QUANTITY_OUT), "unit": OPTIONAL_TEXT,
                                     "status": {"type": "string", "enum": ["received", "in_transit"]},
                                     "time": null_or(TIME_OUT), "reference": reference})),
        })),
    }, description="A lot's chain as the caller may see it: back to its sources, or forward to where it went.")
    notice_row = shape({
        "organization": TEXT, "organization_id": INTEGER, "role": {"type": "string", "enum": ["maker", "receiver"]},
        "product": TEXT, "gtin": GTIN, "lot": TEXT, "quantity": null_or(QUANTITY_OUT), "unit": OPTIONAL_TEXT,
        "received_at": null_or(STAMP), "reference": TEXT,
        "status": {"type": "string", "enum": ["made", "received", "in_transit"]}, "address": TEXT, "phone": TEXT,
    })
    recall = shape({"id": INTEGER, "reason": TEXT, "recalled_at": STAMP, "lifted_at": null_or(STAMP),
                    "lift_reason": OPTIONAL_TEXT, "notice": array(notice_row)},
                   description="A recall and its notice: who made, holds or received what of the lots it reaches.")
    flag = shape({"id": INTEGER, "lot_id": INTEGER, "kind": TEXT, "reason": TEXT, "resolution": OPTIONAL_TEXT,
                  "resolution_reason": OPTIONAL_TEXT, "resolution_reference": OPTIONAL_TEXT})
    verification = shape({"status": {"type": "string", "enum": list(STATUSES)},
                          "kid": null_or(INTEGER), "reason": TEXT})
    scan_facts = shape({
        "verification": verification,
        "product": null_or(shape({"name": TEXT, "name_en": TEXT, "gtin": GTIN, "category": TEXT, "image": BOOLEAN,
                                  "product_id": INTEGER})),
        "lot": null_or(shape({"code": TEXT, "recalled": BOOLEAN, "recall_reason": OPTIONAL_TEXT,
                              "recalled_at": null_or(STAMP), "flagged": BOOLEAN, "flag_reason": OPTIONAL_TEXT,
                              "quantity": TEXT, "unit": TEXT, "produced_on": DAY, "processed": BOOLEAN})),
        "serial": OPTIONAL_TEXT,
        "producer": null_or(shape({"name": TEXT, "address": TEXT, "phone": TEXT, "id": INTEGER,
                                   "name_en": OPTIONAL_TEXT, "address_en": OPTIONAL_TEXT})),
        "certifications": array({"allOf": [ref("Certificate"), shape({
            "holder": TEXT, "holder_en": OPTIONAL_TEXT, "covers": {"type": "string", "enum": [SOURCES, PROCESSING]},
            "valid_at_production": BOOLEAN})]}),
        "standards": array({"type": "string", "enum": list(SCHEMES)}),
        "origins": array(shape({"product": TEXT, "product_en": TEXT, "gtin": GTIN, "lot": TEXT, "producer": TEXT,
                                "producer_en": OPTIONAL_TEXT,
                                "production_area": OPTIONAL_TEXT, "area_kind": OPTIONAL_TEXT, "harvested": DAY})),
        "ocop": null_or(ref("OcopRating")),
        "stages": array(shape({"step": TEXT, "time": TIME_OUT, "site": OPTIONAL_TEXT, "details": DETAILS})),
        "production_area": null_or(ref("Site")),
        "best_before": null_or(DAY),
        "expired": BOOLEAN,
        "scans": null_or(shape({"first": null_or(STAMP), "count": INTEGER, "distinct_clients": INTEGER,
                                "suspected_copy": BOOLEAN})),
        "cancelled": shape({"at": null_or(STAMP), "reason": OPTIONAL_TEXT}),
    }, optional=("origins", "expired", "cancelled"), description=(
        "What a label's scan reveals. For any status but genuine and revoked_key, product, lot, producer and ocop "
        "are null and the lists empty. `scans` is null for a label this service did not issue."))
    supplier = shape({
        "organization": shape({"id": INTEGER, "name": TEXT, "kind": {"type": "string", "enum": list(PRODUCER_KINDS)},
                               "address": TEXT, "phone": TEXT, "registration_number": TEXT, "gln": OPTIONAL_TEXT}),
        "certificates": array({"allOf": [ref("Certificate"), shape({"status": TEXT})]}),
        "products": array(shape({"gtin": GTIN, "name": TEXT, "name_en": TEXT, "category": TEXT,
                                 "ocop": null_or(ref("OcopRating"))})),
    })
    problem = shape({
        "type": TEXT, "title": TEXT, "status": INTEGER, "detail": TEXT,
        "errors": {"type": ["object", "array"], "description": "Each field and what is wrong with it."},
    }, optional=("detail", "errors"), description="RFC 9457 problem details. Nothing was written.")
    invalid = {"allOf": [ref("Problem"), shape({
        "errors": {"type": "object", "additionalProperties": TEXT,
                   "description": "Field name (dotted for a list's items: lines.0.quantity) to message."}})]}
    capture_problem = {"allOf": [ref("Problem"), shape({"errors": array(shape({
        "event": INTEGER, "field": TEXT, "path": TEXT, "message": TEXT}, optional=("event", "field", "path")))})]}
    return {
        "Problem": problem, "InvalidInput": invalid, "CaptureRefused": capture_problem,
        "Site": site, "OcopRating": ocop, "Certificate": certificate, "Event": event, "RecordedEvent": recorded,
        "Lot": lot, "Batch": batch, "LabelRun": run, "Shipment": shipment, "Trace": trace, "Recall": recall,
        "Flag": flag, "Verification": verification, "ScanFacts": scan_facts, "Supplier": supplier,
        "Product": shape({"id": INTEGER, "gtin": GTIN, "name_vi": TEXT, "name_en": TEXT, "category": TEXT,
                          "unit": TEXT, "shelf_life_days": null_or(INTEGER), "ocop": null_or(ref("OcopRating"))}),
        "Claims": shape({"standards": array(TEXT), "schemes": {"type": "object", "additionalProperties": shape({
            "holds": BOOLEAN, "missing": array(TEXT)})}}),
        "Declaration": shape({"id": INTEGER, "corrects_event_id": INTEGER, "reason": TEXT,
                              "reason_code": {"type": "string", "enum": list(ERROR_REASONS)}}),
        "CaptureResult": shape({"recorded": INTEGER, "skipped": INTEGER, "eventIDs": array(TEXT)}),
        "EPCISDocument": {"type": "object", "required": ["type", "epcisBody"],
                          "properties": {"type": {"const": "EPCISDocument"}, "epcisBody": {"type": "object"}},
                          "description": "An EPCIS 2.0 document (JSON-LD), as GS1's EPCIS JSON Schema defines it."},
        "VerifyBatchResult": shape({"results": array(shape({"url": TEXT, "verification": ref("Verification")}))}),
    }


# --- request bodies ---

def site_id(description: str = "One of your sites.") -> dict:
    return {**ID, "description": description}


LOT_LINE = form({"gtin": TEXT, "lot": TEXT, "lot_id": ID, "quantity": DECIMAL, "unit": UNIT,
                 "factor": {**DECIMAL, "description": "How many of the lot's unit in one of `unit` (units the law "
                                                      "does not convert)."}},
                description="A lot by GTIN and lot code, and a quantity of it (in the lot's unit unless `unit`).")
BODIES = {
    "createSite": form({
        "name": TEXT, "kind": {"type": "string", "enum": list(SITE_KINDS)}, "crop": TEXT, "area_ha": DECIMAL,
        "farming_method": {"type": "string", "enum": list(FARMING_METHODS), "description": "Ponds and cages only."},
        "address": TEXT, "location": {"type": ["string", "object"], "description": (
            "A point '20.93, 106.67', a polygon 'lat lon; lat lon; …', or a GeoJSON Point or Polygon.")},
    }, ("name", "kind"), "crop and area_ha are required for a production area; farming_method for a pond or cage."),
    "createProduct": form({
        "name_vi": TEXT, "name_en": TEXT, "category": TEXT, "unit": UNIT,
        "shelf_life_days": {"type": ["integer", "string"], "description": "1 to 3650."},
        "gtin": {"type": "string", "description": "With a valid check digit; left out, one is allocated from your "
                                                  "GS1 company prefix."},
    }, ("name_vi", "unit")),
    "rateOcop": form({
        "stars": {"type": ["integer", "string"], "description": "1 to 5."}, "decision_number": TEXT,
        "issued_on": DAY, "valid_until": {**DAY, "description": "36 months from issue when left out."},
        "issuing_level": {"type": "string", "enum": list(OCOP_LEVELS)},
    }, ("stars", "decision_number", "issued_on", "issuing_level")),
    "createCertificate": form({
        "scheme": {"type": "string", "enum": list(SCHEMES)}, "standard": TEXT, "certifier": TEXT, "number": TEXT,
        "certifier_en": {**TEXT, "description": "The certifier's English name, for English pages."},
        "valid_from": DAY, "valid_to": {**DAY, "description": "VietGAP: at most 2 years after valid_from."},
        "site_ids": array({"type": ["integer", "string"]}, maxItems=1000),
        "product_ids": array({"type": ["integer", "string"]}, maxItems=1000),
    }, ("scheme", "certifier", "number", "valid_from", "valid_to"), "It must cover at least one area or product."),
    "startBatch": form({
        "site_id": site_id("A production area of yours."), "product_id": ID, "code": TEXT, "time": TIME_IN,
        "variety": TEXT, "seed_quantity": DECIMAL, "seed_unit": TEXT, "seed_source": TEXT,
    }, ("site_id", "product_id", "code", "time"), "Planting (fields) or stocking (ponds and cages)."),
    "recordInput": form({
        "category": {"type": "string", "enum": ["fertiliser", "pesticide", "feed", "veterinary_drug"]},
        "input_name": TEXT, "dose": DECIMAL, "dose_unit": TEXT,
        "withholding_days": {"type": ["integer", "string"],
                             "description": "Pre-harvest interval or withdrawal period, 0 to 365 days; required for "
                                            "pesticides and veterinary drugs."},
        "time": TIME_IN, "note": TEXT,
    }, ("category", "input_name", "dose", "dose_unit", "time")),
    "recordHarvest": form({"lot_code": {"type": "string", "description": "1–20 characters of GS1 CSET 82."},
                           "quantity": DECIMAL, "unit": UNIT, "time": TIME_IN},
                          ("lot_code", "quantity", "unit", "time")),
    "recordPacking": form({
        "package_count": {"type": ["integer", "string"]}, "package_size": DECIMAL, "package_unit": TEXT,
        "packaging": TEXT, "packaging_en": {**TEXT, "description": "The packaging in English, for English pages."},
        "sscc": {"type": "string", "description": "18 digits with a valid check digit."},
        "site_id": site_id(), "quantity": DECIMAL, "unit": UNIT, "factor": DECIMAL, "time": TIME_IN,
    }, ("package_count", "time")),
    "issueLabels": form({
        "count": {"type": ["integer", "string"], "description": f"1 to {MAX_LABELS_PER_RUN}."},
        "over_issue_reason": {"type": "string", "description": "Required when count is more than the lot holds."},
    }, ("count",)),
    "cancelRun": form({"reason": {"type": "string", "description": "1 to 500 characters."}}, ("reason",)),
    "recordTransformation": form({
        "process": {"type": "string", "enum": list(PROCESSES)}, "time": TIME_IN, "site_id": site_id(), "note": TEXT,
        "inputs": array(LOT_LINE, minItems=1),
        "outputs": array(form({"product_id": ID, "gtin": TEXT, "lot": TEXT, "quantity": DECIMAL, "unit": UNIT},
                              ("lot", "quantity"), "product_id or gtin of one of your products"), minItems=1),
    }, ("process", "time", "inputs", "outputs")),
    "ship": form({
        "to_organization_id": ID, "reference_type": {"type": "string", "enum": list(TRANSACTION_TYPES)},
        "reference": TEXT, "time": TIME_IN, "site_id": site_id(), "lines": array(LOT_LINE, minItems=1),
    }, ("to_organization_id", "reference", "time", "lines")),
    "receive": form({
        "time": TIME_IN, "site_id": site_id(),
        "lines": array(form({"gtin": TEXT, "lot": TEXT, "lot_id": ID, "quantity": DECIMAL}),
                       description="What was counted of each lot; a lot left out arrived whole."),
    }, ("time",)),
    "store": form({"site_id": site_id(), "temperature_c": DECIMAL, "cooling": {"type": ["boolean", "string"]},
                   "quantity": DECIMAL, "unit": UNIT, "factor": DECIMAL, "time": TIME_IN}, ("site_id", "time")),
    "unpack": form({"sscc": TEXT, "time": TIME_IN, "site_id": site_id()}, ("sscc", "time")),
    "destroy": form({"reason": TEXT, "quantity": {**DECIMAL, "description": "All you hold when left out."},
                     "unit": UNIT, "factor": DECIMAL, "time": TIME_IN, "site_id": site_id()}, ("reason", "time")),
    "declareError": form({"reason": TEXT, "reason_code": {"type": "string", "enum": list(ERROR_REASONS)},
                          "corrective_event_id": TEXT, "time": TIME_IN}, ("reason",)),
    "recall": form({"reason": {"type": "string", "description": "1 to 500 characters."}}, ("reason",)),
    "liftRecall": form({"reason": {"type": "string", "description": "1 to 500 characters."}}, ("reason",)),
    "clearFlag": form({"reason": TEXT, "reference": {"type": "string", "description": "The evidence: a residue test."}},
                      ("reason", "reference")),
    "captureEpcis": {**ref("EPCISDocument"),
                     "description": f"At most {MAX_EVENTS} events, recorded all or nothing, in document order."},
    "verify": form({"url": {"type": "string", "maxLength": MAX_URL_LENGTH}}, ("url",)),
    "verifyBatch": form({"urls": array({"type": "string", "maxLength": MAX_URL_LENGTH}, minItems=1,
                                       maxItems=MAX_BATCH)}, ("urls",)),
}


# --- responses ---

def problem_response(description: str, schema: str = "Problem", headers: dict | None = None) -> dict:
    response = {"description": description, "content": {PROBLEM: {"schema": ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


ERRORS = {
    "401": problem_response("No valid API token: send 'Authorization: Bearer <token>'."),
    "403": problem_response("The token's role may not do this, or its organization has no part in the lot's chain."),
    "404": problem_response("No such thing, or it belongs to another organization (the answer does not say which)."),
    "413": problem_response("The body is larger than 4 MiB."),
    "422": problem_response("Invalid input: `errors` names each field and what is wrong. Nothing was saved.",
                            "InvalidInput"),
    "429": problem_response("Too many verifications from this client: wait and try again.", headers={
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}),
}
COMPONENT_RESPONSES = {"Unauthorized": "401", "Forbidden": "403", "NotFound": "404", "TooLarge": "413",
                       "InvalidInput": "422", "TooManyRequests": "429"}


def json_response(description: str, schema: dict, media_type: str = "application/json") -> dict:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def file_response(description: str, media_type: str) -> dict:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


# --- operations ---

TOKEN = [{"bearerAuth": []}]
PUBLIC = []


def operation(operation_id: str, summary: str, tag: str, ok: dict, *, errors=(), parameters=(), body: bool = False,
              security=TOKEN, roles: tuple = (), description: str = "", own: dict | None = None) -> dict:
    """One operation: its success answers, and its errors as they really happen. A token route answers 401;
    a route for some roles 403; a route with ids or lot names in its path, or that names things in its body,
    404; a route with a body 413 and 422."""
    codes = set(errors)
    if security is TOKEN:
        codes.add("401")
    if roles:
        codes.add("403")
        description = (description + " " if description else "") + f"For a {' or '.join(roles)}'s token."
    if body:
        codes |= {"413", "422"}
    responses = dict(ok)
    for code in sorted(codes):
        name = next(name for name, status in COMPONENT_RESPONSES.items() if status == code)
        responses[code] = {"$ref": f"#/components/responses/{name}"}
    responses.update(own or {})  # an error this operation answers in its own way
    result = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses}
    if description:
        result["description"] = description
    if security is not TOKEN:
        result["security"] = security
    if parameters:
        result["parameters"] = list(parameters)
    if body:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": BODIES[operation_id]}}}
    return result


def path_id(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": ID}


def query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


LOT_PATH = [
    {"name": "gtin", "in": "path", "required": True, "description": "The product's GTIN (8 to 14 digits).",
     "schema": {"type": "string"}},
    {"name": "code", "in": "path", "required": True,
     "description": "The lot code, percent-encoded ('/' as %2F).", "schema": {"type": "string"}},
]
LOT_BY_QUERY = [query("gtin", "With `lot`: the lot's chain."), query("lot", "The lot code."),
                query("direction", "back (default) or forward.", {"type": "string", "enum": ["back", "forward"]})]


def one(description, schema):
    return {"200": json_response(description, schema)}


def made(description, schema):
    return {"201": json_response(description, schema)}


def paths() -> dict:
    producer, holders = ("producer",), ("producer", "retailer")
    lot_path, lot_errors = LOT_PATH, ("404",)
    return {
        "/sites": {
            "get": operation("listSites", "Your production areas and other sites", "catalogue",
                             one("Sites by name.", array(ref("Site"))), roles=producer),
            "post": operation("createSite", "Register a production area or another site", "catalogue",
                              made("The new site.", ref("Site")), body=True, roles=producer),
        },
        "/products": {
            "get": operation("listProducts", "Your products, each with its OCOP rating in force", "catalogue",
                             one("Products by Vietnamese name.", array(ref("Product"))), roles=producer),
            "post": operation("createProduct", "Register a product (a GTIN is allocated when none is given)",
                              "catalogue", made("The new product.", ref("Product")), body=True, roles=producer),
        },
        "/products/{product_id}/ocop": {
            "post": operation("rateOcop", "Record a product's OCOP rating", "catalogue",
                              made("The rating.", ref("OcopRating")), body=True, roles=producer, errors=("404",),
                              parameters=[path_id("product_id", "One of your products.")]),
        },
        "/certificates": {
            "get": operation("listCertificates", "Your certificates, latest expiry first", "catalogue",
                             one("Certificates.", array(ref("Certificate"))), roles=producer),
            "post": operation("createCertificate", "Register a certificate and what it covers", "catalogue",
                              made("The certificate.", ref("Certificate")), body=True, roles=producer),
        },
        "/batches": {
            "get": operation("listBatches", "Your batches, newest first", "batches",
                             one("Batches.", array(ref("Batch"))), roles=producer),
            "post": operation("startBatch", "Start a batch: planting or stocking", "batches",
                              made("The batch.", ref("Batch")), body=True, roles=producer),
        },
        "/batches/{batch_id}": {
            "get": operation("getBatch", "A batch with its timeline", "batches", one("The batch.", ref("Batch")),
                             roles=producer, errors=("404",), parameters=[path_id("batch_id", "One of your batches.")]),
        },
        "/batches/{batch_id}/inputs": {
            "post": operation("recordInput", "Record an input application", "batches",
                              made("The event.", ref("Event")), body=True, roles=producer, errors=("404",),
                              parameters=[path_id("batch_id", "One of your batches.")]),
        },
        "/batches/{batch_id}/harvests": {
            "post": operation("recordHarvest", "Record a harvest or catch: it makes the lot", "batches",
                              made("The new lot.", ref("Lot")), body=True, roles=producer, errors=("404",),
                              parameters=[path_id("batch_id", "One of your batches.")],
                              description="A harvest inside a pre-harvest interval is recorded, and its lot flagged."),
        },
        "/lots": {
            "get": operation("listLots", "Your lots, newest first", "lots", one("Lots.", array(ref("Lot"))),
                             roles=producer),
        },
        "/lots/{gtin}/{code}/packings": {
            "post": operation("recordPacking", "Pack one of your lots", "lots", made("The event.", ref("Event")),
                              body=True, roles=producer, errors=lot_errors, parameters=lot_path),
        },
        "/lots/{gtin}/{code}/labels": {
            "get": operation("listLabelRuns", "The label runs of one of your lots", "labels",
                             one("Runs, oldest first.", array(ref("LabelRun"))), roles=producer, errors=lot_errors,
                             parameters=lot_path),
            "post": operation("issueLabels", "Issue a run of signed labels", "labels",
                              made("The run, with its label URLs up to 10,000.", ref("LabelRun")), body=True,
                              roles=producer, errors=lot_errors, parameters=lot_path),
        },
        "/label-runs/{run_id}/labels.csv": {
            "get": operation("labelRunCsv", "serial,url of a run or part of it", "labels",
                             {"200": file_response("One line a label, the same URLs every time.", "text/csv")},
                             roles=producer, errors=("404", "422"),
                             parameters=[path_id("run_id", "A run of one of your lots."),
                                         query("first", "First serial (default: the run's first)."),
                                         query("last", "Last serial (default: the run's last).")]),
        },
        "/label-runs/{run_id}/cancel": {
            "post": operation("cancelRun", "Cancel a run: its labels verify as cancelled", "labels",
                              one("The cancelled run.", ref("LabelRun")), body=True, roles=producer, errors=("404",),
                              parameters=[path_id("run_id", "A run of one of your lots.")]),
        },
        "/transformations": {
            "post": operation("recordTransformation", "Process lots into new lots", "chain",
                              made("The event.", ref("RecordedEvent")), body=True, roles=producer),
        },
        "/shipments": {
            "get": operation("listShipments", "Shipments to you (or from you)", "chain",
                             one("Shipments, newest first.", array(ref("Shipment"))), roles=holders,
                             parameters=[query("direction", "incoming (default) or outgoing.",
                                               {"type": "string", "enum": ["incoming", "outgoing"]}),
                                         query("status", "Only shipments in this status.",
                                               {"type": "string", "enum": list(SHIPMENT_STATUSES)})]),
            "post": operation("ship", "Ship lots to another organization", "chain",
                              made("The shipping event.", ref("RecordedEvent")), body=True, roles=holders),
        },
        "/shipments/{shipment_id}/receipt": {
            "post": operation("receive", "Receive a shipment addressed to you", "chain",
                              made("The receiving event.", ref("RecordedEvent")), body=True, roles=holders,
                              errors=("404",), parameters=[path_id("shipment_id", "A shipment to you.")]),
        },
        "/lots/{gtin}/{code}/storage": {
            "post": operation("store", "Cool or store a lot you hold", "lots",
                              made("The storing event.", ref("RecordedEvent")), body=True, roles=holders,
                              errors=lot_errors, parameters=lot_path),
        },
        "/unpackings": {
            "post": operation("unpack", "Unpack a container (SSCC)", "chain",
                              made("The unpacking event.", ref("RecordedEvent")), body=True, roles=holders),
        },
        "/lots/{gtin}/{code}/destructions": {
            "post": operation("destroy", "Destroy what you hold of a lot", "lots",
                              made("The destroying event.", ref("RecordedEvent")), body=True, roles=holders,
                              errors=lot_errors, parameters=lot_path),
        },
        "/events/{event_id}/error-declaration": {
            "post": operation("declareError", "Declare one of your events wrong", "chain",
                              made("The correcting event.", ref("Declaration")), body=True, roles=holders,
                              errors=("404",), parameters=[path_id("event_id", "An event of your organization.")]),
        },
        "/lots/{gtin}/{code}/trace": {
            "get": operation("traceLot", "Trace a lot back to its sources or forward to where it went", "lots",
                             one("The trace.", ref("Trace")), errors=("403", "404", "422"),
                             parameters=[*lot_path, LOT_BY_QUERY[2]],
                             description="For the lot's owner, an organization in its chain, or an inspector."),
        },
        "/lots/{gtin}/{code}/claims": {
            "get": operation("lotClaims", "Which standards a lot may claim, and why not", "lots",
                             one("Each scheme: whether it holds, and the sources or steps without a certificate.",
                                 ref("Claims")), errors=("403", "404"), parameters=lot_path,
                             description="For the lot's owner or an inspector."),
        },
        "/lots/{gtin}/{code}/recall": {
            "post": operation("recall", "Recall a lot and everything made from it", "recalls",
                              made("The recall and its notice.", ref("Recall")), body=True, errors=lot_errors,
                              parameters=lot_path, description="For the lot's owner or an inspector."),
        },
        "/recalls/{recall_id}": {
            "get": operation("getRecall", "A recall and its notice", "recalls", one("The recall.", ref("Recall")),
                             errors=("404",), parameters=[path_id("recall_id", "A recall that names you.")]),
        },
        "/recalls/{recall_id}/notice.csv": {
            "get": operation("recallNoticeCsv", "A recall's notice as CSV", "recalls",
                             {"200": file_response("Who made, holds or received what.", "text/csv")},
                             errors=("404",), parameters=[path_id("recall_id", "A recall that names you.")]),
        },
        "/recalls/{recall_id}/lift": {
            "post": operation("liftRecall", "Lift a recall", "recalls", one("The lifted recall.", ref("Recall")),
                              body=True, errors=("404",), parameters=[path_id("recall_id", "A standing recall.")],
                              description="For an inspector's token; anyone else is answered 404."),
        },
        "/flags/{flag_id}/clear": {
            "post": operation("clearFlag", "Clear a flagged harvest on evidence", "recalls",
                              one("The cleared flag.", ref("Flag")), body=True, errors=("404",),
                              parameters=[path_id("flag_id", "An open flag.")],
                              description="For an inspector's token; anyone else is answered 404."),
        },
        "/epcis/events": {
            "get": operation("epcisEvents", "Events as an EPCIS 2.0 document", "epcis",
                             {"200": {**json_response("An EPCISDocument.", ref("EPCISDocument"), "application/ld+json"),
                                      "headers": {"Link": {"description": "The next page: <…>; rel=\"next\".",
                                                           "schema": {"type": "string"}}}}},
                             errors=("403", "404", "422"),
                             parameters=[*LOT_BY_QUERY,
                                         query("from", "A date (its local midnight) or an ISO 8601 date-time."),
                                         query("to", "A date (its local midnight) or an ISO 8601 date-time."),
                                         query("bizStep", "A CBV business step, bare word or URN."),
                                         query("limit", f"Events a page, 1 to {MAX_LIMIT} (default 1000)."),
                                         query("after", "The last event id of the previous page.")],
                             description="Of a lot's chain (gtin and lot), else your organization's (an inspector's: "
                                         "all), paged."),
        },
        "/epcis/capture": {
            "post": operation("captureEpcis", "Record an EPCIS 2.0 document, all or nothing", "epcis",
                              made("What was recorded and skipped (already recorded).", ref("CaptureResult")),
                              body=True, roles=holders, own={"422": {
                                  "description": "Refused whole: a body that is no JSON object names `body`; a "
                                                 "document that breaks the schema or a rule lists every problem with "
                                                 "its event's index and field.",
                                  "content": {PROBLEM: {"schema": {"anyOf": [ref("InvalidInput"),
                                                                             ref("CaptureRefused")]}}}}}),
        },
        "/reports/fsma204": {
            "get": operation("fsma204", "The FSMA 204 spreadsheet of critical tracking events", "reports",
                             {"200": {"description": "XLSX (default) or CSV.",
                                      "content": {XLSX: {"schema": {"type": "string", "format": "binary"}},
                                                  "text/csv": {"schema": {"type": "string"}}}}},
                             errors=("403", "404", "422"),
                             parameters=[*LOT_BY_QUERY, query("from", "Without a lot: the first day, YYYY-MM-DD."),
                                         query("to", "Without a lot: the last day (at most a year after from)."),
                                         query("format", "xlsx (default) or csv.",
                                               {"type": "string", "enum": list(FORMATS)})]),
        },
        "/verify": {
            "post": operation("verify", "Verify a label and see what its scan reveals", "verify",
                              one("The scan JSON.", ref("ScanFacts")), body=True, errors=("429",),
                              security=[{}, *TOKEN],
                              description="Public. A shop's token says who checked: a label checked by a shop its "
                                          "lot was never shipped to counts as a possible copy."),
        },
        "/verify/batch": {
            "post": operation("verifyBatch", f"Verify up to {MAX_BATCH} labels at once", "verify",
                              one("Verdicts in the order sent; not recorded as scans.", ref("VerifyBatchResult")),
                              body=True, errors=("429",)),
        },
        "/suppliers/{organization_id}": {
            "get": operation("supplier", "A supplier's certificates, products and OCOP ratings", "suppliers",
                             one("The supplier.", ref("Supplier")), errors=("404",),
                             parameters=[path_id("organization_id", "A producer organization.")]),
        },
        "/openapi.json": {
            "get": operation("openapi", "This document", "meta",
                             one("The OpenAPI 3.1 document of /api/v1.", {"type": "object"}), security=PUBLIC),
        },
    }


@lru_cache(maxsize=1)
def document() -> dict:
    """The whole OpenAPI 3.1 document: built once, from the constants the services check against."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Thủy Nguyên traceability API", "version": "1",
            "description": (
                "Farm-to-market traceability for Thủy Nguyên ward: record batches, lots and their movements, issue "
                "signed GS1 Digital Link labels, verify them, trace and recall lots, exchange EPCIS 2.0. Errors are "
                "RFC 9457 problem details; messages follow Accept-Language (English by default, vi on request). "
                "Nothing is written when a request is refused."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": TOKEN,
        "tags": [{"name": name} for name in ("catalogue", "batches", "lots", "labels", "chain", "recalls", "epcis",
                                             "reports", "verify", "suppliers", "meta")],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "An API token: `flask --app trace tokens create EMAIL` prints one."}},
            "schemas": schemas(),
            "responses": {name: ERRORS[code] for name, code in COMPONENT_RESPONSES.items()},
        },
    }


@bp.route("/openapi.json")
def openapi():
    response = jsonify(document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # for API browsers on other sites
    return response
