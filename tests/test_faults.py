"""Faults: bad input, damaged datasets and caches, full and read-only disks, killed runs.

Every case checks the exit status, that no traceback is printed, the message, and that the
inputs and earlier results are unchanged. Full-disk and read-only cases mount a small
tmpfs or a read-only bind mount inside ``unshare -m`` (root only; skipped otherwise).
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rmeval.cache import EmbeddingCache, EmbeddingStore, frame_keys, prune_cache, verify_cache
from rmeval.dataset import DatasetMetadata, write_dataset

REPO = Path(__file__).resolve().parents[1]
N = 16


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones too) with a digest of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.blake2b(p.read_bytes(), digest_size=8).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(N, 24, 32, 3), dtype=np.uint8)
    index = pd.DataFrame({"episode": np.zeros(N, int), "step": np.arange(N),
                          "label": pd.array([1, 0, 0, 1] * (N // 4), dtype="Int8")})
    meta = DatasetMetadata(env="Noise-v0", task="noise", goal_prompts=["noise"], baseline_prompts=["grey"], name="noise")
    root = tmp_path_factory.mktemp("faults") / "noise"
    write_dataset(root, frames, index, meta)
    return root


@pytest.fixture
def dataset_copy(small_dataset: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "noise"
    shutil.copytree(small_dataset, dst)
    return dst


def _ok(code: int, out: str, err: str, status: int, *needles: str) -> None:
    assert code == status, (code, out, err)
    assert "Traceback" not in out + err
    for needle in needles:
        assert needle in out + err, (needle, out, err)


def _epic(run, dataset: Path, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    return run("epic", "--models", "rmeval-tiny", "--dataset", str(dataset), "--resamples", "20",
               "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"), "--no-progress", *extra)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("alpha", "needle"), [
    ("0,,1", "empty value between commas"),
    ("0,0,1", "0 is given twice"),
    ("0:1:0.3", "the stop 1 is not on the grid"),
])
def test_bad_alpha_is_refused(run, small_dataset, tmp_path, alpha, needle):
    before = _tree(small_dataset)
    _ok(*_epic(run, small_dataset, tmp_path, "--alpha", alpha), 2, needle)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    assert _tree(small_dataset) == before


def test_empty_goal_and_bad_tag_are_bad_input(run, small_dataset, tmp_path):
    _ok(*_epic(run, small_dataset, tmp_path, "--goal", ""), 2, "--goal '': a prompt must not be empty")
    code, out, err = run("epic", "--models", "rmeval-tiny:nosuchtag,rmeval-tiny", "--dataset", str(small_dataset),
                         "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"))
    _ok(code, out, err, 2, "has no pretrained tag 'nosuchtag'")
    assert not (tmp_path / "out").exists()


def test_jpeg_bytes_in_a_png_frame(run, dataset_copy, tmp_path):
    frame = dataset_copy / "frames" / "000003.png"
    buf = io.BytesIO()
    Image.open(frame).convert("RGB").save(buf, format="JPEG")
    frame.write_bytes(buf.getvalue())
    before = _tree(dataset_copy)
    _ok(*_epic(run, dataset_copy, tmp_path), 2, "000003.png", "JPEG image data, not PNG")
    assert _tree(dataset_copy) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("keep", [40, 0.8])
def test_unreadable_frame(run, dataset_copy, tmp_path, keep):
    frame = dataset_copy / "frames" / "000005.png"
    data = frame.read_bytes()
    frame.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])  # cut short by a failing disk
    _ok(*_epic(run, dataset_copy, tmp_path), 2, "000005.png")
    code, out, err = run("embed", "--models", "rmeval-tiny", "--dataset", str(dataset_copy),
                         "--cache-dir", str(tmp_path / "cache"))
    _ok(code, out, err, 2, "000005.png")
    assert err.count("error:") == 1 and "failed" not in err, err  # printed once


def test_nan_in_metadata_json(run, dataset_copy, tmp_path):
    meta = dataset_copy / "metadata.json"
    data = json.loads(meta.read_text())
    data["extra"] = {"threshold": 1.0}
    meta.write_text(json.dumps(data).replace("1.0", "NaN"))
    before = _tree(dataset_copy)
    _ok(*_epic(run, dataset_copy, tmp_path), 2, "metadata.json: NaN is not JSON")
    assert _tree(dataset_copy) == before


def test_index_csv_instead_of_parquet(run, dataset_copy, tmp_path):
    pd.read_parquet(dataset_copy / "index.parquet").to_csv(dataset_copy / "index.csv", index=False)
    (dataset_copy / "index.parquet").unlink()
    before = _tree(dataset_copy)
    code, out, err = _epic(run, dataset_copy, tmp_path)
    assert code == 2 and "Traceback" not in out + err
    assert "index.parquet: missing (found index.csv" in err
    assert _tree(dataset_copy) == before  # the user's CSV is left as it was


def test_string_label_with_one_bad_value_names_the_bad_row_first(run, dataset_copy, tmp_path):
    index = pd.read_parquet(dataset_copy / "index.parquet")
    labels = index["label"].astype(str).tolist()
    labels[9] = "yes"
    index["label"] = labels
    index.to_parquet(dataset_copy / "index.parquet", index=False)
    code, out, err = _epic(run, dataset_copy, tmp_path)
    _ok(code, out, err, 2, "label is 'yes'")
    problems = [line for line in err.splitlines() if line.strip().startswith("- ")]
    assert "row 9" in problems[0] and "label is 'yes'" in problems[0], err
    assert "holds 15 label(s) as text" in err


def test_report_refuses_missing_dataset_and_garbage_labels_db(run, tmp_path):
    code, out, err = run("report", "--dataset", str(tmp_path / "no" / "such" / "dir"), "--out", str(tmp_path / "rep"))
    _ok(code, out, err, 2, "does not exist")
    garbage = tmp_path / "labels.db"
    garbage.write_bytes(b"not a database at all" * 10)
    code, out, err = run("report", "--labels-db", str(garbage), "--out", str(tmp_path / "rep"))
    _ok(code, out, err, 2, "not an SQLite database")
    assert garbage.read_bytes() == b"not a database at all" * 10
    assert not list((tmp_path / "rep").rglob("*.html")) if (tmp_path / "rep").exists() else True


# --------------------------------------------------------------------------- the cache


def _shards(cache: Path) -> list[Path]:
    return sorted((cache / "v1" / "image").glob("*/shard-*.npy"))


def _change_one_float(shard: Path) -> None:
    arr = np.load(shard)
    offset = shard.stat().st_size - arr.nbytes  # the .npy header
    arr["emb"][2, 3] += 0.25
    with open(shard, "r+b") as f:
        f.seek(offset)
        f.write(arr.tobytes())


def test_changed_float_in_a_shard_is_caught_and_reencoded(run, small_dataset, tmp_path):
    code, out, err = _epic(run, small_dataset, tmp_path)
    _ok(code, out, err, 0, f"{N} frames encoded, 0 from cache")
    clean = pd.read_csv(tmp_path / "out" / "epic_noise.csv")
    (shard,) = _shards(tmp_path / "cache")
    _change_one_float(shard)
    code, out, err = _epic(run, small_dataset, tmp_path)
    _ok(code, out, err, 0, f"{N} frames encoded, 0 from cache", "its checksum does not match its contents")
    assert err.count("checksum does not match") == 1 and "Traceback" not in err
    assert (shard.parent / "quarantine" / shard.name).is_file()  # moved aside, not deleted
    again = pd.read_csv(tmp_path / "out" / "epic_noise.csv")
    pd.testing.assert_frame_equal(again, clean)
    # and now everything comes from the (repaired) cache
    _ok(*_epic(run, small_dataset, tmp_path), 0, f"0 frames encoded, {N} from cache")


def _legacy_copy(shard: Path, *, nan: bool = False, fill: str = "ab") -> Path:
    """The shard as rmeval before checksums named it (optionally with a NaN inside)."""
    arr = np.load(shard)
    if nan:
        arr["emb"][0, 0] = np.nan
    legacy = shard.with_name("shard-" + fill * 16 + ".npy")
    np.save(legacy, arr, allow_pickle=False)
    shard.unlink()
    return legacy


def test_old_shards_are_read_with_one_notice_and_nan_shards_quarantined(run, small_dataset, tmp_path):
    _ok(*_epic(run, small_dataset, tmp_path), 0)
    (shard,) = _shards(tmp_path / "cache")
    legacy = _legacy_copy(shard)
    code, out, err = _epic(run, small_dataset, tmp_path)
    _ok(code, out, err, 0, f"0 frames encoded, {N} from cache", "written before rmeval checksummed its cache")
    assert err.count("checksummed its cache") == 1
    _legacy_copy(legacy, nan=True, fill="cd")  # an old shard full of NaN: no longer blames the model
    code, out, err = _epic(run, small_dataset, tmp_path)
    _ok(code, out, err, 0, f"{N} frames encoded, 0 from cache", "it holds NaN or infinite values")


def test_cache_verify_and_prune(run, small_dataset, tmp_path):
    _ok(*_epic(run, small_dataset, tmp_path), 0)
    cache = tmp_path / "cache"
    code, out, err = run("cache", "verify", str(cache))
    _ok(code, out, err, 0, "2 store(s), 3 shard(s) OK (18 embeddings)", "0 damaged")
    (shard,) = _shards(cache)
    _change_one_float(shard)
    (shard.parent / f".{shard.name}.rmeval-tmp-999999999-0a0b").write_bytes(b"half")
    code, out, err = run("cache", "verify", str(cache))
    _ok(code, out, err, 1, f"DAMAGED {shard}", "checksum does not match", "1 temporaries of interrupted runs")
    assert verify_cache(cache).quarantined  # still there until pruned
    code, out, err = run("cache", "prune", str(cache))
    _ok(code, out, err, 0, "removed 2 file(s)")
    report = verify_cache(cache)
    assert not report.quarantined and not report.leftovers and not report.damaged
    assert prune_cache(cache).removed == []
    code, out, err = run("cache", "verify", str(tmp_path / "nothing-here"))
    _ok(code, out, err, 2, "is not a directory")


def _writer(directory: str, seed: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    keys = np.array([bytes([i]) * 16 for i in range(50)], dtype="S16")
    emb = np.random.default_rng(seed).random((50, 4), dtype=np.float32)
    store = EmbeddingStore(Path(directory), 4)
    barrier.wait()
    store.add(keys, emb)


def test_two_writers_store_each_frame_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path / "store"), seed, barrier)) for seed in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows = sum(len(np.load(p)) for p in (tmp_path / "store").glob("shard-*.npy"))
    assert rows == 50


def test_frame_keys_match_the_cache(tmp_path):
    frames = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    store = EmbeddingCache(tmp_path).store("image", "m", {"model": "x"}, 2)
    assert store.add(frame_keys(frames), np.ones((3, 2), np.float32)) == 1  # identical frames: one row
    assert not any(tmp_path.rglob("quarantine"))


# --------------------------------------------------------------------------- killed runs, noise


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_a_killed_render_are_removed_with_a_note(run, tmp_path):
    leftover = tmp_path / f".set.rmeval-tmp-{_dead_pid()}-deadbeef"
    (leftover / "frames").mkdir(parents=True)
    (leftover / "frames" / "000000.png").write_bytes(b"half a frame")
    live = tmp_path / f".other.rmeval-tmp-{os.getpid()}-0badf00d"  # a run still going: kept
    live.mkdir()
    code, out, err = run("render", "--env", "cartpole", "--sweep", "angle=-0.1:0.1:0.1", "--out", str(tmp_path / "set"))
    _ok(code, out, err, 0, "rmeval: note: removed 1 unfinished temporary file", "interrupted run")
    assert not leftover.exists() and live.exists()
    assert "XDG_RUNTIME_DIR" not in err
    assert "warnings.warn" not in err and ".py:" not in err  # notes are one line, no source


def test_render_prints_no_xdg_noise(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "SDL_VIDEODRIVER")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "rmeval", "render", "--env", "cartpole", "--sweep", "angle=0:0.1:0.1",
                           "--out", str(tmp_path / "set")], check=False, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "XDG_RUNTIME_DIR" not in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- full and read-only disks


def _unshare_ok() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], check=False, capture_output=True).returncode == 0


needs_mounts = pytest.mark.skipif(not _unshare_ok(), reason="needs root and `unshare -m` to mount a tmpfs / read-only bind")


def _in_mount_ns(setup: str, *argv: str, check: str = "true") -> subprocess.CompletedProcess[str]:
    """Run shell ``setup``, then ``rmeval argv``, then shell ``check`` in a private mount namespace.

    The return code is rmeval's; ``check`` prints to stdout what the test looks for.
    """
    cmd = " ".join(f"'{a}'" for a in argv)
    script = f"set -e; {setup}; set +e; {sys.executable} -m rmeval {cmd}; rc=$?; {check}; exit $rc"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(["unshare", "-m", "sh", "-c", script], check=False, capture_output=True, text=True, env=env, timeout=300)


def _full_tmpfs(mnt: Path, keep: Path | None = None) -> str:
    """Mount a 200 KiB tmpfs at ``mnt`` (holding a copy of ``keep``) and fill it up."""
    mnt.mkdir(exist_ok=True)
    copy = f"cp {keep} {mnt}/{keep.name}; " if keep is not None else ""
    return (f"mount -t tmpfs -o size=200k tmpfs {mnt}; {copy}"
            f"dd if=/dev/zero of={mnt}/filler bs=4k count=1000 2>/dev/null || true")


@needs_mounts
def test_cache_on_a_full_disk(small_dataset, tmp_path):
    mnt = tmp_path / "mnt"
    proc = _in_mount_ns(_full_tmpfs(mnt), "epic", "--models", "rmeval-tiny", "--dataset", str(small_dataset),
                        "--resamples", "10", "--cache-dir", str(mnt / "cache"), "--out", str(tmp_path / "out"),
                        check=f"find {mnt} -name '*rmeval-tmp*'")
    assert proc.returncode == 1, proc.stderr  # the disk, not the input
    assert "Traceback" not in proc.stderr
    assert "No space left on device" in proc.stderr and "the disk is full" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "rmeval-tmp" not in proc.stdout  # no half-written temporaries left
    assert not (tmp_path / "out" / "epic_noise.csv").exists()


@needs_mounts
def test_results_on_a_full_disk_keep_earlier_results(run, small_dataset, tmp_path):
    _ok(*_epic(run, small_dataset, tmp_path, "--alpha", "0"), 0)
    earlier = tmp_path / "out" / "epic_noise.csv"
    mnt = tmp_path / "mnt"
    proc = _in_mount_ns(_full_tmpfs(mnt, keep=earlier), "epic", "--models", "rmeval-tiny", "--dataset",
                        str(small_dataset), "--alpha", "0,1", "--resamples", "10", "--cache-dir", str(tmp_path / "cache"),
                        "--out", str(mnt),
                        check=f"cmp -s {earlier} {mnt}/epic_noise.csv && echo SAME-RESULT; ls -A {mnt}")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "No space left on device" in proc.stderr
    assert "cannot write epic_noise.csv" in proc.stderr and "results already complete are unchanged" in proc.stderr
    assert "SAME-RESULT" in proc.stdout  # the earlier complete result is untouched
    assert "rmeval-tmp" not in proc.stdout


@pytest.mark.slow
@needs_mounts
def test_read_only_cache(run, small_dataset, tmp_path):
    cache = tmp_path / "cache"
    _ok(*_epic(run, small_dataset, tmp_path), 0)
    before = _tree(cache)
    ro = f"mount --bind {cache} {cache}; mount -o remount,ro,bind {cache}"
    args = ["epic", "--dataset", str(small_dataset), "--resamples", "10", "--cache-dir", str(cache),
            "--out", str(tmp_path / "out2")]
    # everything needed is cached: a read-only cache is fine
    proc = _in_mount_ns(ro, *args, "--models", "rmeval-tiny")
    assert proc.returncode == 0, proc.stderr
    assert f"0 frames encoded, {N} from cache" in proc.stdout
    # another model needs writing: one clear line, exit 2 (choose another --cache-dir)
    proc = _in_mount_ns(ro, *args, "--models", "rmeval-tiny:random1")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "is not writable (Read-only file system)" in proc.stderr and "--cache-dir" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert _tree(cache) == before


def test_file_where_a_folder_belongs_and_folder_where_a_file_belongs(run, small_dataset, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    code, out, err = _epic(run, small_dataset, tmp_path, "--out", str(blocker / "out"))
    _ok(code, out, err, 2, "cannot write the output folder (--out)", "a file is in the way")
    assert blocker.read_text() == "a file"
    (tmp_path / "cache").parent.mkdir(exist_ok=True)
    code, out, err = run("epic", "--models", "rmeval-tiny", "--dataset", str(small_dataset), "--resamples", "10",
                         "--cache-dir", str(blocker), "--out", str(tmp_path / "o"))
    _ok(code, out, err, 2, "is a file, not a folder")
    cache = tmp_path / "cache2"
    (cache / "v1").mkdir(parents=True)
    (cache / "v1" / "image").write_text("a file where the store folders belong")
    code, out, err = run("epic", "--models", "rmeval-tiny", "--dataset", str(small_dataset), "--resamples", "10",
                         "--cache-dir", str(cache), "--out", str(tmp_path / "o"))
    _ok(code, out, err, 2, "cannot write the embedding cache", "a file is in the way where a folder belongs")
    assert (cache / "v1" / "image").read_text() == "a file where the store folders belong"
    assert not (tmp_path / "o" / "epic_noise.csv").exists()
    out_dir = tmp_path / "o2"
    (out_dir / "epic_noise.csv").mkdir(parents=True)  # a folder where the result file belongs
    code, out, err = _epic(run, small_dataset, tmp_path, "--out", str(out_dir))
    _ok(code, out, err, 2, "cannot write epic_noise.csv", "a folder is in the way where a file belongs")
    assert (out_dir / "epic_noise.csv").is_dir()
