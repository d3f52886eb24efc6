"""Deciding, block by block, what a reader would call the article.

The decision combines, in this order:
1. cue phrases (pipeline/resources/cues): widgets, prompts and labels are furniture;
2. the jusText idea: length and stopword density in the page's language make a block
   good (prose), near-good, short or bad, and short or near-good blocks take their class
   from their neighbours;
3. the main text: the run of blocks with the largest balance of prose over furniture
   (a maximum-sum span); blocks outside it are page furniture, apart from the headline
   zone's standfirst and subheadings;
4. structure: the headline and its repeats, the runs of titles and teasers after a
   "related" heading, FAQ blocks, author bios, and short blocks in another language than
   the article's (teasers of another site edition).
Every removed block gets a reason; `explain` keeps the signals behind each decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.stages.clean import signals as sig
from pipeline.stages.clean.cues import cue_reason, date_share, looks_like_date, section_words

# jusText's thresholds (Pomikálek 2011), which suit its stoplists, kept in pipeline/resources/stopwords.
LENGTH_LOW = 70
LENGTH_HIGH = 200
STOPWORDS_LOW = 0.30
STOPWORDS_HIGH = 0.32
# A page whose language has no stoplist is judged on length and punctuation alone.
MIN_PAGE_STOPWORD_DENSITY = 0.12
HEADLINE_MIN_WORDS = 4
HEADLINE_FULL_WORDS = 6  # a headline shorter than this is taken only when there is no longer one
# The headline is checked against the body's first TITLE_BODY_BLOCKS paragraphs: when under
# TITLE_FIRST_OVERLAP of the first heading-like line's words are there (a menu heading, a
# sign-in prompt), a later heading-like line with more of them, at least TITLE_MIN_OVERLAP, no
# sentence and at most TITLE_MAX_WORDS words long, is the headline. Chosen on the dev parts
# (bench/clean_eval.py, titles right, pages alone: gold dev 0.30 -> 0.42, sites dev 0.44 -> 0.75).
TITLE_BODY_BLOCKS = 6
TITLE_FIRST_OVERLAP = 0.3
TITLE_MIN_OVERLAP = 0.2
TITLE_MAX_WORDS = 20
HEADLINE_MAX_CHARS = 300
TEASER_MAX_CHARS = 700  # a block in another language longer than this is a quote, not a teaser
DATE_SHARE = 0.6

GOOD, NEAR_GOOD, SHORT, BAD = "good", "near-good", "short", "bad"
TRANSPARENT = "transparent"  # in the context pass only: a label the neighbours look through


@dataclass(slots=True)
class Block:
    text: str
    chars: int = 0
    n_words: int = 0
    stopword_density: float = 0.0
    language: str | None = None
    language_lead: float = 0.0
    own_language_hits: int = 0
    best_language_hits: int = 0
    terminal: bool = False
    heading_like: bool = False
    bullet: bool = False
    capitalised: float = 0.0
    separators: int = 0
    cue: str | None = None
    initial_class: str = BAD
    context_class: str = BAD
    in_main_text: bool = False
    reason: str | None = None  # None: kept as article
    rule: str = ""  # which rule decided, for --explain
    norm: str = ""  # lower-case words joined by spaces: compared with the headline
    profile: dict[str, int] = field(default_factory=dict)  # stopword hits per language

    def signals(self) -> dict:
        return {"chars": self.chars, "words": self.n_words, "stopword_density": round(self.stopword_density, 3),
                "language": self.language, "language_lead": round(self.language_lead, 2),
                "ends_sentence": self.terminal, "heading_like": self.heading_like, "bullet": self.bullet,
                "capitalised": round(self.capitalised, 2), "separators": self.separators, "cue": self.cue,
                "class": self.initial_class, "class_in_context": self.context_class,
                "in_main_text": self.in_main_text}


@dataclass
class Decision:
    title: str
    blocks: list[Block]
    language: str | None
    title_index: int | None


def _measure(text: str) -> Block:
    raw = sig.raw_words(text)
    unspaced = sig.unspaced_chars(text)
    block = Block(text=text, chars=sig.block_length(text, unspaced), n_words=sig.word_count(raw, unspaced))
    # Lower-casing the joined words lower-cases each word: the only context str.lower reads
    # (a final sigma) never reaches across the space between two words.
    block.norm = " ".join(raw).lower()
    tokens = block.norm.split(" ") if raw else []
    block.terminal = sig.ends_sentence(text)
    block.bullet = sig.is_bullet(text)
    block.heading_like = (not block.terminal or sig.is_question(text)) and len(text) <= 200 and not block.bullet
    block.capitalised = sig.capitalised_share(raw)
    block.separators = sig.separator_count(text)
    block.cue = cue_reason(text, block.n_words, tokens)
    block.profile = sig.stopword_profile(tokens)
    # (date_share is 0 over 120 characters: no date line is longer)
    if block.cue is None and block.n_words <= 14 and len(text) <= 120 and date_share(text) >= DATE_SHARE \
            and looks_like_date(text):
        block.cue = "date_widget" if block.n_words <= 6 and not block.terminal else "dateline"
    return block


def page_language(blocks: list[Block]) -> str | None:
    """The language whose stopwords the page's prose uses most (short lines left out)."""
    total: dict[str, int] = {}  # languages in the order they first occur
    add = total.get
    for block in blocks:
        if block.n_words >= 8 and block.cue is None:
            for language, hits in block.profile.items():
                total[language] = add(language, 0) + hits
    language, _ = sig.guess_language(total)
    return language


