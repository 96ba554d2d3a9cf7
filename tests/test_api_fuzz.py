"""Property-based fuzzing of the whole JSON API from its OpenAPI document (schemathesis, on Hypothesis).

Every operation the document lists is called with generated requests against the real app on a real database
(the demo ward), with a demo producer's real API token and without any token. Half of what is generated comes
from the document alone (valid and deliberately invalid requests); the other half is drawn near the demo's real
data — its ids, GTINs and lot codes, signed label URLs, recent times, EPCIS documents it exported — so requests
get past "not found" into the rules behind. Each answer must be no server error, carry a status code the
document lists for that operation, the content type it lists, and a body its schema accepts. Derandomized: a
run generates the same requests on every machine (up to the clock, which recent times follow). Hypothesis'
deadline is off (schemathesis' default): the machine is shared, and timing is no business of a test.

A deeper run, e.g. before a release: TRACE_FUZZ_EXAMPLES=200 TRACE_FUZZ_COVERAGE=1 (schemathesis' coverage phase:
boundary values of every field) TRACE_FUZZ_SEED=… TRACE_FUZZ_AS=kiemtra@demo.vn (another demo user's token)."""
import json
import os
from datetime import datetime, timedelta
from trace import key_store
from trace.api.openapi import BODIES, document
from trace.clock import today, zone_name
from trace.db import get_session
from trace.models import LabelRun, Lot, Product
from trace.services import accounts, labels
from trace.services.gs1 import check_digit
from trace.services.units import UNITS
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import select

from .conftest import BASE_URL, _make_app

pytestmark = pytest.mark.fuzz  # left out of mutation runs (pyproject.toml)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = int(os.environ.get("TRACE_FUZZ_EXAMPLES", "30"))  # per operation: the module takes some tens of seconds
ANONYMOUS_EXAMPLES = 6  # without a token nearly every operation answers 401 before reading anything


def fuzzing_config(max_examples: int) -> schemathesis.Config:
    """Valid and invalid requests (schemathesis' 'all' mode), derandomized, with no example database on disk."""
    return schemathesis.Config.from_dict({
        "seed": int(os.environ.get("TRACE_FUZZ_SEED", "7")),
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none"},
        "phases": {"examples": {"enabled": False}, "fuzzing": {"enabled": True}, "stateful": {"enabled": False},
                   "coverage": {"enabled": os.environ.get("TRACE_FUZZ_COVERAGE") == "1"}},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    })


# --- the demo's real data, read once the app exists (strategies read it when first drawn) ---

REAL: dict = {}


def real(name: str) -> st.SearchStrategy:
    return st.deferred(lambda: st.sampled_from(REAL[name]))


def read_real_data(app) -> None:
    client = app.test_client()
    with app.app_context():
        session = get_session()
        REAL["lots"] = [(product.gtin, lot.code) for lot, product in
                        session.exec(select(Lot, Product).join(Product, Product.id == Lot.product_id)).all()]
        REAL["urls"] = []
        for run in session.exec(select(LabelRun).order_by(LabelRun.id)).all():
            first = labels.labels_for_run(session, key_store(app), BASE_URL, run, range(run.first_serial,
                                                                                       run.first_serial + 1))[0].url
            REAL["urls"] += [first, first.replace("/21/", "/21/9"), first[:-3] + "AAA", first.split("?")[0]]
    REAL["gtins"] = sorted({gtin for gtin, _ in REAL["lots"]})
    REAL["codes"] = sorted({code for _, code in REAL["lots"]})
    token = {"Authorization": "Bearer " + REAL["token"]}
    exported = [client.get("/api/v1/epcis/events", headers=token, query_string={"gtin": gtin, "lot": code})
                for gtin, code in REAL["lots"]]
    REAL["epcis"] = [response.get_json() for response in exported if response.status_code == 200][:6]
    assert REAL["epcis"], "the demo producer's lots export as EPCIS"


# --- values near the real ones, by field name ---

def recent_time() -> st.SearchStrategy:
    """A moment in the last 400 days, with its offset or (as a form would send it) without."""
    return st.tuples(st.integers(min_value=10, max_value=400 * 24 * 60), st.booleans()).map(
        lambda pair: (datetime.now(ZoneInfo(zone_name())) - timedelta(minutes=pair[0])).isoformat(timespec="minutes")[
            :None if pair[1] else 16])


