"""Numbers in risk reasons and events, written for people: no "0E-17", no 28-digit Decimals.

    qty(value, step)   to the instrument's quantity step, or 6 significant digits without one
    price(value, tick) to the instrument's tick, or 6 significant digits without one
    money(value)       2 decimals (no thousands separator: reasons stay easy to grep and parse)
    pct(fraction)      a percentage with 2 decimals (0.005 -> "0.50%")
    num(value)         6 significant digits, plain notation (rates, weights, volatility)

Zero is always "0". Rounding here is for display only: sizing itself never goes through it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Number = Decimal | float | int

SIGNIFICANT = 6


def _dec(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _plain(value: Decimal) -> str:
    """Fixed-point text without trailing zeros ("1.50" -> "1.5", "1E+2" -> "100")."""
    if value == 0:
        return "0"
    return f"{value.normalize():f}"


def num(value: Number, digits: int = SIGNIFICANT) -> str:
    """`digits` significant digits in plain notation; integers of more digits are kept whole."""
    d = _dec(value)
    if not d.is_finite():
        return str(d)
    if d == 0:
        return "0"
    exponent = d.adjusted() - digits + 1
    if exponent > 0:  # a big whole number: keep it whole rather than round to 1.23457E+9
        return _plain(d.to_integral_value(rounding=ROUND_HALF_UP))
    try:
        rounded = d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return _plain(d)
    return _plain(rounded)


def _to_step(value: Number, step: Number | None) -> str:
    d, s = _dec(value), None if step is None else _dec(step)
    if not d.is_finite():
        return str(d)
    if d == 0:
        return "0"
    if s is None or s <= 0:
        return num(d)
    stepped = (d / s).to_integral_value(rounding=ROUND_HALF_UP) * s
    if stepped == 0:  # smaller than one step: show it rather than "0"
        return num(d)
    return _plain(stepped)


def qty(value: Number, step: Number | None = None) -> str:
    return _to_step(value, step)


def price(value: Number, tick: Number | None = None) -> str:
    return _to_step(value, tick)


def money(value: Number) -> str:
    d = _dec(value)
    if not d.is_finite():
        return str(d)
    if d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == 0:
        return "0"
    return f"{d:.2f}"


def pct(fraction: Number) -> str:
    d = _dec(fraction) * 100
    if not d.is_finite():
        return str(d)
    if d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == 0:
        return "0%"
    return f"{d:.2f}%"
