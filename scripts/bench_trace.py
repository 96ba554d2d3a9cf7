"""Trace and EPCIS capture at ward scale, on SQLite and PostgreSQL.

Builds a synthetic ward of 40,000 supply chains (1,040,000 events, 200,000 lots) straight into the
database, shaped as the service records them: three fields harvested and cooled, the paddy shipped to a
processor and received, milled together with part of another chain's paddy, packed, repacked into retail
bags, shipped to a shop, received and stored there (harvest → ship → receive → transform → pack →
transform → ship → receive → store). Then it times trace back from random retail lots and forward from
random paddy lots (median and p99), and EPCIS capture of documents of 1,000 events, each figure beside a
reference timed in the same run: fetching one lot and its product by primary key.

    scripts/bench-trace                 # both databases (PostgreSQL when its server binaries are installed)
    scripts/bench-trace --chains 4000   # a smaller ward
"""
import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trace.db import make_engine, upgrade  # noqa: E402
from trace.models import (  # noqa: E402
    Batch,
    Event,
    EventLot,
    Holding,
    Lot,
    Organization,
    Product,
    Shipment,
    Site,
    User,
)
from trace.services import capture, epcis, lineage  # noqa: E402
from trace.services.events import STEPS  # noqa: E402
from trace.services.gs1 import check_digit  # noqa: E402

from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

PRODUCERS, PROCESSORS, RETAILERS = 400, 40, 200
ZONE = "Asia/Ho_Chi_Minh"
START = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLES = 200


def gtin(n: int) -> str:
    body = f"0893{n:09d}"
    return body + str(check_digit(body))


