"""newsum digest: one entry per story from OUT/stories.json and the records, as Markdown and
as a self-contained HTML page, with what the operator needs at the end."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import load_records, run_cli, sample_files


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
    return out, {doc: stages for doc, stages in load_records(out).items() if doc}  # "": stories.json, digest


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


def _stories(out: Path) -> list[dict]:
    return json.loads((out / "stories.json").read_text(encoding="utf-8"))["stories"]


def test_one_entry_per_story_with_every_article_linked_to_its_record(digested):
    out, records = digested
    page = _page(out)
    stories = _stories(out)
    entries = [attrs["id"] for tag, attrs in page.tags if tag == "article"]
    assert entries == [f"story-{s['story_id']}" for s in stories]
    linked = {attrs["data-doc"] for tag, attrs in page.tags if tag == "li" and "data-doc" in attrs}
    summarized = {d for d, s in records.items() if "summary" in s and s["summary"]["status"] != "failed"}
    assert summarized <= linked
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    for doc_id in summarized:
        assert f"[record](./{doc_id}/summary.json)" in markdown


def test_stories_with_more_sources_come_first(digested):
    out, _ = digested
    counts = [s["source_count"] for s in _stories(out)]
    assert counts == sorted(counts, reverse=True)


def test_the_reader_sees_outlets_and_urls_not_file_paths(digested):
    out, records = digested
    html = (out / "digest.html").read_text(encoding="utf-8")
    for stages in records.values():
        path = stages.get("clean", {}).get("source", {}).get("path")
        assert not path or path not in html
    [page_doc] = [d for d, s in records.items() if s.get("clean", {}).get("url")]
    clean = records[page_doc]["clean"]
    assert clean["metadata"]["sitename"] in html and f'href="{clean["url"]}"' in html


def test_badges_only_where_trust_changes(digested):
    out, _ = digested
    page = _page(out)
    stories = _stories(out)
    shown = {}
    current = None
    for tag, attrs in page.tags:
        if tag == "article":
            current = attrs["id"][len("story-"):]
            shown[current] = 0
        elif tag == "span" and attrs.get("class") == "badge" and current:
            shown[current] += 1
    for story in stories:
        headline, summary = story["headline"], story["summary"]
        expected = int(headline["language"] not in ("en", "und") and not headline["translated"])
        expected += int(summary["language"] not in ("en", "und"))
        assert shown[story["story_id"]] == expected, story["headline"]
    assert "degraded" not in " ".join(page.text).split("For the operator")[0]


def test_operator_matters_come_last_grouped_by_cause(digested):
    out, records = digested
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    operator = markdown.index("## For the operator")
    assert markdown.rfind("## ", 0, operator) < operator  # after every story
    tail = markdown[operator:]
    assert "empty file" in tail and "empty-page" in tail
    # one line per cause, not one per article
    summarize_degraded = [d for d, s in records.items() if s.get("summary", {}).get("status") == "degraded"]
    if len(summarize_degraded) > 1:
        assert tail.count("summarized with less than configured") == 1


def test_html_is_self_contained_and_its_links_resolve(digested):
    out, _ = digested
    html = (out / "digest.html").read_text(encoding="utf-8")
    page = _page(out)
    assert not [t for t in page.tags if t[0] in ("link", "script", "img", "iframe", "object", "embed")]
    csp = [attrs["content"] for tag, attrs in page.tags if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]
    assert "<style>" in html
    ids = {attrs["id"] for _, attrs in page.tags if "id" in attrs}
    for tag, attrs in page.tags:
        href = attrs.get("href")
        if tag != "a" or href is None:
            continue
        if href.startswith("#"):
            assert href[1:] in ids, href
        elif "source-url" in attrs.get("class", ""):
            assert href.startswith(("http://", "https://"))
        else:
            assert href.startswith("./") and (out / unquote(href)).is_file(), href


def test_hostile_names_never_become_link_targets(tiny_config, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "javascript:alert(document.domain).txt").write_text(
        "Council budget approved\n\n" + "The council approved the budget on Tuesday after a long debate. " * 4,
        encoding="utf-8")
    out = tmp_path / "out"
    run_cli("run", str(src), "--out", str(out), "--config", str(tiny_config), "--stages", "clean,detect,summarize")
    assert run_cli("digest", str(out), "--config", str(tiny_config)).exit_code == 0
    for tag, attrs in _page(out).tags:
        if tag == "a" and attrs.get("href"):
            assert not attrs["href"].lower().startswith("javascript:"), attrs["href"]
    assert "](javascript:" not in (out / "digest.md").read_text(encoding="utf-8")


def test_run_with_digest_writes_stories_and_the_digest(tiny_config, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for path in sample_files()[:3]:
        shutil.copy(path, src / path.name)
    out = tmp_path / "out"
    result = run_cli("run", str(src), "--out", str(out), "--config", str(tiny_config), "--digest")
    assert result.exit_code in (0, 3), result.output
    assert (out / "stories.json").is_file() and (out / "digest.html").is_file() and (out / "digest.md").is_file()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_digest_renders_in_chromium_readable_on_a_phone(digested, tmp_path):
    out, _ = digested
    url = (out / "digest.html").resolve().as_uri()
    shot = tmp_path / "phone.png"
    result = _chromium("--window-size=390,2400", f"--screenshot={shot}", url)
    assert shot.is_file() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    # Layout, measured by Chromium itself: a copy of the page (the digest has no scripts, and its
    # policy forbids them) gets a probe that writes each box into the DOM that --dump-dom prints.
    probe = tmp_path / "probe.html"
    html = (out / "digest.html").read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe.write_text(html.replace("</body>", """<script>
