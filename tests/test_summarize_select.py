"""summarize.long_input select: a text longer than the model's input is summarized from its sentences that matter."""

from __future__ import annotations

import pytest
from conftest import sample_files, validate, write_config

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.models.registry import ModelRegistry
from pipeline.records import TranslateRecord
from pipeline.stages.base import StageContext
from pipeline.stages.summarize.select import fit_sentences
from pipeline.stages.summarize.stage import SummarizeStage
from pipeline.text import split_paragraphs


def words(text: str) -> int:
    return len(text.split()) + 1  # one special token, as a tokenizer's count has


def test_the_best_sentences_that_fit_are_kept_in_text_order():
    texts = ["one two three", "a b", "w x y z", "p q r s t u"]
    scores = [0.1, 0.9, 0.5, 0.8]
    # 1 special token + b (2) + pqrstu (6) = 9; wxyz (4) would pass the limit; one two three (3) fits
    assert fit_sentences(texts, scores, words, 12) == [0, 1, 3]
    assert fit_sentences(texts, scores, words, 100) == [0, 1, 2, 3]


def test_a_best_sentence_longer_than_the_input_is_kept_alone():
    assert fit_sentences(["a b c d e f g h", "x"], [1.0, 0.0], words, 4) == [1]
    assert fit_sentences(["a b c d e f g h"], [1.0], words, 4) == [0]
    assert fit_sentences([], [], words, 4) == []


def test_long_input_accepts_only_its_two_ways(tmp_path, tiny_models):
    path = write_config(tmp_path / "models.yaml", tiny_models, summarize__long_input="chunks")
    with pytest.raises(ConfigError, match="summarize.long_input"):
        load_config(path)


def _long_english_text() -> str:
    return "\n\n".join(p for path in sample_files() if path.name.startswith("en-") and path.suffix == ".txt"
                       for p in split_paragraphs(path.read_text(encoding="utf-8")))


def test_a_long_text_is_summarized_in_one_generation_from_sentences_that_fit(tiny_models, tmp_path):
    config = load_config(write_config(tmp_path / "models.yaml", tiny_models, summarize={
        "method": "abstractive", "long_input": "select",
        "model": {"model": str(tiny_models["bart"]), "max_input_tokens": 48,
                  "generation": {"num_beams": 2, "max_new_tokens": 12}}}))
    registry = ModelRegistry(config)
    model = registry.get(config.summarize.model, "summarize.model")
    inputs: list[str] = []
    generate = model.generate

    def recording_generate(texts, **overrides):
        inputs.extend(texts)
        return generate(texts, **overrides)

    model.generate = recording_generate
    text = _long_english_text()
    assert model.count_tokens(text) > 4 * 48
    [record] = SummarizeStage(StageContext(config), registry)([
        TranslateRecord(doc_id="long", source_language="en", title="Long", text=text)])
    record.timings = {"started_at": "2025-01-01T00:00:00+00:00", "seconds": 0.0}
    validate(record.to_dict())
    assert record.method == "abstractive"
    assert record.report["path"] == "single" and record.report["chunks_per_round"] == [1]
    [given] = inputs
    assert model.count_tokens(given) <= 48
    sources = [s["text"] for s in record.sentences]
    selected = record.report["input_selected"]
    assert selected["of"] == len(sources) > selected["sentences"] >= 1
    # the input is whole source sentences, in the order of the text
    positions = [text.find(s) for s in sources if s in given]
    assert len(positions) == selected["sentences"] and positions == sorted(positions)
