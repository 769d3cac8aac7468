"""evalkit's native layer-wise MiniCPM reranker against FlagEmbedding 1.4.2's bundled reference model.

The reference is FlagEmbedding's own LayerWiseMiniCPMForCausalLM (a package import, not remote code), read out as
LayerWiseFlagLLMReranker does (`last_logit_pool_layerwise`). Seeded mistakes must break the 1e-5 agreement.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import evalkit.models.layerwise as layerwise
from evalkit.errors import EvalkitError
from evalkit.models.layerwise import load_layerwise
from evalkit.testing import make_tiny_minicpm_layerwise

from FlagEmbedding.inference.reranker.decoder_only.layerwise import last_logit_pool_layerwise
from FlagEmbedding.inference.reranker.decoder_only.models import modeling_minicpm_reranker as fe_models
from FlagEmbedding.inference.reranker.decoder_only.models.configuration_minicpm_reranker import LayerWiseMiniCPMConfig

ROOT = Path(__file__).resolve().parents[1]
VOCAB, LAYERS, START = 300, 5, 2
ALL_CUTOFFS = list(range(START, LAYERS + 1))
TOL = 1e-5
LENGTHS = [17, 9, 23, 4, 12, 23, 1, 15]


def reference_model(path):
    """FlagEmbedding's model on `path`, built by its own constructor and loaded strictly. Not from_pretrained:
    transformers 5 creates it on the meta device and leaves its rotary cos/sin buffers uninitialised; and it turns
    `rope_scaling: null` into a dict that the 2024 code reads as a scaling type, so the null is restored."""
    config = LayerWiseMiniCPMConfig.from_pretrained(path)
    config.rope_scaling = None
    config._attn_implementation = "sdpa"
    model = fe_models.LayerWiseMiniCPMForCausalLM(config)
    model.load_state_dict(load_file(path / "model.safetensors"), strict=True)
    return model.eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_tiny_minicpm_layerwise(tmp_path_factory.mktemp("layerwise"), vocab_size=VOCAB, layers=LAYERS,
                                       start_layer=START, hidden=32, heads=4, kv_heads=2, tokenizer=False)


@pytest.fixture(scope="module")
def reference(checkpoint):
    return reference_model(checkpoint)


@pytest.fixture(scope="module")
def ours(checkpoint):
    return load_layerwise(str(checkpoint), tokenizer=False)[0]


@pytest.fixture(scope="module")
def sequences():
    generator = torch.Generator().manual_seed(7)
    return [torch.randint(3, VOCAB, (n,), generator=generator) for n in LENGTHS]


def pad(sequences, side="left", pad_id=0):
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, seq in enumerate(sequences):
        span = slice(width - len(seq), width) if side == "left" else slice(0, len(seq))
        ids[row, span], mask[row, span] = seq, 1
    return ids, mask


@torch.no_grad()
def reference_scores(model, ids, mask, cutoffs):
    """(batch, len(cutoffs)) as LayerWiseFlagLLMReranker reads them. The reference pairs its ascending hidden states
    with `cutoffs` in the given order, so it is asked one cutoff at a time."""
    columns = []
    for cutoff in cutoffs:
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, cutoff_layers=[cutoff])
        columns.append(last_logit_pool_layerwise(out.logits[0], mask).float())
    return torch.stack(columns, dim=1)


def max_diff(a, b):
    return (a - b).abs().max().item()


def test_batched_left_padded_matches_reference_at_every_cutoff(ours, reference, sequences):
    ids, mask = pad(sequences)
    want = reference_scores(reference, ids, mask, ALL_CUTOFFS)
    got = ours.layer_scores(ids, mask, ALL_CUTOFFS)
    assert got.dtype == torch.float32 and got.shape == (len(sequences), len(ALL_CUTOFFS))
    assert want.std(dim=0).min() > 0.1          # random weights give scores far apart: the check can fail
    assert max_diff(got, want) <= TOL


def test_one_by_one_matches_reference_and_the_batch(ours, reference, sequences):
    ids, mask = pad(sequences)
    batched = ours.layer_scores(ids, mask, ALL_CUTOFFS)
    for row, seq in enumerate(sequences):
        single_ids, single_mask = seq[None], torch.ones(1, len(seq), dtype=torch.long)
        got = ours.layer_scores(single_ids, single_mask, ALL_CUTOFFS)
        assert max_diff(got, reference_scores(reference, single_ids, single_mask, ALL_CUTOFFS)) <= TOL
        assert max_diff(got[0], batched[row]) <= TOL


def test_cutoff_order_and_subsets_follow_the_request(ours, reference, sequences):
    ids, mask = pad(sequences)
    want = reference_scores(reference, ids, mask, [5, 3])
    assert max_diff(ours.layer_scores(ids, mask, [5, 3]), want) <= TOL
    assert max_diff(ours.layer_scores(ids, mask, [3])[:, 0], want[:, 1]) <= TOL


def test_runs_only_up_to_the_highest_cutoff(checkpoint, sequences):
    model = load_layerwise(str(checkpoint), tokenizer=False)[0]

    class Unreachable(nn.Module):
        def forward(self, *args, **kwargs):
            raise AssertionError("layer beyond the highest cutoff ran")

    model.model.layers[3] = Unreachable()          # the 4th layer: needed for cutoff 4 and 5 only
    ids, mask = pad(sequences)
    assert model.layer_scores(ids, mask, [2, 3]).shape == (len(sequences), 2)
    with pytest.raises(AssertionError, match="beyond the highest cutoff"):
        model.layer_scores(ids, mask, [4])


@pytest.mark.parametrize("cutoffs", [[1], [LAYERS + 1], [], [2, 9], [2.5]])
def test_cutoff_outside_the_range_names_the_key(ours, cutoffs):
    ids, mask = pad([torch.tensor([5, 6, 7])])
    with pytest.raises(EvalkitError) as err:
        ours.layer_scores(ids, mask, cutoffs)
    message = str(err.value)
    assert "reranker.llm.cutoff_layers" in message and f"[{START}, {LAYERS}]" in message and "\n" not in message


def test_config_exposes_the_dimensions_efficiency_reads(ours, checkpoint):
    raw = json.loads((checkpoint / "config.json").read_text())
    for key in ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
                "num_key_value_heads", "vocab_size"):
        assert getattr(ours.config, key) == raw[key], key


# --- seeded mistakes: each must break the agreement with the reference --------------------------------------

def _disagrees(model, reference, sequences, side="left"):
    ids, mask = pad(sequences, side)
    want = reference_scores(reference, *pad(sequences), ALL_CUTOFFS)
    return max_diff(model.layer_scores(ids, mask, ALL_CUTOFFS), want) > 1e-3


def test_right_padding_is_read_at_the_last_real_token(ours, reference, sequences, monkeypatch):
    assert not _disagrees(ours, reference, sequences, side="right")
    monkeypatch.setattr(layerwise, "last_token_index", lambda mask: torch.full(mask.shape[:1], mask.shape[1] - 1))
    assert _disagrees(ours, reference, sequences, side="right")      # mistake: right padding read at position -1


def test_seeded_missing_residual_scale_fails(checkpoint, reference, sequences, monkeypatch):
    real = layerwise.fold_scales
    monkeypatch.setattr(layerwise, "fold_scales", lambda name, t, extra, layers: real(
        name, t, {**extra, "scale_depth": layers ** 0.5}, layers))   # residual branches unscaled
    assert _disagrees(load_layerwise(str(checkpoint), tokenizer=False)[0], reference, sequences)


def test_seeded_missing_embedding_scale_fails(checkpoint, reference, sequences, monkeypatch):
    real = layerwise.fold_scales
    monkeypatch.setattr(layerwise, "fold_scales", lambda name, t, extra, layers: real(
        name, t, {**extra, "scale_emb": 1.0}, layers))
    assert _disagrees(load_layerwise(str(checkpoint), tokenizer=False)[0], reference, sequences)


def test_seeded_wrong_head_index_fails(checkpoint, reference, sequences):
    model = load_layerwise(str(checkpoint), tokenizer=False)[0]
    model.heads = nn.ModuleList(list(model.heads)[1:] + list(model.heads)[:1])   # cutoff c read by head c-start+1
    assert _disagrees(model, reference, sequences)


def test_seeded_skipped_norm_fails(checkpoint, reference, sequences):
    model = load_layerwise(str(checkpoint), tokenizer=False)[0]
    model.model.norm = nn.Identity()
    assert _disagrees(model, reference, sequences)


# --- checkpoints that must be refused with one line ---------------------------------------------------------

def test_pickle_only_checkpoint_is_refused(checkpoint, tmp_path):
    (tmp_path / "config.json").write_text((checkpoint / "config.json").read_text())
    torch.save(load_file(checkpoint / "model.safetensors"), tmp_path / "pytorch_model.bin")
    with pytest.raises(EvalkitError) as err:
        load_layerwise(str(tmp_path), tokenizer=False)
    assert "pytorch_model.bin" in str(err.value) and "safetensors" in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_tensor_is_refused(checkpoint, tmp_path):
    (tmp_path / "config.json").write_text((checkpoint / "config.json").read_text())
    state = load_file(checkpoint / "model.safetensors")
    del state[f"lm_head.{LAYERS - START}.linear_head.weight"]
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(EvalkitError, match=f"missing \\['heads.{LAYERS - START}.weight'\\]"):
        load_layerwise(str(tmp_path), tokenizer=False)


# --- the FlagLLMReranker prompt, through LayerWiseFlagLLMReranker.compute_score ------------------------------

PROMPT = ("Given a query A and a passage B, determine whether the passage contains an answer to the query by "
          "providing a prediction of either 'Yes' or 'No'.")
PAIRS = [
    ("what is a giant panda?", "The giant panda is a bear species endemic to China, known for its black coat."),
    ("what is a giant panda?", "Paris is the capital and most populous city of France."),
    ("北京是哪个国家的首都？", "北京是中华人民共和国的首都，也是全国的政治和文化中心。"),
    ("北京是哪个国家的首都？", "東京は日本の首都である。"),
    ("¿Cuál es el río más largo de Europa?", "El Volga es el río más largo de Europa, con unos 3.530 km."),
    ("Wie hoch ist die Zugspitze?", "Die Zugspitze ist mit 2962 m der höchste Berg Deutschlands."),
    ("Qui a écrit Les Misérables ?", "Les Misérables est un roman de Victor Hugo paru en 1862."),
    ("Сколько лет Москве?", "Москва впервые упоминается в летописях в 1147 году."),
    ("ما هي عاصمة مصر؟", "القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها."),
    ("हिमालय कहाँ है?", "हिमालय पर्वत श्रृंखला एशिया में स्थित है।"),
    ("q", "a very short passage"),
    ("how many moons does Mars have", "Mars has two small moons, Phobos and Deimos, discovered in 1877 " * 3),
]


@pytest.fixture(scope="module")
def tokenized_checkpoint(tmp_path_factory):
    return make_tiny_minicpm_layerwise(tmp_path_factory.mktemp("layerwise-tok"), layers=4, start_layer=2)


@pytest.fixture(scope="module")
def flag_reranker(tokenized_checkpoint):
    """LayerWiseFlagLLMReranker on the tiny checkpoint; its model comes from reference_model (see there)."""
    import FlagEmbedding.inference.reranker.decoder_only.layerwise as fe_layerwise

    class Loader:
        @staticmethod
        def from_pretrained(path, **kwargs):
            return reference_model(Path(path))

    patch = pytest.MonkeyPatch()
    patch.setattr(fe_layerwise, "LayerWiseMiniCPMForCausalLM", Loader)
    try:
        yield fe_layerwise.LayerWiseLLMReranker(str(tokenized_checkpoint), use_fp16=False, devices="cpu",
                                                batch_size=5)   # exported as LayerWiseFlagLLMReranker
    finally:
        patch.undo()


def prompt_ids(tokenizer, query, doc):
    """The FlagLLMReranker layout written out: bos, "A: {query}", "\\n", "B: {doc}", "\\n", prompt."""
    def encode(text):
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return torch.tensor([tokenizer.bos_token_id] + encode(f"A: {query}") + encode("\n") + encode(f"B: {doc}")
                        + encode("\n") + encode(PROMPT))


def test_flag_prompt_written_out_matches_compute_score(flag_reranker, tokenized_checkpoint):
    ours = load_layerwise(str(tokenized_checkpoint))[0]
    cutoffs = [2, 3, 4]
    want = torch.tensor(flag_reranker.compute_score(PAIRS, cutoff_layers=cutoffs)).T        # (pairs, cutoffs)
    sequences = [prompt_ids(flag_reranker.tokenizer, q, d) for q, d in PAIRS]
    assert max_diff(ours.layer_scores(*pad(sequences, pad_id=1), cutoffs), want) <= TOL
    for row, seq in enumerate(sequences):
        assert max_diff(ours.layer_scores(seq[None], torch.ones(1, len(seq), dtype=torch.long), cutoffs)[0],
                        want[row]) <= TOL
    assert want.std(dim=0).min() > 0.05


def test_sharded_checkpoint_loads_as_the_single_file(checkpoint, tmp_path, sequences):
    (tmp_path / "config.json").write_text((checkpoint / "config.json").read_text())
    state = load_file(checkpoint / "model.safetensors")
    names = sorted(state)
    for part, chunk in enumerate((names[: len(names) // 2], names[len(names) // 2:]), start=1):
        save_file({n: state[n] for n in chunk}, tmp_path / f"model-0000{part}-of-00002.safetensors")
    ids, mask = pad(sequences)
    single = load_layerwise(str(checkpoint), tokenizer=False)[0].layer_scores(ids, mask, ALL_CUTOFFS)
    sharded = load_layerwise(str(tmp_path), tokenizer=False)[0].layer_scores(ids, mask, ALL_CUTOFFS)
    assert torch.equal(sharded, single)


def test_tied_lm_head_is_ignored_and_other_extras_refused(checkpoint, tmp_path, sequences):
    (tmp_path / "config.json").write_text((checkpoint / "config.json").read_text())
    state = load_file(checkpoint / "model.safetensors")
    save_file({**state, "lm_head.weight": state["model.embed_tokens.weight"].clone()}, tmp_path / "model.safetensors")
    ids, mask = pad(sequences)
    assert torch.equal(load_layerwise(str(tmp_path), tokenizer=False)[0].layer_scores(ids, mask, [3]),
                       load_layerwise(str(checkpoint), tokenizer=False)[0].layer_scores(ids, mask, [3]))
    save_file({**state, "score.weight": torch.zeros(1, 32)}, tmp_path / "model.safetensors")
    with pytest.raises(EvalkitError, match="unexpected tensor 'score.weight'"):
        load_layerwise(str(tmp_path), tokenizer=False)


# --- reranker=bge_layerwise: the preset through evalkit's decoder engine -------------------------------------

def preset(model, **overrides):
    """configs/reranker/bge_layerwise.yaml merged into the schema, as evalkit runs it."""
    from omegaconf import OmegaConf

    from evalkit.app.schema import RerankerConfig

    raw = OmegaConf.load(ROOT / "configs" / "reranker" / "bge_layerwise.yaml")
    merged = OmegaConf.merge(OmegaConf.structured(RerankerConfig), raw,
                             {"model": str(model), "cache": False, "device": "cpu", "dtype": "fp32"},
                             OmegaConf.from_dotlist([f"{k}={v}" for k, v in overrides.items()]))
    return OmegaConf.to_object(merged)


def test_bge_layerwise_preset_matches_compute_score(flag_reranker, tokenized_checkpoint):
    from evalkit.rerank.decoder import build_decoder

    theirs = np.asarray(flag_reranker.compute_score(PAIRS, cutoff_layers=[2, 3, 4], max_length=2048), np.float32)
    ours = build_decoder(preset(tokenized_checkpoint, **{"llm.cutoff_layers": "[3,2,4]"}))
    np.testing.assert_allclose(ours.score(PAIRS), theirs[1], atol=TOL, rtol=0)
    np.testing.assert_allclose(np.concatenate([ours.score([p]) for p in PAIRS]), theirs[1], atol=TOL, rtol=0)
    variants = dict(ours.variants())
    assert sorted(variants) == ["layer2", "layer4"]
    np.testing.assert_allclose(variants["layer2"].score(PAIRS), theirs[0], atol=TOL, rtol=0)
    np.testing.assert_allclose(variants["layer4"].score(PAIRS), theirs[2], atol=TOL, rtol=0)
    assert np.ptp(theirs, axis=1).min() > 0.1
    normalized = build_decoder(preset(tokenized_checkpoint, score_transform="sigmoid",
                                      **{"llm.cutoff_layers": "[3]"})).score(PAIRS)
    np.testing.assert_allclose(normalized, flag_reranker.compute_score(PAIRS, cutoff_layers=[3], max_length=2048,
                                                                       normalize=True), atol=TOL, rtol=0)


def test_bge_layerwise_default_cutoff_beyond_a_small_model_is_refused(tokenized_checkpoint):
    from evalkit.rerank.decoder import build_decoder

    with pytest.raises(EvalkitError, match=r"reranker\.llm\.cutoff_layers: \[28\] .*\[2, 4\]"):
        build_decoder(preset(tokenized_checkpoint))


def test_bge_layerwise_runs_end_to_end_on_the_sample(tokenized_checkpoint, tmp_path):
    from cli_runner import evalkit

    run = tmp_path / "run"
    env = {"EVALKIT_CACHE": tmp_path / "cache"}
    done = evalkit("benchmark=sample", "reranker=bge_layerwise", f"reranker.model={tokenized_checkpoint}",
                   "reranker.llm.cutoff_layers=[3,4]", "candidates.depth=10", f"hydra.run.dir={run}",
                   env=env, check=True)
    assert "custom code" not in done.stdout + done.stderr          # no remote-code prompt for the auto_map
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"reranked", "reranked@layer4"} <= set(metrics["systems"])    # cutoff 3, and 4 from the same pass
    first, layer3, layer4 = (_ranking(run / "runs" / f"{name}.en.trec")
                             for name in ("first_stage", "reranked", "reranked@layer4"))
    for reranked in (layer3, layer4):
        assert {q: set(d) for q, d in first.items()} == {q: set(d) for q, d in reranked.items()}   # same pools,
        assert sum(first[q] != reranked[q] for q in first) > len(first) // 2                      # reordered
    assert layer3 != layer4
    refused = evalkit("benchmark=sample", "reranker=bge_layerwise", f"reranker.model={tokenized_checkpoint}",
                      f"hydra.run.dir={tmp_path / 'refused'}", env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "evalkit: error: reranker.llm.cutoff_layers: [28] must be a non-empty list of layers in [2, 4] "
        "(this checkpoint's start_layer and num_hidden_layers)")


def _ranking(path):
    ranking = {}
    for line in path.read_text().splitlines():
        qid, _, docid, _, _, _ = line.split()
        ranking.setdefault(qid, []).append(docid)
    return ranking
