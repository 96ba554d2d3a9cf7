"""EPC URIs of every GS1 scheme turned into the Digital Links that event hash IDs and capture use (GS1 EPC Tag
Data Standard 2.0, URI forms to element strings); check digits are worked out here with GS1's modulo 10."""
import copy
import json
from trace.services import event_hash

import pytest


def gs1(digits: str) -> str:
    """The digits followed by their GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return digits + str((10 - total % 10) % 10)


CONVERSIONS = [
    ("urn:epc:id:sgtin:0614141.812345.6789", f"/01/{gs1('8061414112345')}/21/6789"),
    ("urn:epc:id:sgtin:0614141.812345.6", f"/01/{gs1('8061414112345')}/21/6"),  # a one-character serial
    ("urn:epc:id:sgtin:0614141.812345.12345678901234567890", f"/01/{gs1('8061414112345')}/21/12345678901234567890"),
    ("urn:epc:id:sgtin:0614141.812345.a%2Fb", f"/01/{gs1('8061414112345')}/21/a%2Fb"),
    ("urn:epc:id:sscc:0614141.1234567890", f"/00/{gs1('10614141234567890')}"),
    ("urn:epc:id:sgln:0614141.12345.0", f"/414/{gs1('061414112345')}"),
    ("urn:epc:id:sgln:0614141.12345.5678", f"/414/{gs1('061414112345')}/254/5678"),
    ("urn:epc:id:grai:0614141.12345.400", f"/8003/{gs1('0061414112345')}400"),
    ("urn:epc:id:giai:0614141.12345400", "/8004/061414112345400"),
    ("urn:epc:id:gsrn:0614141.1234567890", f"/8018/{gs1('06141411234567890')}"),
    ("urn:epc:id:gsrnp:0614141.1234567890", f"/8017/{gs1('06141411234567890')}"),
    ("urn:epc:id:gdti:0614141.12345.006847", f"/253/{gs1('061414112345')}006847"),
    ("urn:epc:id:cpi:0614141.98765.12345", "/8010/061414198765/8011/12345"),
    ("urn:epc:id:sgcn:4012345.67890.04711", f"/255/{gs1('401234567890')}04711"),
    ("urn:epc:id:ginc:0614141.xyz3311cba", "/401/0614141xyz3311cba"),
    ("urn:epc:id:gsin:0614141.123456789", f"/402/{gs1('0614141123456789')}"),
    ("urn:epc:id:itip:0614141.812345.01.02.987", f"/8006/{gs1('8061414112345')}0102/21/987"),
    ("urn:epc:id:upui:0614141.012345.ABC", f"/01/{gs1('0061414112345')}/235/ABC"),
    ("urn:epc:id:pgln:0614141.00000", f"/417/{gs1('061414100000')}"),
    ("urn:epc:id:pgln:061414112345.", f"/417/{gs1('061414112345')}"),  # a 12-digit company prefix: no reference
    ("urn:epc:id:sgln:061414112345..0", f"/414/{gs1('061414112345')}"),
    ("urn:epc:id:sgtin:0614141.812345.a!b(c)d*e+f,g:h", f"/01/{gs1('8061414112345')}/21/a%21b%28c%29d%2Ae%2Bf%2Cg%3Ah"),
    ("urn:epc:id:giai:0614141.a!b", "/8004/0614141a%21b"),
    ("urn:epc:id:gdti:0614141.12345.a:b", f"/253/{gs1('061414112345')}a%3Ab"),
    ("urn:epc:id:upui:0614141.012345.A(B)", f"/01/{gs1('0061414112345')}/235/A%28B%29"),
    ("urn:epc:id:cpi:0614141.123ABC.123456789", "/8010/0614141123ABC/8011/123456789"),
    ("urn:epc:id:itip:0614141.812345.01.02.9.8", f"/8006/{gs1('8061414112345')}0102/21/9.8"),
    ("urn:epc:class:lgtin:4012345.012345.998877", f"/01/{gs1('0401234512345')}/10/998877"),
    ("urn:epc:idpat:sgtin:4012345.066666.*", f"/01/{gs1('0401234566666')}"),
    ("urn:epc:idpat:upui:0614141.012345.*", f"/01/{gs1('0061414112345')}"),
    ("urn:epc:idpat:grai:0614141.12345.*", f"/8003/{gs1('0061414112345')}"),
    ("urn:epc:idpat:gdti:0614141.12345.*", f"/253/{gs1('061414112345')}"),
    ("urn:epc:idpat:sgcn:4012345.67890.*", f"/255/{gs1('401234567890')}"),
    ("urn:epc:idpat:cpi:0614141.98765.*", "/8010/061414198765"),
    ("urn:epc:idpat:itip:0614141.812345.01.02.*", f"/8006/{gs1('8061414112345')}0102"),
]


@pytest.mark.parametrize(("uri", "path"), CONVERSIONS, ids=[uri.split(":", 3)[3].split(":")[0] for uri, _ in CONVERSIONS])
def test_an_epc_uri_becomes_its_digital_link(uri, path):
    assert event_hash.digital_link(uri) == "https://id.gs1.org" + path


NOT_KEYS = [
    "urn:epc:id:sgtin:0614141.81234.6789",  # 12 digits of company prefix and item reference, not 13
    "urn:epc:id:sscc:0614141.123456789",  # 16 digits, not 17
    "urn:epc:id:sscc:0614141.12345678x0",
    "urn:epc:id:sgln:0614141.1234.0",
    "urn:epc:id:gsrn:0614141.123456789",
    "urn:epc:id:gsin:0614141.12345678",
    "urn:epc:id:itip:0614141.812345.01.987",  # no piece or no total
    "urn:epc:id:pgln:0614141.0000",
    "urn:epc:id:pgln:0614141.00000.",
    "urn:epc:id:cpi:0614141.123ABC.12x",  # a CPI's serial is digits
    "urn:epc:id:cpi:0614141.12.34.5",  # a component/part reference has no dot
    "urn:epc:id:sgtin:0614141.812345.123456789012345678901",  # a serial of 21 characters
    "urn:epc:idpat:itip:0614141.812345.01.*",
    "urn:epc:idpat:itip:0614141.812345.01.02.3.*",  # a pattern's serial is the * alone
    "urn:epc:idpat:sgtin:4012345.066666.01.02.*",  # an SGTIN has no piece and total: not an ITIP
    "urn:epc:idpat:cpi:0614141.12.34.*",  # a component/part reference has no dot, in a pattern either
    "urn:epc:idpat:sgtin:4012345.066666.7.*",
    "urn:epc:class:lgtin:4012345.01234.998877",
    "urn:epc:idpat:sgtin:4012345.06666.*",
    "urn:epc:idpat:sgtin:4012345.066666.7",  # a pattern ends in *
    "urn:epc:id:nosuchscheme:0614141.1",
    "urn:epc:id:sgtin",
]


@pytest.mark.parametrize("uri", NOT_KEYS)
def test_what_is_not_a_gs1_key_has_no_digital_link(uri):
    assert event_hash.digital_link(uri) is None


def test_every_conversion_agrees_with_gs1s_reference_implementation():
    from epcis_event_hash_generator.dl_normaliser import normaliser
    uris = [uri for uri, _ in CONVERSIONS] + NOT_KEYS
    assert [event_hash.digital_link(uri) for uri in uris] == [normaliser(uri) for uri in uris]


DIGITAL_LINKS = [  # every short name, other hosts, GTIN-8/12/13, CPVs, lots with serials, queries

    "https://id.gs1.org/01/09520123456788/10/ABC123/21/12345",
    "https://id.gs1.org/01/09520123456788/21/12345",
    "https://example.com/01/09520123456788/10/ABC123?17=261231",
    "https://example.com/gtin/09520123456788/lot/ABC1/ser/XYZ9",
    "http://example.com/some/path/01/09520123456788/21/7",
    "https://id.gs1.org/01/9520123456788",
    "https://id.gs1.org/01/952012345678",
    "https://id.gs1.org/01/95201234",
    "https://id.gs1.org/01/09520123456788/22/2A/10/ABC/21/7",
    "https://id.gs1.org/01/09520123456788/22/2A",
    "https://id.gs1.org/01/09520123456788/22/2A/",
    "https://id.gs1.org/01/09520123456788/",
    "https://id.gs1.org/01/09520123456788/10/ABC",
    "https://id.gs1.org/8006/095201234567880102/10/L1/21/7",
    "https://id.gs1.org/8006/095201234567880102/22/X/21/7",
    "https://id.gs1.org/00/395201230000000015",
    "https://id.gs1.org/sscc/395201230000000015",
    "https://id.gs1.org/414/9520123456788/254/32a%2Fb",
    "https://id.gs1.org/gln/9520123456788",
    "https://id.gs1.org/party/9520123456788",
    "https://id.gs1.org/417/9520123456788",
    "https://id.gs1.org/8010/0952012345ABC/8011/123",
    "https://id.gs1.org/cpid/0952012345ABC/8011/123",
    "https://id.gs1.org/8004/0952012345XYZ",
    "https://id.gs1.org/giai/0952012345XYZ",
    "https://id.gs1.org/8003/095201234567884A1",
    "https://id.gs1.org/grai/095201234567884A1",
    "https://id.gs1.org/253/9520123456788ABC",
    "https://id.gs1.org/gdti/9520123456788ABC",
    "https://id.gs1.org/255/952012345678812",
    "https://id.gs1.org/gcn/952012345678812",
    "https://id.gs1.org/401/952012345XYZ",
    "https://id.gs1.org/ginc/952012345XYZ",
    "https://id.gs1.org/402/95201234567890128",
    "https://id.gs1.org/gsin/95201234567890128",
    "https://id.gs1.org/8017/952012345678901239",
    "https://id.gs1.org/gsrnp/952012345678901239",
    "https://id.gs1.org/8018/952012345678901239",
    "https://id.gs1.org/gsrn/952012345678901239",
    "https://id.gs1.org/itip/095201234567880102/ser/7",
    "https://id.gs1.org/01/09520123456788/235/ABC",
    "https://shop.example.vn/a/b/414/9520123456788",
    "https://id.gs1.org/01/09520123456788/10/" + "L" * 21,
    "https://id.gs1.org/01/0952012345678/10/ABC",
    "https://id.gs1.org/01/09520123456788#frag",
    "https://id.gs1.org/01/09520123456788/21/a%2Fb?linkType=all",
    "https://id.gs1.org/99/09520123456788",
    "ftp://id.gs1.org/01/09520123456788",
    "https://id.gs1.org/",
    "https://id.gs1.org/ABCDEFGHIJ",
    "https://example.com/01/abcd/10/1",
    "https://id.gs1.org/01/09520123456788/22/",
    "https://id.gs1.org/01/09520123456788/22/2A/10/B/",
    "https://example.com/01/09520123456788/21/a%2Fb",
    "https://id.gs1.org/01/09520123456788/10/00/21/5",  # a lot named like a primary key: the GTIN's comes first
    "https://example.com/01/09520123456788/10/01/21/5",
    "https://id.gs1.org/01/09520123456788/21/5?17=261231?x=1",  # a query with a question mark in it
]


def test_every_digital_link_form_is_canonicalised_as_gs1s_reference_does():
    from epcis_event_hash_generator.dl_normaliser import normaliser
    assert [event_hash.digital_link(uri) for uri in DIGITAL_LINKS] == [normaliser(uri) for uri in DIGITAL_LINKS]
    assert event_hash.digital_link("https://example.com/gtin/09520123456788/lot/ABC1/ser/XYZ9?17=261231") == (
        "https://id.gs1.org/01/09520123456788/21/XYZ9")
    # Left as written, as by the reference: a percent-escape in a Digital Link, a trailing slash after a CPV.
    assert event_hash.digital_link("https://example.com/01/09520123456788/21/a%2Fb") is None
    assert event_hash.digital_link("https://id.gs1.org/01/09520123456788/22/2A/") is None


def test_a_hash_id_is_the_same_for_an_epc_uri_and_its_digital_link():
    def event(epc):
        return {"type": "ObjectEvent", "eventTime": "2026-11-20T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
                "epcList": [epc], "action": "OBSERVE", "bizStep": "shipping"}
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
                "epcisBody": {"eventList": [event("urn:epc:id:grai:0614141.12345.400"),
                                            event("https://id.gs1.org/8003/00614141123452400"),
                                            event("urn:epc:id:grai:0614141.12345.401")]}}
    first, second, third = event_hash.document_hash_ids(document)
    assert first == second != third


def test_namespaces_come_from_a_context_given_as_a_list_or_as_one_object():
    declared = {"ex": "https://ns.example.com/epcis/", "n": 3}
    assert event_hash.namespaces_of(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", declared]) == {
        "ex": "{https://ns.example.com/epcis/}"}
    assert event_hash.namespaces_of(declared) == {"ex": "{https://ns.example.com/epcis/}"}
    assert event_hash.namespaces_of("https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld") == {}
    assert event_hash.namespaces_of(None) == {}


CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"ex": "https://ns.example.com/epcis/", "cbvmda": "urn:epcglobal:cbv:mda:"}]
AT = {"eventTime": "2026-11-20T08:00:00+07:00", "eventTimeZoneOffset": "+07:00"}
SENSOR = [{"sensorReport": [{"type": "Temperature", "value": 4, "uom": "CEL"}]}]  # a shape only the full tree reads
OBSERVED = {"type": "ObjectEvent", **AT, "epcList": [], "action": "OBSERVE"}
LGTIN = "urn:epc:class:lgtin:4012345.012345.998877"
# Events the plain path cannot read, each with a shape the canonical order or GS1's reference treats its own way.
SHAPES = {
    "transformation": {"type": "TransformationEvent", **AT, "inputEPCList": ["urn:epc:id:sgtin:0614141.812345.6789"],
                       "inputQuantityList": [{"epcClass": LGTIN, "quantity": 200, "uom": "KGM"}],
                       "outputEPCList": ["urn:epc:id:sgtin:0614141.812345.6790"],
                       "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998878",
                                               "quantity": 10.50, "uom": "KGM"}],
                       "bizStep": "commissioning", "sensorElementList": SENSOR},
    "aggregation": {"type": "AggregationEvent", **AT, "parentID": "urn:epc:id:sscc:0614141.1234567890",
                    "childEPCs": ["urn:epc:id:sgtin:0614141.812345.6789", "urn:epc:id:sgtin:0614141.812345.6788"],
                    "childQuantityList": [{"epcClass": LGTIN, "quantity": 2}],
                    "action": "ADD", "bizStep": "packing", "sensorElementList": SENSOR},
    "transaction and source with an extension": {
        "type": "ObjectEvent", **AT, "quantityList": [{"epcClass": LGTIN, "quantity": 3, "uom": "KGM"}],
        "action": "OBSERVE", "bizStep": "storing", "sensorElementList": SENSOR,
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO-1", "ex:note": "x"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000", "ex:n": "1"}]},
    "source without its value": {**OBSERVED, "sensorElementList": SENSOR,
                                 "sourceList": [{"type": "owning_party", "ex:z": "1", "ex:a": "2"}]},
    "comment": {"type": "ObjectEvent", "comment": "not hashed", **AT, "epcList": ["urn:epc:id:sgtin:0614141.812345.6789"],
                "action": "OBSERVE", "bizStep": "storing"},
    "lists in a list": {**OBSERVED, "ex:grid": [["a", "b"], ["c"]]},
    "numbers in lists in a list": {**OBSERVED, "ex:grid": [[1, 2.50], [3]]},
    "lists in a list in a list": {**OBSERVED, "ex:grid": [[["a", "b"], ["c"]], "d"]},
    "declared prefix in values": {**OBSERVED, "sensorElementList": SENSOR, "ex:v": "ex:a:b", "ex:w": "ex:c"},
    "extension object": {**OBSERVED, "sensorElementList": SENSOR, "ex:obj": {"ex:b": "1", "ex:a": "2"}},
    "one name beginning another": {**OBSERVED, "sensorElementList": SENSOR, "ex:a2": "1", "ex:a": "2"},
    "no type": {**AT, "epcList": [], "action": "OBSERVE"},
    "empty disposition": {**OBSERVED, "disposition": "", "sensorElementList": SENSOR},
    "empty read point": {**OBSERVED, "readPoint": {}, "sensorElementList": SENSOR},
    "read point with only an extension": {**OBSERVED, "readPoint": {"ex:x": "1"}, "sensorElementList": SENSOR},
    "read point with an id and an extension": {
        **OBSERVED, "readPoint": {"id": "urn:epc:id:sgln:0614141.12345.0", "ex:x": "1"}, "sensorElementList": SENSOR},
    "read point with an undeclared key": {**OBSERVED, "readPoint": {"id": "x", "a/}": "1"}, "sensorElementList": SENSOR},
    "offset that is a number": {**OBSERVED, "eventTimeZoneOffset": "7.0", "sensorElementList": SENSOR},
    "empty quantity element": {"type": "ObjectEvent", **AT, "action": "OBSERVE", "quantityList": [{"epcClass": LGTIN}, {}]},
    "quantity with an extension object": {"type": "ObjectEvent", **AT, "action": "OBSERVE", "quantityList": [
        {"epcClass": LGTIN, "quantity": 3, "ex:q": {"ex:r": "1"}}]},
    "key with a colon after its prefix": {**OBSERVED, "sensorElementList": SENSOR, "ex:a:b": "1"},
    "word of a sensor component": {**OBSERVED, "ex:c": "x", "sensorElementList": [
        {"sensorReport": [{"type": "Temperature", "component": "x", "value": 4, "uom": "CEL"}]}]},
    "extension list": {**OBSERVED, "ex:codeList": ["a", "b"]},
    "ilmd with an extension object": {**OBSERVED, "action": "ADD", "epcList": ["urn:epc:id:sgtin:0614141.812345.6789"],
                                      "ilmd": {"ex:obj": {"ex:b": "1", "ex:a": "2"}}},
    "ilmd with an extension list of one word": {**OBSERVED, "action": "ADD",
                                                "epcList": ["urn:epc:id:sgtin:0614141.812345.6789"],
                                                "ilmd": {"ex:priceList": "standard"}},
    # Shapes the EPCIS schema refuses, which `epcis hash` still reads, as GS1's reference does.
    "quantity with an extension": {"type": "ObjectEvent", **AT, "action": "OBSERVE", "quantityList": [
        {"epcClass": LGTIN, "quantity": 3, "ex:q": "1"}]},
    "transaction with an extension object first": {**OBSERVED, "bizTransactionList": [
        {"ex:n": {"ex:a": "1"}, "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO-1"}]},
    "persistent disposition as a word, before a read point": {
        **OBSERVED, "persistentDisposition": "x", "readPoint": {"id": "urn:epc:id:sgln:0614141.12345.0"}},
}


def reference_prehashes(document: dict) -> list:
    """GS1's reference implementation; its namespace table is module state, so it is cleared first."""
    from epcis_event_hash_generator import hash_generator, json_to_py
    json_to_py._namespaces.clear()
    events = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(document))
    return hash_generator.derive_prehashes_from_events(events)


