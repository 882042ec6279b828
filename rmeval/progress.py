"""Progress bars on the terminal (tqdm), for work that runs longer than about 2 seconds."""

from __future__ import annotations

import sys
from collections.abc import Callable

#: Seconds of work before a bar appears (shorter runs print nothing).
PROGRESS_DELAY_S = 2.0


def progress_bar(
    total: int, desc: str, *, show: bool | None = None, unit: str = "frame"
) -> tuple[Callable[[float], object], Callable[[], object]]:
    """``(update, close)`` of a tqdm bar over ``total`` items; no-ops when not shown.

    ``show`` None: on a terminal (stderr) only, appearing once the work has run
    :data:`PROGRESS_DELAY_S` seconds; True: always (no delay); False: never.
    """
    if show is None:
        show = sys.stderr.isatty()
        delay = PROGRESS_DELAY_S
    else:
        delay = 0.0
    if not show or total <= 0:
        return (lambda n: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, delay=delay, leave=False)
    return bar.update, bar.close
