"""Decoder-only rerankers (reranker.backend=llm) against their reference recipes, on tiny random checkpoints:

- reranker=qwen3 vs an independent implementation of the Qwen3-Reranker model card's recipe (the whole
  "<Instruct>: ...\n<Query>: ...\n<Document>: ..." text tokenized as one, prefix/suffix tokens around it, left
  padding, P(yes) from the last position's [no, yes] logits);
- reranker=bge_gemma vs FlagEmbedding's FlagLLMReranker (its own code, run here).
fp32, batched and one pair at a time, max |d| <= 1e-5; seeded mistakes (right padding, first-token logits, missing
suffix, dropped instruction, missing BOS, wrong answer token) must move the scores beyond the tolerance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from evalkit.app.schema import RerankerConfig
from evalkit.rerank import decoder
from evalkit.rerank.decoder import build_decoder
from evalkit.testing import make_tiny_causal_lm
from tests.flag_embedding import import_flag_embedding

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-5
PAIRS = [("what is the capital of China?", "北京是中华人民共和国的首都。"),
         ("中国的首都在哪儿?", "北京"),
         ("Hauptstadt von Deutschland", "Berlin ist die Hauptstadt Deutschlands und hat 3,7 Millionen Einwohner."),
         ("столица России", "Москва — столица России."),
         ("how to implement quick sort in python?", "Introduction of quick sort"),
         ("¿Dónde vive el lince ibérico?", "(Lynx pardinus) vive en la península ibérica."),
         ("when was Garrowby founded ", "1990: Garrowby was founded as a market town."),
         ("who wrote it?", "\nThe author, in 1851, wrote it in London."),
         ("ข้อมูล", "ข้อมูลทั่วไป"),
         ("empty document", ""),
         ("tokyo", "東京は日本の首都です。" * 5),
         ("long?", "Garrowby lies on the coast near Caldwick. " * 12),
         ("Caldwick", "The sea level rises above the harbour wall at high tide. " * 10)]
QWEN_PREFIX = ('<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the '
               'Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n')
QWEN_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
CARD_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"


def preset(name: str, model: Path, **overrides):
    """The YAML preset as evalkit runs it (configs/reranker/<name>.yaml merged into the schema)."""
    raw = OmegaConf.load(ROOT / "configs" / "reranker" / f"{name}.yaml")
    merged = OmegaConf.merge(OmegaConf.structured(RerankerConfig), raw,
                             {"model": str(model), "cache": False, "device": "cpu", "dtype": "fp32"},
                             OmegaConf.from_dotlist([f"{k}={v}" for k, v in overrides.items()]))
    return OmegaConf.to_object(merged)


@pytest.fixture(scope="module")
def qwen3_dir(tmp_path_factory):
    # seed 3: with the tiny tokenizer trained on the bundled sample, this random model's yes/no probabilities spread
    # over 0.21-0.86 on PAIRS (seeds 1, 2 and 5 saturate below 1e-4, 0 and 4 above 0.99: no pair would differ)
    return make_tiny_causal_lm(tmp_path_factory.mktemp("llm") / "tiny-qwen3", "qwen3", seed=3)


@pytest.fixture(scope="module")
def gemma_dir(tmp_path_factory):
    return make_tiny_causal_lm(tmp_path_factory.mktemp("llm") / "tiny-gemma", "gemma", seed=2)


def card_recipe(model_dir: Path, pairs, instruction=CARD_INSTRUCTION, max_length=8192) -> np.ndarray:
    """The Qwen3-Reranker card's recipe, written from its description (transformers classes, no evalkit)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    prefix = tok.encode(QWEN_PREFIX, add_special_tokens=False)
    suffix = tok.encode(QWEN_SUFFIX, add_special_tokens=False)
    texts = [f"<Instruct>: {instruction}\n<Query>: {q}\n<Document>: {d}" for q, d in pairs]
    enc = tok(texts, padding=False, truncation="longest_first", return_attention_mask=False,
              max_length=max_length - len(prefix) - len(suffix))
    enc["input_ids"] = [prefix + ids + suffix for ids in enc["input_ids"]]
    batch = tok.pad(enc, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits[:, -1, :]
    pair = torch.stack([logits[:, no], logits[:, yes]], dim=1)
    return torch.log_softmax(pair, dim=1)[:, 1].exp().numpy()


@pytest.fixture(scope="module")
def card(qwen3_dir):
    return card_recipe(qwen3_dir, PAIRS)


def test_qwen3_matches_the_card_recipe_batched_and_one_by_one(qwen3_dir, card):
    ours = build_decoder(preset("qwen3", qwen3_dir, score_transform="sigmoid"))
    batched = ours.score(PAIRS)
    np.testing.assert_allclose(batched, card, atol=TOL, rtol=0)
    one_by_one = np.concatenate([ours.score([p]) for p in PAIRS])
    np.testing.assert_allclose(one_by_one, card, atol=TOL, rtol=0)
    assert np.ptp(card) > 1e-3                                   # the pairs really score differently
    # the default transform is the log-odds of the same P(yes): same ranking, no saturation near 1.0
    logit = build_decoder(preset("qwen3", qwen3_dir)).score(PAIRS)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit.astype(np.float64))), card, atol=TOL, rtol=0)


