"""Stories: one event across sources, languages and nights; copies; stories.json and its schema."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SCHEMAS, SEEDS, run_cli

from pipeline.config import Config, StoriesConfig, parse_config
from pipeline.errors import ConfigError
from pipeline.stories import Article, GroupingSettings, StoryIndex, evidence, group, text_words
from pipeline.storyrun import STORE_PATH, build_stories

EN_STRIKE = ("Tram drivers in Lyon will strike on Thursday",
             "Tram drivers in Lyon will walk out on Thursday 14 March after talks with the operator Keolis broke "
             "down, the CGT union said. The union wants a raise of 4.5% and says 120 drivers left last year. "
             "Keolis said it had offered 2.1% and called the strike \"a step nobody needed\". "
             "Buses will run on the main lines, the Sytral authority said.")
EN_STRIKE_REWRITE = ("Lyon tram strike set for Thursday as Keolis talks fail",
                     "The CGT union said Lyon's tram drivers would stop work on 14 March once negotiations with "
                     "Keolis collapsed. It is asking for 4.5% more pay and says 120 drivers quit in the past year; "
                     "the operator offered 2.1%. Sytral, the transport authority, said buses would still run.")
IT_STRIKE = ("Lione, sciopero dei tranvieri giovedì",
             "I conducenti dei tram di Lione sciopereranno giovedì 14 marzo dopo la rottura delle trattative con "
             "Keolis, ha annunciato il sindacato CGT. Il sindacato chiede un aumento del 4,5% e afferma che 120 "
             "conducenti se ne sono andati l'anno scorso. Keolis aveva offerto il 2,1%. Secondo Sytral gli "
             "autobus circoleranno sulle linee principali.")
EN_FROST = ("Late frost wipes out apricot blossom in the Rhône valley",
            "A late frost destroyed most of the apricot blossom in the Drôme last week, growers said, and the "
            "harvest could be the smallest in twenty years. The Valsoleil cooperative asked the regional council "
            "for emergency aid of 8 million euros. Prices are expected to climb in June.")


def _article(doc_id: str, title: str, text: str, language: str = "en") -> Article:
    a = Article(doc_id=doc_id, title=title, text=text, language=language)
    a.evidence, a.words = evidence(title, text), text_words(title, text)
    return a


def test_names_figures_and_dates_survive_translation():
    en, it = evidence(*EN_STRIKE), evidence(*IT_STRIKE)
    shared = set(en) & set(it)
    # "14 marzo" is "14 March", "4,5%" is "4.5%", names are names
    assert {"n:keolis", "n:cgt", "n:sytral", "f:4.5%", "f:2.1%", "f:120", "d:03-14"} <= shared
    assert "n:tram" not in en and "n:the" not in en  # words that open a sentence or the headline are not names


def test_same_event_in_two_languages_meets_the_unrelated_one_does_not():
    articles = [_article("en/strike", *EN_STRIKE), _article("it/sciopero", *IT_STRIKE, language="it"),
                _article("en/rewrite", *EN_STRIKE_REWRITE), _article("en/frost", *EN_FROST)]
    # without the sentence encoder (TF-IDF), across languages the evidence alone carries the match
    index = StoryIndex(GroupingSettings(join_threshold=0.3, evidence_weight=0.5))
    matches = group(articles, index, "2026-03-12")
    assert index.story_of["en/strike"] == index.story_of["it/sciopero"] == index.story_of["en/rewrite"]
    assert index.story_of["en/frost"] != index.story_of["en/strike"]
    assert matches["it/sciopero"]["evidence"] > 0.3


def test_candidates_come_from_the_index_not_from_every_story():
    index = StoryIndex(GroupingSettings(max_candidates=10))
    unrelated = [_article(f"other/{i}", f"Council item {i}",
                          f"The council of Town{i} approved item {1000 + i} for the Harbour{i} district.")
                 for i in range(300)]
    group(unrelated, index, "2026-03-11")
    strike = _article("en/strike", *EN_STRIKE)
    index.count([strike])
    assert len(index.stories) == 300
    assert len(index.candidates(strike)) <= 10


def test_a_storys_norms_follow_its_sums_as_members_join():
    index = StoryIndex(GroupingSettings(join_threshold=0.2, evidence_weight=0.5, story_words=12))
    articles = [_article(f"en/strike{i}", *EN_STRIKE) for i in range(3)] + [_article("it/sciopero", *IT_STRIKE)]
    articles += [_article(f"en/rewrite{i}", EN_STRIKE_REWRITE[0], EN_STRIKE_REWRITE[1] + f" Item {i} of {i}0 {i}1.")
                 for i in range(6)]
    group(articles, index, "2026-03-12")
    story = index.stories[index.story_of["en/strike0"]]
    assert len(story.members) >= 8  # enough members for the sums to be cut to the most common keys on the way
    # the evidence norm was carried along member by member; the words were cut (12 kept), their norm summed again
    assert story.norms[("evidence", index.documents)] == pytest.approx(index._norm(story.evidence), rel=1e-9)
    assert len(story.words) <= 24
    for kind, sums in (("evidence", story.evidence), ("words", story.words)):
        assert index._story_norm(story, kind) == pytest.approx(index._norm(sums), rel=1e-9)


def _record(folder: Path, name: str, data: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"schema_version": 1, "status": "ok", **data}), encoding="utf-8")


def _document(out: Path, doc_id: str, title: str, text: str, language: str = "en", url: str | None = None,
              site: str | None = None, date: str | None = None) -> None:
    folder = out / doc_id
    meta = {k: v for k, v in (("sitename", site), ("date", date)) if v}
    _record(folder, "clean.json", {"stage": "clean", "doc_id": doc_id, "title": title, "text": text, "url": url,
                                    "metadata": meta, "source": {"path": f"/in/{doc_id}.txt"}})
    _record(folder, "detect.json", {"stage": "detect", "doc_id": doc_id, "language": language})
    sentences = [s.strip() + "." for s in text.split(". ") if s.strip()][:3]
    _record(folder, "summary.json", {
        "stage": "summarize", "doc_id": doc_id, "language": language, "title": title,
        "summary": " ".join(sentences[:2]), "key_points": sentences[2:3], "method": "extractive",
        "provenance": [{"kind": "summary", "index": i, "text": s, "sources": [{"id": i, "score": 1.0}]}
                       for i, s in enumerate(sentences[:2])]})


@pytest.fixture
def config() -> Config:
    return replace(Config(), stories=StoriesConfig(embedding="none"))  # TF-IDF: the fallback thresholds


def _validate(data: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, json.loads((SCHEMAS / "stories.schema.json").read_text(encoding="utf-8")))


def test_a_story_carries_over_to_the_next_night(tmp_path, config):
    out = tmp_path / "out"
    night1 = datetime(2026, 3, 12, 2, 30, tzinfo=UTC)
    _document(out, "lyonnews/strike", *EN_STRIKE, url="https://www.lyon-news.example/strike", date="2026-03-12")
    _document(out, "farmers/frost", *EN_FROST, site="Farm Weekly")
    first = build_stories(out, config, now=night1)
    _validate(first)
    assert len(first["stories"]) == 2
    _document(out, "sera/sciopero", *IT_STRIKE, language="it", site="La Sera")
    second = build_stories(out, config, now=night1 + timedelta(days=1))
    _validate(second)
    [strike] = [s for s in second["stories"] if any(d["doc_id"] == "lyonnews/strike" for d in s["documents"])]
    assert {d["doc_id"] for d in strike["documents"]} == {"lyonnews/strike", "sera/sciopero"}
    assert (strike["first_seen"], strike["last_seen"]) == ("2026-03-12", "2026-03-13")
    assert strike["sources"] == ["La Sera", "lyon-news.example"] and strike["source_count"] == 2
    assert strike["languages"] == ["en", "it"]
    assert second["stories"][0] is strike  # most sources first
    assert strike["headline"]["doc_id"] == "lyonnews/strike"  # the English report speaks for it
    members = {d["doc_id"] for d in strike["documents"]}
    assert strike["summary"]["sentences"] and all(s["doc_id"] in members for s in strike["summary"]["sentences"])
    assert strike["summary"]["sentences"][0]["source_sentences"] == [0]
    italian = next(d for d in strike["documents"] if d["doc_id"] == "sera/sciopero")
    assert italian["first_seen"] == "2026-03-13" and italian["match"]["score"] >= 0.3


def test_a_night_writes_back_what_changed_and_the_store_holds_what_is_in_out(tmp_path, config):
    out = tmp_path / "out"
    night = datetime(2026, 3, 12, 2, 30, tzinfo=UTC)
    _document(out, "lyonnews/strike", *EN_STRIKE)
    _document(out, "farmers/frost", *EN_FROST)
    _document(out, "gone/item", "Council item", "The council of Townx approved item 1001 for the Harbour district.")
    build_stories(out, config, now=night)
    shutil.rmtree(out / "gone")
    time.sleep(0.01)
    _document(out, "farmers/frost", EN_FROST[0], EN_FROST[1] + " Growers met on Friday.")  # the text changed
    _document(out, "sera/sciopero", *IT_STRIKE, language="it")
    second = build_stories(out, config, now=night + timedelta(days=1))
    with sqlite3.connect(out / STORE_PATH) as db:
        stored = {doc_id: (story_id, json.loads(info)) for doc_id, story_id, info in
                  db.execute("SELECT doc_id, story_id, info FROM members")}
        counts = dict(db.execute("SELECT key, n FROM df"))
    assert set(stored) == {"lyonnews/strike", "farmers/frost", "sera/sciopero"}
    story_of = {d["doc_id"]: s["story_id"] for s in second["stories"] for d in s["documents"]}
    assert {doc_id: story_id for doc_id, (story_id, _) in stored.items()} == story_of
    assert stored["farmers/frost"][1]["words"] == len(EN_FROST[1].split()) + 4  # the text as it is now
    assert counts["n:keolis"] == 2 and counts["n:townx"] == 1  # frequencies count every article ever seen
    third = build_stories(out, config, now=night + timedelta(days=2))  # nothing new: the same stories
    assert {d["doc_id"]: s["story_id"] for s in third["stories"] for d in s["documents"]} == story_of


def test_exact_copy_joins_its_original_and_says_so(tmp_path, config):
    out = tmp_path / "out"
    _document(out, "wire/strike", *EN_STRIKE, date="2026-03-12")
    _document(out, "farm/strike-copy", EN_STRIKE[0], EN_STRIKE[1] + "\n\nShare this story!", date="2026-03-13")
    data = build_stories(out, config, now=datetime(2026, 3, 13, tzinfo=UTC))
    [story] = data["stories"]
    copy = next(d for d in story["documents"] if d["doc_id"] == "farm/strike-copy")
    assert copy["copy_of"]["canonical"] == "wire/strike" and copy["copy_of"]["canonical_rule"] == "earliest"


def test_a_damaged_store_is_moved_aside_and_rebuilt(tmp_path, config, caplog):
    out = tmp_path / "out"
    _document(out, "a/strike", *EN_STRIKE)
    store = out / STORE_PATH
    store.parent.mkdir(parents=True)
    store.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="newsum"):
        data = build_stories(out, config)
    assert len(data["stories"]) == 1 and "damaged-" in data["report"]["store_rebuilt"]
    [aside] = store.parent.glob("stories.sqlite.damaged-*[0-9]")
    assert aside.read_bytes().startswith(b"this is not a database")
    [line] = [r.getMessage() for r in caplog.records if "story store" in r.getMessage()]
    assert aside.name in line and "\n" not in line
    # the new store is whole, and the next night reads it without moving anything aside
    assert sqlite3.connect(store).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = build_stories(out, config, now=datetime.now(UTC) + timedelta(days=1))
    assert "store_rebuilt" not in again["report"] and len(list(store.parent.glob("stories.sqlite.*-*"))) == 1


def test_a_second_damaged_store_does_not_replace_the_first_one_set_aside(tmp_path, config):
    out = tmp_path / "out"
    _document(out, "a/strike", *EN_STRIKE)
    store = out / STORE_PATH
    store.parent.mkdir(parents=True)
    for garbage in (b"first damaged file" * 100, b"second damaged file" * 100):
        store.write_bytes(garbage)
        assert "store_rebuilt" in build_stories(out, config)["report"]
    kept = sorted(p.read_bytes()[:6] for p in store.parent.glob("stories.sqlite.damaged-*"))
    assert kept == [b"first ", b"second"]


def test_a_store_of_another_version_is_set_aside_under_its_version(tmp_path, config):
    out = tmp_path / "out"
    _document(out, "a/strike", *EN_STRIKE)
    night = datetime(2026, 3, 12, 2, 30, tzinfo=UTC)
    build_stories(out, config, now=night)
    store = out / STORE_PATH
    with sqlite3.connect(store) as db:
        db.execute("UPDATE meta SET value = '7' WHERE key = 'version'")
    data = build_stories(out, config, now=night + timedelta(days=1))
    assert "another version" in data["report"]["store_rebuilt"]
    [aside] = store.parent.glob("stories.sqlite.v7-*")
    assert sqlite3.connect(aside).execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == ("7",)
    assert len(data["stories"]) == 1 and data["stories"][0]["first_seen"] == "2026-03-13"  # the history it held


def test_a_store_damaged_where_opening_does_not_read_is_rebuilt_without_a_traceback(tmp_path, config):
    out = tmp_path / "out"
    for i in range(40):
        _document(out, f"site{i}/item", f"Council item {i} in Town{i}",
                  f"The council of Town{i} approved item {1000 + i} for the Harbour{i} district. " * 20)
    night = datetime(2026, 3, 12, 2, 30, tzinfo=UTC)
    build_stories(out, config, now=night)
    store = out / STORE_PATH
    with sqlite3.connect(store) as db:
        try:  # the pages of the key frequencies, read only once the stories are loaded
            pages = [row[0] for row in db.execute("SELECT pageno FROM dbstat WHERE name = 'df'")]
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
        size = db.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(store.read_bytes())
    for page in pages:
        raw[(page - 1) * size:page * size] = b"\xff" * size
    store.write_bytes(bytes(raw))
    data = build_stories(out, config, now=night + timedelta(days=1))
    assert len(data["stories"]) == 40 and "damaged-" in data["report"]["store_rebuilt"]
    assert sqlite3.connect(store).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_thresholds_are_checked_in_models_yaml():
    assert parse_config({"stories": {"join_threshold": 0.6}}).stories.join_threshold == 0.6
    with pytest.raises(ConfigError, match="stories.join_threshold"):
        parse_config({"stories": {"join_threshold": 1.5}})
    with pytest.raises(ConfigError, match="stories.embeding"):
        parse_config({"stories": {"embeding": "auto"}})


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not here")
def test_seed_pages_two_reports_of_one_story_in_two_languages(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(SEEDS, src)
    out = tmp_path / "out"
    assert run_cli("run", str(src), "--out", str(out), "--stages", "clean,detect").exit_code == 0
    data = build_stories(out, Config())
    story_of = {d["doc_id"]: s["story_id"] for s in data["stories"] for d in s["documents"]}
    italian, english = "000_e1c9f42544be132f", "001_fcbceec4badf9f0e"
    assert story_of[italian] == story_of[english]
    assert story_of["002_c72dbda44555ecf0"] != story_of[italian]
    # Meta's investment in Scale AI (June) is another story than its talks with Google (August),
    # though it names Meta, Google, OpenAI and Alexandr Wang too
    assert story_of["003_ebd9bb11e48bbdcf"] not in (story_of[italian], story_of["002_c72dbda44555ecf0"])
