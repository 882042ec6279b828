"""Parse numeric ranges typed on the command line: ``start:stop:step`` or ``a,b,c``.

Ranges include ``stop`` and are computed in decimal arithmetic, so ``0:1:0.2`` gives
exactly ``[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]`` (no ``0.6000000000000001``).

The rule for a ``stop`` off the grid: ``stop`` must be ``start + k * step`` for a whole
number ``k``; ``0:1:0.3`` is refused (it would silently end at 0.9), with the ranges
that would work named. Lists must not be empty between commas (``0,,1``) nor repeat a
value (``0,0,1``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from rmeval.errors import InvalidInputError

MAX_RANGE_VALUES = 1_000_000


def _decimal(text: str, what: str, spec: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInputError(
            f"{what} {spec!r}: {text.strip()!r} is not a number. "
            "Use start:stop:step (e.g. 0:1:0.2) or a comma list (e.g. 0,0.5,1)."
        ) from None
    if not value.is_finite():
        raise InvalidInputError(f"{what} {spec!r}: {text.strip()!r} is not a finite number.")
    return value


def parse_range(spec: str, *, what: str = "range") -> list[float]:
    """Values of ``start:stop:step`` (stop included) or of a comma-separated list.

    A single number is a one-element list. Raises :class:`InvalidInputError` on bad
    syntax, a zero or wrongly signed step, or more than a million values.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(f"{what}: empty; give start:stop:step (e.g. 0:1:0.2) or a list (e.g. 0,0.5,1).")
    spec = spec.strip()
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3 or any(not p.strip() for p in parts):
            raise InvalidInputError(
                f"{what} {spec!r}: a range needs exactly start:stop:step, e.g. 0:1:0.2."
            )
        start, stop, step = (_decimal(p, what, spec) for p in parts)
        if step == 0:
            raise InvalidInputError(f"{what} {spec!r}: the step must not be 0.")
        if (stop - start) * step < 0:
            raise InvalidInputError(
                f"{what} {spec!r}: the step {step} never reaches {stop} from {start}; "
                f"flip its sign."
            )
        steps = (stop - start) / step
        if steps != steps.to_integral_value():
            below = start + int(steps) * step
            raise InvalidInputError(
                f"{what} {spec!r}: the stop {stop} is not on the grid {start}, {start + step}, ... "
                f"(stop must be start + a whole number of steps); use {start}:{below}:{step}, "
                f"a step that divides {stop - start}, or a list"
            )
        count = int(steps) + 1
        if count > MAX_RANGE_VALUES:
            raise InvalidInputError(f"{what} {spec!r}: {count} values is too many (at most {MAX_RANGE_VALUES}).")
        return [float(start + i * step) for i in range(count)]
    parts = spec.split(",")
    if any(not p.strip() for p in parts):
        raise InvalidInputError(
            f"{what} {spec!r}: an empty value between commas; give numbers separated by single commas, e.g. 0,0.5,1."
        )
    values = [_decimal(p, what, spec) for p in parts]
    seen: set[Decimal] = set()
    for v in values:
        if v in seen:
            raise InvalidInputError(f"{what} {spec!r}: {v} is given twice; give each value once.")
        seen.add(v)
    return [float(v) for v in values]


def parse_alphas(spec: str) -> list[float]:
    """Alphas for the goal-baseline regularisation: a range or list inside [0, 1]."""
    values = parse_range(spec, what="--alpha")
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad:
        raise InvalidInputError(
            f"--alpha {spec!r}: alpha must lie in [0, 1]; got {', '.join(repr(b) for b in bad[:5])}."
        )
    return values
