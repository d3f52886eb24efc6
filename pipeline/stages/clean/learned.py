"""A learned second opinion on the rules' decision, block by block (plain-text dumps).

The rules of `classify` measure each block and decide; this module describes every block by
those measurements, the rules' own decision and its context (neighbours, position in the page,
the shape of a run of link titles, punctuation, language match with the page) and lets a
small ensemble of gradient-boosted trees, trained on real pages (bench/train_clean_model.py),
say whether the block is article text.

The model is a JSON file of trees in pipeline/resources/clean/ (LightGBM's own dump,
trimmed): it is read lazily, once, and turned into plain Python comparisons, so inference
needs neither LightGBM nor the network and gives the same answer for the same input.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, _count_elements  # Counter's counting loop: C where CPython has it
from functools import cache
from importlib import resources
from itertools import accumulate, chain

from pipeline.deadline import paused
from pipeline.stages.clean.cues import REASONS, date_words
from pipeline.stages.clean.signals import UNSPACED_CHAR_WEIGHT

MODEL_FILE = "block_model.json"
MODEL_VERSION = 2

_CLASSES = {"good": 3, "near-good": 2, "short": 1, "bad": 0}
_REASON_IDS = {r: i for i, r in enumerate((*REASONS, "title", "duplicate_title", "author_bio"))}
_NUMBER = re.compile(r"\d+")
_MARKUP = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?>|&[a-z]+;")

FEATURES = (
    # the block itself
    "log_chars", "words", "stopword_density", "own_language_hits", "same_language", "language_lead",
    "ends_sentence", "heading_like", "bullet", "capitalised", "separators", "cue", "initial_class",
    "context_class", "in_main_text", "rule_reason", "rule_keeps", "commas_per_word", "numbers_per_word",
    "sentence_ends", "ends_colon", "ends_ellipsis", "starts_lowercase", "has_pipe", "has_at_or_copyright",
    "unspaced_share", "mean_word_chars", "repeats_on_page", "markup", "date_word_share",
    "words_in_kept_text", "words_in_title",
    # its place in the page
    "position", "chars_before_share", "kept_chars_before_share", "blocks_log", "page_kept_share",
    "distance_to_kept", "side_of_main_text", "after_comments_cue", "short_run",
    # neighbours: one and two blocks before and after
    "prev_log_chars", "prev_ends_sentence", "prev_rule_keeps", "prev_class",
    "next_log_chars", "next_ends_sentence", "next_rule_keeps", "next_class",
    "prev2_rule_keeps", "next2_rule_keeps", "window_kept_chars_log",
    # the shape of the page around it: link lists, teaser lists, galleries of captions
    "window_short_share", "window_sentence_share", "between_headings", "kept_run", "similar_run",
    "density_to_kept", "length_to_kept",
)


def _is_short_link(block) -> bool:
    return block.n_words <= 10 and not block.terminal


def _content_words(words_of: list[str]) -> list[str]:
    return [w for w in words_of if len(w) > 3]


def features(blocks, language: str | None, title: str = "", only: list[int] | None = None,
             used: frozenset[str] | None = None) -> list[list[float]]:
    """One row of FEATURES a block (or for the blocks at `only`); `blocks` are classify's
    blocks, decided by the rules. With `used` (the features a model's trees read), the
    costlier features no tree reads are left at 0.0.

    A block that shares its words with the rest of the kept text and with the headline is
    about the article's subject; a teaser or a reader's aside is about something else."""
    n = len(blocks)
    if not n:
        return []
    keeps = [b.reason is None for b in blocks]
    chars = [b.chars for b in blocks]
    total_chars = sum(chars) or 1
    kept_total = sum(c for c, k in zip(chars, keeps, strict=True) if k) or 1
    log_chars = [math.log1p(c) for c in chars]
    classes = [_CLASSES.get(b.context_class, 0) for b in blocks]
    # distance (in blocks) to the nearest block the rules keep
    distance = [float(n)] * n
    last = None
    for i in range(n):
        if keeps[i]:
            last = i
        if last is not None:
            distance[i] = i - last
    last = None
    for i in range(n - 1, -1, -1):
        if keeps[i]:
            last = i
        if last is not None and last - i < distance[i]:
            distance[i] = last - i
    kept_index = [i for i in range(n) if keeps[i]]
    first_kept = kept_index[0] if kept_index else n
    last_kept = kept_index[-1] if kept_index else -1
    # runs of short lines without a sentence end: menus and lists of linked titles
    short = [_is_short_link(b) for b in blocks]
    run = _runs(short)
    # prefix sums over the page: short link-like lines, sentences
    short_sum = [0, *accumulate(short)]
    sentence = [b.terminal and b.n_words >= 6 for b in blocks]
    sentence_sum = [0, *accumulate(sentence)]
    kept_run = _runs(keeps)  # the run of blocks the rules keep that this block sits in (0: removed)
    # runs of neighbours of about the same length and punctuation (captions, teasers, list items)
    terminal = [b.terminal for b in blocks]
    similar = [0] * n
    i = 0
    while i < n:
        j = i + 1
        while j < n and terminal[j] == terminal[i] and 0.5 <= (chars[j] + 1) / (chars[j - 1] + 1) <= 2:
            j += 1
        similar[i:j] = [j - i] * (j - i)
        i = j
    kept_blocks = [b for b, k in zip(blocks, keeps, strict=True) if k]
    kept_density = sum(b.stopword_density * b.chars for b in kept_blocks) / kept_total if kept_blocks else 0.0
    kept_lengths = sorted(b.chars for b in kept_blocks)
    kept_median = kept_lengths[len(kept_lengths) // 2] if kept_lengths else 0
    repeats = Counter(b.norm for b in blocks)
    wanted = set(range(n)) if only is None else set(only)
    # content words: of the kept blocks (the vocabulary) and of the blocks described
    numbers = used is None or "numbers_per_word" in used
    date_share = used is None or "date_word_share" in used
    split = {i: blocks[i].norm.split() for i in wanted} if date_share else {}
    content = {i: {w for w in (split[i] if i in split else blocks[i].norm.split()) if len(w) > 3}
               for i in range(n) if keeps[i] or i in wanted}  # as sets: only which words, not how often
    kept_vocabulary: dict[str, int] = {}  # word -> how many kept blocks use it
    _count_elements(kept_vocabulary, chain.from_iterable(content[i] for i in range(n) if keeps[i]))
    in_two = {w for w, c in kept_vocabulary.items() if c >= 2}  # used by another kept block than one's own
    in_one = {w for w, c in kept_vocabulary.items() if c == 1}
    title_words = set(_content_words(title.lower().split()))
    dates = date_words()
    rows = []
    window = [0.0] * (n + 1)  # prefix sums of kept chars
    for i in range(n):
        window[i + 1] = window[i] + (chars[i] if keeps[i] else 0)
    before = kept_before = 0
    comments_seen = 0.0
    log_n = math.log1p(n)
    page_kept_share = kept_total / total_chars
    for i, b in enumerate(blocks):
        if i not in wanted:
            before += chars[i]
            if keeps[i]:
                kept_before += chars[i]
            if b.cue == "comments" and kept_before > 0.5 * kept_total:
                comments_seen = 1.0
            continue
        text = b.text
        stripped = text.rstrip()
        words = b.n_words or 1
        unspaced = (b.chars - len(text)) / (UNSPACED_CHAR_WEIGHT - 1)  # block_length's weighting undone
        prev_i, next_i = i - 1, i + 1
        lo, hi = max(0, i - 3), min(n, i + 4)
        wide_lo, wide_hi = max(0, i - 5), min(n, i + 6)
        words_of = content[i]
        rows.append([
            log_chars[i], (b.n_words), b.stopword_density, (b.own_language_hits),
            (b.language is not None and b.language == language), min(b.language_lead, 10.0),
            (b.terminal), (b.heading_like), (b.bullet), b.capitalised, (b.separators),
            (_REASON_IDS.get(b.cue, -1)) if b.cue else -1.0, (_CLASSES.get(b.initial_class, 0)),
            (classes[i]), (b.in_main_text), (_REASON_IDS.get(b.reason, 30)) if b.reason else -1.0,
            (keeps[i]), text.count(",") / words, len(_NUMBER.findall(text)) / words if numbers else 0.0,
            (text.count(". ") + text.count("? ") + text.count("! ") + text.count("。")), (stripped.endswith(":")),
            (stripped.endswith(("...", "…"))), (text[:1].islower()), ("|" in text),
            ("@" in text or "©" in text), unspaced / max(1, len(text)), len(text) / words,
            (repeats[b.norm] - 1), ("<" in text and bool(_MARKUP.search(text))),
            sum(map(dates.__contains__, split[i])) / words if date_share else 0.0,
            _shared(words_of, in_two, in_one, keeps[i]), len(title_words.intersection(words_of)) / len(title_words)
            if title_words else -1.0,
            i / n, before / total_chars, kept_before / kept_total, log_n, page_kept_share,
            (distance[i]), -1.0 if i < first_kept else (1.0 if i > last_kept else 0.0), comments_seen,
            (run[i]),
            log_chars[prev_i] if prev_i >= 0 else -1.0, (blocks[prev_i].terminal) if prev_i >= 0 else -1.0,
            (keeps[prev_i]) if prev_i >= 0 else -1.0, (classes[prev_i]) if prev_i >= 0 else -1.0,
            log_chars[next_i] if next_i < n else -1.0, (blocks[next_i].terminal) if next_i < n else -1.0,
            (keeps[next_i]) if next_i < n else -1.0, (classes[next_i]) if next_i < n else -1.0,
            (keeps[i - 2]) if i >= 2 else -1.0, (keeps[i + 2]) if i + 2 < n else -1.0,
            math.log1p(window[hi] - window[lo] - (chars[i] if keeps[i] else 0)),
            (short_sum[wide_hi] - short_sum[wide_lo] - short[i]) / max(1, wide_hi - wide_lo - 1),
            (sentence_sum[hi] - sentence_sum[lo] - sentence[i]) / max(1, hi - lo - 1),
            (prev_i >= 0 and blocks[prev_i].heading_like and next_i < n and blocks[next_i].heading_like),
            kept_run[i], similar[i],
            b.stopword_density - kept_density if kept_blocks else -1.0,
            math.log((b.chars + 1) / (kept_median + 1)),
        ])
        before += chars[i]
        if keeps[i]:
            kept_before += chars[i]
        if b.cue == "comments" and kept_before > 0.5 * kept_total:
            comments_seen = 1.0
    return rows


def _runs(flags: list[bool]) -> list[int]:
    """For each position, the length of the run of true flags it sits in (0 where false)."""
    out = [0] * len(flags)
    i, n = 0, len(flags)
    while i < n:
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < n and flags[j]:
            j += 1
        out[i:j] = [j - i] * (j - i)
        i = j
    return out


def _shared(unique: set[str], in_two: set[str], in_one: set[str], kept: bool) -> float:
    """The share of a block's content words (a set) that other kept blocks use too."""
    if not unique:
        return -1.0
    shared = len(unique & in_two) + (0 if kept else len(unique & in_one))
    return shared / len(unique)


class Model:
    """Trees of a binary LightGBM model, compiled to one Python function of a feature row."""

    def __init__(self, data: dict):
        self.version = data["version"]
        self.remove_below = data["remove_below"]
        self.restore_above = data["restore_above"]
        self.restore_rule_above = data.get("restore_rule_above", 2.0)
        self.feature_names = data["features"]
        if tuple(self.feature_names) != FEATURES:
            raise ValueError("the clean model was trained on other features than this code computes")
        self.trees = data["trees"]
        self.bias = data.get("bias", 0.0)
        self.used = frozenset(self.feature_names[i] for i in _tree_features(self.trees))
        # The features as local variables: one unpacking, then plain comparisons.
        source = ["def score(x):", "    " + ", ".join(f"x{i}" for i in range(len(FEATURES))) + ", = x",
                  f"    s = {self.bias!r}"]
        for tree in self.trees:
            source.extend(_tree_source(tree, 1))
        source.append("    return s")
        namespace: dict = {}
        exec(compile("\n".join(source), "<clean model>", "exec"), namespace)  # noqa: S102 - our own trees
        self._score = namespace["score"]

    def probability(self, row: list[float]) -> float:
        return 1.0 / (1.0 + math.exp(-self._score(row)))

    def contributions(self, row: list[float]) -> dict[str, float]:
        """How much each feature moved this row's score (the path's value changes, per tree)."""
        found: dict[str, float] = {}
        for tree in self.trees:
            node = tree
            while "leaf" not in node:
                go_left = row[node["f"]] <= node["t"]
                child = node["l"] if go_left else node["r"]
                delta = _value(child) - node["v"]
                name = self.feature_names[node["f"]]
                found[name] = found.get(name, 0.0) + delta
                node = child
        return found


def _tree_features(trees: list[dict]) -> set[int]:
    """The features (by index) some tree's split reads."""
    found: set[int] = set()
    nodes = list(trees)
    while nodes:
        node = nodes.pop()
        if "leaf" not in node:
            found.add(node["f"])
            nodes.extend((node["l"], node["r"]))
    return found


def _value(node: dict) -> float:
    return node["leaf"] if "leaf" in node else node["v"]


def _tree_source(node: dict, depth: int) -> list[str]:
    pad = "    " * depth
    if "leaf" in node:
        return [f"{pad}s += {node['leaf']!r}"]
    return [f"{pad}if x{node['f']} <= {node['t']!r}:", *_tree_source(node["l"], depth + 1),
            f"{pad}else:", *_tree_source(node["r"], depth + 1)]


@cache
def model(name: str = MODEL_FILE) -> Model | None:
    """The shipped model, or None where it is missing (the rules decide alone then)."""
    path = resources.files("pipeline.resources").joinpath("clean", name)
    if not path.is_file():
        return None
    with paused():  # loaded once for every page: not the first page's time
        return Model(json.loads(path.read_text(encoding="utf-8")))


def _position_reason(i: int, first_kept: int | None, last_kept: int | None) -> str:
    if first_kept is None or i < first_kept:
        return "navigation"
    if i > last_kept:
        return "footer"
    return "boilerplate"


# The rules whose removals the model may overturn at `restore_above`: the page's regions,
# judged by position. Other removals (a cue phrase, a language, a related-links run, a
# comment thread) it overturns only at the higher `restore_rule_above`; a headline copy never.
POSITIONAL_RULES = frozenset({"after the main text", "before the headline", "no main text",
                              "under the headline, not prose"})
FINAL_REASONS = frozenset({"title", "duplicate_title"})


def threshold(block, model) -> float:
    """The probability at or above which the model keeps this block."""
    if block.reason is None:
        return model.remove_below
    if block.rule in POSITIONAL_RULES:
        return model.restore_above
    return 2.0 if block.reason in FINAL_REASONS else model.restore_rule_above


# HTML pages get no second opinion: trafilatura has chosen the main text from the DOM and
# the rules remove what it let through. Measured on the development split (bench/
# clean_html_tune.py with this model, bench/train_clean_model.py --html --cv-only for one
# trained on trafilatura's blocks): removing a block trafilatura kept helps at no threshold;
# restoring what the rules removed gains 0.002-0.003 F1 there, but only at thresholds that
# bring back cookie banners, FAQ blocks or "Read more" lines on the project's own pages;
# where those stay out the gain is 0.001.


def apply(decision, explain: bool = False) -> None:
    """Let the model decide every block but the headline; removed blocks get a reason and a rule
    that names the model and, with `explain`, its strongest features."""
    found = model()
    blocks = decision.blocks
    if found is None or not blocks:
        return
    # Only blocks whose decision the model may change are described and scored.
    limits = [threshold(b, found) for b in blocks]
    scored = [i for i, limit in enumerate(limits) if limit <= 1.0]
    rows = dict(zip(scored, features(blocks, decision.language, decision.title, only=scored, used=found.used),
                    strict=True))
    # The model overrides the rules only where it is sure (thresholds chosen by cross-validation).
    keep = [found.probability(rows[i]) >= limit if i in rows else False for i, limit in enumerate(limits)]
    if decision.title_index is not None:
        keep[decision.title_index] = False
    kept = [i for i, k in enumerate(keep) if k]
    first, last = (kept[0], kept[-1]) if kept else (None, None)
    for i, block in enumerate(blocks):
        if i == decision.title_index or i not in rows:
            continue
        if keep[i] and block.reason is not None:
            block.reason, block.rule = None, f"model keeps it (the rules said {block.reason})"
        elif not keep[i] and block.reason is None:
            block.reason = _position_reason(i, first, last)
            block.rule = "model"
            if explain:
                strongest = sorted(found.contributions(rows[i]).items(), key=lambda kv: kv[1])[:3]
                block.rule = "model: " + ", ".join(f"{name} {value:+.2f}" for name, value in strongest)