class Ward:
    """Rows for every table, with ids assigned here, written in large batches."""

    def __init__(self, engine, chains: int):
        self.engine, self.chains = engine, chains
        self.rows = {}
        self.ids = {}

    def next_id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def add(self, model, **values) -> int:
        table = model.__tablename__
        if "id" in model.__table__.c and "id" not in values:
            values["id"] = self.next_id(table)
        for column in model.__table__.c:  # every row of a batch names the same columns
            if column.name not in values and column.nullable:
                values[column.name] = None
        self.rows.setdefault(table, []).append(values)
        if len(self.rows[table]) >= 20_000:
            self.write_all()  # every table, parents first, so that foreign keys hold
        return values.get("id")

    def write(self, table: str) -> None:
        rows = self.rows.pop(table, [])
        if rows:
            with self.engine.begin() as connection:
                connection.execute(insert(self.model_of[table].__table__), rows)

    def write_all(self) -> None:
        for table in ("organization", "user", "site", "product", "batch", "lot", "holding", "shipment", "event",
                      "eventlot"):
            self.write(table)

    model_of = {m.__tablename__: m for m in (Organization, User, Site, Product, Batch, Lot, Holding, Shipment, Event,
                                             EventLot)}

    def event(self, org: int, step: str, when: datetime, lines=(), batch=None, site=None, shipment=None,
              details=None) -> int:
        kind, action, biz_step, disposition = STEPS[step]
        event_id = self.next_id("event")
        self.add(Event, id=event_id, organization_id=org, batch_id=batch, site_id=site, step=step, epcis_type=kind,
                 action=action, biz_step=biz_step, disposition=disposition, parent_id=None, shipment_id=shipment,
                 event_time=when, event_time_zone_offset="+07:00", details=details or {}, actor_user_id=None,
                 corrects_event_id=None, captured_hash_id=None, recorded_at=when,
                 hash_id=f"ni:///sha-256;{hashlib.sha256(str(event_id).encode()).hexdigest()}?ver=CBV2.0")
        for role, lot_id, quantity in lines:
            self.add(EventLot, event_id=event_id, lot_id=lot_id, role=role, quantity=quantity, unit="kg")
        return event_id

    def build(self) -> dict:
        rng = random.Random(7)
        now = START
        orgs = {}
        for kind, count in (("cooperative", PRODUCERS), ("enterprise", PROCESSORS), ("retailer", RETAILERS)):
            orgs[kind] = [self.add(Organization, kind=kind, name=f"{kind} {i}", address="Thủy Nguyên", phone="",
                                   registration_number="", created_at=now) for i in range(count)]
        fields = {p: [self.add(Site, organization_id=p, name=f"Ruộng {p}-{k}", kind="rice_field", crop="Lúa",
                               area_ha=Decimal("5.2"), address="", created_at=now) for k in range(3)]
                  for p in orgs["cooperative"]}
        mills = {q: self.add(Site, organization_id=q, name=f"Xưởng {q}", kind="processing_facility", crop="", area_ha=None,
                             address="", created_at=now) for q in orgs["enterprise"]}
        shops = {r: self.add(Site, organization_id=r, name=f"Cửa hàng {r}", kind="store", crop="", area_ha=None, address="",
                             created_at=now) for r in orgs["retailer"]}
        number = iter(range(1, 10**8))
        paddy = {p: self.add(Product, organization_id=p, gtin=gtin(next(number)), name_vi="Thóc", name_en="",
                             category="", unit="kg", created_at=now) for p in orgs["cooperative"]}
        rice = {q: (self.add(Product, organization_id=q, gtin=gtin(next(number)), name_vi="Gạo xát", name_en="",
                             category="", unit="kg", created_at=now),
                    self.add(Product, organization_id=q, gtin=gtin(next(number)), name_vi="Gạo túi 5 kg", name_en="",
                             category="", unit="kg", created_at=now)) for q in orgs["enterprise"]}
        first_paddy, retail_lots, paddy_lots = [], [], []
        for c in range(self.chains):
            p = orgs["cooperative"][c % PRODUCERS]
            q = orgs["enterprise"][c % PROCESSORS]
            r = orgs["retailer"][c % RETAILERS]
            day = START + timedelta(days=c % 300, hours=c % 7)
            harvested = []
            for k, field in enumerate(fields[p]):
                batch = self.add(Batch, organization_id=p, site_id=field, product_id=paddy[p], code=f"B{c}-{k}",
                                 started_on=day.date(), created_at=day)
                self.event(p, "planting", day, batch=batch, site=field, details={"variety": "Bắc Hương"})
                for n in range(3):
                    self.event(p, "input_application", day + timedelta(days=10 + 20 * n), batch=batch, site=field,
                               details={"category": "fertiliser", "input_name": "NPK", "dose": "25",
                                        "dose_unit": "kg/sào"})
                cut = day + timedelta(days=100)
                lot = self.add(Lot, organization_id=p, product_id=paddy[p], batch_id=batch, code=f"P{c}-{k}",
                               quantity=Decimal(3000), unit="kg", produced_on=cut.date(), created_at=cut)
                self.event(p, "harvest", cut, [("output", lot, Decimal(3000))], batch=batch, site=field)
                self.event(p, "storing", cut + timedelta(hours=2), [("observed", lot, Decimal(3000))], batch=batch,
                           site=field, details={"cooling": True, "temperature_c": "18"})
                harvested.append(lot)
            paddy_lots.extend(harvested)
            first_paddy.append(harvested[0])
            sent = day + timedelta(days=101)
            shipment = self.add(Shipment, from_organization_id=p, to_organization_id=q, reference_type="desadv",
                                reference=f"PX-{c}", status="received", created_at=sent)
            lines = [("observed", lot, Decimal(3000)) for lot in harvested]
            self.event(p, "shipping", sent, lines, shipment=shipment)
            self.event(q, "receiving", sent + timedelta(hours=5), lines, site=mills[q], shipment=shipment)
            milled = self.add(Lot, organization_id=q, product_id=rice[q][0], code=f"R{c}", quantity=Decimal(6200),
                              unit="kg", produced_on=(sent + timedelta(days=1)).date(), created_at=sent)
            inputs = [("input", lot, Decimal(3000)) for lot in harvested]
            if c > 0:  # part of an earlier chain's paddy, so forward traces branch
                inputs.append(("input", first_paddy[rng.randrange(c)], Decimal(300)))
            self.event(q, "transformation", sent + timedelta(days=1), inputs + [("output", milled, Decimal(6200))],
                       site=mills[q], details={"process": "milling"})
            self.event(q, "packing", sent + timedelta(days=1, hours=3), [("observed", milled, Decimal(6200))],
                       site=mills[q], details={"package_count": 310})
            bags = self.add(Lot, organization_id=q, product_id=rice[q][1], code=f"T{c}", quantity=Decimal(6200),
                            unit="kg", produced_on=(sent + timedelta(days=2)).date(), created_at=sent)
            self.event(q, "transformation", sent + timedelta(days=2),
                       [("input", milled, Decimal(6200)), ("output", bags, Decimal(6200))], site=mills[q],
                       details={"process": "grading"})
            out = sent + timedelta(days=3)
            shipment = self.add(Shipment, from_organization_id=q, to_organization_id=r, reference_type="inv",
                                reference=f"HD-{c}", status="received", created_at=out)
            self.event(q, "shipping", out, [("observed", bags, Decimal(6200))], shipment=shipment)
            self.event(r, "receiving", out + timedelta(hours=6), [("observed", bags, Decimal(6200))], site=shops[r],
                       shipment=shipment)
            self.event(r, "storing", out + timedelta(hours=7), [("observed", bags, Decimal(6200))], site=shops[r])
            self.add(Holding, lot_id=bags, organization_id=r, quantity=Decimal(6200))
            retail_lots.append(bags)
        self.write_all()
        return {"retail": retail_lots, "paddy": paddy_lots, "orgs": orgs}