# Under this share of stopwords (in its best language among the shared stoplists) a page is
# in a language those lists lack: on the development split the Slavic, Baltic and CJK pages
# are under 0.20, every page in a language of the shared lists but two odd ones over 0.24,
# and the project's own pages over 0.42.
SHARED_STOPLIST_DENSITY = 0.22


def _page_density(blocks: list[Block], language: str | None) -> float:
    """The share of the page's words (cue lines left out) that are stopwords of `language`."""
    if not language:
        return 0.0
    words = hits = 0
    for block in blocks:
        if block.cue is None:
            words += block.n_words
            hits += block.profile.get(language, 0)
    return hits / words if words else 0.0


def _densities(blocks: list[Block], language: str | None) -> bool:
    """Fill in stopword density and each block's own language; False when the page's
    language has no stoplist worth the name (densities then say nothing)."""
    words_total = hits_total = 0
    for block in blocks:
        profile = block.profile
        hits = profile.get(language, 0) if language else 0
        block.stopword_density = hits / block.n_words if block.n_words else 0.0
        block.language, block.language_lead = sig.guess_language(profile)
        block.own_language_hits = hits
        block.best_language_hits = profile[block.language] if block.language else 0
        if block.cue is None:
            words_total += block.n_words
            hits_total += hits
    return bool(words_total) and hits_total / words_total >= MIN_PAGE_STOPWORD_DENSITY


def _is_foreign(block: Block, language: str | None) -> bool:
    """A short block whose stopwords point clearly to another language than the article's."""
    if not language or block.language in (None, language) or block.chars > TEASER_MAX_CHARS:
        return False
    if language == "ja" and block.language == "zh":
        return False  # Japanese is written with Chinese characters too: a line of kanji is no other language
    return block.n_words >= 5 and block.best_language_hits >= sig.FOREIGN_RATIO * max(1, block.own_language_hits)


def _initial_class(block: Block, has_stoplist: bool, scale: float = 1.0) -> str:
    if block.cue:
        return BAD
    if block.chars < LENGTH_LOW * scale:
        return SHORT
    if not has_stoplist:
        if block.terminal:
            return GOOD if block.chars >= LENGTH_HIGH * scale else NEAR_GOOD
        return SHORT if block.heading_like else BAD
    if block.stopword_density >= STOPWORDS_HIGH:
        return GOOD if block.chars >= LENGTH_HIGH * scale else NEAR_GOOD
    if block.stopword_density >= STOPWORDS_LOW:
        return NEAR_GOOD
    return BAD


