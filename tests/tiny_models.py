"""Tiny but real models for tests: built in a few milliseconds, run by ONNX Runtime.

:func:`build_tiny_text_model` writes a BERT-shaped ONNX graph (``input_ids``,
``attention_mask``, ``token_type_ids`` -> ``last_hidden_state`` ``[B, T, dim]``) with random
weights, a WordPiece ``tokenizer.json`` and the JSON configs a hub repository carries.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WORDS = (
    "the", "a", "an", "and", "of", "to", "in", "on", "is", "it", "cat", "cats", "dog", "dogs",
    "sat", "mat", "hello", "world", "good", "bad", "red", "blue", "car", "fast", "slow",
    "query", "document", "text", "embedding", "model",
)  # fmt: skip
PUNCTUATION = tuple(".,!?;:'\"()-")


def tiny_vocab() -> list[str]:
    """Special tokens, whole words, single letters/digits and their ``##`` continuations."""
    chars = list(string.ascii_lowercase + string.digits)
    vocab = [*SPECIAL_TOKENS, *WORDS, *chars, *PUNCTUATION, *("##" + c for c in chars)]
    return list(dict.fromkeys(vocab))


def build_tiny_tokenizer(vocab: list[str] | None = None):
    """A BERT-style (lower-casing WordPiece) ``tokenizers.Tokenizer`` over ``vocab``."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = vocab or tiny_vocab()
    ids = {token: i for i, token in enumerate(vocab)}
    tokenizer = Tokenizer(WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def build_tiny_bert_onnx(vocab_size: int, dim: int = 8, seed: int = 0, max_positions: int = 512):
    """An ``onnx.ModelProto``: token + type + position embeddings, masked, then a tanh layer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), name)

    initializers = [
        weight("word_embeddings", vocab_size, dim),
        weight("token_type_embeddings", 2, dim),
        weight("position_embeddings", max_positions, dim),
        weight("dense_weight", dim, dim),
        weight("dense_bias", dim),
        numpy_helper.from_array(np.array([-1], np.int64), "axis_last"),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array(1, np.int64), "one"),
    ]
    nodes = [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"]),
        helper.make_node("Gather", ["token_type_embeddings", "token_type_ids"], ["types"]),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one"], ["seq_len"], axis=0),
        helper.make_node("Range", ["zero", "seq_len", "one"], ["positions"]),
        helper.make_node("Gather", ["position_embeddings", "positions"], ["pos"]),
        helper.make_node("Add", ["words", "types"], ["sum1"]),
        helper.make_node("Add", ["sum1", "pos"], ["embedded"]),
        helper.make_node("MatMul", ["embedded", "dense_weight"], ["projected"]),
        helper.make_node("Add", ["projected", "dense_bias"], ["biased"]),
        helper.make_node("Tanh", ["biased"], ["activated"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_float"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_float", "axis_last"], ["mask_3d"]),
        helper.make_node("Mul", ["activated", "mask_3d"], ["last_hidden_state"]),
    ]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", dim]
    )
    graph = helper.make_graph(nodes, "tiny_bert", inputs, [output], initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="dfembed-tests"
    )
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def build_tiny_text_model(
    folder: Path, dim: int = 8, *, seed: int = 0, onnx_file: str = "onnx/model.onnx"
) -> Path:
    """Write a tiny BERT-like text model (ONNX, tokenizer, configs) into ``folder``.

    The folder works both as a local model directory and as the content of a hub repository.
    Returns ``folder``.
    """
    import onnx

    folder = Path(folder)
    vocab = tiny_vocab()
    (folder / onnx_file).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build_tiny_bert_onnx(len(vocab), dim, seed), str(folder / onnx_file))
    build_tiny_tokenizer(vocab).save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": dim,
        "num_hidden_layers": 1,
        "num_attention_heads": 1,
        "intermediate_size": dim,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "vocab_size": len(vocab),
        "pad_token_id": 0,
    }
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "model_max_length": 512,
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }
    special = {k: tokenizer_config[k] for k in tokenizer_config if k.endswith("_token")}
    _write_json(folder / "config.json", config)
    _write_json(folder / "tokenizer_config.json", tokenizer_config)
    _write_json(folder / "special_tokens_map.json", special)
    return folder


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def share_file(src: str | Path, dst: Path) -> None:
    """Put the file ``src`` at ``dst`` without copying its bytes where the disk allows (a
    hard link). Not a symbolic link: dfembed reads no link that leads out of a model folder."""
    import os
    import shutil

    try:
        os.link(src, dst)
    except OSError:  # another filesystem
        shutil.copyfile(src, dst)


def bare_folder(src: str | Path, dst: Path) -> str:
    """A folder sharing only ``src``'s graph and tokenizer: no dfembed.json or other config."""
    dst.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        share_file(Path(src) / name, dst / name)
    return str(dst)