def capture_fixture(engine, documents: int, per_document: int = 1000) -> tuple:
    """A cooperative with batches ready for harvest, a shop, and EPCIS documents of 1,000 events for them:
    harvest, milling, packing and shipping, a quarter each."""
    chains = per_document // 4
    with Session(engine) as session:
        coop = Organization(kind="cooperative", name="HTX bench", address="", phone="", registration_number="")
        shop = Organization(kind="retailer", name="Shop bench", address="", phone="", registration_number="")
        session.add_all([coop, shop])
        session.flush()
        user = User(organization_id=coop.id, email="bench@coop.vn", password_hash="-", role="producer")
        field = Site(organization_id=coop.id, name="Ruộng bench", kind="rice_field", crop="Lúa", area_ha=Decimal(6))
        mill = Site(organization_id=coop.id, name="Xưởng bench", kind="processing_facility")
        grain = Product(organization_id=coop.id, gtin=gtin(99_000_001), name_vi="Thóc bench", unit="kg")
        milled = Product(organization_id=coop.id, gtin=gtin(99_000_002), name_vi="Gạo bench", unit="kg")
        session.add_all([user, field, mill, grain, milled])
        session.flush()
        for d in range(documents):
            session.add_all([Batch(organization_id=coop.id, site_id=field.id, product_id=grain.id, code=f"CB{d}-{i}",
                                   started_on=(START - timedelta(days=120)).date()) for i in range(chains)])
        session.commit()
        ids = (user.id, coop.id, shop.id, field.id, mill.id, grain.gtin, milled.gtin)
    user_id, coop_id, shop_id, field_id, mill_id, grain_gtin, rice_gtin = ids
    docs = []
    for d in range(documents):
        events = []
        for i in range(chains):
            when = START + timedelta(days=d, minutes=i)

            def at(minutes: int, when=when) -> str:
                return (when + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=7))).isoformat(
                    timespec="milliseconds")

            paddy_uri, rice_uri = epcis.class_uri(grain_gtin, f"CP{d}-{i}"), epcis.class_uri(rice_gtin, f"CR{d}-{i}")
            common = {"eventTimeZoneOffset": "+07:00"}
            events += [
                {"type": "ObjectEvent", "eventTime": at(0), **common, "action": "ADD", "bizStep": "commissioning",
                 "disposition": "active", "quantityList": [{"epcClass": paddy_uri, "quantity": 1000, "uom": "KGM"}],
                 "bizLocation": {"id": epcis.site_uri(field_id)}, "tn:batch": f"CB{d}-{i}"},
                {"type": "TransformationEvent", "eventTime": at(60), **common, "bizStep": "commissioning",
                 "disposition": "active",
                 "inputQuantityList": [{"epcClass": paddy_uri, "quantity": 1000, "uom": "KGM"}],
                 "outputQuantityList": [{"epcClass": rice_uri, "quantity": 650, "uom": "KGM"}],
                 "bizLocation": {"id": epcis.site_uri(mill_id)}, "tn:process": "milling"},
                {"type": "AggregationEvent", "eventTime": at(90), **common, "action": "ADD", "bizStep": "packing",
                 "disposition": "in_progress", "childQuantityList": [{"epcClass": rice_uri, "quantity": 650,
                                                                      "uom": "KGM"}],
                 "tn:package_count": 130},
                {"type": "ObjectEvent", "eventTime": at(120), **common, "action": "OBSERVE", "bizStep": "shipping",
                 "disposition": "in_transit", "quantityList": [{"epcClass": rice_uri, "quantity": 650, "uom": "KGM"}],
                 "bizTransactionList": [{"type": "desadv", "bizTransaction": epcis.transaction_uri(coop_id, f"PX{d}-{i}")}],
                 "sourceList": [{"type": "owning_party", "source": f"{epcis.ORGANIZATION_URN}{coop_id}"}],
                 "destinationList": [{"type": "owning_party", "destination": f"{epcis.ORGANIZATION_URN}{shop_id}"}]},
            ]
        docs.append(epcis.document(events))
    return user_id, docs


def percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(name: str, url: str, chains: int, documents: int) -> dict:
    print(f"\n== {name} ==", flush=True)
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    built = Ward(engine, chains).build()
    with engine.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM event")).scalar()
        lots = connection.execute(text("SELECT count(*) FROM lot")).scalar()
        if engine.dialect.name == "postgresql":  # as autovacuum would; the service never runs ANALYZE on SQLite
            for table in ("organization", "user", "site", "product", "batch", "lot", "shipment", "event"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                        f"(SELECT max(id) FROM \"{table}\"))"))  # ids were given explicitly
            connection.execute(text("ANALYZE"))
            connection.commit()
    print(f"built {events:,} events and {lots:,} lots in {time.perf_counter() - started:.0f} s", flush=True)
    rng = random.Random(11)
    results = {}
    with Session(engine) as session:
        lot_ids = rng.sample(built["retail"], SAMPLES)
        reference = [timed(lambda i=i: session.exec(select(Lot, Product).join(Product, Product.id == Lot.product_id)
                                                    .where(Lot.id == i)).one()) for i in lot_ids]
        session.expunge_all()
        for direction, pool in (("back", built["retail"]), ("forward", built["paddy"])):
            sample = rng.sample(pool, SAMPLES)
            times, sizes = [], []
            for lot_id in sample:
                session.expunge_all()
                lot = session.get(Lot, lot_id)
                start = time.perf_counter()
                result = lineage.trace(session, lot, direction)
                lineage.trace_json(result)
                times.append(time.perf_counter() - start)
                sizes.append((len(result.lots), len(result.events)))
            results[direction] = (times, sizes)
    ref = statistics.median(reference)
    print(f"reference: one lot and its product by primary key, median {ref * 1000:.2f} ms")
    for direction, (times, sizes) in results.items():
        median, p99 = statistics.median(times), percentile(times, 0.99)
        lots_ = statistics.median(s[0] for s in sizes)
        events_ = statistics.median(s[1] for s in sizes)
        print(f"trace {direction:<7}: median {median * 1000:6.1f} ms ({median / ref:4.0f} ×), "
              f"p99 {p99 * 1000:6.1f} ms ({p99 / ref:4.0f} ×); median trace {lots_:.0f} lots, {events_:.0f} events")
    user_id, docs = capture_fixture(engine, documents)
    rates = []
    for document in docs:
        with Session(engine) as session:
            user = session.get(User, user_id)
            payload = json.loads(json.dumps(document))
            start = time.perf_counter()
            outcome = capture.capture(session, user, payload, ZONE)
            session.commit()
            elapsed = time.perf_counter() - start
        assert len(outcome.recorded) == len(document["epcisBody"]["eventList"]), outcome
        rates.append(len(outcome.recorded) / elapsed)
    print(f"EPCIS capture, documents of 1,000 events: median {statistics.median(rates):,.0f} events/s "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {len(rates)} documents)")
    engine.dispose()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=40_000)
    parser.add_argument("--documents", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL URL to use (a database that can be emptied)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    run("SQLite", f"sqlite:///{tmp / 'ward.sqlite'}", args.chains, args.documents)
    url = args.postgres or os.environ.get("BENCH_POSTGRES_URL")
    if url:
        run("PostgreSQL", url, args.chains, args.documents)
    else:
        print("\nPostgreSQL: skipped (no server; install Debian's postgresql or give --postgres URL)")


if __name__ == "__main__":
    main()
