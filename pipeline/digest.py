"""The digest: what a person reads in the morning, as Markdown and as one HTML page.

It is built from OUT/stories.json (pipeline/storyrun.py) and the records in OUT (and, when
a run left one, the last run in the workspace's state), so it can be rebuilt at any
time. One entry per story, the stories carried by the most sources first: the headline in
English and as published, sources, languages, summary, key points, and per article its
outlet, its page's URL and date where known, and a link to its record. Badges only where
they change what a reader should trust ("not translated", "summary from the original
language"). What the operator needs (failures, missing models) comes last, grouped by cause.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from pipeline.errors import UsageError
from pipeline.files import read_json_object, write_text_atomic
from pipeline.workspace import Workspace


@cache
def _language_names() -> dict[str, str]:
    text = resources.files("pipeline.resources").joinpath("digest/languages.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def language_name(code: str | None) -> str:
    if not code:
        return "Unknown"
    return _language_names().get(code, code)


@dataclass
class Article:
    """One document as the digest shows it, gathered from its records."""

    doc_id: str
    records: dict[str, dict[str, Any]]
    title: str = ""
    source_path: str = ""
    language: str = "und"
    translated: bool = False
    translation_model: str | None = None
    summary: str = ""
    summary_language: str = "und"
    key_points: list[str] = field(default_factory=list)
    method: str | None = None
    model: str | None = None
    unsupported: list[str] = field(default_factory=list)  # generated sentences flagged unsupported
    status: str = "ok"  # the worst status of its records
    failures: list[str] = field(default_factory=list)  # "stage failed: reason"
    degradations: list[str] = field(default_factory=list)  # "stage: reason"

    @property
    def summarized(self) -> bool:
        summary = self.records.get("summarize")
        return bool(summary and summary.get("status") != "failed" and self.summary)

    @property
    def record_link(self) -> str:
        """The article's record folder, relative to OUT: the newest record in it first."""
        from pipeline.stages import registry

        for stage in reversed(registry()):
            if stage.name in self.records:
                return f"{self.doc_id}/{stage.record.file}"
        return f"{self.doc_id}/"


def _article(doc_id: str, records: dict[str, dict[str, Any]]) -> Article:
    clean, detect = records.get("clean", {}), records.get("detect", {})
    translate, summary = records.get("translate", {}), records.get("summarize", {})
    article = Article(doc_id=doc_id, records=records)
    article.title = (translate.get("title") or summary.get("title") or clean.get("title") or "").strip()
    article.source_path = (clean.get("source") or {}).get("path") or ""
    article.language = detect.get("language") or translate.get("source_language") or summary.get("language") or "und"
    article.translated = bool(translate.get("translated"))
    article.translation_model = (translate.get("model") or {}).get("id") if article.translated else None
    article.summary = summary.get("summary") or ""
    article.summary_language = summary.get("language") or article.language
    article.key_points = list(summary.get("key_points") or [])
    article.method = summary.get("method")
    article.model = (summary.get("model") or {}).get("id")
    article.unsupported = [p.get("text", "") for p in summary.get("provenance") or []
                           if p.get("unsupported") and p.get("kind") == "summary"]
    rank = {"ok": 0, "degraded": 1, "failed": 2}
    for stage in records:  # in pipeline order (Workspace.all_records)
        record = records.get(stage)
        if not record:
            continue
        status = record.get("status", "ok")
        if rank.get(status, 0) > rank[article.status]:
            article.status = status
        if status == "failed":
            article.failures.append(f"{stage} failed: {(record.get('error') or {}).get('message', 'no reason given')}")
        for reason in (record.get("report") or {}).get("degraded", []):
            article.degradations.append(f"{stage}: {reason}")
    return article


def collect(out_dir: str | os.PathLike) -> list[Article]:
    """Every document under OUT that has at least one record, in doc id order."""
    from pipeline.stages import record_types

    found = Workspace(out_dir).all_records(record_types())
    return [_article(doc_id, records) for doc_id, records in found.items()]


