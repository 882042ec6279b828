"""Tests for rmeval.dataset: the on-disk dataset format, its validation and atomic writes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rmeval.dataset import (
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAMES_DIR,
    INDEX_FILE,
    METADATA_FILE,
    Dataset,
    DatasetMetadata,
    load_dataset,
    read_frame,
    save_index,
    write_dataset,
)
from rmeval.errors import DatasetError, InvalidInputError, StorageError

H, W = 5, 7  # deliberately not square, so a transposed frame would be caught
N = 6


def make_frames(n: int = N, h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def make_index(n: int = N) -> pd.DataFrame:
    labels = pd.array([1, 0, None, 1, None, 0, 1, 0, 1, 0][:n] + [None] * max(0, n - 10), dtype="Int8")
    return pd.DataFrame(
        {
            "episode": [i // 3 for i in range(n)],
            "step": [i % 3 for i in range(n)],
            "label": labels,
            "angle": np.linspace(-0.3, 0.3, n),
            "note": [f"n{i}" for i in range(n)],
        }
    )


def make_metadata(**kw: Any) -> DatasetMetadata:
    args: dict[str, Any] = {
        "env": "CartPole-v1",
        "task": "balance",
        "goal_prompts": ["pole vertically upright on top of the cart"],
        "baseline_prompts": ["pole and cart"],
        "render": {"width": W, "height": H, "look": "default"},
        "state_columns": ["angle"],
        "label_rule": "goal when |angle| <= 0.1 rad",
        "name": "cartpole-test",
        "description": "test frames",
        "extra": {"seed": 3, "nested": {"a": [1, 2]}},
    }
    args.update(kw)
    return DatasetMetadata(**args)


@pytest.fixture
def frames() -> np.ndarray:
    return make_frames()


@pytest.fixture
def root(tmp_path: Path, frames: np.ndarray) -> Path:
    """A valid dataset of N frames at tmp_path/ds."""
    path = tmp_path / "ds"
    write_dataset(path, iter(frames), make_index(), make_metadata())
    return path


def rewrite_index(root: Path, mutate: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    df = pd.read_parquet(root / INDEX_FILE)
    mutate(df).to_parquet(root / INDEX_FILE, index=False)


def rewrite_metadata(root: Path, mutate: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    data = json.loads((root / METADATA_FILE).read_text())
    (root / METADATA_FILE).write_text(json.dumps(mutate(data)))


def set_cell(col: str, row: int, value: object, dtype: object = None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        values = df[col].astype(object).tolist()
        values[row] = value
        df[col] = pd.Series(values, dtype=dtype if dtype is not None else object)
        return df

    return mutate


def leftovers(parent: Path) -> list[str]:
    """Temporary or moved-aside directories/files write_dataset/save_index may leave."""
    return sorted(p.name for p in parent.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name or "rmeval-tmp-" in p.name)


# --------------------------------------------------------------------------- round trip


def test_round_trip(root: Path, frames: np.ndarray) -> None:
    ds = load_dataset(root)
    assert len(ds) == N
    assert ds.frame_size == (H, W)
    assert ds.root == root
    assert ds.name == "cartpole-test"
    assert np.array_equal(ds.read_frames(), frames)
    assert list(ds.index.columns) == ["frame", "episode", "step", "label", "angle", "note"]
    assert isinstance(ds.index.index, pd.RangeIndex)
    assert ds.index["frame"].tolist() == [f"frames/{i:06d}.png" for i in range(N)]
    assert str(ds.index["label"].dtype) == "Int8"
    assert ds.index["label"].isna().tolist() == [False, False, True, False, True, False]
    assert ds.index["episode"].dtype == np.int64 and ds.index["step"].dtype == np.int64
    np.testing.assert_array_equal(ds.index["angle"].to_numpy(), make_index()["angle"].to_numpy())
    assert ds.index["note"].tolist() == [f"n{i}" for i in range(N)]
    m = ds.metadata
    expected = make_metadata()
    for field in ("env", "task", "goal_prompts", "baseline_prompts", "render", "state_columns",
                  "label_rule", "name", "description"):
        assert getattr(m, field) == getattr(expected, field), field
    assert m.extra["seed"] == 3 and m.extra["nested"] == {"a": [1, 2]}
    assert m.extra["created_by"].startswith("rmeval ")
    on_disk = json.loads((root / METADATA_FILE).read_text())
    assert on_disk["format"] == FORMAT_NAME and on_disk["version"] == FORMAT_VERSION
    assert on_disk["seed"] == 3


def test_write_returns_the_loaded_dataset(tmp_path: Path, frames: np.ndarray) -> None:
    written = write_dataset(tmp_path / "d", frames, make_index(), make_metadata(name=""))
    loaded = load_dataset(tmp_path / "d")
    assert written.root == tmp_path / "d"
    assert written.name == "d"  # falls back to the directory's name
    pd.testing.assert_frame_equal(written.index, loaded.index)
    assert written.metadata == loaded.metadata
    assert written.frame_size == loaded.frame_size == (H, W)
    assert leftovers(tmp_path) == []


def test_frame_paths_labels_and_rows(root: Path) -> None:
    ds = load_dataset(root, check_frames=False)
    paths = ds.frame_paths([4, 0])
    assert paths == [root / "frames/000004.png", root / "frames/000000.png"]
    assert all(p.is_absolute() and p.is_file() for p in paths)
    np.testing.assert_array_equal(ds.labelled_rows(), [0, 1, 3, 5])
    labels = ds.labels(ds.labelled_rows())
    assert labels.dtype == np.int8
    np.testing.assert_array_equal(labels, [1, 0, 1, 0])
    with pytest.raises(InvalidInputError, match=r"rows 2 \(frames/000002\.png\), 4 \(frames/000004\.png\)"):
        ds.labels()
    with pytest.raises(InvalidInputError, match="not labelled"):
        ds.labels([0, 4])
    with pytest.raises(InvalidInputError, match="row 6 is out of range"):
        ds.frame_paths([6])
    with pytest.raises(InvalidInputError, match="row -1 is out of range"):
        ds.read_frames([-1])


@pytest.mark.parametrize("workers", [1, 3])
def test_read_frames_preserves_order(root: Path, frames: np.ndarray, workers: int) -> None:
    ds = load_dataset(root)
    rows = [5, 0, 3, 3, 1]
    out = ds.read_frames(rows, workers=workers)
    assert out.shape == (5, H, W, 3) and out.dtype == np.uint8
    assert np.array_equal(out, frames[rows])
    assert ds.read_frames([], workers=workers).shape == (0, H, W, 3)


def test_read_frames_wrong_size_names_file(root: Path) -> None:
    ds = load_dataset(root)
    Image.fromarray(make_frames(1, h=9, w=4)[0]).save(root / "frames/000002.png")
    with pytest.raises(DatasetError, match=r"000002\.png: frame is 4x9"):
        ds.read_frames(workers=2)


def test_metadata_dict_round_trip() -> None:
    m = make_metadata()
    d = m.to_dict()
    assert d["format"] == FORMAT_NAME and d["version"] == FORMAT_VERSION
    assert d["seed"] == 3 and d["created_by"].startswith("rmeval ")
    back = DatasetMetadata.from_dict(d)
    assert back.to_dict() == d
    assert {k: v for k, v in back.extra.items() if k != "created_by"} == m.extra
    d["goal_prompts"].append("mutated")  # to_dict returns copies
    assert m.goal_prompts == ["pole vertically upright on top of the cart"]


def test_metadata_singular_prompts_accepted(root: Path) -> None:
    def singular(d: dict[str, Any]) -> dict[str, Any]:
        del d["goal_prompts"], d["baseline_prompts"]
        d["goal_prompt"] = "upright"
        d["baseline_prompt"] = "cart"
        return d

    rewrite_metadata(root, singular)
    ds = load_dataset(root)
    assert ds.metadata.goal_prompts == ["upright"]
    assert ds.metadata.baseline_prompts == ["cart"]
    assert "goal_prompt" not in ds.metadata.extra


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"env": None}, r"required key 'env' is missing"),
        ({"env": 3}, r"'env' must be a string"),
        ({"goal_prompts": "upright"}, r"'goal_prompts' must be a list of strings"),
        ({"goal_prompts": []}, r"'goal_prompts' is empty"),
        ({"goal_prompts": ["ok", 5]}, r"goal_prompts\[1\] must be a non-empty string"),
        ({"baseline_prompts": [""]}, r"baseline_prompts\[0\]"),
        ({"render": [640, 480]}, r"'render' must be an object"),
        ({"state_columns": "angle"}, r"'state_columns' must be a list"),
        ({"format": "something-else"}, r"'format' is 'something-else', expected 'rmeval-dataset'"),
        ({"version": 2}, r"unsupported format version 2"),
        ({"version": "1"}, r"'version' is '1'"),
    ],
)
def test_metadata_from_dict_errors(change: dict[str, Any], match: str) -> None:
    d = make_metadata().to_dict()
    for key, value in change.items():
        if value is None:
            del d[key]
        else:
            d[key] = value
    with pytest.raises(DatasetError, match=match):
        DatasetMetadata.from_dict(d, source="my.json")
    with pytest.raises(DatasetError, match=r"my\.json"):
        DatasetMetadata.from_dict(d, source="my.json")


def test_label_dtypes_normalised(root: Path) -> None:
    cases: list[tuple[object, list[object]]] = [
        (pd.Series([True, False, True, False, True, False]), [1, 0, 1, 0, 1, 0]),
        (pd.Series([1.0, 0.0, np.nan, 1.0, np.nan, 0.0]), [1, 0, None, 1, None, 0]),
        (pd.Series([1, 0, 1, 1, 0, 0], dtype=np.int64), [1, 0, 1, 1, 0, 0]),
    ]
    for labels, expected in cases:

        def mutate(df: pd.DataFrame, labels: object = labels) -> pd.DataFrame:
            df["label"] = labels
            return df

        rewrite_index(root, mutate)
        ds = load_dataset(root, check_frames=False)
        assert str(ds.index["label"].dtype) == "Int8"
        got = [None if pd.isna(v) else int(v) for v in ds.index["label"]]
        assert got == expected


def test_object_labels_normalised_on_write(tmp_path: Path) -> None:
    index = make_index().assign(label=pd.Series([1, 0, None, True, np.nan, np.float32(0.0)], dtype=object))
    ds = write_dataset(tmp_path / "d", make_frames(), index, make_metadata())
    assert str(ds.index["label"].dtype) == "Int8"
    assert [None if pd.isna(v) else int(v) for v in ds.index["label"]] == [1, 0, None, 1, None, 0]


# --------------------------------------------------------------------------- validation


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope: no such directory"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match=r"file: not a directory"):
        load_dataset(tmp_path / "file")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: (r / METADATA_FILE).unlink(), r"metadata\.json: missing"),
        (lambda r: (r / METADATA_FILE).write_text('{"env": "x",,}'), r"metadata\.json: invalid JSON at line 1 column 13"),
        (lambda r: (r / METADATA_FILE).write_text("[1, 2]"), r"metadata\.json: must be a JSON object"),
        (lambda r: rewrite_metadata(r, lambda d: {**d, "format": "other"}), r"metadata\.json: 'format' is 'other'"),
        (lambda r: rewrite_metadata(r, lambda d: {k: v for k, v in d.items() if k != "format"}),
         r"metadata\.json: required key 'format' is missing"),
        (lambda r: rewrite_metadata(r, lambda d: {**d, "version": 7}), r"metadata\.json: unsupported format version 7"),
        (lambda r: rewrite_metadata(r, lambda d: {k: v for k, v in d.items() if k != "task"}),
         r"metadata\.json: required key 'task' is missing"),
        (lambda r: rewrite_metadata(r, lambda d: {**d, "goal_prompts": "upright"}),
         r"metadata\.json: 'goal_prompts' must be a list of strings"),
        (lambda r: (r / INDEX_FILE).unlink(), r"index\.parquet: missing"),
        (lambda r: (r / INDEX_FILE).write_bytes(b"PAR1 not really parquet"), r"index\.parquet: cannot read it as a Parquet table"),
    ],
)
def test_file_level_problems(root: Path, mutate: Callable[[Path], object], match: str) -> None:
    mutate(root)
    with pytest.raises(DatasetError, match=match):
        load_dataset(root)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda df: df.drop(columns=["step"]), r"index\.parquet: required column 'step' missing"),
        (lambda df: df.drop(columns=["frame", "label"]), r"required columns 'frame', 'label' missing"),
        (lambda df: df.drop(columns=["angle"]), r"state_columns names 'angle', which is not a column"),
        (lambda df: df.iloc[:0], r"index\.parquet: has no rows"),
        (set_cell("label", 1, 2), r"row 1 \(frames/000001\.png\): label is 2;"),
        (set_cell("label", 2, -1), r"row 2 \(frames/000002\.png\): label is -1;"),
        (set_cell("label", 3, 0.5), r"row 3 \(frames/000003\.png\): label is 0\.5;"),
        (lambda df: df.assign(label=["1", "0", None, "1", "yes", "0"]), r"row 4 \(frames/000004\.png\): label is 'yes';"),
        (set_cell("episode", 2, 0.5), r"row 2 \(frames/000002\.png\): episode is 0\.5; it must be an integer"),
        (set_cell("frame", 2, ""), r"index\.parquet row 2: frame path is empty"),
        (set_cell("frame", 2, None), r"index\.parquet row 2: frame path is missing"),
        (set_cell("frame", 2, "/etc/passwd"), r"row 2 \(/etc/passwd\): frame path is absolute"),
        (set_cell("frame", 2, "../ds/frames/000002.png"),
         r"row 2 \(\.\./ds/frames/000002\.png\): frame path leads outside the dataset directory"),
        (set_cell("frame", 2, "frames/../../x.png"), r"row 2 \(frames/\.\./\.\./x\.png\): frame path leads outside"),
        (set_cell("frame", 2, "frames/000099.png"), r"row 2 \(frames/000099\.png\): frame file is missing"),
        (set_cell("frame", 2, "frames"), r"row 2 \(frames\): is a directory"),
        (set_cell("frame", 4, "frames/000001.png"), r"rows 1, 4: all use frame frames/000001\.png"),
        (set_cell("frame", 4, "frames/./000001.png"), r"rows 1, 4: all use frame frames/000001\.png"),
        (set_cell("step", 4, 0), (r"episode 1 step 0 appears in 2 rows \(index\.parquet row 3 \(frames/000003\.png\), "
                                  r"index\.parquet row 4 \(frames/000004\.png\)\)")),
    ],
)
def test_index_problems(root: Path, mutate: Callable[[pd.DataFrame], pd.DataFrame], match: str) -> None:
    rewrite_index(root, mutate)
    with pytest.raises(DatasetError, match=match) as info:
        load_dataset(root)
    assert str(root) in str(info.value)


def test_dotdot_inside_dataset_is_allowed(root: Path) -> None:
    rewrite_index(root, set_cell("frame", 2, "frames/../frames/000002.png"))
    ds = load_dataset(root)
    assert ds.frame_paths([2])[0].resolve() == (root / "frames/000002.png").resolve()


def test_symlink_pointing_outside(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    Image.fromarray(make_frames(1)[0]).save(outside)
    (root / "frames/000003.png").unlink()
    (root / "frames/000003.png").symlink_to(outside)
    with pytest.raises(DatasetError, match=r"row 3 \(frames/000003\.png\): frame file is a symbolic link that points outside"):
        load_dataset(root, check_frames=False)


def test_symlinked_directory_pointing_outside(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.fromarray(make_frames(1)[0]).save(elsewhere / "a.png")
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    rewrite_index(root, set_cell("frame", 5, "linked/a.png"))
    with pytest.raises(DatasetError, match=r"row 5 \(linked/a\.png\): its directory is a symbolic link that points outside"):
        load_dataset(root)


def test_symlink_inside_dataset_is_allowed(root: Path) -> None:
    (root / "frames/000003.png").unlink()
    (root / "frames/000003.png").symlink_to(root / "frames/000002.png")
    rewrite_index(root, set_cell("label", 3, pd.NA))
    assert len(load_dataset(root)) == N


def test_unreadable_frame(root: Path) -> None:
    (root / "frames/000003.png").write_bytes(b"this is not a png")
    with pytest.raises(DatasetError, match=r"row 3 \(frames/000003\.png\): cannot read the frame"):
        load_dataset(root)
    # Without check_frames only the first frame's header is read: loading works, reading names the file.
    ds = load_dataset(root, check_frames=False)
    with pytest.raises(DatasetError, match=r"000003\.png: cannot read this frame"):
        ds.read_frames()


def test_frames_of_different_sizes(root: Path) -> None:
    Image.fromarray(make_frames(1, h=8, w=3)[0]).save(root / "frames/000004.png")
    with pytest.raises(
        DatasetError,
        match=r"row 4 \(frames/000004\.png\): frame is 3x8 \(width x height\) but most frames \(5 of 6\) are 7x5",
    ):
        load_dataset(root)


def test_several_problems_reported_together(root: Path) -> None:
    rewrite_metadata(root, lambda d: {k: v for k, v in d.items() if k != "env"})
    rewrite_index(root, lambda df: set_cell("label", 1, 2)(set_cell("frame", 3, "frames/missing.png")(df)))
    (root / "frames/000005.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError) as info:
        load_dataset(root)
    err = info.value
    text = str(err)
    assert len(err.problems) == 4, err.problems
    assert "(4 problems)" in text
    assert "metadata.json: required key 'env' is missing" in text
    assert "row 1 (frames/000001.png): label is 2" in text
    assert "row 3 (frames/missing.png): frame file is missing" in text
    assert "row 5 (frames/000005.png): cannot read the frame" in text


def test_many_problems_of_one_kind_are_summarised(tmp_path: Path) -> None:
    n = 40
    index = pd.DataFrame({"episode": 0, "step": range(n), "label": 1, "angle": 0.0})
    write_dataset(tmp_path / "d", make_frames(n), index, make_metadata())
    rewrite_index(tmp_path / "d", lambda df: df.assign(label=np.full(n, 3)))
    rewrite_metadata(tmp_path / "d", lambda d: {**d, "task": ""})
    with pytest.raises(DatasetError) as info:
        load_dataset(tmp_path / "d")
    text = str(info.value)
    assert "... and 35 more rows with a label other than 0, 1 or missing" in text
    assert "'task' must not be empty" in text  # not drowned by the 40 label problems
    assert "(41 problems)" in text


def test_load_without_frame_checks_scales(tmp_path: Path) -> None:
    """A 10k-row dataset loads without per-row file system calls (check_frames=False)."""
    n = 10_000
    root = tmp_path / "big"
    write_dataset(root, make_frames(1), pd.DataFrame({"episode": [0], "step": [0], "label": [1]}),
                  make_metadata(state_columns=[]))
    frames_dir = str(root / FRAMES_DIR)
    for i in range(1, n):  # empty files: only the first frame's header is read
        os.close(os.open(f"{frames_dir}/{i:06d}.png", os.O_CREAT | os.O_WRONLY, 0o644))
    index = pd.DataFrame({
        "frame": [f"frames/{i:06d}.png" for i in range(n)],
        "episode": np.arange(n) // 100,
        "step": np.arange(n) % 100,
        "label": pd.array(np.arange(n) % 2, dtype="Int8"),
    })
    index.to_parquet(root / INDEX_FILE, index=False)
    start = time.perf_counter()
    ds = load_dataset(root, check_frames=False)
    elapsed = time.perf_counter() - start
    assert len(ds) == n and ds.frame_size == (H, W)
    assert elapsed < 3.0, f"loading {n} rows took {elapsed:.2f} s"


# --------------------------------------------------------------------------- writing


def test_refuses_existing_without_overwrite(root: Path, tmp_path: Path) -> None:
    before = (root / INDEX_FILE).read_bytes()
    with pytest.raises(DatasetError, match=r"ds exists; pass overwrite=True"):
        write_dataset(root, make_frames(2, seed=1), make_index(2), make_metadata())
    assert (root / INDEX_FILE).read_bytes() == before
    assert len(load_dataset(root)) == N
    assert leftovers(tmp_path) == []


def test_overwrite_replaces(root: Path, tmp_path: Path) -> None:
    new_frames = make_frames(2, seed=1)
    ds = write_dataset(root, new_frames, make_index(2), make_metadata(task="swing"), overwrite=True)
    assert len(ds) == 2
    loaded = load_dataset(root)
    assert loaded.metadata.task == "swing"
    assert np.array_equal(loaded.read_frames(), new_frames)
    assert not (root / "frames/000005.png").exists()  # the old frames went with the old directory
    assert leftovers(tmp_path) == []


def test_overwrite_refuses_non_dataset_directory(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "thesis.tex").write_text("do not delete")
    with pytest.raises(DatasetError, match=r"precious exists but is not an rmeval dataset"):
        write_dataset(target, make_frames(), make_index(), make_metadata(), overwrite=True)
    assert (target / "thesis.tex").read_text() == "do not delete"


def test_overwrite_through_symlink_keeps_the_link(root: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    ds = write_dataset(link, make_frames(2, seed=4), make_index(2), make_metadata(), overwrite=True)
    assert ds.root == link and link.is_symlink()
    assert len(load_dataset(root)) == 2
    assert leftovers(tmp_path) == []


def failing_frames(n_ok: int) -> Iterator[np.ndarray]:
    yield from make_frames(n_ok, seed=2)
    raise RuntimeError("renderer crashed")


@pytest.mark.parametrize("overwrite", [False, True])
def test_generator_raising_midway_leaves_old_dataset(root: Path, tmp_path: Path, frames: np.ndarray, overwrite: bool) -> None:
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    target = root if overwrite else tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_dataset(target, failing_frames(3), make_index(), make_metadata(), overwrite=overwrite)
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before
    assert np.array_equal(load_dataset(root).read_frames(), frames)
    assert not (tmp_path / "fresh").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (lambda: iter(make_frames(N - 1)), r"got 5 frames but the index has 6 rows"),
        (lambda: iter(make_frames(N + 1)), r"got more frames than the index's 6 rows"),
        (lambda: make_frames(N + 2), r"got 8 frames but the index has 6 rows"),  # has len(): checked up front
        (lambda: iter(make_frames(N).astype(np.float32)), r"frame 0: dtype float32, expected uint8"),
        (lambda: iter(make_frames(N)[..., :1]), r"frame 0: shape \(5, 7, 1\), expected \(height, width, 3\)"),
        (lambda: iter(list(make_frames(3)) + list(make_frames(3, h=6))), r"frame 3: shape \(6, 7, 3\) differs from frame 0's \(5, 7, 3\)"),
    ],
)
def test_bad_frames_rejected(tmp_path: Path, frames: Callable[[], Any], match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        write_dataset(tmp_path / "d", frames(), make_index(), make_metadata())
    assert not (tmp_path / "d").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("index", "metadata", "match"),
    [
        (make_index().assign(frame="x.png"), make_metadata(), r"index: has a 'frame' column"),
        (make_index().drop(columns=["label"]), make_metadata(), r"index: required column 'label' missing"),
        (make_index().set_index(["episode", "step"]), make_metadata(), r"call \.reset_index\(\) first"),
        (make_index().assign(label=[1, 0, 2, 1, 0, 1]), make_metadata(), r"index row 2: label is 2"),
        (make_index().assign(step=0), make_metadata(), r"index: episode 0 step 0 appears in 3 rows"),
        (make_index(), make_metadata(state_columns=["angle", "velocity"]), r"state_columns names 'velocity'"),
        (make_index(), make_metadata(goal_prompts=[]), r"'goal_prompts' is empty"),
        (make_index(), make_metadata(extra={"env": "clash"}), r"metadata\.extra has key 'env'"),
        (make_index(), make_metadata(render={"cam": object()}), r"metadata render\['cam'\]: cannot be stored in JSON"),
        (make_index().assign(mixed=[1, "a", 2.0, None, 3, 4]), make_metadata(), r"index: column 'mixed' cannot be stored in Parquet"),
    ],
)
def test_bad_index_or_metadata_rejected_before_writing(
    tmp_path: Path, index: pd.DataFrame, metadata: DatasetMetadata, match: str
) -> None:
    def never() -> Iterator[np.ndarray]:
        raise AssertionError("frames must not be consumed before validation")
        yield  # pragma: no cover

    with pytest.raises(DatasetError, match=match):
        write_dataset(tmp_path / "d", never(), index, metadata)
    assert sorted(os.listdir(tmp_path)) == []


def test_numpy_values_in_metadata_are_written(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "d", make_frames(), make_index(),
                       make_metadata(render={"width": np.int64(W), "fov": np.float32(0.5)}))
    assert ds.metadata.render == {"width": W, "fov": 0.5}


# --------------------------------------------------------------------------- read_frame


def _save(tmp_path: Path, name: str, image: Image.Image) -> Path:
    path = tmp_path / name
    image.save(path)
    return path


def test_read_frame_converts_modes(tmp_path: Path) -> None:
    rgba = np.random.default_rng(5).integers(0, 256, size=(4, 6, 4), dtype=np.uint8)
    out = read_frame(_save(tmp_path, "rgba.png", Image.fromarray(rgba)))
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert np.array_equal(out, rgba[..., :3])  # alpha dropped, colour kept

    grey = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10
    out = read_frame(_save(tmp_path, "l.png", Image.fromarray(grey)))
    assert out.shape == (4, 6, 3)
    assert all(np.array_equal(out[..., c], grey) for c in range(3))

    la = Image.fromarray(grey).convert("LA")
    assert np.array_equal(read_frame(_save(tmp_path, "la.png", la))[..., 1], grey)

    pal = Image.fromarray(rgba[..., :3]).quantize(colors=8)
    out = read_frame(_save(tmp_path, "p.png", pal))
    assert np.array_equal(out, np.asarray(pal.convert("RGB")))

    deep = np.array([[0, 257, 65535], [32896, 1000, 65280]], dtype=np.uint16)
    path = _save(tmp_path, "g16.png", Image.fromarray(deep))
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # 16-bit grey, not RGB
    out = read_frame(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[..., 0], [[0, 1, 255], [128, 4, 254]])


def test_read_frame_truncated_and_missing(tmp_path: Path) -> None:
    big = np.random.default_rng(1).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    good = _save(tmp_path, "good.png", Image.fromarray(big))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"truncated\.png: cannot read this frame") as info:
        read_frame(truncated)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(DatasetError, match=r"absent\.png: frame file not found"):
        read_frame(tmp_path / "absent.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(DatasetError, match=r"text\.png: cannot read this frame"):
        read_frame(tmp_path / "text.png")


# --------------------------------------------------------------------------- save_index


def test_save_index_updates_labels(root: Path) -> None:
    ds = load_dataset(root)
    index = ds.index.copy()
    index.loc[[2, 4], "label"] = [0, 1]
    index["reviewer"] = "ann"
    updated = save_index(ds, index)
    assert updated.labels().tolist() == [1, 0, 0, 1, 1, 0]
    reloaded = load_dataset(root)
    pd.testing.assert_frame_equal(reloaded.index, updated.index)
    assert reloaded.index["reviewer"].tolist() == ["ann"] * N
    assert ds.index["label"].isna().sum() == 2  # the old Dataset object is not mutated
    assert leftovers(root) == []


def test_save_index_validates_first(root: Path) -> None:
    ds = load_dataset(root)
    before = (root / INDEX_FILE).read_bytes()
    bad = ds.index.copy()
    bad["label"] = bad["label"].astype(object)
    bad.loc[3, "label"] = 7
    bad.loc[0, "frame"] = "frames/none.png"
    with pytest.raises(DatasetError, match=r"not saved") as info:
        save_index(ds, bad)
    assert "row 3 (frames/000003.png): label is 7" in str(info.value)
    assert "row 0 (frames/none.png): frame file is missing" in str(info.value)
    with pytest.raises(DatasetError, match=r"state_columns names 'angle'"):
        save_index(ds, ds.index.drop(columns=["angle"]))
    assert (root / INDEX_FILE).read_bytes() == before
    assert leftovers(root) == []


def test_save_index_checks_new_frames_size(root: Path) -> None:
    ds = load_dataset(root)
    Image.fromarray(make_frames(1, h=2, w=2)[0]).save(root / "frames/extra.png")
    index = ds.index.copy()
    index.loc[5, "frame"] = "frames/extra.png"
    with pytest.raises(DatasetError, match=r"row 5 \(frames/extra\.png\): frame is 2x2 .* the dataset's frames are 7x5"):
        save_index(ds, index)


def test_save_index_is_atomic(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    ds = load_dataset(root)
    before = (root / INDEX_FILE).read_bytes()

    def broken_write(table: object, where: object, **kw: object) -> None:
        where.write(b"PAR1 half a file")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken_write)
    index = ds.index.copy()
    index["label"] = pd.array([1] * N, dtype="Int8")
    with pytest.raises(StorageError, match=r"cannot write the index \(the old index is unchanged\) at .*index\.parquet: No space left"):
        save_index(ds, index)
    assert (root / INDEX_FILE).read_bytes() == before
    assert leftovers(root) == []


def test_dataset_repr_is_short(root: Path) -> None:
    ds = load_dataset(root)
    assert isinstance(ds, Dataset)
    text = repr(ds)
    assert "frames=6" in text and "labelled=4" in text and len(text) < 200


def test_frames_dir_constant() -> None:
    assert FRAMES_DIR == "frames"
