"""Random-weight checkpoints and tokenizer folders for tests, scripts and CI (no downloads, deterministic per seed).

`make_tiny_gte(fmt="original")` writes a checkpoint as Alibaba published gte-multilingual-reranker-base
(`model_type: "new"`, packed `qkv_proj` and `up_gate_proj`, names under `new.`); `fmt="native"` writes the same
weights as transformers' `gte`. Weights are scaled so that scores differ visibly between pairs.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import (GteConfig, GteForSequenceClassification, XLMRobertaConfig,
                          XLMRobertaForSequenceClassification, XLMRobertaTokenizerFast)

TOKENIZER_VOCAB = 250002      # XLM-R SentencePiece pieces
GTE_VOCAB = 250048            # gte-multilingual's embedding rows (the vocabulary padded to a multiple of 64)
ORIGINAL_AUTO_MAP = {
    "AutoConfig": "Alibaba-NLP/new-impl--configuration.NewConfig",
    "AutoModel": "Alibaba-NLP/new-impl--modeling.NewModel",
    "AutoModelForSequenceClassification": "Alibaba-NLP/new-impl--modeling.NewForSequenceClassification",
}


@lru_cache(maxsize=1)
def _xlmr_tokenizer() -> XLMRobertaTokenizerFast:
    from evalkit.data.tokenizer import bundled_tokenizer_file   # the real XLM-R tokenizer.json, shipped with evalkit

    return XLMRobertaTokenizerFast(tokenizer_file=str(bundled_tokenizer_file()), model_max_length=8192)


def make_tokenizer_dir(path: str | Path) -> Path:
    """Save the real XLM-R fast tokenizer (tokenizer.json, tokenizer_config.json) into `path`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _xlmr_tokenizer().save_pretrained(path)
    return path


def _random_state(model_class: type, config, seed: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Random tensors for every parameter of `model_class(config)`: unit-scale activations, a classifier of std 0.5."""
    with torch.device("meta"):
        shapes = {name: t.shape for name, t in model_class(config).state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name in sorted(shapes):
        shape = shapes[name]
        noise = torch.randn(shape, generator=generator)
        if name.endswith("bias"):
            value = 0.1 * noise
        elif len(shape) == 1:                                  # LayerNorm weights
            value = 1.0 + 0.1 * noise
        elif "embeddings" in name:
            value = noise
        elif name in ("classifier.weight", "classifier.out_proj.weight"):
            value = 0.5 * noise
        else:                                                  # Linear weights: keep activations at unit scale
            value = noise / shape[1] ** 0.5
        state[name] = value.to(dtype).contiguous()
    return state


def to_original_gte_state(native: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Native gte tensors renamed and packed as the original checkpoint stores them."""
    original = {}
    for name, tensor in native.items():
        if any(p in name for p in ("k_proj", "v_proj", "gate_proj")):
            continue                                           # packed together with q_proj / up_proj below
        new = (name.replace("gte.layers.", "new.encoder.layer.").replace("gte.", "new.", 1)
               .replace("self_attn.o_proj", "attention.o_proj")
               .replace("post_attention_layernorm", "attn_ln").replace("post_mlp_layernorm", "mlp_ln"))
        if "q_proj" in name:
            tensor = torch.cat([native[name], native[name.replace("q_proj", "k_proj")],
                                native[name.replace("q_proj", "v_proj")]])
            new = new.replace("self_attn.q_proj", "attention.qkv_proj")
        elif "up_proj" in name:
            tensor = torch.cat([native[name], native[name.replace("up_proj", "gate_proj")]])   # up first, then gate
            new = new.replace("up_proj", "up_gate_proj")
        original[new] = tensor.contiguous()
    return original


def _original_config(hidden: int, layers: int, heads: int, intermediate: int, max_positions: int,
                     rope_theta: float, rope_ntk_factor: float | None) -> dict:
    return {
        "architectures": ["NewForSequenceClassification"], "auto_map": ORIGINAL_AUTO_MAP, "model_type": "new",
        "attention_probs_dropout_prob": 0.0, "classifier_dropout": 0.0, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": hidden, "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0},
        "initializer_range": 0.02, "intermediate_size": intermediate, "layer_norm_eps": 1e-12,
        "layer_norm_type": "layer_norm", "logn_attention_clip1": False, "logn_attention_scale": False,
        "max_position_embeddings": max_positions, "num_attention_heads": heads, "num_hidden_layers": layers,
        "pack_qkv": True, "pad_token_id": 1, "position_embedding_type": "rope",
        "rope_scaling": None if rope_ntk_factor is None else {"factor": rope_ntk_factor, "type": "ntk"},
        "rope_theta": rope_theta, "torch_dtype": "float32", "transformers_version": "4.39.1", "type_vocab_size": 1,
        "unpad_inputs": False, "use_memory_efficient_attention": False, "vocab_size": GTE_VOCAB,
    }


