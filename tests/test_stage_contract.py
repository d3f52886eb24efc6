"""The stage contract: any ordered subset of the stages runs, and a stage registered from
outside runs through the engines with no change anywhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from conftest import RECORD_NAMES, SAMPLES, STAGE_SUBSETS, load_records, run_cli, sample_files, validate

from pipeline import stages
from pipeline.records import Record
from pipeline.stages.base import Stage
from pipeline.text import words

LANGUAGES = {"en-on-french-site": "en", "en-wire-story": "en", "fr-article": "fr", "it-cookie-widget": "it",
             "it-subheadings-list": "it", "de-single-line": "de", "es-paywall-captions": "es"}


@pytest.mark.parametrize("subset", STAGE_SUBSETS)
def test_every_ordered_subset_of_the_stages_runs(subset, local_subset_runs):
    exit_code, records = local_subset_runs[subset]
    names = subset.split(",")
    assert set(records) == {p.relative_to(SAMPLES).with_suffix("").as_posix() for p in sample_files()}
    for doc, by_stage in records.items():
        assert set(by_stage) == {RECORD_NAMES[n] for n in names}, doc
        for record in by_stage.values():
            validate(record)
            assert record["status"] != "failed", (doc, record["stage"], record.get("error"))
            assert "seconds" in record["timings"]
    assert exit_code in (0, 3)


@pytest.mark.parametrize("subset", [s for s in STAGE_SUBSETS if "detect" in s and "summarize" in s
                                    and "translate" not in s])
def test_without_translate_a_document_is_summarized_in_the_language_detect_found(subset, local_subset_runs):
    _, records = local_subset_runs[subset]
    for doc, language in LANGUAGES.items():
        assert records[doc]["detect"]["language"] == language
        assert records[doc]["summary"]["language"] == language
        assert records[doc]["summary"]["summary"]


def test_without_detect_translate_leaves_the_text_untranslated_and_says_why(local_subset_runs):
    exit_code, records = local_subset_runs["clean,translate"]
    assert exit_code == 3
    for by_stage in records.values():
        translate = by_stage["translate"]
        assert translate["status"] == "degraded" and translate["translated"] is False
        assert translate["text"] == by_stage["clean"]["text"]
        assert "undetermined" in translate["report"]["degraded"][0]


def test_batch_stages_time_each_document_by_its_share(local_subset_runs):
    _, records = local_subset_runs["clean,detect,translate,summarize"]
    seconds = {doc: by_stage["summary"]["timings"]["seconds"] for doc, by_stage in records.items()}
    batch = {by_stage["summary"]["timings"]["batch_seconds"] for by_stage in records.values()}
    assert len(set(seconds.values())) > 1, "every record holds the same figure: the batch's, not its own"
    assert all(0 <= s <= max(batch) for s in seconds.values())


# -- a fifth stage, registered from here --------------------------------------------------------

@dataclass
class WordCountRecord(Record):
    stage: ClassVar[str] = "wordcount"
    file: ClassVar[str] = "wordcount.json"
    summary_words: int = 0
    method: str = ""


class WordCountStage(Stage):
    """How many words each summary has: CPU work on the summarize record."""

    name = "wordcount"
    record = WordCountRecord
    consumes = "summarize"
    per_document = True

    def __call__(self, batch):
        return [WordCountRecord(doc_id=r.doc_id, summary_words=len(words(r.summary)), method=r.method)
                for r in batch]


@pytest.fixture
def wordcount_stage():
    stages.register(WordCountStage)
    yield WordCountStage
    stages.unregister(WordCountStage)


def run_with_wordcount(out, config, *extra):
    result = run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(config), "--quiet",
                     "--stages", "clean,detect,translate,summarize,wordcount", *extra)
    return result, load_records(out)


def check_wordcount(records) -> None:
    assert records
    for doc, by_stage in records.items():
        count = by_stage["wordcount"]
        assert count["stage"] == "wordcount" and count["status"] == "ok"
        assert count["summary_words"] == len(words(by_stage["summary"]["summary"])) > 0, doc
        assert count["method"] == by_stage["summary"]["method"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_registered_fifth_stage_runs_after_the_others(wordcount_stage, tiny_config, tmp_path, workers):
    result, records = run_with_wordcount(tmp_path / "out", tiny_config, "--workers", workers)
    assert result.exit_code == 0, result.output
    check_wordcount(records)
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("wordcount.json")}
    again, _ = run_with_wordcount(tmp_path / "out", tiny_config, "--workers", workers)
    assert again.exit_code == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("wordcount.json")} == written, \
        "an unchanged rerun redid the fifth stage"


def test_an_unknown_or_misordered_stage_is_a_usage_error(tmp_path, wordcount_stage):
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "o"), "--stages", "wordcount,clean")
    assert result.exit_code == 1 and "order" in result.output
    stages.unregister(WordCountStage)
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "o"), "--stages", "clean,wordcount")
    assert result.exit_code == 1 and "unknown stage wordcount" in result.output
    stages.register(WordCountStage)
