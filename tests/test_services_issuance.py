"""Online verification: which run issued a label, for one URL or a batch, and the serials we issue."""
from trace import key_store, label_bases
from trace.db import get_session
from trace.models import LabelRun, Lot, Product, Revision
from trace.services import issuance, keys, labels
from trace.services.gs1 import label_url, parse_digital_link

import pytest
from sqlalchemy import event
from sqlmodel import select

from .conftest import BASE_URL


@pytest.mark.parametrize("serial, number", [
    ("1", 1), ("42", 42), ("999999999", 999999999),
    ("0", None), ("042", None), ("1000000000", None), ("", None), ("4a", None), ("-1", None), ("٣", None),
    ("１２", None),
])
def test_serial_number_reads_only_serials_we_could_have_issued(serial, number):
    assert issuance.serial_number(serial) == number


def signed(app, gtin, code, serial):
    store = key_store(app)
    kid = max(store.kids_on_disk())
    return label_url(BASE_URL, gtin, code, serial, keys.sign(store, kid, f"01{gtin}10{code}\x1d21{serial}".encode()))


@pytest.fixture
def runs(demo_app):
    """Two lots with labels: one with an issued run, a cancelled run and a pending run after it; the other issued."""
    with demo_app.app_context():
        session = get_session()
        lot_a, lot_b = session.exec(select(Lot).join(LabelRun, LabelRun.lot_id == Lot.id)
                                    .order_by(Lot.id).distinct().limit(2)).all()
        store = key_store(demo_app)
        issued = labels.issue_labels(session, store, lot_a, 2, over_issue_reason="test")
        cancelled = labels.cancel_run(session, labels.issue_labels(session, store, lot_a, 2, over_issue_reason="test"),
                                      "misprint")
        pending = labels.issue_labels(session, store, lot_a, 2, over_issue_reason="test", pending=True)
        other = labels.issue_labels(session, store, lot_b, 1, over_issue_reason="test")
        session.commit()
        gtin = {lot.id: session.get(Product, lot.product_id).gtin for lot in (lot_a, lot_b)}
        url = {name: signed(demo_app, gtin[run.lot_id], session.get(Lot, run.lot_id).code, str(run.first_serial))
               for name, run in (("issued", issued), ("cancelled", cancelled), ("pending", pending), ("other", other))}
        url["beyond"] = signed(demo_app, gtin[lot_a.id], lot_a.code, str(pending.last_serial + 1))
        url["issued_last"] = signed(demo_app, gtin[lot_a.id], lot_a.code, str(issued.last_serial))
        url["leading_zero"] = signed(demo_app, gtin[lot_a.id], lot_a.code, "0" + str(issued.first_serial))
        yield demo_app, session, url, {"issued": issued.id, "cancelled": cancelled.id, "pending": pending.id,
                                       "other": other.id}


def test_issued_run_and_revision_finds_the_run_that_reserved_the_serial(runs):
    app, session, url, run_id = runs
    for name in ("issued", "cancelled", "pending", "other", "issued_last"):
        row, revision = issuance.issued_run_and_revision(session, parse_digital_link(url[name]))
        assert row.id == run_id[name.replace("_last", "")]
        assert revision == session.exec(select(Revision.value)).one()
    cancelled, _ = issuance.issued_run_and_revision(session, parse_digital_link(url["cancelled"]))
    assert (cancelled.status, cancelled.cancel_reason) == ("issued", "misprint")
    assert cancelled.cancelled_at is not None
    assert issuance.issued_run_and_revision(session, parse_digital_link(url["beyond"])) == (None, None)
    assert issuance.issued_run_and_revision(session, parse_digital_link(url["leading_zero"])) == (None, None)


def test_verify_online_and_verify_many_agree_label_by_label_in_the_order_given(runs):
    app, session, url, run_id = runs
    keyset = keys.keyset(session, key_store(app))
    bases = label_bases(app)
    order = ["pending", "issued", "beyond", "cancelled", "other", "issued_last", "leading_zero"]
    expected = ["not_issued", "genuine", "not_issued", "cancelled", "genuine", "genuine", "not_issued"]
    batch = [url[name] for name in order] + ["https://trace.test/nothing", url["issued"].replace(BASE_URL, "https://x.test")]
    expected += ["malformed", "foreign_host"]
    verdicts = issuance.verify_many(session, batch, keyset, bases)
    assert [v.status for v in verdicts] == expected
    assert [issuance.verify_online(session, u, keyset, bases).status for u in batch] == expected
    assert verdicts[1].run.id == run_id["issued"]
    assert verdicts[3].run.id == run_id["cancelled"]
    assert verdicts[4].run.id == run_id["other"]


def test_verify_many_reads_the_runs_of_four_hundred_lots_per_query(runs):
    """801 lots named: three reads (400, 400, 1), and each label still finds its run."""
    app, session, url, run_id = runs
    keyset = keys.keyset(session, key_store(app))
    store = key_store(app)
    kid = max(store.kids_on_disk())
    gtin = parse_digital_link(url["issued"]).gtin
    # 799 lot codes that sort before and after the real ones: the real lots land in different reads.
    codes = [f"0{i:03d}" for i in range(400)] + [f"z{i:03d}" for i in range(399)]
    fakes = [label_url(BASE_URL, gtin, code, "1", keys.sign(store, kid, f"01{gtin}10{code}\x1d211".encode()))
             for code in codes]
    batch = fakes[:400] + [url["issued"]] + fakes[400:] + [url["other"]]
    reads = []
    engine = session.get_bind()

    def listener(_connection, _cursor, statement, *_args):
        if "JOIN labelrun" in statement:
            reads.append(statement)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        verdicts = issuance.verify_many(session, batch, keyset, label_bases(app))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(reads) == 3
    assert [v.status for v in verdicts[399:402]] == ["not_issued", "genuine", "not_issued"]
    assert verdicts[400].run.id == run_id["issued"]
    assert verdicts[-1].run.id == run_id["other"]
    assert {v.status for i, v in enumerate(verdicts) if i not in (400, len(batch) - 1)} == {"not_issued"}
    assert len(verdicts) == len(batch)
