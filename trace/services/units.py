"""Units of quantity: which ones convert into each other exactly, and their UN/ECE codes for EPCIS."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l

UNITS = ("kg", "tấn", "tạ", "con", "bó", "cành", "hộp", "túi", "chai", "lít")
# Mass units convert by law; any other pair needs a factor the user states.
KILOGRAMS = {"kg": Decimal(1), "tạ": Decimal(100), "tấn": Decimal(1000)}
# UN/ECE Recommendation 20 codes. Counted units (con, hộp, túi…) have none: EPCIS then reads a plain count.
UNECE = {"kg": "KGM", "tạ": "DTN", "tấn": "TNE", "lít": "LTR"}
FROM_UNECE = {code: unit for unit, code in UNECE.items()}
QUANTUM = Decimal("0.001")  # quantities are kept to three decimals


def grouped_number(value, language: str = "en") -> str:
    """'18,500' in English, '18.500' in Vietnamese; decimals kept, no trailing zeros."""
    if value in (None, ""):
        return ""
    number = Decimal(str(value)).normalize()
    whole, _, fraction = format(number, "f").partition(".")
    grouped = format(int(whole), ",") if whole.lstrip("-").isdigit() else whole
    if language == "vi":
        return grouped.replace(",", ".") + ("," + fraction if fraction else "")
    return grouped + ("." + fraction if fraction else "")


def count_text(value) -> str:
    """A count as the reader writes numbers: the request's language, English elsewhere (commands)."""
    from flask import has_request_context
    language = "en"
    if has_request_context():
        from flask_babel import get_locale
        language = get_locale().language
    return grouped_number(value, language)


class UnitMismatch(ValueError):
    """Two units that do not convert by themselves; the message says what to give."""


def convert(quantity: Decimal, unit: str, into: str, factor: Decimal | None = None) -> Decimal:
    """`quantity` of `unit` expressed in `into`: exact for mass units, else by the stated `factor`
    (how many `into` one `unit` holds). Raises UnitMismatch when neither applies or the result needs
    more than three decimals."""
    by_law = unit in KILOGRAMS and into in KILOGRAMS
    if factor is not None and by_law and unit != into:
        raise UnitMismatch(str(_l("%(unit)s converts to %(into)s by law; leave the conversion factor out.",
                                  unit=unit, into=into)))
    if unit == into:
        result = quantity
    elif factor is not None:
        result = quantity * factor
    elif by_law:
        result = quantity * KILOGRAMS[unit] / KILOGRAMS[into]
    else:
        raise UnitMismatch(str(_l("The lot is counted in %(into)s, not %(unit)s: give the quantity in %(into)s, "
                                  "or a conversion factor (how many %(into)s in one %(unit)s).",
                                  into=into, unit=unit)))
    if result != result.quantize(QUANTUM):
        raise UnitMismatch(str(_l("%(quantity)s %(unit)s is %(result)s %(into)s: more than three decimals.",
                                  quantity=quantity, unit=unit, result=result.normalize(), into=into)))
    return result.quantize(QUANTUM)


def plain(quantity: Decimal | None) -> str | None:
    """'18500', '0.5': a quantity without trailing zeros, as EPCIS and people write it (None stays None)."""
    return None if quantity is None else format(Decimal(quantity).normalize(), "f")