def _nearest(classes: list[str], ignore: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """For every block, the class of the nearest block before and after it whose class is not
    in `ignore` (the page's edges count as furniture): two sweeps, linear in the blocks."""
    before, after = [BAD] * len(classes), [BAD] * len(classes)
    last = BAD
    for i, cls in enumerate(classes):
        before[i] = last
        if cls not in ignore:
            last = cls
    last = BAD
    for i in range(len(classes) - 1, -1, -1):
        after[i] = last
        if classes[i] not in ignore:
            last = classes[i]
    return before, after


# Labels that sit inside a story (an ad slot, a caption, share buttons) say nothing about
# whether their neighbours are article: the context pass looks through them.
TRANSPARENT_CUES = ("advertisement", "caption", "share", "dateline", "date_widget", "byline")


def _is_inline_link(block: Block) -> bool:
    """"Read also: <title>" inside a story: furniture, but its neighbours are still story."""
    if block.cue != "recommendations":
        return False  # most blocks: no need to cut the text
    head, colon, rest = block.text.partition(":")
    return bool(colon) and len(rest.strip()) > 10 and len(head) < 40


def _revise_in_context(blocks: list[Block]) -> None:
    """jusText's context pass: short and near-good blocks take their neighbours' class."""
    classes = [TRANSPARENT if b.cue in TRANSPARENT_CUES or _is_inline_link(b) else b.initial_class
               for b in blocks]
    revised = list(classes)
    strict_before, strict_after = _nearest(classes, (SHORT, NEAR_GOOD, TRANSPARENT))
    loose_before, loose_after = _nearest(classes, (SHORT, TRANSPARENT))
    for i, cls in enumerate(classes):
        if cls != SHORT:
            continue
        if strict_before[i] == strict_after[i]:
            revised[i] = strict_before[i]
        elif GOOD in (loose_before[i], loose_after[i]):
            revised[i] = NEAR_GOOD
        else:
            revised[i] = BAD
    classes = list(revised)
    strict_before, strict_after = _nearest(classes, (SHORT, NEAR_GOOD, TRANSPARENT))
    for i, cls in enumerate(classes):
        if cls == NEAR_GOOD:
            revised[i] = BAD if strict_before[i] == BAD and strict_after[i] == BAD else GOOD
    for block, cls in zip(blocks, revised, strict=True):
        block.context_class = BAD if block.cue or cls == TRANSPARENT else cls


def _span_score(block: Block) -> float:
    if block.cue or block.reason:
        return -max(40.0, 0.5 * block.chars)
    cls = block.context_class
    if block.initial_class == SHORT:
        # Too short to weigh anything alone: inside the story when prose surrounds it,
        # never the reason the story extends (a run of titles after it).
        return -5.0
    if cls == GOOD:
        return float(block.chars)
    if cls == NEAR_GOOD:
        return 0.3 * block.chars
    return -max(10.0, 0.5 * block.chars)


def main_text_span(blocks: list[Block]) -> tuple[int, int] | None:
    """The run of blocks with the largest sum of prose minus furniture (Kadane)."""
    best_sum, best = 0.0, None
    running, start = 0.0, 0
    for i, block in enumerate(blocks):
        score = _span_score(block)
        if running <= 0:
            running, start = score, i
        else:
            running += score
        if running > best_sum:
            best_sum, best = running, (start, i)
    return best


def _norm(text: str) -> str:
    return " ".join(sig.words(text))


def _block_norm(block: Block) -> str:
    return block.norm


def _is_name_line(block: Block) -> bool:
    """A byline or a credit: a few capitalised words and no stopwords ("Lucía Ferrer Benlloch")."""
    return (block.n_words <= 6 and block.capitalised >= 0.99 and block.stopword_density == 0
            and not block.terminal)


def _is_menu_line(block: Block) -> bool:
    """Words without punctuation that are section names ("Politics Sport Culture") or all
    capitalised without a single stopword: a menu, not a headline."""
    if block.n_words < 3 or any(mark in block.text for mark in ",:;.!?«“\"'"):
        return False
    sections = sum(1 for word in block.norm.split() if word in section_words())
    return sections >= 2 or (block.capitalised >= 0.99 and block.stopword_density == 0)


def _headline_candidate(block: Block) -> bool:
    return (block.cue is None and block.reason is None and block.heading_like
            and HEADLINE_MIN_WORDS <= block.n_words and block.chars <= HEADLINE_MAX_CHARS
            and not _is_menu_line(block) and block.separators <= 1 and not block.text.endswith(("...", "…")))


def choose_title(blocks: list[Block], before: int, skip: frozenset[int] = frozenset()) -> int | None:
    """The headline: the first heading-like line before the body; its longer repeat wins
    when the page shows a short form first. When it shares few of its words with the body's
    first paragraphs (a headline tells what the article tells; a menu heading or a sign-in
    line does not), another heading-like line above the body that shares more is it, if no
    prose stands between the two (what stands above the headline goes). `skip`: blocks that
    cannot be it (site-template lines)."""
    candidates = [i for i in range(before) if i not in skip and _headline_candidate(blocks[i])]
    if not candidates:
        return None
    # A site's name ("Il Corriere del Tirreno") is heading-like too, but shorter than headlines.
    full = [i for i in candidates if blocks[i].n_words >= HEADLINE_FULL_WORDS]
    best = _longer_repeat(blocks, candidates, full[0] if full else candidates[0])
    first_paragraphs = []
    for block in blocks[before:]:
        if block.initial_class == GOOD:
            first_paragraphs.append(block.text)
            if len(first_paragraphs) >= TITLE_BODY_BLOCKS:
                break
    body = "\n".join(first_paragraphs).lower()
    if body:
        def overlap(i: int) -> float:  # a word "in" the body: inside one of its words too (plant, planted)
            words = sig.long_words(blocks[i].text, 4, sig.stopword_index())
            return sum(1 for w in words if w in body) / len(words) if words else 0.0

        best_norm = _block_norm(blocks[best])
        # not the first one's short form, not a sentence (a standfirst, a paragraph glued to a
        # label), and no prose between the two
        prose_after = [i for i in range(best + 1, before) if blocks[i].initial_class in (GOOD, NEAR_GOOD)]
        last = prose_after[0] if prose_after else before
        others = [i for i in candidates if i < last and not best_norm.startswith(_block_norm(blocks[i]))
                  and not blocks[i].terminal and blocks[i].n_words <= TITLE_MAX_WORDS]
        first = overlap(best)
        if first < TITLE_FIRST_OVERLAP and others:
            shares = {i: overlap(i) for i in others}
            found = max(others, key=lambda i: (shares[i], i))
            if shares[found] >= TITLE_MIN_OVERLAP and shares[found] > first:
                best = _longer_repeat(blocks, candidates, found)
    return best


def _longer_repeat(blocks: list[Block], candidates: list[int], best: int) -> int:
    """A later candidate that repeats the headline at greater length ("Short form" then "Short
    form: the whole headline") is the headline."""
    best_norm = _block_norm(blocks[best])
    for i in candidates:
        norm = _block_norm(blocks[i])
        if i > best and norm.startswith(best_norm) and len(norm) > len(best_norm):
            best, best_norm = i, norm
    return best


def _find_known_title(blocks: list[Block], known_title: str) -> int | None:
    """The block that is the page's headline as its metadata gives it: the same words, or a
    fuller form of them (metadata titles are often shortened or carry the site's name)."""
    known = _norm(known_title)
    known_words = set(known.split())
    for i, block in enumerate(blocks[:12]):
        norm = _block_norm(block)
        if norm == known:
            return i
        if not block.heading_like or not known_words or block.cue:
            continue
        words = set(block.norm.split())
        if len(known_words & words) >= 0.8 * len(known_words) and len(words) <= 2 * len(known_words):
            return i
    return None


def _is_title_copy(block: Block, title_norm: str) -> bool:
    if block.chars > 3 * len(title_norm) + 40:
        return False
    norm = _block_norm(block)
    if not norm or len(norm) < 12:
        return False
    if norm == title_norm:
        return True
    if title_norm.startswith(norm) and block.heading_like:
        return True  # a shortened headline
    # a breadcrumb or teaser ending with the headline cut short: "sectionHeadline words..."
    stem = norm.rstrip(". ")
    return block.text.rstrip().endswith(("...", "…")) and len(stem) > 30 and title_norm[:40] in stem


def _mark(block: Block, reason: str, rule: str) -> None:
    if block.reason is None:
        block.reason, block.rule = reason, rule


# A page that lost its line breaks is judged sentence by sentence: shorter blocks than
# paragraphs, so the length thresholds shrink with them.
SENTENCE_LENGTH_SCALE = 0.5


def classify(texts: list[str], *, from_extractor: bool = False, known_title: str = "",
             known_author: str = "", sentences: bool = False,
             template_lines: frozenset[str] = frozenset()) -> Decision:
    """Decide the title and which blocks are furniture.

    `sentences`: the blocks are sentences of a page without line breaks, not paragraphs.

    `template_lines`: fingerprints (pipeline.stages.clean.templates) of the page's lines that
    stand on pages of other stories of the run: none of them is the headline.

    `from_extractor`: the blocks come from an HTML main-content extractor, which has already
    cut the page down to its main text; only furniture that it lets through is removed then.
    """
    blocks = [_measure(t) for t in texts]
    language = page_language(blocks)
    if _page_density(blocks, language) < SHARED_STOPLIST_DENSITY:
        # The shared stoplists do not know the page's language: clean's own lists are
        # consulted (39 more languages; only here, as they cost every block ~100 hits). In
        # Chinese and Japanese, whose lists are characters, each character is counted.
        for block in blocks:
            block.profile = sig.stopword_profile(sig.profile_tokens(block.norm), extended=True)
        language = page_language(blocks)
    has_stoplist = _densities(blocks, language)
    for block in blocks:
        if block.cue is None and _is_foreign(block, language):
            block.cue = "related_links"
            block.rule = f"language {block.language} under a {language} article"
        block.initial_class = _initial_class(block, has_stoplist, SENTENCE_LENGTH_SCALE if sentences else 1.0)
    if not any(b.initial_class == GOOD for b in blocks):
        # A short story has no paragraph long enough to be sure of: its best prose is the article.
        for block in blocks:
            if block.initial_class == NEAR_GOOD:
                block.initial_class = GOOD
    _revise_in_context(blocks)

    for block in blocks:
        if block.cue:
            _mark(block, block.cue, block.rule or "cue phrase")

    # The headline, looked for before the first prose block.
    # (In a page without line breaks, prose ends with a full stop: a long piece that does not
    # is a headline glued to its standfirst.)
    first_prose = next((i for i, b in enumerate(blocks) if b.initial_class == GOOD and (b.terminal or not sentences)),
                       None)
    if first_prose is None:
        first_prose = next((i for i, b in enumerate(blocks) if b.initial_class == NEAR_GOOD), len(blocks))
    title_index = None
    if known_title:
        title_index = _find_known_title(blocks, known_title)
    if title_index is None and not (from_extractor and known_title):
        skip = frozenset()
        if template_lines:
            from pipeline.stages.clean.templates import fingerprint

            skip = frozenset(i for i, b in enumerate(blocks[:first_prose]) if fingerprint(b.text) in template_lines)
        title_index = choose_title(blocks, first_prose, skip)
    title = blocks[title_index].text if title_index is not None else known_title
    if title_index is not None:
        blocks[title_index].reason, blocks[title_index].rule = "title", "headline"
    if title:
        title_norm = _norm(title)
        longest_copy = 3 * len(title_norm) + 40  # _is_title_copy's first test, before the call
        for i, block in enumerate(blocks):
            if i != title_index and block.chars <= longest_copy and _is_title_copy(block, title_norm):
                _mark(block, "duplicate_title", "repeats the headline")

    _mark_related_runs(blocks, from_extractor)
    _mark_faq(blocks)
    _mark_comment_section(blocks)

    span = (0, len(blocks) - 1) if from_extractor else main_text_span(blocks)
    if span is None:
        # No run of prose stands out: a short page. Its sentence-like blocks are the article
        # (a two-paragraph brief is news too); the rest is furniture.
        for block in blocks:
            if block.reason is None and _is_short_page_prose(block):
                block.rule = "short page: a sentence-like block"
            else:
                _mark(block, "navigation", "no main text")
        return Decision(title, blocks, language, title_index)
    start, end = span
    end = _extend_tail(blocks, end, language)
    first_prose = next((i for i in range(start, end + 1) if blocks[i].initial_class == GOOD), start)
    for i in range(start, end + 1):
        blocks[i].in_main_text = True
        if i < first_prose and _is_name_line(blocks[i]):
            _mark(blocks[i], "byline", "names only, above the first paragraph")

    _mark_author_bio(blocks, title_index, known_author)
    previous_reason = None
    for i, block in enumerate(blocks):
        if not (block.in_main_text or block.reason):
            if i < start:
                _judge_head(blocks, i, title_index)
            else:
                _mark(block, _tail_reason(block, previous_reason), "after the main text")
        previous_reason = block.reason or previous_reason
    return Decision(title, blocks, language, title_index)


def _is_short_page_prose(block: Block) -> bool:
    return (block.cue is None and block.terminal and not block.bullet and block.n_words >= 6
            and block.stopword_density >= 0.15)


def _judge_head(blocks: list[Block], i: int, title_index: int | None) -> None:
    """Before the main text: after the headline, standfirst and subheadings stay; the rest
    (kickers, bylines, dates, captions) goes."""
    block = blocks[i]
    if title_index is None or i < title_index:
        if block.separators >= 2 or "›" in block.text or "»" in block.text:
            _mark(block, "breadcrumb", "before the headline")
        elif block.n_words <= 3 and i + 1 < len(blocks) and i + 1 == title_index:
            _mark(block, "category", "kicker above the headline")
        else:
            _mark(block, "navigation", "before the headline")
        return
    if _is_name_line(block):
        _mark(block, "byline", "names only, under the headline")
        return
    prose_like = (block.n_words >= HEADLINE_MIN_WORDS and block.stopword_density > 0
                  and block.separators <= 1 and not _is_menu_line(block))
    if prose_like:
        block.rule = "standfirst or subheading under the headline"
        return
    _mark(block, "byline", "under the headline, not prose")


def _extend_tail(blocks: list[Block], end: int, language: str | None) -> int:
    """The main text goes on over list items and short sentences that follow it directly."""
    j = end + 1
    while j < len(blocks):
        block = blocks[j]
        if block.reason or block.cue:
            break
        sentence = block.terminal and block.n_words >= 4 and block.stopword_density >= STOPWORDS_LOW / 2
        if not (block.bullet or sentence):
            break
        j += 1
    return j - 1


def _mark_related_runs(blocks: list[Block], from_extractor: bool = False) -> None:
    """After a "related" heading, the titles and teasers that follow are a list of links."""
    for i, block in enumerate(blocks):
        if block.reason != "recommendations" or block.chars > 80 or _is_inline_link(block):
            continue
        for j in range(i + 1, len(blocks)):
            other = blocks[j]
            if other.reason and other.reason not in ("recommendations", "related_links", "duplicate_title"):
                break
            if _story_goes_on(other):
                break  # the heading was an inline widget inside the story
            following = blocks[j + 1] if j + 1 < len(blocks) else None
            if from_extractor and j == i + 1 and other.heading_like and following is not None \
                    and _story_goes_on(following) and following.chars >= 150:
                # The extractor drops link lists, so a widget heading it lets through is
                # empty: the heading-like line after it is the story's next subheading.
                break
            _mark(other, "related_links", "listed under a related-articles heading")


def _story_goes_on(block: Block) -> bool:
    """A sentence of the story (not a linked title, which has no full stop, nor a teaser)."""
    ends = block.terminal and not sig.is_question(block.text) or block.text.rstrip().endswith(":")
    return (ends and block.n_words >= 6 and block.stopword_density >= STOPWORDS_LOW * 0.8
            and not sig.starts_lowercase(block.text)) or block.initial_class == GOOD and block.terminal


COMMENTS_AFTER_SHARE = 0.6  # a comments heading after this share of the prose starts the comment section


def _mark_comment_section(blocks: list[Block]) -> None:
    """Readers' comments under a comments heading are prose, but not the article."""
    prose = [b.chars if b.initial_class == GOOD and not b.reason else 0 for b in blocks]
    total = sum(prose)
    if not total:
        return
    seen = 0
    for i, block in enumerate(blocks):
        seen += prose[i]
        if block.reason == "comments" and seen >= COMMENTS_AFTER_SHARE * total:
            for other in blocks[i + 1:]:
                _mark(other, "comments", "under the comments heading")
            return


def _mark_faq(blocks: list[Block]) -> None:
    """An SEO FAQ: questions, each followed by its answer, under an FAQ heading."""
    for i, block in enumerate(blocks):
        if block.reason != "seo_faq":
            continue
        previous_was_question = False
        for other in blocks[i + 1:]:
            question = sig.is_question(other.text) and other.chars <= 200
            if not (question or previous_was_question) or (other.reason and other.reason != "seo_faq"):
                break
            _mark(other, "seo_faq", "question or answer under an FAQ heading")
            previous_was_question = question


def _byline_names(blocks: list[Block], title_index: int | None) -> list[str]:
    names = []
    stop = (title_index or 0) + 12
    for block in blocks[:stop]:
        if block.reason == "byline" or _is_name_line(block):
            parts = sig.raw_words(block.text)
            if parts and parts[0].lower() in sig.stopword_index():
                parts = parts[1:]  # "By", "Par", "Von": the byline's lead word, not a name
            capitalised = [p for p in parts if p[:1].isupper()]
            if len(capitalised) >= 2:
                names.append(" ".join(capitalised[:2]))
    return names


def _mark_author_bio(blocks: list[Block], title_index: int | None, known_author: str = "") -> None:
    """A paragraph at the end that starts with the byline's name is the author's bio."""
    names = _byline_names(blocks, title_index)
    if known_author:
        names.extend(name.strip() for name in known_author.split(";") if len(name.strip()) > 3)
    if not names:
        return
    kept = [i for i, b in enumerate(blocks) if b.in_main_text and not b.reason]
    for i in kept[-3:]:
        text = blocks[i].text
        if any(text.startswith(name) for name in names) and i > len(blocks) // 2:
            _mark(blocks[i], "author_bio", "starts with the byline's name, after the story")


def _tail_reason(block: Block, previous_reason: str | None) -> str:
    if previous_reason in ("recommendations", "related_links"):
        return "related_links"
    if block.heading_like and block.n_words >= 4 and block.separators <= 1:
        return "related_links"  # a title-like line after the story: another article's title
    return "footer"
