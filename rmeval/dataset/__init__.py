"""Labelled datasets of rendered frames: the on-disk format (v1), reading and writing.

## rmeval dataset format, version 1

A dataset is a directory:

```text
my-dataset/
  metadata.json     what the frames show and how they were labelled
  index.parquet     one row per frame: file, episode, step, label, state columns
  frames/           the frames as PNG files: 000000.png, 000001.png, ...
```

### `metadata.json`

A UTF-8 JSON object (strict JSON: no `NaN` or `Infinity`):

| key                | type            | meaning                                                               |
|--------------------|-----------------|-----------------------------------------------------------------------|
| `format`           | string          | always `"rmeval-dataset"`                                             |
| `version`          | integer         | format version, `1`                                                   |
| `name`             | string          | short name (optional; defaults to the directory's name)               |
| `env`              | string          | environment id, e.g. `"CartPole-v1"` (required, non-empty)            |
| `task`             | string          | the task the frames are labelled for, e.g. `"balance"` (required)     |
| `goal_prompts`     | list of strings | at least one text prompt describing the goal                          |
| `baseline_prompts` | list of strings | prompts describing the scene without the goal (may be empty)          |
| `render`           | object          | free-form render settings: `width`, `height`, `look`, `camera`, ...   |
| `state_columns`    | list of strings | columns of `index.parquet` holding environment state, e.g. `"angle"`  |
| `label_rule`       | string          | how the labels were made, e.g. `"goal when abs(angle) <= 0.1 rad"`    |
| `description`      | string          | free text                                                             |
| `created_by`       | string          | the writer, e.g. `"rmeval 0.1.0"`                                     |

`format`, `version`, `env`, `task` and `goal_prompts` are required; the other keys may
be left out. Readers also accept `"goal_prompt": "..."` and `"baseline_prompt": "..."`
(one string) in place of the lists. Any other key is kept as it is: rmeval reads it
into `DatasetMetadata.extra` and writes it back.

### `index.parquet`

A Parquet table with one row per frame, in a fixed order (row numbers count from 0):

| column    | type                  | meaning                                                          |
|-----------|-----------------------|------------------------------------------------------------------|
| `frame`   | string                | path of the PNG relative to the dataset directory, `/`-separated; normally `frames/000000.png` |
| `episode` | integer               | episode the frame comes from                                     |
| `step`    | integer               | step within the episode                                          |
| `label`   | int8, nullable        | `1` goal, `0` not goal, null = not labelled yet (pandas `Int8`) |
| *other*   | any                   | kept as they are; state columns (those named in `state_columns`) usually hold floats |

Rules:

- at least one row;
- `frame` paths are non-empty, relative, `/`-separated (no `\\`), and stay inside the
  dataset directory (no `..` that leaves it, no symbolic links that point out of it);
  no two rows name the same file;
- `episode` and `step` are integers (no nulls);
- no two rows have the same (`episode`, `step`) pair;
- `label` holds only 0, 1 or missing (readers also accept booleans and the floats
  0.0 / 1.0 with NaN as missing, and convert them to `Int8`);
- every name in `state_columns` is a column (and none is `frame`, `episode`, `step`
  or `label`).

Steps of rollouts (what `rmeval render --mode rollout` and `rmeval rollout` write): an
episode of T actions is its T + 1 states s_0 .. s_T; the row with `step` t shows s_t,
the state after t actions, so step 0 is the state right after `reset`. Columns that
belong to an action, such as `env_reward`, are stored with the state the action led to:
`env_reward` at step t is the reward for the transition s_(t-1) -> s_t, and is missing
(NaN) at step 0. With every step kept, an episode's return is the sum of its
`env_reward` column (NaN skipped); `rmeval render --every K` keeps steps 0, K, 2K, ...
only.

### `frames/`

PNG images, 8-bit RGB, all of the same width and height. (Readers convert grey,
palette, RGBA and 16-bit PNGs to 8-bit RGB, dropping any alpha channel, but writers
should store RGB.)

### Writing and updating

`write_dataset` builds the whole directory under a temporary sibling
(`.<name>.tmp-<random>`) and renames it into place, so a dataset directory is either
complete or absent; replacing an existing dataset needs `overwrite=True`. `save_index`
replaces `index.parquet` atomically (write a temporary file, then rename it over the
old one), which is how labelling tools update labels.
"""

from __future__ import annotations

from rmeval.dataset.core import Dataset
from rmeval.dataset.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAMES_DIR,
    INDEX_FILE,
    METADATA_FILE,
    PNG_COMPRESS_LEVEL,
    REQUIRED_COLUMNS,
)
from rmeval.dataset.frames import read_frame
from rmeval.dataset.load import load_dataset
from rmeval.dataset.metadata import DatasetMetadata
from rmeval.dataset.write import save_index, write_dataset

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FRAMES_DIR",
    "INDEX_FILE",
    "METADATA_FILE",
    "PNG_COMPRESS_LEVEL",
    "REQUIRED_COLUMNS",
    "Dataset",
    "DatasetMetadata",
    "load_dataset",
    "read_frame",
    "save_index",
    "write_dataset",
]
