"""bot.embeddings: the publisher's files only, BERT's tokenizer, vectors that mean something."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot import embeddings


def test_the_installed_files_are_the_publishers() -> None:
    files = embeddings.verified_files()
    assert set(files) == {"model.safetensors", "tokenizer.json"}


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    forged = tmp_path / "model.zip"
    with zipfile.ZipFile(embeddings.model_zip()) as real, zipfile.ZipFile(forged, "w") as fake:
        fake.writestr("tokenizer.json", real.read("tokenizer.json"))
        fake.writestr("model.safetensors", real.read("model.safetensors")[:-1] + b"\0")
    with pytest.raises(embeddings.ModelFileError, match=r"model\.safetensors has SHA-256"):
        embeddings.verified_files(forged)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "model.zip"
    with zipfile.ZipFile(empty, "w") as fake:
        fake.writestr("other.txt", "x")
    with pytest.raises(embeddings.ModelFileError, match=r"has no model\.safetensors"):
        embeddings.verified_files(empty)


def test_word_pieces_match_berts_uncased_tokenizer() -> None:
    """Ids checked once against Hugging Face `tokenizers` 0.23.3 on the same tokenizer.json."""
    tokenizer = embeddings.get_encoder().tokenizer
    assert tokenizer.encode("wat do u do as a rad assistant??") == [
        101, 28194, 2079, 1057, 2079, 2004, 1037, 10958, 2094, 3353, 1029, 1029, 102
    ]  # fmt: skip
    assert tokenizer.encode("Héllo, world! It's £20/hour — isn't it?") == [
        101, 7592, 1010, 2088, 999, 2009, 1005, 1055, 21853, 2692, 1013, 3178, 1517, 3475, 1005,
        1056, 2009, 1029, 102,
    ]  # fmt: skip


def test_similar_questions_are_near_and_unrelated_ones_far() -> None:
    encoder = embeddings.get_encoder()
    lift, handling, weather = encoder.encode_many(
        [
            "would i have to lift patients",
            "is manual handling of patients part of the job",
            "what's the weather tomorrow",
        ]
    )
    assert float(lift @ handling) > 0.4
    assert float(lift @ weather) < 0.1
    assert np.isclose(np.linalg.norm(lift), 1.0, atol=1e-5)


def test_batched_and_single_passes_agree() -> None:
    encoder = embeddings.get_encoder()
    texts = ["hi", "how do I apply to be an imaging support worker in my area please"]
    batched = encoder.encode_many(texts)
    single = np.stack([encoder.encode(t) for t in texts])
    assert np.abs(batched - single).max() < 1e-5
    words, sentence = encoder.words_and_sentence(["do", "they", "clean"])
    assert words.shape == (3, embeddings.DIMENSIONS)
    assert sentence.shape == (embeddings.DIMENSIONS,)


def test_the_batched_pass_gives_the_vectors_of_the_per_sentence_one() -> None:
    """Values from the encoder before its dense layers took the batch as one matrix (45c41ca)."""
    vector = embeddings.get_encoder().encode_many(["can I chat with a careers adviser", "hi"])[0]
    assert np.allclose(vector[:4], [-0.08358, -0.05571, -0.05834, 0.04347], atol=2e-5)


def test_encode_many_reuses_the_featurizers_vectors_and_keeps_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoder = embeddings.get_encoder()
    _, sentence = encoder.words_and_sentence(["could", "I", "train", "on", "the", "job", "?"])
    runs: list[int] = []
    run_batch = encoder._run_batch

    def counted(batch: list[list[int]]) -> list[np.ndarray]:
        runs.append(len(batch))
        return run_batch(batch)

    monkeypatch.setattr(encoder, "_run_batch", counted)
    same, rota, again = encoder.encode_many(
        ["could I train on the job?", "is there a rota for nights", "is there a rota for nights"]
    )
    assert np.array_equal(same, sentence)
    assert np.array_equal(rota, again)
    assert runs == [1]  # the new text alone, once
    encoder.encode_many(["is there a rota for nights"])
    assert runs == [1, 1]
