"""``metadata.json``: :class:`DatasetMetadata`, its parsing, validation and JSON text."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rmeval import __version__
from rmeval.dataset.format import FORMAT_NAME, FORMAT_VERSION, METADATA_FILE, REQUIRED_COLUMNS
from rmeval.dataset.problems import Problems, describe_error
from rmeval.errors import DatasetError, InvalidInputError
from rmeval.fileio import json_default

_FIELD_KEYS = (
    "name",
    "env",
    "task",
    "goal_prompts",
    "baseline_prompts",
    "render",
    "state_columns",
    "label_rule",
    "description",
)
_ALIAS_KEYS = ("goal_prompt", "baseline_prompt")
_KNOWN_KEYS = frozenset(("format", "version", *_FIELD_KEYS, *_ALIAS_KEYS))


@dataclass
class DatasetMetadata:
    """What a dataset's frames show and how they were labelled (``metadata.json``).

    ``goal_prompts`` holds at least one prompt; ``render`` is free-form (width, height,
    look, camera, ...); ``state_columns`` names columns of the index that hold
    environment state. ``extra`` holds every other key of ``metadata.json`` (including
    ``created_by``), so unknown keys survive a read and a write.
    """

    env: str
    task: str
    goal_prompts: list[str]
    baseline_prompts: list[str] = field(default_factory=list)
    render: dict[str, Any] = field(default_factory=dict)
    state_columns: list[str] = field(default_factory=list)
    label_rule: str = ""
    name: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``metadata.json`` object: format keys, the fields, then ``extra`` (deep copies).

        Keys of ``extra`` that clash with a field are left out (``write_dataset``
        refuses such metadata).
        """
        data: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": self.name,
            "env": self.env,
            "task": self.task,
            "goal_prompts": list(self.goal_prompts),
            "baseline_prompts": list(self.baseline_prompts),
            "render": copy.deepcopy(dict(self.render)),
            "state_columns": list(self.state_columns),
            "label_rule": self.label_rule,
            "description": self.description,
            "created_by": copy.deepcopy(self.extra.get("created_by", f"rmeval {__version__}")),
        }
        for key, value in self.extra.items():
            if key not in data and key not in _KNOWN_KEYS:
                data[key] = copy.deepcopy(value)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = METADATA_FILE) -> DatasetMetadata:
        """Metadata from a ``metadata.json`` object, validated.

        ``format`` and ``version`` may be left out here, but must be right when present.
        Raises :class:`DatasetError` listing every bad or missing key, each prefixed by
        ``source``.
        """
        problems = Problems()
        meta = parse_metadata(data, source, problems)
        problems.raise_if_any(f"{source}: invalid dataset metadata")
        assert meta is not None
        return meta


