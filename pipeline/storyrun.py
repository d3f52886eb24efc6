"""Build OUT/stories.json: every article in OUT in a story, remembered across nights.

Reads the records in OUT (clean, detect, translate, summary), groups the articles that are
new or whose text changed since the last night (pipeline/neardup.py for copies,
pipeline/stories.py for stories), saves what it learnt in the story store
(pipeline/storystore.py) and writes `stories.json` (schema: pipeline/schemas/stories.schema.json).
A story's summary is made of its members' summary sentences, each with the document and
sentence it came from.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.config import Config, StoriesConfig
from pipeline.files import read_json_object, write_json_atomic
from pipeline.neardup import SIGNATURES, CopyCandidate, content_hash, copy_groups, normalise
from pipeline.stories import (
    Article,
    GroupingSettings,
    StoryIndex,
    date_in_text,
    embed,
    embedding_backend,
    embedding_text,
    evidence,
    group,
    text_words,
)
from pipeline.storystore import Member, StoryStore
from pipeline.text import head as text_head
from pipeline.workspace import STORY_STORE, Workspace, damaged


def _record_files() -> dict[str, str]:
    """Stage name → its record's file name, from the registry."""
    from pipeline.stages import registry

    return {stage.name: stage.record.file for stage in registry()}

STORIES_FILE = "stories.json"
STORE_PATH = STORY_STORE
STORIES_SCHEMA_VERSION = 1
SUMMARY_SENTENCES = 4  # sentences in a story's summary
STORY_KEY_POINTS = 5
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def document_folders(out_dir: Path) -> dict[str, Path]:
    """doc id -> its record folder, for every folder under OUT holding a clean.json."""
    clean = _record_files()["clean"]
    return {doc_id: out_dir / doc_id for doc_id, _ in Workspace(out_dir).record_files({clean})}


def _stamp(folder: Path) -> str:
    parts = []
    for name in _record_files().values():
        try:
            parts.append(str(os.stat(folder / name).st_mtime_ns))
        except OSError:
            parts.append("-")
    return ":".join(parts)


def outlet(clean: dict[str, Any], doc_id: str) -> str:
    """The site an article comes from: the page's site name, else its URL's host, else the first folder of its id."""
    metadata = clean.get("metadata") or {}
    if isinstance(metadata.get("sitename"), str) and metadata["sitename"].strip():
        return metadata["sitename"].strip()
    url = clean.get("url")
    if isinstance(url, str) and url:
        host = urlsplit(url).hostname or ""
        if host:
            return host.removeprefix("www.")
    return doc_id.split("/")[0] if "/" in doc_id else ""


def _page_date(clean: dict[str, Any]) -> str | None:
    value = (clean.get("metadata") or {}).get("date")
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value[:10]
    return None


def _dateline(clean: dict[str, Any]) -> str | None:
    """The date of the page's own dateline ("Publié le 23 June 2025 à 09h51"), which the clean stage
    keeps among the blocks it removed."""
    lines = [block["text"] for block in clean.get("removed") or []
             if isinstance(block, dict) and block.get("reason") == "dateline" and isinstance(block.get("text"), str)]
    return date_in_text("", "\n".join(lines)) if lines else None


def article_from_records(doc_id: str, folder: Path) -> Article | None:
    clean = read_json_object(folder / _record_files()["clean"])
    if clean is None or clean.get("status") == "failed" or not (clean.get("text") or "").strip():
        return None
    detect = read_json_object(folder / _record_files()["detect"]) or {}
    translate = read_json_object(folder / _record_files()["translate"]) or {}
    summary = read_json_object(folder / _record_files()["summarize"]) or {}
    if summary.get("status") == "failed":
        summary = {}
    translated = bool(translate.get("translated")) and bool(translate.get("text"))
    language = detect.get("language") or translate.get("source_language") or summary.get("language") or "und"
    original_title = (clean.get("title") or "").strip()
    title = ((translate.get("title") if translated else None) or summary.get("title") or original_title).strip()
    text = translate["text"] if translated else clean["text"]
    if not title:  # a page without a headline: its first words stand in
        title = text_head(" ".join(text.split()), 90, (". ", " ")).rstrip(".") + "…"
    page_date = _page_date(clean)
    return Article(
        doc_id=doc_id, title=title, text=text, language=language, translated=translated,
        original_title=original_title, date=page_date,
        dated=page_date or _dateline(clean) or date_in_text(original_title, clean["text"]),
        source=outlet(clean, doc_id), url=clean.get("url"),
        summary=summary.get("summary") or "", key_points=list(summary.get("key_points") or []),
        summary_language=summary.get("language") or language, summary_method=summary.get("method"),
        summary_sentences=list(summary.get("sentences") or []),
        summary_provenance=list(summary.get("provenance") or []),
        content_hash=content_hash(clean["text"]))