const r = {width: innerWidth, scroll: document.documentElement.scrollWidth, boxes: []};
for (const a of document.querySelectorAll('article')) {
  const b = a.getBoundingClientRect();
  const s = a.querySelector('.summary');
  r.boxes.push({left: b.left, right: b.right, top: b.top, bottom: b.bottom,
                font: s ? parseFloat(getComputedStyle(s).fontSize) : 16});
}
document.body.setAttribute('data-layout', JSON.stringify(r));
</script></body>"""), encoding="utf-8")
    dom = _chromium("--window-size=390,2400", "--virtual-time-budget=2000", "--dump-dom", probe.as_uri()).stdout
    layout = json.loads(html_lib.unescape(re.search(r'data-layout="([^"]*)"', dom).group(1)))
    assert layout["scroll"] <= layout["width"]  # nothing wider than a phone's screen
    boxes = layout["boxes"]
    assert len(boxes) == len(_stories(out))
    for box in boxes:
        assert box["left"] >= 0 and box["right"] <= layout["width"]
        assert box["right"] - box["left"] >= 0.8 * layout["width"]  # full width, not squeezed
        assert box["font"] >= 15
    assert all(a["bottom"] <= b["top"] for a, b in zip(boxes, boxes[1:], strict=False))  # one under the other
    page = _Page()
    page.feed(_chromium("--window-size=390,2400", "--dump-dom", url).stdout)
    assert not [t for t in page.tags if t[0] == "script"]
    text = " ".join(page.text)
    assert text.index("News digest") < text.index("For the operator")


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


def test_a_story_store_set_aside_is_told_to_the_operator_at_the_end(digested, tmp_path):
    out, _ = digested
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / ".newsum" / "stories.sqlite").write_bytes(b"not a database" * 100)
    result = run_cli("digest", str(copy))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "story store" in line]
    assert len(warnings) == 1 and "stories.sqlite.damaged-" in warnings[0] and "Traceback" not in result.stderr
    markdown = (copy / "digest.md").read_text(encoding="utf-8")
    tail = markdown[markdown.index("## For the operator"):]
    assert "The story store was moved aside to stories.sqlite.damaged-" in tail and "first night" in tail
    assert 'data-cause="story-store"' in (copy / "digest.html").read_text(encoding="utf-8")
    again = run_cli("digest", str(copy))  # the next digest has nothing to tell of it
    assert "story store" not in again.stderr and "story store" not in (copy / "digest.md").read_text(encoding="utf-8")


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
