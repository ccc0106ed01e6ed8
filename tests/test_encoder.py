"""bot.encoder: the multilingual sentence encoder behind the NLU's dense features."""

from __future__ import annotations

import numpy as np
import pytest

from bot.encoder import DIMENSIONS, MAX_CHARS, Encoder, threads_from_env


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(threads=1)


def test_rows_are_normalised_and_in_the_order_of_the_texts(encoder: Encoder) -> None:
    rows = encoder.encode(["hei", "er bilen min ferdig?", "hei"])
    assert rows.shape == (3, DIMENSIONS) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    assert np.array_equal(rows[0], rows[2])


def test_a_question_is_closer_to_its_translation_than_to_an_unrelated_request(encoder: Encoder) -> None:
    nb, sv, en, music = encoder.encode(["er bilen min ferdig?", "är min bil klar?", "is my car ready?",
                                        "spill litt musikk"])
    assert float(nb @ sv) > float(nb @ music)
    assert float(nb @ en) > float(nb @ music)


def test_a_batch_and_single_calls_give_the_same_rows(encoder: Encoder) -> None:
    texts = ["kan jeg bestille dekkskift", "vad kostar service", "what time do you open"]
    fresh = Encoder(threads=2)
    batch = fresh.encode(texts)
    for text, row in zip(texts, batch, strict=True):
        assert np.allclose(encoder.encode_one(text), row, atol=1e-5)


def test_empty_huge_and_odd_texts_get_a_vector(encoder: Encoder) -> None:
    rows = encoder.encode(["", "   ", "ø" * (MAX_CHARS * 20), "\u200b🚗", "a\x00b"])
    assert rows.shape == (5, DIMENSIONS)
    assert np.isfinite(rows).all()
    assert encoder.encode([]).shape == (0, DIMENSIONS)


def test_the_disk_cache_returns_what_was_encoded_and_survives_a_new_encoder(encoder: Encoder, tmp_path) -> None:
    disk = encoder.disk_cache(tmp_path)
    first = encoder.encode(["jeg vil bytte til vinterdekk"], disk=disk)
    assert disk.get_many(["jeg vil bytte til vinterdekk"])["jeg vil bytte til vinterdekk"].tolist() == first[0].tolist()
    (tmp_path / "unrelated").write_text("x")
    again = Encoder(threads=1)
    assert np.array_equal(again.encode(["jeg vil bytte til vinterdekk"], disk=again.disk_cache(tmp_path)), first)


def test_a_broken_disk_cache_only_costs_time(encoder: Encoder, tmp_path) -> None:
    disk = encoder.disk_cache(tmp_path)
    disk.path.write_bytes(b"not a database")
    assert encoder.encode(["hva koster polering"], disk=disk).shape == (1, DIMENSIONS)
    reopened = encoder.disk_cache(tmp_path)   # opening a broken file is no error either
    assert encoder.encode(["hva koster vask"], disk=reopened).shape == (1, DIMENSIONS)


def test_thread_count_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("NLU_ENCODER_THREADS", "3")
    assert threads_from_env() == 3
    monkeypatch.setenv("NLU_ENCODER_THREADS", "zero")
    assert threads_from_env() == 1
    monkeypatch.setenv("NLU_ENCODER_THREADS", "-2")
    assert threads_from_env() == 1
