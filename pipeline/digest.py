"""The digest: what a person reads after the nightly run, as Markdown and as one HTML page.

It is built from the records in OUT alone (and, when a run left one, from the last run in
the workspace's state), so it can be rebuilt at any time. One entry per article:
title, source file, original language, summary, key points and a link to its records;
articles that could not be summarized are listed first, with the reason, then the others
grouped by original language (English first, then by how many articles each has).
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError
from pipeline.files import write_text_atomic
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


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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


@dataclass
class Figures:
    documents: int
    summarized: int
    languages: Counter
    statuses: Counter
    methods: Counter
    translated: int
    unsupported_sentences: int
    failed: list[Article]  # no summary: they are listed one by one, with the reason
    degraded: list[tuple[str, list[Article]]]  # summarized with less than configured: by reason
    run: dict[str, Any] | None


def figures(articles: list[Article], run: dict[str, Any] | None = None) -> Figures:
    return Figures(
        documents=len(articles),
        summarized=sum(a.summarized for a in articles),
        languages=Counter(a.language for a in articles if a.summarized),
        statuses=Counter(a.status for a in articles),
        methods=Counter(a.method for a in articles if a.summarized),
        translated=sum(a.translated for a in articles),
        unsupported_sentences=sum(len(a.unsupported) for a in articles if a.summarized),
        failed=[a for a in articles if not a.summarized],
        degraded=_by_reason([a for a in articles if a.summarized]),
        run=run,
    )


def _by_reason(articles: list[Article]) -> list[tuple[str, list[Article]]]:
    """Degraded articles by reason, most frequent first: one missing model is one line, not one per article."""
    by_reason: dict[str, list[Article]] = {}
    for article in articles:
        for reason in dict.fromkeys(article.degradations):
            by_reason.setdefault(reason, []).append(article)
    return sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def groups(articles: list[Article]) -> list[tuple[str, list[Article]]]:
    """Summarized articles by original language: English first, then the largest groups."""
    by_language: dict[str, list[Article]] = {}
    for article in articles:
        if article.summarized:
            by_language.setdefault(article.language, []).append(article)
    order = sorted(by_language, key=lambda code: (code != "en", code == "und", -len(by_language[code]),
                                                  language_name(code)))
    return [(code, sorted(by_language[code], key=lambda a: (a.title.lower() or a.doc_id, a.doc_id)))
            for code in order]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _language_line(article: Article) -> str:
    name = language_name(article.language)
    if article.translated:
        return f"{name}, translated to {language_name(article.summary_language)}"
    if article.language != article.summary_language and article.summary_language:
        return f"{name}, summarized in {language_name(article.summary_language)}"
    if article.language not in ("en", "und"):
        return f"{name}, not translated: summary in {name}"
    return name


def _method_line(article: Article) -> str:
    if article.method == "abstractive" and article.model:
        return f"abstractive ({article.model})"
    return article.method or "unknown"


def _run_line(run: dict[str, Any] | None) -> str | None:
    if not run:
        return None
    keys = ("started_at", "ended_at", "documents", "exit_code")
    parts = [f"{k.replace('_', ' ')} {run[k]}" for k in keys if run.get(k) not in (None, "")]
    return "Last run: " + ", ".join(parts) if parts else None


def _summary_lines(f: Figures) -> list[str]:
    languages = ", ".join(f"{language_name(code)} {n}" for code, n in
                          sorted(f.languages.items(), key=lambda kv: (-kv[1], language_name(kv[0]))))
    methods = ", ".join(f"{method} {n}" for method, n in sorted(f.methods.items()))
    lines = [
        f"{_plural(f.documents, 'document')}, {f.summarized} summarized ({methods or 'none'})",
        f"Languages: {languages or 'none'}; {f.translated} translated to English",
        f"Status: {f.statuses.get('ok', 0)} ok, {f.statuses.get('degraded', 0)} degraded, "
        f"{f.statuses.get('failed', 0)} failed",
    ]
    if f.unsupported_sentences:
        lines.append(f"{_plural(f.unsupported_sentences, 'generated sentence')} not supported by the source "
                     "(marked ⚠ below)")
    run = _run_line(f.run)
    if run:
        lines.append(run)
    return lines


# -- Markdown ----------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("`", "\\`")


def render_markdown(articles: list[Article], f: Figures, generated_at: str) -> str:
    out = [f"# newsum digest, {generated_at}", ""]
    out += [f"- {line}" for line in _summary_lines(f)] + [""]
    if f.failed or f.degraded:
        out += ["## Needs attention", ""]
        for a in f.failed:
            reasons = "; ".join(a.failures) or "no summary"
            out.append(f"- **{_md_escape(a.title or a.doc_id)}** (`{a.source_path or a.doc_id}`): "
                       f"{_md_escape(reasons)} [records]({a.record_link})")
        for reason, members in f.degraded:
            titles = ", ".join(f"[{_md_escape(a.title or a.doc_id)}]({a.record_link})" for a in members)
            out.append(f"- Degraded, {_plural(len(members), 'article')}: {_md_escape(reason)} ({titles})")
        out.append("")
    for code, members in groups(articles):
        out += [f"## {language_name(code)} ({len(members)})", ""]
        for a in members:
            out += [f"### {_md_escape(a.title or a.doc_id)}", ""]
            out.append(f"*{_language_line(a)} · {_method_line(a)} · `{a.source_path or a.doc_id}` · "
                       f"[records]({a.record_link})*")
            out.append("")
            out.append(_md_escape(a.summary) + (" ⚠" if a.unsupported else ""))
            out.append("")
            out += [f"- {_md_escape(point)}" for point in a.key_points]
            if a.unsupported:
                out += ["", "⚠ Not supported by the source: " + " / ".join(_md_escape(s) for s in a.unsupported)]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# -- HTML --------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1d2430; --muted: #5b6473; --line: #e3e6eb; --bg: #fbfbfa; --card: #ffffff;
        --accent: #1f5f8b; --warn: #9a5b00; --warn-bg: #fff4e0; --bad: #a3222b; --bad-bg: #fdecee; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #e6e8eb; --muted: #a0a7b3; --line: #2d333d; --bg: #15181d; --card: #1c2027;
          --accent: #7db7e0; --warn: #f0b35a; --warn-bg: #3a2c14; --bad: #f08a92; --bad-bg: #3b1c20; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 17px/1.55 Georgia, "Iowan Old Style", "Times New Roman", serif; }
header, main { max-width: 52rem; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 2rem; }
h1, h2, h3, .meta, .figures, nav, .attention { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
.subtitle { color: var(--muted); margin: 0 0 1.25rem; font-family: system-ui, sans-serif; font-size: .95rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(6rem, 1fr)); gap: .75rem; margin: 0 0 1rem; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: .7rem .9rem; }
.figure b { display: block; font-size: 1.5rem; line-height: 1.2; }
.figure span { color: var(--muted); font-size: .85rem; }
.figure.warn b { color: var(--warn); } .figure.bad b { color: var(--bad); }
.facts { color: var(--muted); font-family: system-ui, sans-serif; font-size: .9rem; margin: 0 0 1rem; padding-left: 1.1rem; }
nav { font-size: .9rem; margin: 0 0 1.5rem; }
nav a { margin-right: .9rem; }
a { color: var(--accent); }
h2 { font-size: 1.15rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
     border-bottom: 1px solid var(--line); padding-bottom: .3rem; margin: 2.2rem 0 1rem; }
article { background: var(--card); border: 1px solid var(--line); border-radius: .7rem; padding: 1.1rem 1.3rem;
          margin: 0 0 1.1rem; }
article h3 { font-size: 1.2rem; margin: 0 0 .35rem; line-height: 1.3; }
.meta { color: var(--muted); font-size: .82rem; margin: 0 0 .7rem; }
.meta code { font-size: .8rem; }
.summary { margin: 0 0 .6rem; }
.points { margin: 0; padding-left: 1.2rem; }
.points li { margin: .15rem 0; }
.flag { color: var(--warn); background: var(--warn-bg); border-radius: .25rem; padding: 0 .2rem; }
.attention { background: var(--bad-bg); border: 1px solid var(--line); border-radius: .7rem; padding: .8rem 1.2rem; }
.attention li { margin: .3rem 0; }
.attention .reason { color: var(--muted); }
.badge { display: inline-block; font-size: .72rem; border-radius: 1rem; padding: 0 .5rem; margin-left: .3rem;
         border: 1px solid currentColor; }
.badge.degraded { color: var(--warn); } .badge.failed { color: var(--bad); }
footer { max-width: 52rem; margin: 2rem auto; padding: 0 1.25rem; color: var(--muted);
         font: .8rem system-ui, sans-serif; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _summary_html(article: Article) -> str:
    """The summary, with the sentences the provenance check flagged marked."""
    text = _e(article.summary)
    for sentence in article.unsupported:
        marked = f'<mark class="flag" title="not supported by the source sentences">{_e(sentence)} ⚠</mark>'
        text = text.replace(_e(sentence), marked, 1)
    return text


def render_html(articles: list[Article], f: Figures, generated_at: str) -> str:
    parts = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>newsum digest, {_e(generated_at)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             "<header>", "<h1>newsum digest</h1>",
             f'<p class="subtitle">Made {_e(generated_at)} from the records in this folder.</p>',
             '<div class="figures">']
    cards = [("", f.documents, "documents"), ("", f.summarized, "summarized"),
             ("", len(f.languages), "languages"), ("", f.translated, "translated"),
             ("warn" if f.statuses.get("degraded") else "", f.statuses.get("degraded", 0), "degraded"),
             ("bad" if f.statuses.get("failed") else "", f.statuses.get("failed", 0), "failed")]
    if f.unsupported_sentences:
        cards.append(("warn", f.unsupported_sentences, "unsupported sentences"))
    parts += [f'<div class="figure {cls}"><b>{_e(value)}</b><span>{_e(label)}</span></div>' for cls, value, label in cards]
    parts.append("</div>")
    parts.append('<ul class="facts">' + "".join(f"<li>{_e(line)}</li>" for line in _summary_lines(f)[1:]) + "</ul>")
    grouped = groups(articles)
    attention = len(f.failed) + len(f.degraded)
    links = ([("attention", f"Needs attention ({attention})")] if attention else []) + \
            [(f"lang-{code}", f"{language_name(code)} ({len(members)})") for code, members in grouped]
    if links:
        parts.append("<nav>" + "".join(f'<a href="#{_e(anchor)}">{_e(label)}</a>' for anchor, label in links) + "</nav>")
    parts += ["</header>", "<main>"]
    if attention:
        parts += ['<h2 id="attention">Needs attention</h2>', '<ul class="attention">']
        for a in f.failed:
            reasons = "; ".join(a.failures) or "no summary"
            parts.append(f'<li><a href="{_e(a.record_link)}">{_e(a.title or a.doc_id)}</a>'
                         f'<span class="badge failed">failed</span> <code>{_e(a.source_path or a.doc_id)}</code><br>'
                         f'<span class="reason">{_e(reasons)}</span></li>')
        for reason, members in f.degraded:
            titles = ", ".join(f'<a href="#doc-{_e(a.doc_id)}">{_e(a.title or a.doc_id)}</a>' for a in members)
            parts.append(f'<li><span class="badge degraded">degraded</span> {_e(_plural(len(members), "article"))}: '
                         f'<span class="reason">{_e(reason)}</span><br><small>{titles}</small></li>')
        parts.append("</ul>")
    for code, members in grouped:
        parts.append(f'<h2 id="lang-{_e(code)}">{_e(language_name(code))} · {len(members)}</h2>')
        for a in members:
            badge = f'<span class="badge {_e(a.status)}">{_e(a.status)}</span>' if a.status != "ok" else ""
            lang_attr = a.summary_language if a.summary_language not in ("und", "") else "en"
            parts += [f'<article id="doc-{_e(a.doc_id)}" lang="{_e(lang_attr)}">',
                      f"<h3>{_e(a.title or a.doc_id)}{badge}</h3>",
                      f'<p class="meta">{_e(_language_line(a))} · {_e(_method_line(a))} · '
                      f'<code>{_e(a.source_path or a.doc_id)}</code> · <a href="{_e(a.record_link)}">records</a></p>',
                      f'<p class="summary">{_summary_html(a)}</p>']
            if a.key_points:
                parts.append('<ul class="points">' + "".join(f"<li>{_e(p)}</li>" for p in a.key_points) + "</ul>")
            parts.append("</article>")
    if not articles:
        parts.append("<p>No records in this folder yet.</p>")
    parts += ["</main>", "<footer>Every summary sentence and key point is traced to its source sentences "
              "in the article's summary.json (provenance).</footer>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write_digest(out_dir: str | os.PathLike, now: datetime | None = None) -> tuple[Path, Path]:
    """Write OUT/digest.md and OUT/digest.html from the records in OUT; returns their paths."""
    root = Path(out_dir)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    articles = collect(root)
    if not articles:
        raise UsageError(f"{root}: no records to digest; run `newsum run INPUT --out {root}` first")
    f = figures(articles, last_run(root))
    generated_at = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    md_path, html_path = Workspace(root).digest_paths()
    write_text_atomic(md_path, render_markdown(articles, f, generated_at))
    write_text_atomic(html_path, render_html(articles, f, generated_at))
    return md_path, html_path
