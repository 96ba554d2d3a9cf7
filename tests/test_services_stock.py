"""The stock book: what an organization holds of a lot, checked in memory and guarded again by the database."""
from datetime import date
from decimal import Decimal
from trace.db import session_scope
from trace.models import Holding, Lot, Organization, Product
from trace.services.errors import ValidationError
from trace.services.stock import StockBook, holdings_of

import pytest
from sqlalchemy import event
from sqlmodel import Session, select


@pytest.fixture
def stock(app):
    """A farm and a shop; the farm holds 10 kg of lot 1 and 0 of lot 2, the shop 2.5 kg of lot 1 and 0.5 of lot 2."""
    engine = app.extensions["trace.engine"]
    with session_scope(engine) as session:
        farm, shop = Organization(kind="farm_household", name="Farm"), Organization(kind="retailer", name="Shop")
        session.add_all([farm, shop])
        session.flush()
        product = Product(organization_id=farm.id, gtin="08936000000021", name_vi="Gạo")
        session.add(product)
        session.flush()
        lots = [Lot(organization_id=farm.id, product_id=product.id, code=f"L{i}", quantity=Decimal(10), unit="kg",
                    produced_on=date(2026, 1, 1)) for i in (1, 2, 3)]
        session.add_all(lots)
        session.flush()
        session.add_all([Holding(lot_id=lots[0].id, organization_id=farm.id, quantity=Decimal("10")),
                         Holding(lot_id=lots[1].id, organization_id=farm.id, quantity=Decimal("0")),
                         Holding(lot_id=lots[0].id, organization_id=shop.id, quantity=Decimal("2.5")),
                         Holding(lot_id=lots[1].id, organization_id=shop.id, quantity=Decimal("0.5"))])
        ids = farm.id, shop.id, [lot.id for lot in lots]
    return engine, ids


def stored(engine):
    with Session(engine) as session:
        return {(h.lot_id, h.organization_id): h.quantity for h in session.exec(select(Holding)).all()}


def test_held_reads_the_database_and_adds_what_the_book_changed(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        book = StockBook(session)
        assert book.held(lot1, farm) == Decimal("10")
        assert book.held(lot1, shop) == Decimal("2.5")
        assert book.held(lot3, farm) == Decimal("0")
        assert book.take(lot1, farm, Decimal("4")) is True
        book.give(lot3, shop, Decimal("1.25"))
        assert (book.held(lot1, farm), book.held(lot3, shop)) == (Decimal("6"), Decimal("1.25"))


def test_take_refuses_more_than_is_held_and_takes_nothing(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        book = StockBook(session)
        assert book.take(lot1, farm, Decimal("10.001")) is False
        assert book.held(lot1, farm) == Decimal("10")
        assert book.take(lot1, farm, Decimal("10")) is True  # all of it is allowed
        assert book.take(lot1, farm, Decimal("0.001")) is False
        assert book.held(lot1, farm) == Decimal("0")
        assert book.take(lot2, farm, Decimal("0.001")) is False


def test_events_in_one_book_see_each_others_moves_in_order(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        book = StockBook(session)
        assert book.take(lot1, farm, Decimal("7")) is True
        book.give(lot1, shop, Decimal("7"))
        assert book.take(lot1, farm, Decimal("7")) is False
        assert book.take(lot1, shop, Decimal("9.5")) is True


def test_flush_writes_each_net_change_and_the_book_goes_on_from_there(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        book = StockBook(session)
        book.take(lot1, farm, Decimal("3.333"))
        book.give(lot1, shop, Decimal("3.333"))
        book.give(lot3, farm, Decimal("5"))
        book.give(lot3, shop, Decimal("1"))
        book.take(lot3, shop, Decimal("1"))  # a net change of zero writes nothing, not even an empty holding
        book.give(lot2, farm, Decimal("0.5"))
        book.give(lot2, farm, Decimal("0.25"))  # gifts to one holding add up, small ones too
        book.flush()
        session.commit()
        assert stored(engine) == {(lot1, farm): Decimal("6.667"), (lot2, farm): Decimal("0.75"),
                                  (lot1, shop): Decimal("5.833"), (lot3, farm): Decimal("5"),
                                  (lot2, shop): Decimal("0.5")}
        assert (book.held(lot1, farm), book.held(lot3, farm)) == (Decimal("6.667"), Decimal("5"))
        book.take(lot1, farm, Decimal("0.667"))
        book.flush()
        session.commit()
        assert stored(engine)[(lot1, farm)] == Decimal("6")
        book.flush()  # nothing left to write
        session.commit()
        assert stored(engine)[(lot1, farm)] == Decimal("6")


@pytest.mark.parametrize("left", ["5", "7.6", "7.999"])
def test_flush_refuses_all_when_the_stock_was_taken_meanwhile(stock, left):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        book = StockBook(session)
        assert book.take(lot1, farm, Decimal("8")) is True
        book.give(lot3, shop, Decimal("8"))
        with Session(engine) as other:  # another request took some first: less than 8 kg is left
            other.get(Holding, (lot1, farm)).quantity = Decimal(left)
            other.commit()
        with pytest.raises(ValidationError) as refused:
            book.flush()
        assert refused.value.errors == {"quantity": "The stock of a lot changed while this was being saved, and is "
                                                    "no longer enough. Nothing was saved; try again."}
        session.rollback()
    assert stored(engine)[(lot1, farm)] == Decimal(left)
    assert (lot3, shop) not in stored(engine)


def test_flush_may_take_everything_that_is_left(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        book = StockBook(session)
        book.take(lot1, farm, Decimal("10"))
        book.flush()
        session.commit()
    assert stored(engine)[(lot1, farm)] == Decimal("0")


def test_preload_reads_many_holdings_five_hundred_per_query(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as session:
        book = StockBook(session)
        keys = [(lot1, farm), (lot1, shop), (lot2, farm)] + [(1000 + i, farm) for i in range(998)]
        book.preload(keys + keys[:10])
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
        assert len(book.stored) == 1001
        assert book.held(lot1, farm) == Decimal("10")
        assert book.held(lot1, shop) == Decimal("2.5")
        assert book.held(1500, farm) == Decimal("0")
        count = len(statements)
        book.preload([(lot1, farm), (1001, farm)])  # known already: not read again
        assert book.held(1997, farm) == Decimal("0")
        assert len(statements) == count


def test_holdings_of_lists_what_an_organization_holds_more_than_zero_of(stock):
    engine, (farm, shop, (lot1, lot2, lot3)) = stock
    with Session(engine) as session:
        assert sorted(holdings_of(session, farm)) == [(lot1, Decimal("10"))]
        assert sorted(holdings_of(session, shop)) == [(lot1, Decimal("2.5")), (lot2, Decimal("0.5"))]
