"""Small random transformers models saved as sentence-transformers folders with ONNX exports.

Each folder holds the torch weights (for sentence-transformers / transformers to run) and
the ONNX export dfembed runs, so both run the same weights: parity checks the processing
(tokenizing, prompts, padding, pooling, cutting, normalizing), never quality. Building one
takes a few seconds (importing torch most of it).

* :func:`build_bert` — BERT, mean pooling + Normalize, prompts in
  ``config_sentence_transformers.json``.
* :func:`build_qwen3` — Qwen3 (a decoder), last-token pooling, left-padding tokenizer, a
  query instruction; exported as decoder exports for generation are: ``position_ids`` and
  an (empty) key/value cache per layer among its inputs.
* :func:`build_clip_text` — CLIPTextModelWithProjection: ``text_embeds`` and
  ``last_hidden_state`` outputs, 77 positions, transformers files only (no
  sentence-transformers ones).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny_models import build_tiny_tokenizer, tiny_vocab

QWEN_QUERY = "Instruct: Given a query, find passages\nQuery:"
BERT_PROMPTS = {
    "query": "query: ",
    "document": "passage: ",
    "clustering": "clustering: ",
}
EOS = "<|endoftext|>"
BOS = "<|startoftext|>"


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def _sentence_transformers_files(
    folder: Path, dim: int, pooling: str, prompts: dict, max_length: int
) -> None:
    steps = [
        ("0", "", "Transformer"),
        ("1", "1_Pooling", "Pooling"),
        ("2", "2_Normalize", "Normalize"),
    ]
    modules = [
        {"idx": i, "name": name, "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (name, path, kind) in enumerate(steps)
    ]
    _write(folder / "modules.json", modules)
    flags = {f"pooling_mode_{m}": m == pooling for m in ("cls_token", "mean_tokens", "lasttoken")}
    _write(folder / "1_Pooling" / "config.json", {"word_embedding_dimension": dim, **flags})
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write(folder / "sentence_bert_config.json", {"max_seq_length": max_length})
    _write(
        folder / "config_sentence_transformers.json",
        {"prompts": prompts, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _export(model, folder: Path, names: list[str], example: tuple, outputs: list[str]) -> None:
    """Export ``model`` (whose forward takes ``names`` in order) to ``folder/onnx/model.onnx``."""
    import torch

    axes = {name: {0: "batch", 1: "sequence"} for name in [*names[:3], *outputs]}
    for name in names[3:]:  # key/value caches: [batch, heads, past, head size]
        axes[name] = {0: "batch", 2: "past"}
    (folder / "onnx").mkdir(exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            model,
            example,
            str(folder / "onnx" / "model.onnx"),
            input_names=names,
            output_names=outputs,
            dynamic_axes={k: v for k, v in axes.items() if k in names or k in outputs},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def build_bert(folder: Path, dim: int = 16, seed: int = 0) -> Path:
    """A random BERT sentence-transformers folder (mean pooling, Normalize, prompts)."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True)
    vocab = tiny_vocab()
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * dim,
        max_position_embeddings=64,
        pad_token_id=0,
    )
    model = BertModel(config).eval()
    model.save_pretrained(folder)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tiny_tokenizer(vocab),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    tokenizer.save_pretrained(folder)
    _sentence_transformers_files(folder, dim, "mean_tokens", BERT_PROMPTS, 64)

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.tensor([[2, 10, 11, 12, 3], [2, 10, 3, 0, 0]])
    example = (ids, (ids > 0).long(), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    _export(Hidden(model), folder, names, example, ["last_hidden_state"])
    return folder


def build_qwen3(folder: Path, dim: int = 32, seed: int = 0) -> Path:
    """A random Qwen3 sentence-transformers folder: last-token pooling, left padding, a
    query instruction, and an ONNX export taking ``position_ids`` and key/value caches."""
    import torch
    from tokenizers import processors
    from transformers import DynamicCache, PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

    folder.mkdir(parents=True)
    vocab = [*tiny_vocab(), EOS]
    torch.manual_seed(seed)
    layers, kv_heads, head_dim = 2, 2, 8
    config = Qwen3Config(
        vocab_size=len(vocab),
        hidden_size=dim,
        intermediate_size=2 * dim,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        max_position_embeddings=128,
        pad_token_id=vocab.index(EOS),
        eos_token_id=vocab.index(EOS),
    )
    model = Qwen3Model(config).eval()
    model.save_pretrained(folder)
    tokens = build_tiny_tokenizer(vocab)
    tokens.post_processor = processors.TemplateProcessing(
        single=f"$A {EOS}", special_tokens=[(EOS, vocab.index(EOS))]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokens,
        unk_token="[UNK]",
        pad_token=EOS,
        eos_token=EOS,
        padding_side="left",
        model_max_length=128,
    )
    tokenizer.save_pretrained(folder)
    prompts = {"query": QWEN_QUERY, "document": ""}
    _sentence_transformers_files(folder, dim, "lasttoken", prompts, 128)

    class WithCache(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, position_ids, *past):
            cache = DynamicCache(config=config)
            for layer in range(layers):
                cache.update(past[2 * layer], past[2 * layer + 1], layer)
            return self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=cache,
                use_cache=True,
            ).last_hidden_state

    ids = torch.tensor([[10, 11, 12, 13], [10, 11, 0, 0]])
    past = [torch.zeros(2, kv_heads, 0, head_dim) for _ in range(2 * layers)]
    example = (ids, (ids > 0).long(), torch.arange(4).expand(2, 4), *past)
    caches = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    names = ["input_ids", "attention_mask", "position_ids", *caches]
    _export(WithCache(model), folder, names, example, ["last_hidden_state"])
    return folder


def build_clip_text(folder: Path, dim: int = 16, projection: int = 12, seed: int = 0) -> Path:
    """A random CLIP text tower with its projection (transformers files only)."""
    import torch
    from tokenizers import processors
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, PreTrainedTokenizerFast

    folder.mkdir(parents=True)
    vocab = [*tiny_vocab(), BOS, EOS]
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=len(vocab),
        hidden_size=dim,
        intermediate_size=2 * dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        projection_dim=projection,
        bos_token_id=vocab.index(BOS),
        eos_token_id=vocab.index(EOS),
        pad_token_id=vocab.index(EOS),
    )
    model = CLIPTextModelWithProjection(config).eval()
    model.save_pretrained(folder)
    tokens = build_tiny_tokenizer(vocab)
    tokens.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}",
        special_tokens=[(BOS, vocab.index(BOS)), (EOS, vocab.index(EOS))],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokens,
        unk_token="[UNK]",
        pad_token=EOS,
        bos_token=BOS,
        eos_token=EOS,
        model_max_length=77,
    )
    tokenizer.save_pretrained(folder)

    class Both(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return out.text_embeds, out.last_hidden_state

    eos = vocab.index(EOS)
    ids = torch.tensor([[vocab.index(BOS), 10, 11, eos], [vocab.index(BOS), 10, eos, eos]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    _export(
        Both(model), folder, ["input_ids", "attention_mask"], (ids, mask),
        ["text_embeds", "last_hidden_state"],
    )  # fmt: skip
    return folder