def test_qwen3_tokens_are_the_cards_for_questions_and_odd_starts(qwen3_dir):
    """Segment-wise tokenization equals the card's one-text tokenization, queries ending in "?" included."""
    ours = build_decoder(preset("qwen3", qwen3_dir))
    tok = ours.tokenizer
    for (q, d), ids in zip(PAIRS, ours.encode(PAIRS)):
        text = f"<Instruct>: {CARD_INSTRUCTION}\n<Query>: {q}\n<Document>: {d}"
        expected = (tok.encode(QWEN_PREFIX, add_special_tokens=False) + tok.encode(text, add_special_tokens=False)
                    + tok.encode(QWEN_SUFFIX, add_special_tokens=False))
        assert ids == expected, (q, d)


def test_qwen3_cuts_the_document_not_the_instruction_or_query(qwen3_dir):
    L = 224   # the tiny tokenizer spends 86 tokens on the card's prefix and suffix
    ours = build_decoder(preset("qwen3", qwen3_dir, max_length=L, query_max_length=100))
    tok = ours.tokenizer
    suffix = tok.encode(QWEN_SUFFIX, add_special_tokens=False)
    cut = 0
    for (q, d), ids in zip(PAIRS, ours.encode(PAIRS)):
        head = tok.encode(QWEN_PREFIX + f"<Instruct>: {CARD_INSTRUCTION}\n<Query>: {q}\n<Document>:",
                          add_special_tokens=False)
        assert len(ids) <= L and ids[-len(suffix):] == suffix and ids[:len(head)] == head
        cut += len(ids) == L
    assert cut >= 2                                              # documents were really cut
    probs = build_decoder(preset("qwen3", qwen3_dir, max_length=L, query_max_length=100,
                                 score_transform="sigmoid")).score(PAIRS)
    np.testing.assert_allclose(probs, card_recipe(qwen3_dir, PAIRS, max_length=L), atol=TOL, rtol=0)


def test_a_long_query_keeps_the_template_after_it(qwen3_dir):
    ours = build_decoder(preset("qwen3", qwen3_dir, max_length=256, query_max_length=60))
    tok = ours.tokenizer
    ids = ours.encode([(" ".join(["where"] * 80), "a document")])[0]
    tail = tok.encode("\n<Document>:", add_special_tokens=False)
    doc = tok.encode(" a document", add_special_tokens=False)
    suffix = tok.encode(QWEN_SUFFIX, add_special_tokens=False)
    assert ids[-len(suffix) - len(doc) - len(tail):-len(suffix) - len(doc)] == tail
    assert len(ids) == len(tok.encode(QWEN_PREFIX, add_special_tokens=False)) + 60 + len(doc) + len(suffix)
    assert tok.decode(ids).count("<Instruct>: " + CARD_INSTRUCTION + "\n<Query>: where where") == 1


def _right_padding(input_ids, attention_mask):
    return input_ids, attention_mask


def _first_token(model, input_ids, attention_mask, vocab_ids):
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, 0]
    return logits[:, list(vocab_ids)].float()


@pytest.mark.parametrize("mistake", ["right padding", "first-token logits", "missing suffix", "dropped instruction",
                                     "swapped answers"])
def test_seeded_mistakes_fail_the_card_comparison(qwen3_dir, card, monkeypatch, mistake):
    overrides = {"score_transform": "sigmoid"}
    if mistake == "right padding":
        monkeypatch.setattr(decoder, "left_align", _right_padding)
    elif mistake == "first-token logits":
        monkeypatch.setattr(decoder, "last_logits", _first_token)
    elif mistake == "missing suffix":
        overrides["llm.suffix"] = "[]"
    elif mistake == "dropped instruction":
        overrides["llm.query"] = "'<Query>: {query}\\n<Document>:'"
    else:
        overrides |= {"llm.yes_token": "'no'", "llm.no_token": "'yes'"}
    wrong = build_decoder(preset("qwen3", qwen3_dir, **overrides)).score(PAIRS)
    assert np.abs(wrong - card).max() > 1e-3


@pytest.fixture(scope="module")
def flag_llm(gemma_dir):
    fe = import_flag_embedding()
    return fe.FlagLLMReranker(str(gemma_dir), use_fp16=False, devices="cpu", batch_size=4)