def make_tiny_gte(path: str | Path, *, fmt: str = "native", seed: int = 0, hidden: int = 32, layers: int = 2,
                  heads: int = 2, intermediate: int = 64, max_positions: int = 8192, rope_theta: float = 20000.0,
                  rope_ntk_factor: float | None = 8.0, real_size: bool = False,
                  dtype: torch.dtype = torch.float32) -> Path:
    """A random gte reranker checkpoint with the real tokenizer; `real_size` gives the real model's dimensions.

    The same seed and dimensions give the same weights in both formats.
    """
    if fmt not in ("native", "original"):
        raise ValueError(f"fmt {fmt!r}: expected 'native' or 'original'")
    if real_size:
        hidden, layers, heads, intermediate = 768, 12, 12, 3072
    head_dim = hidden // heads
    rope = ({"rope_type": "default", "rope_theta": rope_theta} if rope_ntk_factor is None else
            {"rope_type": "linear", "rope_theta": rope_theta * rope_ntk_factor,
             "factor": rope_ntk_factor ** (2 / head_dim)})
    config = GteConfig(vocab_size=GTE_VOCAB, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                       intermediate_size=intermediate, max_position_embeddings=max_positions, num_labels=1,
                       rope_parameters=rope, architectures=["GteForSequenceClassification"])
    state = _random_state(GteForSequenceClassification, config, seed, dtype)
    path = make_tokenizer_dir(path)
    if fmt == "native":
        config.save_pretrained(path)
    else:
        state = to_original_gte_state(state)
        original = _original_config(hidden, layers, heads, intermediate, max_positions, rope_theta, rope_ntk_factor)
        (path / "config.json").write_text(json.dumps(original, indent=2) + "\n", encoding="utf-8")
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    return path


def make_tiny_xlmr(path: str | Path, seed: int = 0) -> Path:
    """A random XLMRobertaForSequenceClassification (1 label, 8194 positions as bge-reranker-v2-m3) + tokenizer."""
    config = XLMRobertaConfig(vocab_size=TOKENIZER_VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=8194, type_vocab_size=1, num_labels=1,
                              pad_token_id=1, bos_token_id=0, eos_token_id=2,
                              architectures=["XLMRobertaForSequenceClassification"])
    state = _random_state(XLMRobertaForSequenceClassification, config, seed, torch.float32)
    path = make_tokenizer_dir(path)
    config.save_pretrained(path)
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    return path


