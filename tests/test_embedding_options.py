"""EmbeddingOptions: the one options object for embedding, validated once on construction."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rmeval.embedding_options import EmbeddingOptions
from rmeval.errors import InvalidInputError


def test_defaults_and_normalisation(tmp_path: Path) -> None:
    opts = EmbeddingOptions(batch_size="32", cache_dir=str(tmp_path), weights_dir="~/w")
    assert opts.batch_size == 32 and opts.cache_dir == tmp_path and opts.weights_dir == Path("~/w").expanduser()
    assert EmbeddingOptions(batch_size=" Auto ").batch_size == "auto"
    assert EmbeddingOptions().embedder_kwargs("m") == {
        "batch_size": 64, "precision": "fp32", "progress": None, "compile": False, "fit": "crop"}


def test_fit_is_checked_and_defaults_per_dataset():
    from types import SimpleNamespace

    rendered = SimpleNamespace(metadata=SimpleNamespace(render={"env": "CartPole-v1"}))
    photo = SimpleNamespace(metadata=SimpleNamespace(render=None))
    assert EmbeddingOptions().fit_for(rendered) == "squash" and EmbeddingOptions().fit_for(photo) == "crop"
    assert EmbeddingOptions(fit=" PAD ").fit == "pad" and EmbeddingOptions(fit="pad").fit_for(rendered) == "pad"
    with pytest.raises(InvalidInputError, match="--fit must be one of crop, squash, pad"):
        EmbeddingOptions(fit="stretch")
    mixed = EmbeddingOptions(precision={"a": "bf16"})
    assert (mixed.precision_for("a"), mixed.precision_for("b")) == ("bf16", "fp32")
    assert mixed.describe()["precision"] == {"a": "bf16"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "--batch-size must be a positive integer or 'auto', got 0"),
        ({"batch_size": "many"}, "--batch-size must be a positive integer or 'auto'"),
        ({"batch_size": True}, "--batch-size must be a positive integer"),
        ({"precision": "fp8"}, "--precision must be one of fp32, fp16, bf16, got 'fp8'"),
        ({"precision": {"ViT-B-32": "int4"}}, "precision of ViT-B-32 must be one of"),
        ({"device": ""}, "--device must be cpu, cuda or cuda:N"),
    ],
)
def test_bad_options_raise_on_construction(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        EmbeddingOptions(**kwargs)


def test_from_args_checks_the_device() -> None:
    args = argparse.Namespace(device="cpu", batch_size="16", precision="fp32", cache_dir=None, weights_dir=None,
                              compile=False, no_progress=True)
    opts = EmbeddingOptions.from_args(args)
    assert (opts.batch_size, opts.progress) == (16, False)
    args.device = "tpu:7"
    with pytest.raises(InvalidInputError, match="--device 'tpu:7' is not a device"):
        EmbeddingOptions.from_args(args)


def test_commands_reject_bad_options_before_loading_a_model(run, tmp_path: Path) -> None:
    for command in ("epic", "landscape", "embed", "scaling"):
        out = [] if command == "embed" else ["--out", str(tmp_path)]
        code, _, err = run(command, "--models", "rmeval-tiny", "--batch-size", "-3", *out)
        assert code == 2 and "--batch-size must be a positive integer or 'auto', got '-3'" in err, (command, err)