FE_MAX = 128  # FlagLLMReranker's max_length: query + passage; its "\n" + prompt come on top (twice budgeted)


def _fe_total(gemma_dir) -> int:
    """evalkit's max_length for FlagLLMReranker's FE_MAX: it counts the "\\n" + prompt the model also reads."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gemma_dir)
    prompt = ("Given a query A and a passage B, determine whether the passage contains an answer to the query by "
              "providing a prediction of either 'Yes' or 'No'.")
    extra = len(tok("\n", add_special_tokens=False)["input_ids"]) + len(tok(prompt, add_special_tokens=False)["input_ids"])
    return FE_MAX + 2 * extra


def test_bge_gemma_matches_flag_llm_reranker(gemma_dir, flag_llm):
    theirs = np.asarray(flag_llm.compute_score(PAIRS, max_length=2048), dtype=np.float32)
    ours = build_decoder(preset("bge_gemma", gemma_dir))
    np.testing.assert_allclose(ours.score(PAIRS), theirs, atol=TOL, rtol=0)
    np.testing.assert_allclose(np.concatenate([ours.score([p]) for p in PAIRS]), theirs, atol=TOL, rtol=0)
    assert np.ptp(theirs) > 1e-3
    normalized = build_decoder(preset("bge_gemma", gemma_dir, score_transform="sigmoid")).score(PAIRS)
    np.testing.assert_allclose(normalized, flag_llm.compute_score(PAIRS, max_length=2048, normalize=True),
                               atol=TOL, rtol=0)


def test_bge_gemma_truncates_as_flag_llm_reranker(gemma_dir, flag_llm):
    """Long queries (cut to their budget, 3/4 of FlagLLMReranker's max_length) and long passages (cut to what is
    left). FlagLLMReranker also cuts a passage to its max_length before pairing it, which binds only beside a
    short query; evalkit gives such a passage the room the query leaves."""
    long_pairs = [(" ".join([q] * 80), d * 8) for q, d in PAIRS]
    theirs = np.asarray(flag_llm.compute_score(long_pairs, max_length=FE_MAX), dtype=np.float32)
    ours = build_decoder(preset("bge_gemma", gemma_dir, max_length=_fe_total(gemma_dir),
                                query_max_length=FE_MAX * 3 // 4))
    tok = ours.tokenizer
    assert all(len(tok("A: " + q, add_special_tokens=False)["input_ids"]) > FE_MAX * 3 // 4 for q, _ in long_pairs)
    assert sum(len(ids) == _fe_total(gemma_dir) for ids in ours.encode(long_pairs)) >= 6   # passages really cut
    np.testing.assert_allclose(ours.score(long_pairs), theirs, atol=TOL, rtol=0)


@pytest.mark.parametrize("mistake", ["right padding", "missing BOS", "lower-case answer", "missing prompt",
                                     "first-token logits"])
def test_seeded_mistakes_fail_the_flag_llm_comparison(gemma_dir, flag_llm, monkeypatch, mistake):
    theirs = np.asarray(flag_llm.compute_score(PAIRS, max_length=2048), dtype=np.float32)
    overrides = {}
    if mistake == "right padding":
        monkeypatch.setattr(decoder, "left_align", _right_padding)
    elif mistake == "first-token logits":
        monkeypatch.setattr(decoder, "last_logits", _first_token)
    elif mistake == "missing BOS":
        overrides["llm.bos"] = "false"
    elif mistake == "lower-case answer":
        overrides["llm.yes_token"] = "'yes'"
    else:
        overrides["llm.suffix"] = "['\\n']"
    wrong = build_decoder(preset("bge_gemma", gemma_dir, **overrides)).score(PAIRS)
    assert np.abs(wrong - theirs).max() > 1e-3


def test_fingerprint_holds_the_prompt(qwen3_dir):
    """The pair cache keys scores by the prompt: another instruction or answer token is another fingerprint."""
    base = build_decoder(preset("qwen3", qwen3_dir)).fingerprint
    other = build_decoder(preset("qwen3", qwen3_dir, **{"llm.instruction": "'Find passages about the topic'"}))
    suffix = build_decoder(preset("qwen3", qwen3_dir, **{"llm.suffix": "[]"}))
    assert len({base, other.fingerprint, suffix.fingerprint}) == 3


def test_an_answer_word_of_several_tokens_is_refused(qwen3_dir):
    from evalkit.errors import EvalkitError

    with pytest.raises(EvalkitError, match=r"reranker.llm.yes_token: .* tokens for this tokenizer, not one"):
        build_decoder(preset("qwen3", qwen3_dir, **{"llm.yes_token": "'definitely yes'"}))