def make_tiny_m3(path: str | Path, seed: int = 0, hidden: int = 32, layers: int = 2, heads: int = 2,
                 colbert_dim: int | None = None) -> Path:
    """A random BGE-M3 checkpoint in its published layout: XLMRobertaModel (model.safetensors, 8194 positions),
    tokenizer, and the sparse_linear.pt / colbert_linear.pt heads as torch.save'd state dicts."""
    from transformers import XLMRobertaModel

    config = XLMRobertaConfig(vocab_size=TOKENIZER_VOCAB, hidden_size=hidden, num_hidden_layers=layers,
                              num_attention_heads=heads, intermediate_size=2 * hidden, max_position_embeddings=8194,
                              type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                              architectures=["XLMRobertaModel"])
    state = _random_state(XLMRobertaModel, config, seed, torch.float32)
    path = make_tokenizer_dir(path)
    config.save_pretrained(path)
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    generator = torch.Generator().manual_seed(seed + 1)
    heads = {name: {"weight": torch.randn(rows, hidden, generator=generator) / hidden ** 0.5,
                    "bias": 0.1 * torch.randn(rows, generator=generator)}
             for name, rows in (("sparse_linear", 1), ("colbert_linear", colbert_dim or hidden))}
    # random encoders give correlated token states: centre the sparse head on a probe text, so that about half
    # of the tokens get a positive lexical weight (ReLU keeps them) whatever the seed
    encoder = XLMRobertaModel(config).eval()
    encoder.load_state_dict(state, strict=False)
    probe = _xlmr_tokenizer()(["BGE-M3 lexical weights: 北京是中国的首都 / die Hauptstadt Chinas"], return_tensors="pt")
    with torch.no_grad():
        raw = encoder(**probe).last_hidden_state[0] @ heads["sparse_linear"]["weight"][0]
    heads["sparse_linear"]["bias"] = -raw.median().reshape(1)
    for name, head in heads.items():
        torch.save(head, path / f"{name}.pt")
    return path


# ---- decoder-only rerankers (Qwen3-Reranker, bge-reranker-v2-gemma): tokenizers and tiny causal LMs ----------------

# Qwen2/Qwen3's pre-tokenizer pattern (public tokenizer.json): the split that decides where byte-level BPE can merge
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
              r"\s+(?!\S)|\s+")
LLM_SPECIALS = {"qwen": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
                "gemma": ["<pad>", "<eos>", "<bos>", "<unk>"]}
ANSWERS = ("yes", "no", "Yes", "No")


def _llm_corpus() -> list[str]:
    """Training text for the tiny BPE: the bundled sample's passages (ten languages) and the answers and template
    words the rerankers read, so that "yes", "Yes", "no" and "No" are single tokens."""
    import gzip

    root = Path(__file__).parent / "sample_data"
    texts = []
    for file in sorted(root.glob("miracl-corpus-v1.0-*/docs-0.jsonl.gz")):
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for _, line in zip(range(300), fh)]
    texts += list(ANSWERS) * 1000 + [" ".join(ANSWERS)] * 1000 + ["<Instruct>: <Query>: <Document>: A: B: who? what? yes! (no) 1, 2."] * 200
    return texts