def near_day() -> st.SearchStrategy:
    return st.integers(min_value=-1200, max_value=1200).map(lambda days: (today() + timedelta(days=days)).isoformat())


def sscc() -> st.SearchStrategy:
    return st.integers(min_value=0, max_value=999).map(lambda n: (body := f"08936045{n:09d}") + str(check_digit(body)))


DECIMALS = st.one_of(st.sampled_from(["1", "0.5", "5", "25", "100", "640", "2500", "18500"]),
                     st.decimals(min_value="0.001", max_value="20000", places=3).map(str), st.integers(1, 500))
WORDS = st.text(alphabet="abcdeghiklmnopqrstuvxyăâđêôơưạảấầẩẫậắằặẹẻẽếềểễệịọỏốồổộớờởợụủứừửữựỳ 0123456789-/",
                min_size=1, max_size=40)
CODES = st.from_regex(r"[A-Z]{2,4}-[0-9]{2,5}[A-Z]?", fullmatch=True)
BY_NAME = {
    "time": recent_time(), "issued_on": near_day(), "valid_from": near_day(), "valid_to": near_day(),
    "valid_until": near_day(), "site_id": st.integers(1, 25), "product_id": st.integers(1, 20),
    "lot_id": st.integers(1, 40), "to_organization_id": st.integers(1, 10),
    "site_ids": st.lists(st.integers(1, 25), max_size=3), "product_ids": st.lists(st.integers(1, 20), max_size=3),
    "gtin": st.one_of(real("gtins"), st.sampled_from(["8936045000014", "08936045000991"])),
    "lot": st.one_of(real("codes"), CODES), "lot_code": st.one_of(CODES, real("codes")), "code": CODES,
    "number": CODES, "reference": CODES, "sscc": sscc(), "decision_number": CODES,
    "quantity": DECIMALS, "area_ha": DECIMALS, "dose": DECIMALS, "seed_quantity": DECIMALS,
    "package_size": DECIMALS, "factor": st.sampled_from(["1", "50", "0.5"]),
    "temperature_c": st.integers(-30, 30), "count": st.integers(1, 60), "package_count": st.integers(1, 300),
    "withholding_days": st.integers(0, 30), "stars": st.integers(1, 5), "shelf_life_days": st.integers(1, 400),
    "unit": st.sampled_from(UNITS), "package_unit": st.sampled_from(UNITS), "seed_unit": st.sampled_from(UNITS),
    "cooling": st.booleans(),
    "location": st.sampled_from(["20.93, 106.67", {"type": "Point", "coordinates": [106.67, 20.93]},
                                 "20.93 106.67; 20.94 106.67; 20.94 106.68", "91, 200"]),
    "url": st.one_of(real("urls"), st.just("https://x.test/01/123")),
    "urls": st.lists(st.one_of(real("urls"), WORDS), min_size=1, max_size=5),
}


def near_real(schema: dict, name: str = "") -> st.SearchStrategy:
    """A value for a request field: from BY_NAME when its name is known, else from the schema."""
    if name in BY_NAME:
        return BY_NAME[name]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds and "properties" in schema:
        return near_real_object(schema)
    if "array" in kinds:
        return st.lists(near_real(schema.get("items", {})), min_size=schema.get("minItems", 0), max_size=3)
    if "integer" in kinds:
        return st.integers(1, 40)
    if schema.get("format") == "date":
        return near_day()
    return WORDS


def near_real_object(schema: dict) -> st.SearchStrategy:
    properties, required = schema["properties"], set(schema.get("required", ()))
    if {"gtin", "lot"} <= properties.keys():  # a lot line: a GTIN and a lot code that belong together
        pair = st.one_of(real("lots"), st.tuples(BY_NAME["gtin"], BY_NAME["lot"]))
        others = {name: value for name, value in properties.items() if name not in ("gtin", "lot")}
        rest = near_real_object({**schema, "properties": others})
        return st.tuples(pair, rest).map(lambda both: {"gtin": both[0][0], "lot": both[0][1], **both[1]})
    return st.fixed_dictionaries({name: near_real(properties[name], name) for name in properties if name in required},
                                 optional={name: near_real(properties[name], name)
                                           for name in properties if name not in required})