def _info(article: Article, record: str) -> dict[str, Any]:
    """What stories.json and the digest show of a member."""
    summary_sources = {}
    for item in article.summary_provenance:
        if isinstance(item, dict) and item.get("kind") in ("summary", "key_point"):
            summary_sources[f"{item['kind']}:{item.get('index')}"] = [s.get("id") for s in item.get("sources") or []
                                                                     if isinstance(s, dict)]
    return {
        "title": article.title, "original_title": article.original_title, "language": article.language,
        "translated": article.translated, "source": article.source, "url": article.url, "date": article.date,
        "summary": article.summary, "key_points": article.key_points, "summary_language": article.summary_language,
        "summary_method": article.summary_method, "summary_sources": summary_sources, "record": record,
        "words": len(normalise(article.text).split()),
    }


def grouping_settings(config: StoriesConfig, backend: str | None) -> GroupingSettings:
    """The thresholds for the text similarity that runs: the sentence encoder's, or TF-IDF's."""
    threshold, weight = ((config.join_threshold, config.evidence_weight) if backend
                         else (config.tfidf_join_threshold, config.tfidf_evidence_weight))
    return GroupingSettings(join_threshold=threshold, evidence_weight=weight, max_key_share=config.max_key_share,
                            max_candidates=config.max_candidates, date_gap_days=config.date_gap_days)


def store_key(config: StoriesConfig, backend: str | None) -> str:
    """What made the stored vectors and copy signatures: ones made otherwise cannot be compared with new ones."""
    return (f"{backend} lead {config.embed_chars}" if backend else "none") + f"; {SIGNATURES}"


def prepare(articles: list[Article], config: StoriesConfig, backend: str | None,
            cached: dict[str, Any] | None = None, copies: set[str] | frozenset = frozenset()) -> None:
    """Evidence, words and embeddings of articles, in place. `cached` maps the hash of an embedded text
    to its vector (from the story store): those texts are not embedded again; nor are `copies`, the
    near copies that join their canonical copy's story without being compared with others."""
    prepare_keys(articles, config)
    if backend:
        prepare_vectors(articles, config, backend, cached, copies)


def prepare_keys(articles: list[Article], config: StoriesConfig) -> None:
    """Evidence keys of the whole text and words of the lead, in place."""
    for article in articles:
        article.evidence = evidence(article.title, article.text)
        article.words = text_words(article.title, article.text[:config.lead_chars])


def prepare_vectors(articles: list[Article], config: StoriesConfig, backend: str,
                    cached: dict[str, Any] | None = None, copies: set[str] | frozenset = frozenset()) -> None:
    """Embeddings of the headline and lead, in place (see `prepare`)."""
    cached = cached or {}
    todo = []
    for article in articles:
        if article.doc_id in copies:
            continue
        text = embedding_text(article.title, article.text, config.embed_chars)
        article.embedded = hashlib.sha1(text.encode("utf-8")).hexdigest()
        if article.embedded in cached:
            article.embedding = cached[article.embedded]
        else:
            todo.append((article, text))
    vectors = embed([text for _, text in todo], backend)
    if vectors is not None:
        for (article, _), vector in zip(todo, vectors, strict=True):
            article.embedding = vector


