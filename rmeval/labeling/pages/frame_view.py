"""The frame view: a Streamlit custom component (plain HTML/JS in ``rmeval/labeling/frame_view``).

It shows the frames, prefetches the next ones, owns the keyboard and sends answers bound to
the frame on screen (:mod:`rmeval.labeling.answers` stores them). Frames are served as the
PNG files stored in the dataset (lossless), through a second component path rooted at the
dataset directory. ``server_watch()`` puts only the "server stopped" banner on a page.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from rmeval.labeling.packs import PACK_SIZE, write_packs

STATIC = Path(__file__).resolve().parents[1] / "frame_view"
#: Changes with every server process: the browser re-sends unacknowledged answers to a new one.
BOOT = os.urandom(6).hex()


def _view() -> Any:
    return components.declare_component("frame_view", path=str(STATIC))


def frames_base(root: Path) -> str:
    """The URL (relative to the view) under which the dataset's files are served."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    comp = components.declare_component(f"frames_{digest}", path=str(root))
    return f"../{comp.name}/"


_PACKS: tempfile.TemporaryDirectory[str] | None = None


@st.cache_resource(show_spinner="Packing the frames...", max_entries=4)
def _packs(root: str, stamp: tuple[int, int], frames: tuple[str, ...]) -> tuple[str, list[int]]:
    global _PACKS
    if _PACKS is None:
        _PACKS = tempfile.TemporaryDirectory(prefix="rmeval-label-packs-")
    sub = hashlib.sha256(repr((root, stamp, frames, pack_size())).encode()).hexdigest()[:16]
    lengths = write_packs(root, frames, Path(_PACKS.name) / sub, pack_size())
    return sub, lengths


def pack_size() -> int:
    """Frames per pack: ``RMEVAL_LABEL_PACK_SIZE`` (tests use 1), else :data:`PACK_SIZE`."""
    text = os.environ.get("RMEVAL_LABEL_PACK_SIZE", "")
    return int(text) if text.isdigit() and int(text) > 0 else PACK_SIZE


def frame_packs(root: Path, stamp: tuple[int, int], frames: list[str]) -> dict[str, Any]:
    """Packs of ``frames`` (display order) for the view: where they are served, size, lengths."""
    sub, lengths = _packs(str(root), stamp, tuple(frames))
    assert _PACKS is not None
    comp = components.declare_component("frame_packs", path=_PACKS.name)
    return {"base": f"../{comp.name}/{sub}/", "size": pack_size(), "lengths": lengths}


def restart_command(dataset: Path, db: Path) -> str:
    """The command that starts this app again on the same host and port (so the pages of this
    one, and the answers they hold unsaved, reach it: a page on another port cannot)."""
    port = st.get_option("server.port")
    host = st.get_option("server.address") or "127.0.0.1"
    where = "" if host == "127.0.0.1" else f" --host {shlex.quote(str(host))}"
    return f"rmeval label --dataset {shlex.quote(str(dataset))} --db {shlex.quote(str(db))}{where} --port {port}"


def frame_view(*, key: str, **args: Any) -> Any:
    """Render the view with ``args`` (see ``frame_view.js``); return its value (the pending ops)."""
    return _view()(key=key, default=None, mode="label", boot=BOOT, **args)


def server_watch(restart: str) -> None:
    """A hidden instance that only watches the server and shows the 'server stopped' banner."""
    _view()(key="server_watch", default=None, mode="watch", boot=BOOT, restart=restart)
