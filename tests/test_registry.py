from pathlib import Path

import pytest

from rmeval.errors import InvalidInputError, ModelNotFoundError, WeightsUnavailableError
from rmeval.registry import get_spec, list_models, parse_model, parse_models


def test_registry_has_paper_models_with_sizes():
    names = list_models()
    for name in ["RN50", "ViT-B-32", "ViT-L-14", "ViT-H-14", "ViT-bigG-14", "rmeval-tiny"]:
        assert name in names
    big = get_spec("ViT-bigG-14")
    assert big.pretrained == "laion2b_s39b_b160k"
    assert big.params_m == 2540 and big.image_gflops == 968
    # sizes grow along the paper's scaling axis
    sizes = [get_spec(n).params_m for n in ["ViT-B-32", "ViT-L-14", "ViT-H-14", "ViT-bigG-14"]]
    assert sizes == sorted(sizes)


def test_parse_model_forms(tmp_path):
    ref = parse_model("ViT-L-14")
    assert (ref.weights, ref.tag, ref.id) == ("pretrained", "laion2b_s32b_b82k", "ViT-L-14:laion2b_s32b_b82k")
    assert not ref.is_random
    assert parse_model("ViT-L-14:openai").tag == "openai"
    rnd = parse_model("ViT-B-32:random")
    assert rnd.is_random and rnd.seed == 0 and rnd.id == "ViT-B-32:random"
    assert parse_model("ViT-B-32:random7").seed == 7
    ckpt = parse_model(f"ViT-B-32:{tmp_path}/w.bin")
    assert ckpt.weights == "checkpoint" and ckpt.path == Path(tmp_path / "w.bin")
    tiny = parse_model("rmeval-tiny")
    assert tiny.is_random and tiny.weights_label == "random"
    # any open_clip architecture works with an explicit tag
    assert parse_model("ViT-B-16:laion2b_s34b_b88k").arch == "ViT-B-16"


def test_unknown_model_lists_known_ones():
    with pytest.raises(ModelNotFoundError, match="ViT-bigG-14") as info:
        parse_model("ViT-Z-99")
    assert "unknown model 'ViT-Z-99'" in str(info.value)


def test_bad_model_strings():
    with pytest.raises(InvalidInputError, match="nothing after"):
        parse_model("ViT-B-32:")
    with pytest.raises(InvalidInputError, match="empty"):
        parse_models(" , ")
    with pytest.raises(InvalidInputError, match="no default weights"):
        parse_model("ViT-B-16")
    assert [r.id for r in parse_models("rmeval-tiny, rmeval-tiny:random ,ViT-B-32:random")] == [
        "rmeval-tiny:random",
        "ViT-B-32:random",
    ]


def test_weights_unavailable_offline_is_short_and_helpful(monkeypatch):
    from rmeval.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as info:
        load_model("ViT-B-32", device="cpu", weights_dir="/nonexistent-rmeval-weights")
    msg = str(info.value)
    assert "ViT-B-32:laion2b_s34b_b79k" in msg
    assert "ViT-B-32:/path/to" in msg and "HF_HUB_OFFLINE" in msg and "ViT-B-32:random" in msg
    assert "Traceback" not in msg


def test_unknown_tag_lists_tags():
    from rmeval.models import load_model

    with pytest.raises(WeightsUnavailableError, match=r"known tags: .*laion2b_s34b_b79k"):
        load_model("ViT-B-32:no-such-tag", device="cpu")


def test_bad_checkpoint_path_and_file(tmp_path):
    from rmeval.models import load_model

    with pytest.raises(WeightsUnavailableError, match="not a file"):
        load_model(f"rmeval-tiny:{tmp_path}/missing.pt", device="cpu")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="cannot load checkpoint"):
        load_model(f"rmeval-tiny:{junk}", device="cpu")


def test_checkpoint_roundtrip(tmp_path, tiny_model):
    """A checkpoint saved from a model loads back with the same weights and a file fingerprint."""
    import torch

    from rmeval.models import load_model

    path = tmp_path / "tiny.pt"
    torch.save(tiny_model.model.state_dict(), path)
    loaded = load_model(f"rmeval-tiny:{path}", device="cpu")
    assert not loaded.is_random
    assert str(path) in loaded.fingerprint
    for (k, a), (_, b) in zip(tiny_model.model.state_dict().items(), loaded.model.state_dict().items()):
        assert torch.equal(a, b), k


def test_random_weights_are_seeded():
    import torch

    from rmeval.models import load_model

    a = load_model("rmeval-tiny:random", device="cpu").model.state_dict()
    b = load_model("rmeval-tiny:random", device="cpu").model.state_dict()
    c = load_model("rmeval-tiny:random1", device="cpu").model.state_dict()
    key = "visual.conv1.weight"
    assert torch.equal(a[key], b[key])
    assert not torch.equal(a[key], c[key])