def epcis_documents() -> st.SearchStrategy:
    """Documents the demo exported: sent again they are skipped; with an event moved in time they are new."""
    def moved(pair):
        document_, minutes = pair
        copy = json.loads(json.dumps(document_))
        events = copy["epcisBody"]["eventList"]
        if events and minutes:
            event = events[minutes % len(events)]
            moment = datetime.now(ZoneInfo(zone_name())) - timedelta(minutes=minutes)
            event["eventTime"] = moment.isoformat(timespec="seconds")
            event.pop("eventID", None)
        return copy
    return st.tuples(real("epcis"), st.integers(0, 5000)).map(moved)


def path_near_real(names: set) -> st.SearchStrategy:
    if names == {"gtin", "code"}:
        return st.one_of(real("lots"), st.tuples(BY_NAME["gtin"], BY_NAME["lot"])).map(
            lambda pair: {"gtin": pair[0], "code": pair[1]})
    return st.fixed_dictionaries({name: st.integers(1, 40) for name in names})


QUERY = {"gtin": BY_NAME["gtin"], "lot": BY_NAME["lot"], "direction": st.sampled_from(["back", "forward", "sideways"]),
         "from": near_day(), "to": near_day(), "limit": st.integers(0, 30).map(str),
         "after": st.integers(1, 60).map(str),
         "bizStep": st.sampled_from(["shipping", "receiving", "harvesting", "commissioning"]),
         "format": st.sampled_from(["csv", "xlsx", "pdf"]), "first": st.integers(0, 40).map(str),
         "last": st.integers(0, 40).map(str), "status": st.sampled_from(["in_transit", "received", "cancelled"])}


def operation_id(context) -> str:
    return context.operation.definition.raw["operationId"]


def near_real_data(schema) -> None:
    """Hooks that mix values near the demo's real data into what schemathesis draws from the document."""
    @schema.hook("before_generate_path_parameters")
    def _path(context, strategy):
        names = {parameter.name for parameter in context.operation.path_parameters}
        return st.one_of(strategy, path_near_real(names)) if names else strategy

    @schema.hook("before_generate_query")
    def _query(context, strategy):
        names = [parameter.name for parameter in context.operation.query]
        if not names:
            return strategy
        pair = st.one_of(real("lots"), st.tuples(BY_NAME["gtin"], BY_NAME["lot"]))
        rest = st.fixed_dictionaries({}, optional={name: QUERY[name] for name in names if name not in ("gtin", "lot")})
        lot_query = st.tuples(st.booleans(), pair, rest).map(
            lambda t: ({"gtin": t[1][0], "lot": t[1][1]} if t[0] and "gtin" in names else {}) | t[2])
        return st.one_of(strategy, lot_query)

    @schema.hook("before_generate_body")
    def _body(context, strategy):
        name = operation_id(context)
        if name == "captureEpcis":
            return st.one_of(strategy, epcis_documents())
        return st.one_of(strategy, near_real(BODIES[name])) if name in BODIES else strategy


# Built from the document the app serves at /api/v1/openapi.json (test_openapi.py holds the two equal).
# Loaded at import, not from a fixture: schemathesis' lazy fixture loading does not run under pytest 9.
as_producer = schemathesis.openapi.from_dict(document(), config=fuzzing_config(EXAMPLES))
anonymously = schemathesis.openapi.from_dict(document(), config=fuzzing_config(ANONYMOUS_EXAMPLES))
near_real_data(as_producer)
near_real_data(anonymously)


@pytest.fixture(scope="module")
def fuzzed_app(databases, tmp_path_factory):
    """One demo ward for the whole module: what one operation's examples write, the next finds."""
    for app in _make_app(databases, tmp_path_factory.mktemp("fuzz"), "demo"):
        with app.app_context():
            session = get_session()
            REAL["token"] = accounts.create_token(session, os.environ.get("TRACE_FUZZ_AS", "htx.lua@demo.vn"))
            session.commit()
        read_real_data(app)
        yield app


@as_producer.parametrize()
def test_as_a_demo_producer(case, fuzzed_app):
    case.call_and_validate(app=fuzzed_app, headers={"Authorization": f"Bearer {REAL['token']}"}, checks=CHECKS)


@anonymously.parametrize()
def test_without_a_token(case, fuzzed_app):
    case.call_and_validate(app=fuzzed_app, checks=CHECKS)