def make_llm_tokenizer(path: str | Path, kind: str = "qwen", vocab_size: int = 3000) -> Path:
    """A small BPE tokenizer folder in the style of a decoder reranker's: `qwen` is byte-level with Qwen's split
    pattern and its chat special tokens (no BOS, pad <|endoftext|>); `gemma` is SentencePiece-style (spaces as ▁,
    no pre-split) with <bos>, <eos> and <pad>, as Gemma's is. Deterministic for a given corpus."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = LLM_SPECIALS[kind]
    if kind == "qwen":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=False))
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"▁?[^▁]+|▁+"), behavior="isolated")
        tok.decoder = decoders.Replace("▁", " ")
        alphabet = []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(_llm_corpus(), trainer)
    if kind == "qwen":
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|im_end|>",
                                       model_max_length=32768)
    else:
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                       bos_token="<bos>", unk_token="<unk>", model_max_length=8192)
    for word in ANSWERS:
        ids = fast(word, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise RuntimeError(f"tiny {kind} tokenizer: {word!r} is {len(ids)} tokens, expected 1")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(path)
    return path


def make_tiny_causal_lm(path: str | Path, kind: str = "qwen3", seed: int = 0, hidden: int = 64, layers: int = 2,
                        heads: int = 4, kv_heads: int = 2, intermediate: int = 128) -> Path:
    """A random Qwen3 (`qwen3`, as Qwen3-Reranker) or Gemma (`gemma`, as bge-reranker-v2-gemma) causal LM with a
    tiny tokenizer of its style, saved as safetensors with transformers' native classes."""
    from transformers import AutoModelForCausalLM, GemmaConfig, Qwen3Config

    path = make_llm_tokenizer(path, "qwen" if kind == "qwen3" else "gemma")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    common = dict(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                  num_key_value_heads=kv_heads, intermediate_size=intermediate, head_dim=hidden // heads,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if kind == "qwen3":
        config = Qwen3Config(**common, max_position_embeddings=40960, tie_word_embeddings=True,
                             architectures=["Qwen3ForCausalLM"])
    elif kind == "gemma":
        config = GemmaConfig(**common, max_position_embeddings=8192, bos_token_id=tokenizer.bos_token_id,
                             architectures=["GemmaForCausalLM"])
    else:
        raise ValueError(f"kind {kind!r}: expected 'qwen3' or 'gemma'")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():   # larger than the default init (std 0.02), so that scores differ visibly between pairs
        for name, param in model.named_parameters():
            if param.dim() == 2:
                param.normal_(0.0, 1.0 / param.shape[1] ** 0.5 if "embed" not in name else 1.0)
    model.save_pretrained(path, safe_serialization=True)
    return path


LAYERWISE_AUTO_MAP = {
    "AutoConfig": "configuration_minicpm_reranker.LayerWiseMiniCPMConfig",
    "AutoModel": "modeling_minicpm_reranker.LayerWiseMiniCPMModel",
    "AutoModelForCausalLM": "modeling_minicpm_reranker.LayerWiseMiniCPMForCausalLM",
}


def make_tiny_minicpm_layerwise(path: str | Path, *, vocab_size: int | None = None, layers: int = 4,
                                start_layer: int = 2, hidden: int = 32, heads: int = 4, kv_heads: int | None = None,
                                intermediate: int = 64, scale_emb: float = 12.0, scale_depth: float = 1.4,
                                dim_model_base: int = 8, seed: int = 0, tokenizer: bool = True,
                                dtype: torch.dtype = torch.float32) -> Path:
    """A random bge-reranker-v2-minicpm-layerwise checkpoint in the published layout: config.json as BAAI's
    (model_type "minicpm", auto_map, MiniCPM's scales, head_type "simple", head_multi), safetensors with the
    published tensor names (`model.*`, `lm_head.{i}.linear_head.weight` for cutoff layers start_layer..layers) and,
    when `tokenizer`, a tiny SentencePiece-style tokenizer with <bos> (make_llm_tokenizer's "gemma" kind; MiniCPM's
    is a Llama SentencePiece one). vocab_size: the tokenizer's by default (1000 without one)."""
    bos = pad = None
    if tokenizer:
        from transformers import AutoTokenizer

        path = make_llm_tokenizer(path, "gemma")
        tok = AutoTokenizer.from_pretrained(path)
        if vocab_size is not None and vocab_size < len(tok):
            raise ValueError(f"vocab_size {vocab_size} < {len(tok)}: too small for the tokenizer")
        vocab_size, bos, pad = vocab_size or len(tok), tok.bos_token_id, tok.pad_token_id
    vocab_size = vocab_size or 1000
    kv_heads = kv_heads or heads
    head_dim = hidden // heads
    shapes = {"model.embed_tokens.weight": (vocab_size, hidden), "model.norm.weight": (hidden,)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update({p + "self_attn.q_proj.weight": (heads * head_dim, hidden),
                       p + "self_attn.k_proj.weight": (kv_heads * head_dim, hidden),
                       p + "self_attn.v_proj.weight": (kv_heads * head_dim, hidden),
                       p + "self_attn.o_proj.weight": (hidden, heads * head_dim),
                       p + "mlp.gate_proj.weight": (intermediate, hidden),
                       p + "mlp.up_proj.weight": (intermediate, hidden),
                       p + "mlp.down_proj.weight": (hidden, intermediate),
                       p + "input_layernorm.weight": (hidden,), p + "post_attention_layernorm.weight": (hidden,)})
    for i in range(layers - start_layer + 1):
        shapes[f"lm_head.{i}.linear_head.weight"] = (1, hidden)
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name in sorted(shapes):
        shape = shapes[name]
        noise = torch.randn(shape, generator=generator)
        if len(shape) == 1:                                    # RMSNorm weights
            value = 1.0 + 0.1 * noise
        elif "embed_tokens" in name:
            value = noise / scale_emb                          # unit-scale activations after MiniCPM's scale_emb
        elif "lm_head" in name:
            value = 0.5 * noise
        else:                                                  # Linear weights: keep activations at unit scale
            value = noise / shape[1] ** 0.5
        state[name] = value.to(dtype).contiguous()
    config = {
        "architectures": ["LayerWiseMiniCPMForCausalLM"], "auto_map": LAYERWISE_AUTO_MAP, "model_type": "minicpm",
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": bos if tokenizer else 1,
        "eos_token_id": 2, "pad_token_id": pad, "dim_model_base": dim_model_base,
        "head_multi": True, "head_type": "simple", "hidden_act": "silu", "hidden_size": hidden,
        "initializer_range": 0.1, "intermediate_size": intermediate, "layer_sep": 1, "max_position_embeddings": 2048,
        "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": kv_heads,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 10000.0,
        "scale_depth": scale_depth, "scale_emb": scale_emb, "start_layer": start_layer,
        "tie_word_embeddings": False, "torch_dtype": str(dtype).removeprefix("torch."),
        "transformers_version": "4.38.1", "use_cache": False, "vocab_size": vocab_size,
    }
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    return path


# ---- jina-reranker-v2-base-multilingual in its published layout (jinaai's flash implementation) ----------------

JINA_AUTO_MAP = {
    "AutoConfig": "configuration_xlm_roberta.XLMRobertaFlashConfig",
    "AutoModel": "modeling_xlm_roberta.XLMRobertaModel",
    "AutoModelForSequenceClassification": "modeling_xlm_roberta.XLMRobertaForSequenceClassification",
}
JINA_LAYER_NAMES = {"attention.output.dense": "mixer.out_proj", "attention.output.LayerNorm": "norm1",
                    "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2", "output.LayerNorm": "norm2"}


def to_original_jina_state(native: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Native XLM-R classifier tensors under the flash implementation's names, query/key/value rows fused."""
    import re

    original = {}
    for name, tensor in native.items():
        if ".attention.self.key." in name or ".attention.self.value." in name:
            continue                                           # fused with the query below
        new = name.replace("roberta.embeddings.LayerNorm.", "roberta.emb_ln.")
        layer = re.match(r"roberta\.encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$", name)
        if layer:
            index, module, kind = layer.groups()
            if module == "attention.self.query":
                tensor = torch.cat([tensor, native[name.replace(".query.", ".key.")],
                                    native[name.replace(".query.", ".value.")]])
                module = "mixer.Wqkv"
            new = f"roberta.encoder.layers.{index}.{JINA_LAYER_NAMES.get(module, module)}.{kind}"
        original[new] = tensor.contiguous()
    return original


def make_tiny_jina_v2(path: str | Path, *, seed: int = 0, hidden: int = 32, layers: int = 2, heads: int = 2,
                      intermediate: int = 64, max_positions: int = 1026, dtype: torch.dtype = torch.float32) -> Path:
    """A random jina-reranker-v2 checkpoint as jinaai publish it: config.json without model_type (auto_map to the
    remote XLMRobertaFlashConfig), tensors named after flash-attn's modules (fused `mixer.Wqkv`), the XLM-R
    tokenizer with the model's 1024-token limit."""
    config = XLMRobertaConfig(vocab_size=TOKENIZER_VOCAB, hidden_size=hidden, num_hidden_layers=layers,
                              num_attention_heads=heads, intermediate_size=intermediate,
                              max_position_embeddings=max_positions, type_vocab_size=1, num_labels=1,
                              layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    state = to_original_jina_state(_random_state(XLMRobertaForSequenceClassification, config, seed, dtype))
    path = make_tokenizer_dir(path)
    tokenizer_config = path / "tokenizer_config.json"
    settings = json.loads(tokenizer_config.read_text(encoding="utf-8"))
    settings.update(model_max_length=1024, tokenizer_class="XLMRobertaTokenizer")
    tokenizer_config.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    original = {
        "_name_or_path": "jina-reranker-v2-base-multilingual", "architectures": ["XLMRobertaForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1, "auto_map": JINA_AUTO_MAP, "bos_token_id": 0, "classifier_dropout": None,
        "emb_pooler": None, "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": hidden,
        "num_labels": 1, "id2label": {"0": "LABEL_0"}, "initializer_range": 0.02, "intermediate_size": intermediate,
        "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-5, "max_position_embeddings": max_positions,
        "num_attention_heads": heads, "num_hidden_layers": layers, "output_past": True, "pad_token_id": 1,
        "position_embedding_type": "absolute", "torch_dtype": str(dtype).removeprefix("torch."),
        "transformers_version": "4.40.0", "type_vocab_size": 1, "use_cache": False, "use_flash_attn": True,
        "vocab_size": TOKENIZER_VOCAB,
    }
    (path / "config.json").write_text(json.dumps(original, indent=2) + "\n", encoding="utf-8")
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    return path


def make_tiny_gte_embedding(path: str | Path, *, seed: int = 0, hidden: int = 32, layers: int = 2, heads: int = 2,
                            intermediate: int = 64, label_maps: bool = True) -> Path:
    """A random gte-multilingual-base checkpoint as Alibaba publish it: config.json with model_type "new" and
    auto_map to the remote NewForTokenClassification, one model.safetensors holding the encoder under `new.`
    (packed qkv_proj / up_gate_proj) and the sparse head as `classifier.weight` (1, hidden) / `classifier.bias`,
    the XLM-R tokenizer. `label_maps=False` leaves id2label / label2id out of config.json (as some revisions do).
    The head's bias is centred on a probe text so that about half of the tokens get a positive weight."""
    from transformers import GteForTokenClassification

    rope = {"rope_type": "linear", "rope_theta": 20000.0 * 8.0, "factor": 8.0 ** (2 / (hidden // heads))}
    config = GteConfig(vocab_size=GTE_VOCAB, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                       intermediate_size=intermediate, max_position_embeddings=8192, num_labels=1,
                       rope_parameters=rope)
    state = _random_state(GteForTokenClassification, config, seed, torch.float32)
    network = GteForTokenClassification(config).eval()
    network.load_state_dict(state)
    probe = _xlmr_tokenizer()(["mGTE sparse weights: 北京是中国的首都 / die Hauptstadt Chinas"], return_tensors="pt")
    with torch.no_grad():
        raw = network(**probe).logits[0, :, 0]
    state["classifier.bias"] = (state["classifier.bias"] - raw.median()).contiguous()
    original = _original_config(hidden, layers, heads, intermediate, 8192, 20000.0, 8.0)
    original["architectures"] = ["NewModel", "NewForTokenClassification"]
    original["auto_map"] = {**ORIGINAL_AUTO_MAP, "AutoModelForTokenClassification":
                            "Alibaba-NLP/new-impl--modeling.NewForTokenClassification"}
    if not label_maps:
        original.pop("id2label"), original.pop("label2id")
    path = make_tokenizer_dir(path)
    (path / "config.json").write_text(json.dumps(original, indent=2) + "\n", encoding="utf-8")
    save_file(to_original_gte_state(state), path / "model.safetensors", metadata={"format": "pt"})
    return path