def build_stories(out_dir: str | os.PathLike, config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Group the articles of OUT into stories, remember them, write OUT/stories.json; returns its content.
    A story store that cannot be read, on opening or later, is moved aside and the stories grouped again."""
    root = Path(out_dir)
    settings = config.stories
    now = now or datetime.now(UTC)
    backend = embedding_backend(settings.embedding)
    store = StoryStore(root / STORE_PATH)
    try:
        try:
            members, nights, groups = _group_night(root, settings, backend, store, now)
        except sqlite3.DatabaseError as exc:
            if not damaged(exc):
                raise
            store.close()
            store.set_aside_damaged(exc)  # damage past what opening it reads
            members, nights, groups = _group_night(root, settings, backend, store, now)
        moved, reason = store.moved_aside, store.aside_reason
    finally:
        store.close()
    data = stories_document(members, nights, groups, backend, settings, now)
    if moved:
        data["report"]["store_rebuilt"] = (f"the story store was moved aside to {moved.name} because {reason}; "
                                           "the stories were grouped again from the records, and those of "
                                           "earlier nights show tonight as their first night")
    write_json_atomic(root / STORIES_FILE, data)
    return data


def _group_night(root: Path, settings: StoriesConfig, backend: str | None, store: StoryStore, now: datetime):
    """The members of every story after tonight's articles are placed, the stories' nights, the copy groups."""
    night = now.date().isoformat()
    members = store.members()
    model = store_key(settings, backend)
    if members and store.meta("embedding") != model:
        members = {}  # vectors from another model or of other text cannot be compared: start again
    folders = document_folders(root)
    for doc_id in [d for d in members if d not in folders]:
        del members[doc_id]
    open_since = None
    if settings.window_days:
        open_since = (date.fromisoformat(night) - timedelta(days=settings.window_days)).isoformat()
    loaded = bool(members)  # else every stored row is replaced
    index = store.load_index(grouping_settings(settings, backend), open_since) if loaded else \
        StoryIndex(grouping_settings(settings, backend))
    changed: set[str] = set()  # members to write back; the others are stored as they are
    for doc_id in [d for d in list(index.story_of) if d not in members]:
        index.remove(doc_id)

    fresh: list[Article] = []
    stamps: dict[str, tuple[str, str]] = {}
    for doc_id, folder in folders.items():
        stamp = _stamp(folder)
        known = members.get(doc_id)
        if known and known.stamp == stamp:
            continue
        article = article_from_records(doc_id, folder)
        if article is None:
            if known:
                index.remove(doc_id)
                del members[doc_id]
            continue
        record = f"{doc_id}/{_record_files()['summarize'] if article.summary else _record_files()['clean']}"
        if known and known.content_hash == article.content_hash and known.story_id in index.stories:
            # the summary changed, not the text: the story, its match and its vector stay
            kept = {k: known.info[k] for k in ("match", "embedded") if k in known.info}
            known.stamp, known.info = stamp, {**_info(article, record), **kept}
            changed.add(doc_id)
            continue
        fresh.append(article)
        stamps[doc_id] = (stamp, record)
    # near copies among the new articles and those of the open stories
    fresh_ids = {a.doc_id for a in fresh}
    pool = [CopyCandidate(a.doc_id, a.text, a.date) for a in fresh]
    for m in members.values():
        if m.story_id in index.stories and m.signature is not None and m.doc_id not in fresh_ids:
            pool.append(CopyCandidate(m.doc_id, "", m.info.get("date"), words=m.info.get("words", 0) or 1,
                                      hash=m.content_hash, signature=m.signature))
    groups = copy_groups(pool, settings.near_duplicate_threshold, settings.shingle_words, settings.num_perm)
    signatures = {c.doc_id: c.signature for c in pool}
    copies: dict[str, str] = {}
    for g in groups:
        placed = [d for d in g.members if d not in fresh_ids]
        anchor = g.canonical if g.canonical not in fresh_ids or not placed else placed[0]
        for d in g.members:
            if d in fresh_ids and d != anchor:
                copies[d] = anchor
    cached = {m.info["embedded"]: m.embedding for m in members.values()
              if m.embedding is not None and m.info.get("embedded")}
    prepare(fresh, settings, backend, cached, copies=set(copies))
    matches = group(fresh, index, night, copies)
    for article in fresh:
        stamp, record = stamps[article.doc_id]
        previous = members.get(article.doc_id)
        members[article.doc_id] = Member(
            doc_id=article.doc_id, story_id=index.story_of[article.doc_id],
            night=previous.night if previous else night, content_hash=article.content_hash, stamp=stamp,
            signature=signatures.get(article.doc_id), embedding=article.embedding,
            info={**_info(article, record), "match": matches.get(article.doc_id),
                  **({"embedded": article.embedded} if article.embedded else {})})
    changed |= fresh_ids
    for doc_id, m in members.items():  # members of closed stories keep the story they had
        if doc_id in index.story_of and m.story_id != index.story_of[doc_id]:
            m.story_id = index.story_of[doc_id]
            changed.add(doc_id)
    nights = store.story_nights()
    nights.update({s.story_id: (s.first_seen, s.last_seen) for s in index.stories.values()})
    store.save(index, members, model, changed=changed if loaded else None,
               counted=[a.evidence.keys() | a.words.keys() for a in fresh] if loaded else None)
    return members, nights, groups


# -- stories.json ---------------------------------------------------------------------------


def _similar(a: str, b: str) -> float:
    wa, wb = set(normalise(a).split()), set(normalise(b).split())
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def _split_summary(text: str) -> list[str]:
    from pipeline.text import split_sentences

    return [s for s in split_sentences(text) if s.strip()]


def _representative(docs: list[Member]) -> Member:
    """The member that speaks for the story: English (or translated) first, the best match, the fullest."""
    def rank(m: Member):
        info = m.info
        english = info.get("language") == "en" or info.get("translated")
        match = (info.get("match") or {}).get("score", 1.0)
        return (not english, not info.get("summary"), -match, -(info.get("words") or 0), m.doc_id)

    return min(docs, key=rank)


def _story_summary(docs: list[Member], lead: Member) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Summary sentences and key points from the members' summaries, the lead member's first, without repeats."""
    language = lead.info.get("summary_language") or "und"
    same_language = [lead] + [m for m in docs if m is not lead and m.info.get("summary")
                              and (m.info.get("summary_language") or "und") == language]
    chosen: list[dict[str, Any]] = []
    for m in same_language:
        for i, sentence in enumerate(_split_summary(m.info.get("summary") or "")):
            if len(chosen) >= SUMMARY_SENTENCES:
                break
            if any(_similar(sentence, c["text"]) >= 0.5 for c in chosen):
                continue
            sources = (m.info.get("summary_sources") or {}).get(f"summary:{i}", [])
            chosen.append({"text": sentence, "doc_id": m.doc_id, "summary_sentence": i, "source_sentences": sources})
        if m is lead and len(chosen) >= SUMMARY_SENTENCES - 1:
            break  # the lead's summary nearly fills it: others add only what is new
    points: list[dict[str, Any]] = []
    for m in same_language:
        for i, point in enumerate(m.info.get("key_points") or []):
            if len(points) >= STORY_KEY_POINTS:
                break
            if any(_similar(point, c["text"]) >= 0.5 for c in points + chosen):
                continue
            sources = (m.info.get("summary_sources") or {}).get(f"key_point:{i}", [])
            points.append({"text": point, "doc_id": m.doc_id, "key_point": i, "source_sentences": sources})
    summary = {"text": " ".join(c["text"] for c in chosen), "language": language,
               "method": lead.info.get("summary_method"), "sentences": chosen}
    return summary, points


def stories_document(members: dict[str, Member], nights: dict[str, tuple[str, str]], groups, backend: str | None,
                     settings: StoriesConfig, now: datetime) -> dict[str, Any]:
    by_story: dict[str, list[Member]] = {}
    for m in members.values():
        by_story.setdefault(m.story_id, []).append(m)
    copy_of = {}
    for g in groups:
        for d in g.members:
            if d != g.canonical:
                copy_of[d] = {"canonical": g.canonical, "kind": g.kind, "canonical_rule": g.canonical_rule,
                              "similarity": g.similarity.get(d)}
    stories = []
    for story_id, docs in by_story.items():
        docs.sort(key=lambda m: (m.info.get("date") or "", m.night, m.doc_id))
        lead = _representative(docs)
        summary, points = _story_summary(docs, lead)
        first, last = nights.get(story_id, (min(m.night for m in docs), max(m.night for m in docs)))
        sources = sorted({m.info["source"] for m in docs if m.info.get("source")})
        unnamed = sum(1 for m in docs if not m.info.get("source"))  # each counts as a source of its own
        stories.append({
            "story_id": story_id, "first_seen": first, "last_seen": last,
            "headline": {"text": lead.info.get("title") or lead.doc_id, "original": lead.info.get("original_title"),
                         "language": lead.info.get("language"), "translated": bool(lead.info.get("translated")),
                         "doc_id": lead.doc_id},
            "sources": sources,
            "source_count": len(sources) + unnamed,
            "languages": sorted({m.info.get("language") or "und" for m in docs}),
            "summary": summary,
            "key_points": points,
            "documents": [{
                "doc_id": m.doc_id, "title": m.info.get("title"), "original_title": m.info.get("original_title"),
                "language": m.info.get("language"), "translated": bool(m.info.get("translated")),
                "source": m.info.get("source") or None, "url": m.info.get("url"), "date": m.info.get("date"),
                "first_seen": m.night, "record": m.info.get("record"), "summary_language": m.info.get("summary_language"),
                "match": m.info.get("match"), "copy_of": copy_of.get(m.doc_id),
            } for m in docs],
        })
    stories.sort(key=lambda s: (s["headline"]["text"].lower(), s["story_id"]))
    stories.sort(key=lambda s: s["last_seen"], reverse=True)
    stories.sort(key=lambda s: (-s["source_count"], -len(s["documents"])))  # most sources first
    return {
        "schema_version": STORIES_SCHEMA_VERSION, "stage": "stories",
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "night": now.date().isoformat(),
        "report": {"embedding": backend, "documents": len(members), "stories": len(stories),
                   "copy_groups": len(groups), "settings": asdict(settings)},
        "stories": stories,
    }
