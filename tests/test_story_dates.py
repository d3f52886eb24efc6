"""Dates in story grouping: the date an article goes by, and reports of one company weeks apart."""

from __future__ import annotations

import json
import sqlite3

from pipeline.stories import Article, GroupingSettings, StoryIndex, date_in_text, evidence, group, text_words
from pipeline.storyrun import article_from_records
from pipeline.storystore import StoryStore


def test_full_dates_in_several_languages_and_the_first_one_wins():
    assert date_in_text("", "Publié le 23 June 2025 à 09h51, modifié le 24 June 2025") == "2025-06-23"
    assert date_in_text("", "Secondo un rapporto pubblicato il 29 agosto 2025, Meta...") == "2025-08-29"
    assert date_in_text("", "WASHINGTON, March 14, 2026 (Reuters) - The Senate...") == "2026-03-14"
    assert date_in_text("", "el 3 de marzo de 2024 el gobierno") == "2024-03-03"
    assert date_in_text("", "Updated 2026-01-05T10:00Z") == "2026-01-05"
    assert date_in_text("Lyon, le 1er avril 2026", "Les conducteurs...") == "2026-04-01"


def test_a_date_without_its_year_an_impossible_date_or_one_far_down_is_not_taken():
    assert date_in_text("", "On 14 March the drivers walk out.") is None
    assert date_in_text("", "On 31 February 2026 nothing happened; on 2 March 2026 it did.") == "2026-03-02"
    assert date_in_text("", "word " * 200 + "on 14 March 2026") is None
    assert date_in_text("", "The May 2025 figures rose by 12 percent") is None


def _article(doc_id: str, title: str, text: str, dated: str | None) -> Article:
    a = Article(doc_id=doc_id, title=title, text=text, dated=dated)
    a.evidence, a.words = evidence(title, text), text_words(title, text)
    return a


TEXT = ("Meta is in talks with Google Cloud to use the Gemini models for ad targeting, The Information "
        "reported. Alphabet declined to comment; Meta did not answer.")


def test_the_same_words_a_month_apart_are_two_stories_within_the_gap_one():
    index = StoryIndex(GroupingSettings(join_threshold=0.3, evidence_weight=0.5, date_gap_days=7))
    group([_article("a", "Meta and Google Cloud talk", TEXT, "2025-08-29"),
           _article("b", "Meta and Google Cloud talk", TEXT, "2025-06-23"),
           _article("c", "Meta and Google Cloud talk", TEXT, "2025-09-02"),
           _article("d", "Meta and Google Cloud talk", TEXT, None)], index, "2025-09-03")
    assert index.story_of["a"] == index.story_of["c"]
    assert index.story_of["b"] != index.story_of["a"]
    assert index.story_of["d"] in (index.story_of["a"], index.story_of["b"])  # undated: either fits
    assert index.stories[index.story_of["a"]].dates == ("2025-08-29", "2025-09-02")


def test_without_a_gap_dates_do_not_part_stories():
    index = StoryIndex(GroupingSettings(join_threshold=0.3, evidence_weight=0.5, date_gap_days=0))
    group([_article("a", "Meta and Google Cloud talk", TEXT, "2025-08-29"),
           _article("b", "Meta and Google Cloud talk", TEXT, "2025-06-23")], index, "2025-09-03")
    assert index.story_of["a"] == index.story_of["b"]


def _clean(folder, **data) -> None:
    folder.mkdir(parents=True)
    record = {"schema_version": 1, "stage": "clean", "status": "ok", "doc_id": folder.name, "title": "Headline",
              "text": "Meta invests in Scale AI. On 2 May 2025 it said more.", "metadata": {}, **data}
    (folder / "clean.json").write_text(json.dumps(record), encoding="utf-8")


def test_an_article_goes_by_its_page_date_then_its_dateline_then_its_first_lines(tmp_path):
    _clean(tmp_path / "meta", metadata={"date": "2025-06-20"},
           removed=[{"text": "Publié le 23 June 2025 à 09h51", "reason": "dateline"}])
    _clean(tmp_path / "line", removed=[{"text": "Publié le 23 June 2025 à 09h51", "reason": "dateline"},
                                       {"text": "Related: 1 January 2020", "reason": "related_links"}])
    _clean(tmp_path / "text")
    assert article_from_records("meta", tmp_path / "meta").dated == "2025-06-20"
    assert article_from_records("line", tmp_path / "line").dated == "2025-06-23"
    assert article_from_records("text", tmp_path / "text").dated == "2025-05-02"
    assert article_from_records("text", tmp_path / "text").date is None  # shown as the page's date: only the page's


def test_a_store_from_before_story_dates_is_read_and_keeps_them_from_now_on(tmp_path):
    path = tmp_path / "stories.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE stories (story_id TEXT PRIMARY KEY, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
                              vector BLOB, evidence TEXT NOT NULL, words TEXT NOT NULL);
        INSERT INTO meta VALUES ('version', '1');
        INSERT INTO stories VALUES ('s1', '2026-03-01', '2026-03-02', NULL, '{"n:keolis": 1.0}', '{}');
    """)
    db.commit()
    db.close()
    store = StoryStore(path)
    assert store.moved_aside is None
    index = store.load_index(GroupingSettings(), None)
    assert index.stories["s1"].dates is None and index.stories["s1"].evidence["n:keolis"] == 1.0
    index.stories["s1"].dates = ("2026-03-01", "2026-03-02")
    store.save(index, {}, "none")
    store.close()
    store = StoryStore(path)
    assert store.load_index(GroupingSettings(), None).stories["s1"].dates == ("2026-03-01", "2026-03-02")
    store.close()
