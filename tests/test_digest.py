"""newsum digest: one entry per article from the records in OUT, as Markdown and as a
self-contained HTML page, with the run's figures at the top."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import load_records, run_cli, sample_files

from pipeline.digest import language_name


@pytest.fixture(scope="module")
def digested(tiny_config, tmp_path_factory):
    src = tmp_path_factory.mktemp("in")
    for path in sample_files():
        shutil.copy(path, src / path.name)
    (src / "empty-page.txt").write_bytes(b"")
    out = tmp_path_factory.mktemp("out")
    result = run_cli("run", str(src), "--out", str(out), "--config", str(tiny_config))
    assert result.exit_code == 2, result.output  # the empty page fails, the rest goes on
    result = run_cli("digest", str(out))
    assert result.exit_code == 0, result.output
    return out, load_records(out)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _page(out: Path) -> _Page:
    page = _Page()
    page.feed((out / "digest.html").read_text(encoding="utf-8"))
    return page


def test_every_summarized_article_has_an_entry_in_both_files(digested):
    out, records = digested
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    page = _page(out)
    text = " ".join(" ".join(page.text).split())
    articles = {tag[1]["id"][4:] for tag in page.tags if tag[0] == "article"}
    summarized = {d for d, s in records.items() if "summary" in s and s["summary"]["status"] != "failed"}
    assert articles == summarized and len(summarized) == len(sample_files())
    for doc_id in summarized:
        summary, clean = records[doc_id]["summary"], records[doc_id]["clean"]
        assert clean["source"]["path"] in markdown and clean["source"]["path"] in text
        for point in summary["key_points"]:
            assert " ".join(point.split()) in text
        assert f"]({doc_id}/summary.json)" in markdown


def test_original_language_and_translation_are_shown(digested):
    out, records = digested
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    for doc_id, stages in records.items():
        if "summary" not in stages:
            continue
        language = language_name(stages["detect"]["language"])
        [entry] = [block for block in markdown.split("\n### ") if f"]({doc_id}/summary.json)*" in block]
        assert language in entry.splitlines()[2]
        if stages["translate"]["translated"]:
            assert "translated to English" in entry


def test_failed_document_is_listed_with_its_reason_before_the_articles(digested):
    out, _ = digested
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    attention = markdown.index("## Needs attention")
    failed = markdown.index("empty-page")
    first_group = markdown.index("## English")
    assert attention < failed < first_group
    assert "empty file" in markdown[failed:first_group]


def test_figures_at_the_top_count_documents_languages_and_failures(digested):
    out, records = digested
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    head = markdown.split("## ", 1)[0]
    assert f"{len(records)} documents, {len(records) - 1} summarized" in head
    assert "1 failed" in head
    languages = {s["detect"]["language"] for s in records.values() if "summary" in s}
    for code in languages:
        assert language_name(code) in head


def test_english_group_comes_first(digested):
    out, _ = digested
    headings = re.findall(r"^## (.+)$", (out / "digest.md").read_text(encoding="utf-8"), flags=re.MULTILINE)
    groups = [h for h in headings if h != "Needs attention"]
    assert groups[0].startswith("English")


def test_html_is_self_contained_and_its_links_resolve(digested):
    out, _ = digested
    html = (out / "digest.html").read_text(encoding="utf-8")
    page = _page(out)
    assert not re.search(r"https?://|//[a-z]", html.split("<style>")[0] + html.split("</style>")[1])
    assert not [t for t in page.tags if t[0] in ("link", "script", "img", "iframe")]
    ids = {attrs["id"] for _, attrs in page.tags if "id" in attrs}
    for tag, attrs in page.tags:
        href = attrs.get("href")
        if tag != "a" or href is None:
            continue
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert (out / href).is_file(), href


def test_titles_and_summaries_are_escaped(tiny_config, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "tricky.txt").write_text(
        "Council <script>alert(1)</script> & budget\n\n"
        + "The council approved the <b>budget</b> on Tuesday after a long debate about taxes. " * 4,
        encoding="utf-8")
    out = tmp_path / "out"
    run_cli("run", str(src), "--out", str(out), "--stages", "clean,detect,translate,summarize")
    assert run_cli("digest", str(out)).exit_code == 0
    html = (out / "digest.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>budget</b>" not in html
    assert "&lt;b&gt;budget&lt;/b&gt;" in html


def test_last_run_from_the_state_database_when_present(digested):
    out, records = digested
    db = sqlite3.connect(out / ".newsum" / "state.sqlite")
    started, ended, code = db.execute("SELECT started_at, ended_at, exit_code FROM runs ORDER BY id DESC").fetchone()
    db.close()
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    assert f"Last run: started at {started}, ended at {ended}, documents {len(records)}, exit code {code}" in markdown


@pytest.mark.parametrize("content", [b"not a database", b""])
def test_an_unreadable_state_database_is_ignored(digested, tmp_path, content):
    out, _ = digested
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / ".newsum").mkdir(exist_ok=True)
    (copy / ".newsum" / "state.sqlite").write_bytes(content)
    result = run_cli("digest", str(copy))
    assert result.exit_code == 0, result.output
    assert "Last run" not in (copy / "digest.md").read_text(encoding="utf-8")


def test_a_corrupt_record_does_not_stop_the_digest(digested, tmp_path):
    out, records = digested
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    victim = sorted(d for d, s in records.items() if "summary" in s)[0]
    (copy / victim / "summary.json").write_text("{ half a record", encoding="utf-8")
    result = run_cli("digest", str(copy))
    assert result.exit_code == 0, result.output
    assert victim in json.dumps((copy / "digest.md").read_text(encoding="utf-8"))


def test_digest_of_a_folder_without_records_is_a_usage_error(tmp_path):
    result = run_cli("digest", str(tmp_path))
    assert result.exit_code == 1
    assert "no records" in result.output
