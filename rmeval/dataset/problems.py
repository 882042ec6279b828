"""Problems found while validating a dataset, collected so one error lists them all."""

from __future__ import annotations

from collections import Counter

from rmeval.errors import DatasetError

# At most this many problems of one kind are listed; the rest are counted.
_PER_KIND = 5


class Problems:
    """Problems found so far, grouped by kind; at most ``_PER_KIND`` listed per kind."""

    def __init__(self) -> None:
        self._shown: dict[str, list[str]] = {}
        self._hidden: Counter[str] = Counter()
        self._unique = 0

    def add(self, message: str, kind: str | None = None) -> None:
        """Record ``message``; ``kind`` (e.g. "rows with a bad label") groups similar ones."""
        if kind is None:
            self._unique += 1
            kind = f"\0{self._unique}"
        shown = self._shown.setdefault(kind, [])
        if len(shown) < _PER_KIND:
            shown.append(message)
        else:
            self._hidden[kind] += 1

    def __bool__(self) -> bool:
        return bool(self._shown)

    def count(self) -> int:
        return sum(len(v) for v in self._shown.values()) + sum(self._hidden.values())

    def as_list(self) -> list[str]:
        out: list[str] = []
        for kind, messages in self._shown.items():
            out.extend(messages)
            if self._hidden[kind]:
                out.append(f"... and {self._hidden[kind]} more {kind}")
        return out

    def raise_if_any(self, what: str) -> None:
        if self:
            n = self.count()
            raise DatasetError(f"{what} ({n} problem{'s' if n != 1 else ''}):", self.as_list())


def describe_error(exc: BaseException) -> str:
    """A one-line description of ``exc`` for an error message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