def _document(event: dict) -> dict:
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-20T01:00:00Z",
            "epcisBody": {"eventList": [event]}}


@pytest.mark.parametrize("name", SHAPES)
def test_an_event_of_any_shape_has_the_pre_hash_of_gs1s_reference(name):
    document = _document(SHAPES[name])
    assert event_hash.document_prehashes(document, document["epcisBody"]["eventList"]) == reference_prehashes(document)
    assert event_hash._direct(SHAPES[name], event_hash.namespaces_of(CONTEXT),
                              event_hash.vocabulary_used([SHAPES[name]])) is None  # the plain path declines it


# Events of plain shape, which skip the tree (capture must take 5,000 events a second; the tree alone does not).
PLAIN = {
    "empty read point and a place without id": {**OBSERVED, "readPoint": {}, "bizLocation": {"id": ""}},
    "quantity elements partly empty": {"type": "ObjectEvent", **AT, "action": "OBSERVE", "quantityList": [
        {"epcClass": LGTIN}, {"epcClass": LGTIN, "quantity": 2.0, "uom": "KGM"}, {"epcClass": "", "quantity": ""}]},
    "transactions, one without a value": {**OBSERVED, "bizTransactionList": [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO-2"}, {"type": "desadv", "bizTransaction": ""}]},
    "sources and destinations with a prefixed key": {
        **OBSERVED, "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
        "destinationList": [{"type": "location", "ex:destination": "ex:shop"}]},
    "ilmd": {**OBSERVED, "ilmd": {"ex:bestBefore": "2026-12-31", "cbvmda:lotNumber": "L1", "ex:note": "", "ex:n": 2.50}},
    "extensions of every plain kind": {**OBSERVED, "ex:list": ["b", "a", "", 3], "ex:empty": "", "ex:prefixed": "ex:v",
                                       "ex:number": 10.0, "ex:flag": True, "plain": "x"},
    "certification and parent": {"type": "AggregationEvent", **AT, "certificationInfo": "https://cert.example/1",
                                 "parentID": "https://id.gs1.org/00/395201230000000015",
                                 "childEPCs": ["urn:epc:id:sgtin:0614141.812345.6789"], "action": "ADD"},
    "transformation": {"type": "TransformationEvent", **AT, "inputEPCList": ["urn:epc:id:sgtin:0614141.812345.6789"],
                       "inputQuantityList": [{"epcClass": LGTIN, "quantity": 200, "uom": "KGM"}],
                       "outputEPCList": ["urn:epc:id:sgtin:0614141.812345.6790", ""],
                       "outputQuantityList": [{"epcClass": LGTIN, "quantity": 10.50}],
                       "transformationID": "urn:x:t1", "bizStep": "commissioning", "disposition": "active"},
    "empty time and offset": {"type": "ObjectEvent", "eventTime": "", "eventTimeZoneOffset": " ", "epcList": [],
                              "action": "OBSERVE", "bizStep": ""},
    "prefixed value with a colon after its prefix": {**OBSERVED, "ex:p": "ex:a:b"},
    "digital link with a line break": {**OBSERVED, "epcList": ["https://id.gs1.org/01/12345670/21/a\nb"]},
    "word of an error reason": {**OBSERVED, "ex:r": "incorrect_data", "errorDeclaration": {
        "declarationTime": "2026-11-20T08:00:00+07:00", "reason": "incorrect_data"}},
    "transaction with an extension after its type and value": {**OBSERVED, "bizTransactionList": [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO-1", "ex:note": "x"}]},
}


@pytest.mark.parametrize("name", PLAIN)
def test_a_plain_event_is_read_directly_with_the_trees_and_the_references_pre_hash(name):
    event = PLAIN[name]
    namespaces, expansions = event_hash.namespaces_of(CONTEXT), event_hash.vocabulary_used([event])
    direct = event_hash._direct(event, namespaces, expansions)
    assert direct is not None and direct == event_hash._tree_prehash(event, namespaces, expansions)
    assert [direct] == reference_prehashes(_document(event))


def test_a_transaction_or_a_source_written_value_first_hashes_as_written_type_first():
    transaction = {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO-2"}
    source = {"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}
    type_first = {**OBSERVED, "bizTransactionList": [transaction], "sourceList": [source]}
    value_first = {**OBSERVED, "bizTransactionList": [dict(reversed(transaction.items()))],
                   "sourceList": [dict(reversed(source.items()))]}
    assert list(value_first["sourceList"][0]) == ["source", "type"]
    assert event_hash.document_prehashes(_document(value_first), [value_first]) == reference_prehashes(
        _document(type_first))


def test_an_object_typed_with_a_list_of_words_in_a_list_of_lists_hashes_as_in_a_flat_list():
    """JSON-LD reads a list of lists as one flat list. GS1's reference fails on this shape, which the EPCIS schema
    lets through to capture, so the flat list it does read is the yardstick."""
    typed = {"type": ["x", "y"], "ex:a": "1"}
    nested, flat = {**OBSERVED, "ex:o": [[typed]]}, {**OBSERVED, "ex:o": [typed]}
    assert event_hash.document_prehashes(_document(nested), [nested]) == reference_prehashes(_document(flat))
    assert event_hash.document_hash_ids(_document(nested)) == event_hash.document_hash_ids(_document(flat))


@pytest.mark.parametrize("written", ["", {}, 5, ["po"]])
def test_a_document_whose_transaction_list_is_not_a_list_of_objects_gets_no_hash_ids(app, tmp_path, written):
    """GS1's reference cannot hash such an event either: `epcis hash` says so rather than print an ID of its own."""
    path = tmp_path / "document.jsonld"
    path.write_text(json.dumps(_document({**OBSERVED, "bizTransactionList": written})))
    result = app.test_cli_runner().invoke(args=["epcis", "hash", str(path)])
    assert (result.exit_code, result.output) == (1, "Error: The file is not an EPCISDocument in JSON.\n")
