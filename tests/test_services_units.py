"""Units: the numbers people read on pages and labels, and the conversions stock moves rely on."""
from decimal import Decimal
from trace.services.units import UnitMismatch, convert, count_text, grouped_number, plain

import pytest


@pytest.mark.parametrize("value, language, shown", [
    (Decimal("18500"), "en", "18,500"),
    (Decimal("18500"), "vi", "18.500"),
    ("18500.50", "en", "18,500.5"),
    ("18500.50", "vi", "18.500,5"),
    (-1234567, "en", "-1,234,567"),
    (Decimal("1E+3"), "en", "1,000"),
    (Decimal("0.250"), "vi", "0,25"),
    (7, "vi", "7"),
    (Decimal("Infinity"), "en", "Infinity"),  # not a number of digits: shown as it is, not grouped
    (None, "en", ""),
    ("", "vi", ""),
])
def test_grouped_number_groups_thousands_and_marks_decimals_as_the_language_writes_them(value, language, shown):
    assert grouped_number(value, language) == shown


def test_grouped_number_is_english_unless_told_otherwise():
    assert grouped_number(Decimal("1234.5")) == "1,234.5"


def test_count_text_follows_the_page_language_and_is_english_outside_a_request(app):
    assert count_text(Decimal("2500.5")) == "2,500.5"
    with app.test_request_context("/", headers={"Cookie": "lang=vi"}):
        assert count_text(Decimal("2500.5")) == "2.500,5"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert count_text(Decimal("2500.5")) == "2,500.5"


@pytest.mark.parametrize("quantity, unit, into, expected", [
    ("1", "kg", "tấn", "0.001"),
    ("3", "tấn", "kg", "3000.000"),
    ("2", "tạ", "kg", "200.000"),
    ("250", "kg", "tạ", "2.500"),
    ("1.5", "tấn", "tạ", "15.000"),
    ("2", "con", "con", "2.000"),
    ("0.0004", "kg", "kg", None),  # more than three decimals, even without converting
])
def test_mass_units_convert_by_law_to_three_decimals(quantity, unit, into, expected):
    if expected is None:
        with pytest.raises(UnitMismatch) as refused:
            convert(Decimal(quantity), unit, into)
        assert str(refused.value) == "0.0004 kg is 0.0004 kg: more than three decimals."
        return
    result = convert(Decimal(quantity), unit, into)
    assert str(result) == expected


def test_a_stated_factor_converts_counted_units():
    assert str(convert(Decimal("1.5"), "bó", "cành", Decimal("4"))) == "6.000"
    assert str(convert(Decimal("3"), "hộp", "kg", Decimal("0.25"))) == "0.750"


def test_a_factor_on_the_same_unit_is_ignored():
    assert str(convert(Decimal("2"), "kg", "kg", Decimal("5"))) == "2.000"
    assert str(convert(Decimal("2"), "con", "con", Decimal("5"))) == "2.000"


def test_a_factor_between_mass_units_is_refused_since_the_law_fixes_it():
    with pytest.raises(UnitMismatch) as refused:
        convert(Decimal("1"), "kg", "tấn", Decimal("2"))
    assert str(refused.value) == "kg converts to tấn by law; leave the conversion factor out."


def test_one_mass_unit_and_one_counted_unit_need_a_factor():
    with pytest.raises(UnitMismatch) as refused:
        convert(Decimal("1"), "con", "kg")
    assert str(refused.value) == ("The lot is counted in kg, not con: give the quantity in kg, "
                                  "or a conversion factor (how many kg in one con).")
    with pytest.raises(UnitMismatch):
        convert(Decimal("1"), "kg", "con")
    assert str(convert(Decimal("2"), "kg", "con", Decimal("3"))) == "6.000"


def test_a_conversion_that_needs_a_fourth_decimal_is_refused_with_its_result():
    with pytest.raises(UnitMismatch) as refused:
        convert(Decimal("1"), "bó", "cành", Decimal("0.3333"))
    assert str(refused.value) == "1 bó is 0.3333 cành: more than three decimals."
    with pytest.raises(UnitMismatch) as refused:
        convert(Decimal("1.5"), "kg", "tấn")
    assert str(refused.value) == "1.5 kg is 0.0015 tấn: more than three decimals."


@pytest.mark.parametrize("quantity, written", [
    (Decimal("18500.000"), "18500"),
    (Decimal("0.500"), "0.5"),
    (Decimal("12.340"), "12.34"),
    ("7", "7"),
    (Decimal("Infinity"), "Infinity"),
    (None, None),
])
def test_plain_writes_a_quantity_without_trailing_zeros_or_exponent(quantity, written):
    assert plain(quantity) == written