def last_run(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The newest run in the workspace's state, when there is one (no figures otherwise)."""
    return Workspace(out_dir).last_run()


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def _run_line(run: dict[str, Any] | None) -> str | None:
    if not run:
        return None
    keys = ("started_at", "ended_at", "documents", "exit_code")
    parts = [f"{k.replace('_', ' ')} {run[k]}" for k in keys if run.get(k) not in (None, "")]
    return "Last run: " + ", ".join(parts) if parts else None


def record_href(record: str) -> str:
    """A link to a record, relative to OUT, built from the document id: each segment percent-encoded,
    so that no id can become a scheme (`javascript:`), a query or a path outside OUT."""
    segments = [s for s in record.split("/") if s not in ("", ".", "..")]
    return "./" + "/".join(quote(s, safe="") for s in segments)


def _web_url(url: Any) -> str | None:
    """The page's own address, when it is an http(s) URL: only those become links."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return parts.geturl()
    return None


# -- stories --------------------------------------------------------------------------------


def read_stories(out_dir: str | os.PathLike, articles: list[Article]) -> list[dict[str, Any]]:
    """The stories of OUT/stories.json that were seen on its latest night; where there is no
    stories.json, one story per summarized article."""
    data = read_json_object(Path(out_dir) / "stories.json")
    if data and isinstance(data.get("stories"), list):
        night = data.get("night")
        stories = [s for s in data["stories"] if isinstance(s, dict) and s.get("documents")]
        tonight = [s for s in stories if s.get("last_seen") == night]
        return tonight or stories
    stories = []
    for a in articles:
        if not a.summarized:
            continue
        clean = a.records.get("clean", {})
        stories.append({
            "story_id": "", "headline": {"text": a.title or a.doc_id, "original": clean.get("title"),
                                         "language": a.language, "translated": a.translated},
            "sources": [], "source_count": 1, "languages": [a.language],
            "summary": {"text": a.summary, "language": a.summary_language, "sentences": []},
            "key_points": [{"text": p, "doc_id": a.doc_id} for p in a.key_points],
            "documents": [{"doc_id": a.doc_id, "title": a.title, "original_title": clean.get("title"),
                           "language": a.language, "translated": a.translated, "source": None,
                           "url": clean.get("url"), "date": (clean.get("metadata") or {}).get("date"),
                           "record": a.record_link, "summary_language": a.summary_language}]})
    return stories


def badges(story: dict[str, Any]) -> list[str]:
    """Only what changes how far a reader can trust the entry."""
    out = []
    headline = story.get("headline") or {}
    if headline.get("language") not in (None, "en", "und") and not headline.get("translated"):
        out.append("not translated")
    summary_language = (story.get("summary") or {}).get("language")
    if summary_language not in (None, "en", "und"):
        out.append("summary from the original language")
    return out


def _languages_line(story: dict[str, Any]) -> str:
    return ", ".join(language_name(code) for code in story.get("languages") or [] if code != "und") or "Unknown"


def _sources_line(story: dict[str, Any]) -> str:
    n = story.get("source_count") or len(story.get("sources") or []) or 1
    return _plural(n, "source")


def _original_headline(story: dict[str, Any]) -> str | None:
    headline = story.get("headline") or {}
    original = (headline.get("original") or "").strip()
    if original and original != (headline.get("text") or "").strip():
        return original
    return None


def _doc_outlet(doc: dict[str, Any]) -> str:
    return doc.get("source") or "Unnamed source"


@dataclass
class Cause:
    """One reason the operator should know about, with the articles it touched."""

    kind: str  # "failed" or "degraded"
    stage: str
    reason: str
    articles: list[Article]

    @property
    def headline(self) -> str:
        what = "could not be processed" if self.kind == "failed" else {
            "translate": "were not translated", "summarize": "were summarized with less than configured",
        }.get(self.stage, f"were degraded at {self.stage}")
        if len(self.articles) == 1:
            what = what.replace("were", "was")
        return f"{_plural(len(self.articles), 'article')} {what}"

    @property
    def short_reason(self) -> str:
        return self.reason.split(" Fix:")[0].strip()

    @property
    def fix(self) -> str | None:
        return self.reason.split(" Fix:", 1)[1].strip() if " Fix:" in self.reason else None


def causes(articles: list[Article]) -> list[Cause]:
    """Failures and degradations grouped by stage and reason, the most frequent first."""
    grouped: dict[tuple[str, str, str], list[Article]] = {}
    for a in articles:
        seen = set()
        for stage in list(a.records):  # in pipeline order (Workspace.all_records)
            record = a.records.get(stage)
            if not record:
                continue
            if record.get("status") == "failed":
                key = ("failed", stage, (record.get("error") or {}).get("message", "no reason given"))
                if key not in seen:
                    grouped.setdefault(key, []).append(a)
                    seen.add(key)
            for reason in (record.get("report") or {}).get("degraded", []):
                key = ("degraded", stage, str(reason))
                if key not in seen:
                    grouped.setdefault(key, []).append(a)
                    seen.add(key)
    found = [Cause(kind, stage, reason, members) for (kind, stage, reason), members in grouped.items()]
    return sorted(found, key=lambda c: (c.kind != "failed", -len(c.articles), c.stage, c.reason))


# -- Markdown ----------------------------------------------------------------------------


def _md_escape(text: Any) -> str:
    text = str(text)
    for ch in "\\*_[]`#|":
        text = text.replace(ch, "\\" + ch)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _md_url(href: str) -> str:
    return href.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def store_notes(out_dir: str | os.PathLike) -> list[str]:
    """What stories.json says the operator should know of the story store (set aside and started again)."""
    data = read_json_object(Path(out_dir) / "stories.json") or {}
    note = (data.get("report") or {}).get("store_rebuilt") if isinstance(data.get("report"), dict) else None
    return [note[:1].upper() + note[1:]] if isinstance(note, str) and note else []


def render_markdown(stories: list[dict[str, Any]], articles: list[Article], run: dict[str, Any] | None,
                    generated_at: str, notes: list[str] | tuple = ()) -> str:
    documents = sum(len(s["documents"]) for s in stories)
    out = [f"# News digest, {generated_at}", "",
           f"{_plural(len(stories), 'story')} from {_plural(documents, 'article')}, the most widely reported first.", ""]
    for s in stories:
        marks = "".join(f" *({b})*" for b in badges(s))
        out += [f"## {_md_escape(s['headline']['text'])}{marks}", ""]
        original = _original_headline(s)
        if original:
            out += [f"Original headline ({language_name(s['headline'].get('language'))}): {_md_escape(original)}", ""]
        out += [f"{_sources_line(s)} · {_languages_line(s)}", ""]
        if s["summary"].get("text"):
            out += [_md_escape(s["summary"]["text"]), ""]
        out += [f"- {_md_escape(p['text'])}" for p in s.get("key_points") or []]
        if s.get("key_points"):
            out.append("")
        out.append("Sources:")
        for d in s["documents"]:
            parts = [_md_escape(_doc_outlet(d))]
            url = _web_url(d.get("url"))
            parts.append(f"[{_md_escape(d.get('title') or d['doc_id'])}]({_md_url(url)})" if url
                         else _md_escape(d.get("title") or d["doc_id"]))
            if d.get("date"):
                parts.append(_md_escape(d["date"]))
            parts.append(language_name(d.get("language")))
            parts.append(f"[record]({_md_url(record_href(d.get('record') or d['doc_id']))})")
            out.append("- " + " · ".join(parts))
        out.append("")
    found = causes(articles)
    run_line = _run_line(run)
    if found or run_line or notes:
        out += ["## For the operator", ""]
        for c in found:
            out.append(f"- **{_md_escape(c.headline)}** ({c.stage}): {_md_escape(c.short_reason)}")
            if c.fix:
                out.append(f"  Fix: {_md_escape(c.fix)}")
            examples = ", ".join(f"[{_md_escape(a.doc_id)}]({_md_url(record_href(a.record_link))})"
                                 for a in c.articles[:5])
            more = f" and {len(c.articles) - 5} more" if len(c.articles) > 5 else ""
            out.append(f"  Articles: {examples}{more}")
        out += [f"- {_md_escape(note)}" for note in notes]
        if run_line:
            out.append(f"- {_md_escape(run_line)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# -- HTML --------------------------------------------------------------------------------

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"

_CSS = """
:root { --ink: #1d2430; --muted: #5b6473; --line: #e3e6eb; --bg: #fbfbfa; --card: #ffffff;
        --accent: #1f5f8b; --warn: #8a5100; --warn-bg: #fff4e0; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #e6e8eb; --muted: #a0a7b3; --line: #2d333d; --bg: #15181d; --card: #1c2027;
          --accent: #7db7e0; --warn: #f0b35a; --warn-bg: #3a2c14; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); overflow-wrap: anywhere;
       font: 17px/1.55 Georgia, "Iowan Old Style", "Times New Roman", serif; }
header, main, footer { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; }
h1, h2, .meta, .sources, .operator, .badge, .lede, footer { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; }
.lede { color: var(--muted); margin: 0 0 1.2rem; font-size: .95rem; }
a { color: var(--accent); }
.story { background: var(--card); border: 1px solid var(--line); border-radius: .7rem; padding: 1rem 1.1rem;
         margin: 0 0 1rem; }
.story h2 { font-size: 1.2rem; line-height: 1.3; margin: 0 0 .3rem; }
.original { color: var(--muted); font-style: italic; margin: 0 0 .4rem; font-size: .95rem; }
.meta { color: var(--muted); font-size: .85rem; margin: 0 0 .6rem; }
.summary { margin: 0 0 .6rem; }
.points { margin: 0 0 .7rem; padding-left: 1.2rem; }
.points li { margin: .15rem 0; }
.sources { list-style: none; margin: 0; padding: .5rem 0 0; border-top: 1px solid var(--line); font-size: .85rem; }
.sources li { margin: .25rem 0; }
.outlet { font-weight: 600; }
.badge { display: inline-block; font-size: .72rem; font-weight: 500; border-radius: 1rem; padding: 0 .5rem;
         margin: 0 .3rem 0 0; color: var(--warn); background: var(--warn-bg); vertical-align: middle; }
.operator { font-size: .88rem; color: var(--muted); border-top: 1px solid var(--line); margin-top: 2rem; }
.operator h2 { font-size: 1rem; color: var(--ink); }
.operator li { margin: .5rem 0; }
footer { color: var(--muted); font-size: .8rem; padding-bottom: 2rem; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _lang(code: Any) -> str:
    code = str(code or "")
    return code if code.isalpha() and 2 <= len(code) <= 3 and code != "und" else "en"


def _story_html(s: dict[str, Any], number: int) -> list[str]:
    anchor = f"story-{s.get('story_id') or number}"
    headline = s.get("headline") or {}
    title_lang = "en" if headline.get("translated") or not badges(s) else _lang(headline.get("language"))
    parts = [f'<article class="story" id="{_e(anchor)}">',
             f'<h2 lang="{_e(title_lang)}">{_e(headline.get("text") or "")}</h2>']
    marks = badges(s)
    original = _original_headline(s)
    if original:
        parts.append(f'<p class="original" lang="{_e(_lang(headline.get("language")))}">'
                     f'Original headline ({_e(language_name(headline.get("language")))}): {_e(original)}</p>')
    parts.append(f'<p class="meta">{"".join(f"<span class=badge>{_e(b)}</span>" for b in marks)}'
                 f'{_e(_sources_line(s))} · {_e(_languages_line(s))}</p>')
    summary = s.get("summary") or {}
    if summary.get("text"):
        parts.append(f'<p class="summary" lang="{_e(_lang(summary.get("language")))}">{_e(summary["text"])}</p>')
    if s.get("key_points"):
        parts.append(f'<ul class="points" lang="{_e(_lang(summary.get("language")))}">'
                     + "".join(f"<li>{_e(p['text'])}</li>" for p in s["key_points"]) + "</ul>")
    parts.append('<ul class="sources">')
    for d in s["documents"]:
        title = _e(d.get("title") or d["doc_id"])
        url = _web_url(d.get("url"))
        link = (f'<a class="source-url" href="{_e(url)}" rel="noopener noreferrer">{title}</a>' if url else title)
        bits = [f'<span class="outlet">{_e(_doc_outlet(d))}</span>', link]
        if d.get("date"):
            bits.append(f"<time>{_e(d['date'])}</time>")
        bits.append(_e(language_name(d.get("language"))))
        bits.append(f'<a class="record" href="{_e(record_href(d.get("record") or d["doc_id"]))}">record</a>')
        parts.append(f'<li data-doc="{_e(d["doc_id"])}">' + " · ".join(bits) + "</li>")
    parts += ["</ul>", "</article>"]
    return parts


def render_html(stories: list[dict[str, Any]], articles: list[Article], run: dict[str, Any] | None,
                generated_at: str, notes: list[str] | tuple = ()) -> str:
    documents = sum(len(s["documents"]) for s in stories)
    parts = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             '<meta name="referrer" content="no-referrer">',
             f"<title>News digest, {_e(generated_at)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             "<header>", "<h1>News digest</h1>",
             f'<p class="lede">{_e(generated_at)} · {_e(_plural(len(stories), "story"))} from '
             f'{_e(_plural(documents, "article"))}, the most widely reported first.</p>', "</header>", "<main>"]
    for number, s in enumerate(stories, start=1):
        parts += _story_html(s, number)
    if not stories:
        parts.append("<p>No summarized articles in this folder yet.</p>")
    found = causes(articles)
    run_line = _run_line(run)
    if found or run_line or notes:
        parts += ['<section class="operator" id="operator">', "<h2>For the operator</h2>", "<ul>"]
        for c in found:
            examples = ", ".join(f'<a href="{_e(record_href(a.record_link))}">{_e(a.doc_id)}</a>' for a in c.articles[:5])
            more = f" and {len(c.articles) - 5} more" if len(c.articles) > 5 else ""
            fix = f"<br>Fix: {_e(c.fix)}" if c.fix else ""
            parts.append(f'<li data-cause="{_e(c.kind)}"><b>{_e(c.headline)}</b> ({_e(c.stage)}): '
                         f"{_e(c.short_reason)}{fix}<br><small>{examples}{_e(more)}</small></li>")
        parts += [f'<li data-cause="story-store">{_e(note)}</li>' for note in notes]
        if run_line:
            parts.append(f"<li>{_e(run_line)}</li>")
        parts += ["</ul>", "</section>"]
    parts += ["</main>", "<footer>Each story's summary sentences come from its articles' summaries; "
              "every article's record traces them to its source sentences.</footer>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write_digest(out_dir: str | os.PathLike, now: datetime | None = None) -> tuple[Path, Path]:
    """Write OUT/digest.md and OUT/digest.html from OUT/stories.json and the records; returns their paths."""
    root = Path(out_dir)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    articles = collect(root)
    if not articles:
        raise UsageError(f"{root}: no records to digest; run `newsum run INPUT --out {root}` first")
    stories = read_stories(root, articles)
    run = last_run(root)
    generated_at = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    md_path, html_path = Workspace(root).digest_paths()
    notes = store_notes(root)
    write_text_atomic(md_path, render_markdown(stories, articles, run, generated_at, notes))
    write_text_atomic(html_path, render_html(stories, articles, run, generated_at, notes))
    return md_path, html_path