def test_device_errors():
    from rmeval.models import resolve_device

    with pytest.raises(InvalidInputError, match="not a device"):
        resolve_device("gpu-please")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_image_gflops_follow_one_convention():
    """GFLOPs are 2 x multiply-accumulates for every model (open_clip's profile), so the
    scaling axis and the benchmark's share of the matmul rate compare like with like.
    Counted here on the random-weight ViT-B-32 with torch's FLOP counter (attention unfused)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from rmeval.models import load_model

    m = load_model("ViT-B-32:random", device="cpu")
    m.model.train()  # the inference fast path of nn.MultiheadAttention hides its matmuls from the counter
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        m.model.encode_image(torch.zeros(1, 3, 224, 224))
    counted = counter.get_total_flops() / 1e9
    assert counted == pytest.approx(get_spec("ViT-B-32").image_gflops, rel=0.05)


# ----------------------------------------------------------------------------- every name form


def test_hf_hub_names_as_open_clip_spells_them():
    ref = parse_model("hf-hub:timm/ViT-B-16-SigLIP")
    assert (ref.source, ref.weights, ref.id, ref.arch) == ("hf-hub", "pretrained", "hf-hub:timm/ViT-B-16-SigLIP",
                                                          "hf-hub:timm/ViT-B-16-SigLIP")
    assert not ref.is_random and ref.family == "SigLIP" and ref.is_open_clip
    rnd = parse_model("hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K:random3")
    assert rnd.is_random and rnd.seed == 3 and rnd.id == "hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K:random3"
    for bad, message in [("hf-hub:timm", "needs a repository ORG/REPO"), ("hf-hub:", "needs a repository"),
                         ("hf-hub:timm/ViT-B-16-SigLIP:webli", "no tag after it")]:
        with pytest.raises(InvalidInputError, match=message):
            parse_model(bad)


def test_local_dir_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ref = parse_model("local-dir:./my-clip")
    assert ref.source == "local-dir" and ref.weights == "pretrained" and ref.arch == f"local-dir:{tmp_path / 'my-clip'}"
    rnd = parse_model("local-dir:/models/odd:name:random2")
    assert rnd.is_random and rnd.seed == 2 and rnd.arch == "local-dir:/models/odd:name"
    with pytest.raises(InvalidInputError, match="nothing after local-dir:"):
        parse_model("local-dir:")


def test_plugin_names_and_architectures_stay_apart():
    ref = parse_model("tests.plugin_models:TinyConvReward")
    assert ref.weights == "plugin" and ref.source == "plugin" and not ref.is_open_clip
    assert ref.id == "tests.plugin_models:TinyConvReward" and ref.family == "plug-in"
    assert parse_model("json:JSONDecoder").weights == "plugin"  # an importable undotted module
    # architecture names with a tag are not plug-ins, even when both sides are identifiers
    assert parse_model("RN50:openai").weights == "pretrained"
    assert parse_model("RN50:random").weights == "random"
    assert parse_model("ViT-B-32:laion2b_s34b_b79k").weights == "pretrained"
    with pytest.raises(ModelNotFoundError, match=r"cannot import module 'no_such_pkg\.rewards'"):
        parse_model("no_such_pkg.rewards:Model")
    mixed = parse_models("rmeval-tiny,tests.plugin_models:TinyConvReward,hf-hub:timm/ViT-B-16-SigLIP:random")
    assert [r.source for r in mixed] == ["open_clip", "plugin", "hf-hub"]


def test_judge_prefix_goes_to_rmeval_judges():
    from rmeval.judges.names import JudgeRef

    ref = parse_model("judge:/models/smol")
    assert isinstance(ref, JudgeRef) and ref.source == "dir" and ref.is_judge and not ref.is_open_clip
    assert ref.family == "judge"
    assert [type(r).__name__ for r in parse_models("rmeval-tiny,judge:rmeval-tiny-judge:random")] == ["ModelRef", "JudgeRef"]


def test_unknown_names_list_every_form():
    with pytest.raises(ModelNotFoundError) as info:
        parse_model("NoSuchNet-9:random")
    msg = str(info.value)
    assert "ViT-bigG-14" in msg and "hf-hub:ORG/REPO" in msg and "local-dir:" in msg and "module.path:Class" in msg


@pytest.mark.parametrize(("name", "family"), [
    ("ViT-B-16-SigLIP2:webli", "SigLIP 2"), ("ViT-SO400M-14-SigLIP:webli", "SigLIP"),
    ("PE-Core-B-16:meta", "PE-Core"), ("EVA02-L-14:merged2b_s4b_b131k", "EVA-CLIP"),
    ("ViT-H-14-quickgelu:dfn5b", "DFN CLIP"), ("ViT-H-14-quickgelu:metaclip_fullcc", "MetaCLIP"),
    ("ViT-L-14", "LAION CLIP"), ("RN50", "OpenAI CLIP"), ("ViT-B-32:random", "LAION CLIP"),
    ("rmeval-tiny-siglip2", "SigLIP 2"), ("hf-hub:timm/ViT-B-16-SigLIP2-256", "SigLIP 2"),
])
def test_families(name, family):
    assert parse_model(name).family == family