def parse_metadata(data: object, source: str, problems: Problems) -> DatasetMetadata | None:
    """Validate a metadata mapping; add problems; return the metadata when there are none."""
    if not isinstance(data, Mapping):
        problems.add(f"{source}: must be a JSON object {{...}}, not {type(data).__name__}")
        return None
    before = problems.count()

    bad_keys = [k for k in data if not isinstance(k, str)]
    for key in bad_keys:
        problems.add(f"{source}: key {key!r} is not a string")

    if "format" in data and data["format"] != FORMAT_NAME:
        problems.add(
            f"{source}: 'format' is {data['format']!r}, expected {FORMAT_NAME!r}; "
            "is this an rmeval dataset?"
        )
    if "version" in data:
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            problems.add(f"{source}: 'version' is {version!r}; it must be a positive integer ({FORMAT_VERSION})")
        elif version != FORMAT_VERSION:
            problems.add(
                f"{source}: unsupported format version {version}; this rmeval ({__version__}) "
                f"reads version {FORMAT_VERSION}. Upgrade rmeval to read this dataset."
            )

    def text(key: str, *, required: bool) -> str:
        if key not in data:
            if required:
                problems.add(f"{source}: required key {key!r} is missing (a non-empty string)")
            return ""
        value = data[key]
        if not isinstance(value, str):
            problems.add(f"{source}: {key!r} must be a string, not {type(value).__name__} ({value!r:.60})")
            return ""
        if required and not value.strip():
            problems.add(f"{source}: {key!r} must not be empty")
        return value

    def text_list(key: str, alias: str | None, *, min_len: int) -> list[str]:
        if alias is not None and alias in data:
            if key in data:
                problems.add(f"{source}: give either {key!r} (a list) or {alias!r} (one string), not both")
                return []
            value = data[alias]
            if not isinstance(value, str) or not value.strip():
                problems.add(f"{source}: {alias!r} must be a non-empty string, not {value!r:.60}")
                return []
            return [value]
        if key not in data:
            if min_len:
                problems.add(
                    f"{source}: required key {key!r} is missing (a list of at least {min_len} "
                    "string(s))"
                )
            return []
        value = data[key]
        if not isinstance(value, (list, tuple)):
            hint = f'; for one prompt write ["..."] or use {alias!r}' if alias and isinstance(value, str) else ""
            problems.add(
                f"{source}: {key!r} must be a list of strings, not {type(value).__name__}{hint}"
            )
            return []
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                problems.add(f"{source}: {key}[{i}] must be a non-empty string, not {item!r:.60}")
            else:
                out.append(item)
        if len(value) < min_len:
            problems.add(f"{source}: {key!r} is empty; give at least {min_len} prompt(s)")
        return out

    env = text("env", required=True)
    task = text("task", required=True)
    name = text("name", required=False)
    label_rule = text("label_rule", required=False)
    description = text("description", required=False)
    goal_prompts = text_list("goal_prompts", "goal_prompt", min_len=1)
    baseline_prompts = text_list("baseline_prompts", "baseline_prompt", min_len=0)

    state_columns = text_list("state_columns", None, min_len=0)
    for col, n in Counter(state_columns).items():
        if n > 1:
            problems.add(f"{source}: state_columns lists {col!r} {n} times")
        if col in REQUIRED_COLUMNS:
            problems.add(f"{source}: state_columns lists {col!r}, which is a required index column, not a state column")

    render: dict[str, Any] = {}
    if "render" in data:
        value = data["render"]
        if not isinstance(value, Mapping):
            problems.add(f"{source}: 'render' must be an object {{...}}, not {type(value).__name__}")
        else:
            for key in value:
                if not isinstance(key, str):
                    problems.add(f"{source}: render key {key!r} is not a string")
            render = copy.deepcopy(dict(value))

    extra = {k: copy.deepcopy(v) for k, v in data.items() if isinstance(k, str) and k not in _KNOWN_KEYS}
    if "created_by" in extra and not isinstance(extra["created_by"], str):
        problems.add(f"{source}: 'created_by' must be a string, not {type(extra['created_by']).__name__}")

    if problems.count() > before:
        return None
    return DatasetMetadata(
        env=env,
        task=task,
        goal_prompts=goal_prompts,
        baseline_prompts=baseline_prompts,
        render=render,
        state_columns=state_columns,
        label_rule=label_rule,
        name=name,
        description=description,
        extra=extra,
    )


def metadata_json(metadata: DatasetMetadata) -> str:
    """``metadata.json`` text for writing (stamped ``created_by`` this rmeval), validated."""
    problems = Problems()
    if not isinstance(metadata, DatasetMetadata):
        raise InvalidInputError(
            f"metadata must be a DatasetMetadata, not {type(metadata).__name__}; "
            "use DatasetMetadata.from_dict(...) to build one from a dict."
        )
    if not isinstance(metadata.extra, Mapping):
        raise DatasetError(f"metadata.extra must be a dict, not {type(metadata.extra).__name__}")
    for key in metadata.extra:
        if key in _KNOWN_KEYS:
            problems.add(
                f"metadata.extra has key {key!r}, which is a metadata field; set the field instead"
            )
    data = metadata.to_dict()
    data["created_by"] = f"rmeval {__version__}"
    parse_metadata(data, "metadata", problems)
    problems.raise_if_any("metadata: cannot write this dataset metadata")
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=json_default)
    except (TypeError, ValueError):
        for key, value in data.items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for sub, item in items:
                try:
                    json.dumps(item, allow_nan=False, default=json_default)
                except (TypeError, ValueError) as exc:
                    where = f"{key!r}" if sub is None else f"{key}[{sub!r}]"
                    problems.add(
                        f"metadata {where}: cannot be stored in JSON ({describe_error(exc)}); use strings, "
                        "numbers, booleans, null, lists and dicts (NaN and infinity are not JSON)"
                    )
        if not problems:
            problems.add("metadata: cannot be stored in JSON")
        problems.raise_if_any("metadata: cannot write this dataset metadata")
    return text + "\n"
