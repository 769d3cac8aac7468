"""load_cross_encoder: formats, strict tensor matching, refusals, hub resolution offline, provenance hashes."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

from evalkit.models.loading import (CheckpointError, ModelUnavailableError, load_cross_encoder, model_max_length,
                                    native_gte_config)
from evalkit.testing import make_tiny_gte, make_tiny_xlmr

PAIRS = [("what is the capital of China?", "北京"),
         ("中国的首都在哪儿", "北京是中华人民共和国的首都。" * 5),
         ("how to implement quick sort in python?", "Introduction of quick sort")]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def logits(loaded, pairs=PAIRS) -> torch.Tensor:
    enc = loaded.tokenizer([q for q, _ in pairs], [d for _, d in pairs], padding=True, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**enc).logits[:, 0].float()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpt")
    return {fmt: make_tiny_gte(root / fmt, fmt=fmt, seed=1) for fmt in ("native", "original")}


@pytest.fixture(scope="module")
def loaded(dirs):
    return {fmt: load_cross_encoder(str(path)) for fmt, path in dirs.items()}


def test_native_and_original_formats_give_the_same_logits(loaded):
    native, original = loaded["native"], loaded["original"]
    assert (native.info["format"], original.info["format"]) == ("native", "original")
    assert native.info["model_type"] == original.info["model_type"] == "gte"
    assert not native.model.training and native.tokenizer.padding_side == "right"
    got = logits(original)
    torch.testing.assert_close(got, logits(native), atol=1e-6, rtol=0)
    assert got.max() - got.min() > 0.1


def test_info_records_file_hashes_and_settings(dirs, loaded):
    info = loaded["original"].info
    assert info["weights_hash"] == sha256(dirs["original"] / "model.safetensors")      # == `sha256sum` of the file
    assert info["weights_files"] == {"model.safetensors": info["weights_hash"]}
    assert info["tokenizer_hash"] == sha256(dirs["original"] / "tokenizer.json")
    assert loaded["native"].info["weights_hash"] != info["weights_hash"]               # packed vs split tensors
    assert (info["max_position_embeddings"], info["dtype"], info["attn_implementation"]) == (8192, "float32", "sdpa")
    assert model_max_length(loaded["original"]) == 8192


def _fake_hub_cache(root: Path, source: Path, repo: str) -> Path:
    """The HF cache layout snapshot_download reads offline: refs/main -> snapshots/<commit>/files."""
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    shutil.copytree(source, repo_dir / "snapshots" / COMMIT)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return root


@pytest.fixture
def offline_hub(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)   # read at import time by the hub
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_hub_id_resolves_from_the_cache_offline_with_stable_hashes(dirs, loaded, offline_hub):
    _fake_hub_cache(offline_hub, dirs["original"], "evalkit-test/tiny-gte")
    again = load_cross_encoder("evalkit-test/tiny-gte", attn_implementation="eager")
    first = loaded["original"].info
    assert again.info["commit"] == COMMIT and again.info["model"] == "evalkit-test/tiny-gte"
    for key in ("weights_hash", "tokenizer_hash", "format", "model_type"):
        assert again.info[key] == first[key]
    assert again.info["attn_implementation"] == "eager"
    torch.testing.assert_close(logits(again), logits(loaded["original"]), atol=1e-5, rtol=0)


def test_missing_hub_model_offline_says_how_to_run(offline_hub):
    with pytest.raises(ModelUnavailableError) as err:
        load_cross_encoder("Alibaba-NLP/gte-multilingual-reranker-base")
    message = str(err.value)
    assert "\n" not in message
    assert "Alibaba-NLP/gte-multilingual-reranker-base" in message and "reranker.model=" in message
    assert "hf download Alibaba-NLP/gte-multilingual-reranker-base --local-dir" in message


def test_missing_local_directory(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no such local directory"):
        load_cross_encoder(str(tmp_path / "nowhere"))


def _rewrite_weights(path: Path, edit) -> None:
    state = load_file(path / "model.safetensors")
    edit(state)
    save_file(state, path / "model.safetensors")


def test_unexpected_tensor_is_named(tmp_path):
    path = make_tiny_gte(tmp_path / "extra", fmt="original")
    _rewrite_weights(path, lambda s: s.update({"new.encoder.layer.0.attention.rogue_proj.weight": torch.ones(2)}))
    with pytest.raises(CheckpointError, match=r"unexpected: .*rogue_proj"):
        load_cross_encoder(str(path))


@pytest.mark.parametrize("fmt, tensor", [("original", "new.pooler.dense.bias"), ("native", "classifier.weight")])
def test_missing_tensor_is_named(tmp_path, fmt, tensor):
    path = make_tiny_gte(tmp_path / "missing", fmt=fmt)
    _rewrite_weights(path, lambda s: s.pop(tensor))
    with pytest.raises(CheckpointError, match=r"missing: .*" + tensor.split(".", 1)[1].replace(".", r"\.")):
        load_cross_encoder(str(path))


def test_remote_code_model_is_refused(tmp_path):
    path = make_tiny_gte(tmp_path / "remote", fmt="native")
    config = json.loads((path / "config.json").read_text())
    config.update(model_type="fancy_reranker", auto_map={"AutoModel": "someone/fancy--modeling.FancyModel"})
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"config\.json: model_type 'fancy_reranker' needs .*remote code"):
        load_cross_encoder(str(path))


def test_pickle_only_weights_are_refused(tmp_path):
    path = make_tiny_gte(tmp_path / "bin", fmt="native")
    state = load_file(path / "model.safetensors")
    (path / "model.safetensors").unlink()
    torch.save(state, path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pytorch_model\.bin.*safetensors only"):
        load_cross_encoder(str(path))


def test_tiny_xlmr_loads_its_own_weights(tmp_path):
    path = make_tiny_xlmr(tmp_path / "xlmr", seed=2)
    loaded = load_cross_encoder(str(path), dtype="bf16")
    assert loaded.info["model_type"] == "xlm-roberta" and loaded.info["dtype"] == "bfloat16"
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    assert loaded.info["max_position_embeddings"] == 8194 and model_max_length(loaded) == 8192
    # the same tensors in a model built by hand (not through the loader) give the same scores
    direct = XLMRobertaForSequenceClassification(XLMRobertaConfig.from_pretrained(path))
    direct.load_state_dict(load_file(path / "model.safetensors"))
    direct = direct.to(torch.bfloat16).eval()
    enc = loaded.tokenizer([q for q, _ in PAIRS], [d for _, d in PAIRS], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = direct(**enc).logits[:, 0].float()
    got = logits(loaded)
    torch.testing.assert_close(got, expected, atol=1e-2, rtol=0)
    assert got.max() - got.min() > 0.1


def _original_config(**changes) -> dict:
    base = {"model_type": "new", "architectures": ["NewForSequenceClassification"], "hidden_size": 768,
            "num_attention_heads": 12, "rope_theta": 20000, "rope_scaling": {"type": "ntk", "factor": 8.0},
            "pack_qkv": True, "position_embedding_type": "rope", "layer_norm_type": "layer_norm",
            "logn_attention_scale": False, "auto_map": {"AutoModel": "Alibaba-NLP/new-impl--modeling.NewModel"}}
    return {**base, **changes}


def test_real_model_config_translation():
    cfg = native_gte_config(_original_config())
    assert cfg["model_type"] == "gte" and cfg["architectures"] == ["GteForSequenceClassification"]
    rope = cfg["rope_parameters"]
    assert rope["rope_type"] == "linear" and rope["rope_theta"] == 160000.0
    # 8 ** (1/32) = exp(ln 8 / 32) = exp(0.0649825) = 1.0671404 (by hand; PROTOCOLS.md rounds it to ~1.06709)
    assert rope["factor"] == pytest.approx(1.0671404, abs=1e-6)
    for key in ("rope_scaling", "rope_theta", "auto_map", "pack_qkv", "layer_norm_type", "position_embedding_type"):
        assert key not in cfg


@pytest.mark.parametrize("changes, key", [
    ({"rope_scaling": {"type": "ntk", "factor": 8.0, "mixed_b": 0.5}}, "rope_scaling.mixed_b"),
    ({"logn_attention_scale": True}, "logn_attention_scale"),
    ({"layer_norm_type": "rms_norm"}, "layer_norm_type"),
    ({"position_embedding_type": "absolute"}, "position_embedding_type"),
    ({"pack_qkv": False}, "pack_qkv"),
    ({"rope_scaling": {"type": "dynamic", "factor": 2.0}}, "rope_scaling.type"),
])
def test_original_options_without_native_equivalent_are_refused(changes, key):
    with pytest.raises(CheckpointError, match=rf"^my/config\.json: `{key}"):
        native_gte_config(_original_config(**changes), "my/config.json")
