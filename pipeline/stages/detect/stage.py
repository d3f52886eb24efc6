"""detect: the language of the document and of each paragraph.

Every paragraph is scored by the configured backend (`detect.backend`): a probability
for each candidate language. The document language is the weight of that evidence across
paragraphs (letters times probability, summed), not one call on the concatenated text, so
a paragraph that a detector mistakes for a neighbour language cannot flip the document.

Each paragraph's language is then its own evidence weighed against the page's: the
paragraph's probabilities (flattened when it has few letters) times the page's shares
(raised to `detect.page_weight`). A long paragraph in another language keeps its language
(a French teaser under an English article stays French); a short one whose evidence is
thin leans to the page's language instead of a wild guess, and its confidence says how
thin the evidence was. Text with no letters (numbers, dates, URLs, emoji) is `und`.

What the page declares (`--declared-lang`, HTML `lang`/`og:locale`) is recorded beside the
result and the record says when the two disagree. It never decides the document; it takes
a share (`detect.declared_weight`) of the pull on weak paragraphs when some of the page is
in that language, since furniture left on a page (breadcrumbs, "read also" teasers) is in
the site's language even when the article is not.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pipeline.models.loading import newsum_home
from pipeline.records import CleanRecord, DetectRecord
from pipeline.stages.base import Stage, StageContext
from pipeline.stages.detect.langid import UNDETERMINED, Backend, make_backend, normalise_code
from pipeline.text import head, split_paragraphs

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# Addresses and handles carry letters but no language; they are not evidence.
# Tokens with digits (10h30, 3G, 2025) are times, units and codes, not words.
_NOT_LANGUAGE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#]\w+|\w*\d\w*", re.UNICODE)
_DECLARED = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]+)*$")
MIXED_MIN_SHARE = 0.1  # a second language must hold this share of the letters to call the page mixed
PRIOR_FLOOR = 0.01  # a language absent from the rest of the page is unlikely, not impossible
CONTEXT_MIN_SHARE = 0.1  # a language with this share of fastText's first look at a page is one of its languages
CONTEXT_LANGUAGES = 3  # ...and at most this many
# The declaration pulls only where the page shows some text in that language: a wrong tag
# on a page with no furniture left pulls nothing.
DECLARED_MIN_SHARE = 0.02
SCORE_FLOOR = 0.01  # a page language the detector did not name for a paragraph: unlikely, not impossible


def language_text(text: str) -> str:
    """The text with URLs, e-mail addresses and handles taken out: what carries language."""
    return _NOT_LANGUAGE.sub(" ", text)


def letters(text: str) -> int:
    return len(_LETTER.findall(language_text(text)))


def declared_code(value: str | None) -> str | None:
    """A declared language as a record code: 'fr-FR', 'fr_fr' → 'fr'; anything else → None."""
    if not value:
        return None
    match = _DECLARED.match(value.strip())
    return normalise_code(match.group(1)) if match else None


def sample(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space: a few sentences decide as well as a page."""
    return head(text, limit, (" ",))


class DetectStage(Stage):
    """CleanRecords in, DetectRecords out."""

    name = "detect"
    record = DetectRecord
    consumes = "clean"
    section = "detect"
    options = ("workers", "declared_lang")
    per_document = True

    def __init__(self, context: StageContext, models=None):
        super().__init__(context, models)
        config = self.config = context.config.detect
        self.backend: Backend = make_backend(config.backend, config.seed, config.ensemble(),
                                             lingua_cache=str(newsum_home(context.config) / "lingua"))
        self.declared_override = context.declared_language

    @classmethod
    def settings(cls, context: StageContext) -> dict:
        from pipeline.resources import digest

        return {"declared_language": context.declared_language, "resources": digest("langid", "stopwords")}

    def preload(self) -> None:
        """Load fastText's model now (the local engine calls it before forking, so its workers share it)."""
        getattr(getattr(self.backend, "fast", self.backend), "model", None)

    def __call__(self, batch: list[CleanRecord]) -> list[DetectRecord]:
        return [self.detect(record) for record in batch]

    def _score_all(self, texts: list[str], n_letters: list[int], declared: str | None) -> list[dict[str, float]]:
        """Scores of the examined paragraphs.

        The ensemble first takes fastText's cheap look at every paragraph; the page's main
        languages from that look, and the declared one, then join every paragraph's
        candidates, so lingua weighs a short Norwegian teaser against Danish on a Danish
        page even where fastText's own list for it left Danish out.
        """
        if not hasattr(self.backend, "first_opinion"):
            return [dict(self.backend.scores(text)) for text in texts]
        firsts = [self.backend.first_opinion(text) for text in texts]
        page: dict[str, float] = defaultdict(float)
        for scores, n in zip(firsts, n_letters, strict=True):
            for lang, prob in scores:
                page[lang] += min(n, self.config.paragraph_chars) * prob
        total = sum(page.values()) or 1.0
        context = [lang for lang, w in sorted(page.items(), key=lambda kv: (-kv[1], kv[0]))
                   if w / total >= CONTEXT_MIN_SHARE][:CONTEXT_LANGUAGES]
        if declared and declared != UNDETERMINED and declared not in context:
            context.append(declared)
        return [dict(self.backend.scores(text, letters=n, context=context, first=first))
                for text, n, first in zip(texts, n_letters, firsts, strict=True)]

    def detect(self, clean: CleanRecord) -> DetectRecord:
        """One document's languages."""
        config = self.config
        paragraphs = split_paragraphs(clean.text)
        record = DetectRecord(doc_id=clean.doc_id, title=clean.title, text=clean.text)
        record.declared_language = declared_code(self.declared_override or clean.declared_language)

        evidence: list = []  # per paragraph: its sample, then its scores; None: not examined
        counts: list[int] = []
        basis: list[str] = []
        budget = config.sample_chars
        for paragraph in paragraphs:
            n_letters = letters(paragraph)
            counts.append(n_letters)
            if n_letters == 0:
                evidence.append(None)
                basis.append("no_letters")
            elif budget <= 0:
                evidence.append(None)
                basis.append("beyond_sample")
            else:
                text = sample(language_text(paragraph), config.paragraph_chars)
                budget -= len(text)
                evidence.append(text)  # scored below, all together
                basis.append("short" if n_letters < config.min_chars else "detected")
        consulted_before = getattr(self.backend, "consulted", 0)
        examined = [i for i, item in enumerate(evidence) if item is not None]
        scored = self._score_all([evidence[i] for i in examined], [counts[i] for i in examined],
                                 record.declared_language)
        for i, scores in zip(examined, scored, strict=True):
            evidence[i] = scores

        # The document: every examined paragraph votes with its probabilities, weighted by
        # its letters (capped: one huge paragraph is not worth more than its sample).
        weights: dict[str, float] = defaultdict(float)
        for scores, n_letters in zip(evidence, counts, strict=True):
            for lang, prob in (scores or {}).items():
                weights[lang] += min(n_letters, config.paragraph_chars) * prob
        total = sum(weights.values())
        if total:
            language = max(sorted(weights), key=weights.get)
            record.language = language
            record.confidence = round(weights[language] / total, 4)
        # What each paragraph is weighed against: the page's languages and, a little, the
        # language the site declares when some of the page is in it. Page furniture that
        # survives cleaning (breadcrumbs, "read also" teasers) is in the site's language
        # even when the article is not; the declaration only tips paragraphs whose own
        # evidence is thin, and never the document.
        prior = {lang: w / total for lang, w in weights.items()} if total else {}
        declared = record.declared_language
        if (declared and declared != UNDETERMINED and config.declared_weight
                and prior.get(declared, 0.0) >= DECLARED_MIN_SHARE):
            prior = {lang: (1 - config.declared_weight) * share for lang, share in prior.items()}
            prior[declared] = prior.get(declared, 0.0) + config.declared_weight

        results = []
        for index, (paragraph, scores, n_letters, why) in enumerate(
                zip(paragraphs, evidence, counts, basis, strict=True)):
            result = {"index": index, "chars": len(paragraph), "letters": n_letters, "basis": why}
            if scores is None:
                inherited = why == "beyond_sample"
                result.update(language=record.language if inherited else UNDETERMINED, confidence=0.0)
                if inherited:
                    result["inherited"] = True
                results.append(result)
                continue
            detected = max(sorted(scores), key=scores.get) if scores else UNDETERMINED
            # A few words are thin evidence, however sure the detector sounds: their
            # probabilities are flattened in proportion to the letters there are.
            strength = min(1.0, n_letters / config.min_chars)
            # ...and the page pulls them harder: a name alone ("Elon Musk") takes the page's
            # language rather than whatever the detector's guess was.
            pull = config.page_weight + (1.0 - strength) * (1.0 - config.page_weight)
            # The page's languages stay candidates even where the detector did not name them
            # ("Politik" alone looks Slovenian; on a German page it is German).
            candidates = set(scores) | set(prior)
            posterior = {lang: max(scores.get(lang, 0.0), SCORE_FLOOR) ** strength
                         * max(prior.get(lang, 0.0), PRIOR_FLOOR) ** pull
                         for lang in candidates}
            norm = sum(posterior.values())
            if norm:
                lang = max(sorted(posterior), key=posterior.get)
                confidence = posterior[lang] / norm
            else:
                lang, confidence = record.language, 0.0
            if why == "short":
                # A few words are thin evidence whatever the detector says: confidence scales
                # with the letters there were.
                confidence *= n_letters / config.min_chars
            result.update(language=lang, confidence=round(min(1.0, confidence), 4))
            if lang != detected:
                result["detected"] = detected
                result["inherited"] = lang == record.language
            results.append(result)
        record.paragraphs = results

        share_letters: dict[str, int] = defaultdict(int)
        for result in results:
            if result["language"] != UNDETERMINED:
                share_letters[result["language"]] += result["letters"]
        letters_total = sum(share_letters.values())
        record.shares = {lang: round(n / letters_total, 4)
                         for lang, n in sorted(share_letters.items(), key=lambda kv: (-kv[1], kv[0]))}
        record.mixed = sum(1 for share in record.shares.values() if share >= MIXED_MIN_SHARE) > 1

        declared = record.declared_language
        record.declaration_disagrees = bool(declared and record.language != UNDETERMINED and declared != record.language)
        record.report = {"backend": config.backend, "paragraphs": len(paragraphs),
                         "examined": sum(1 for b in basis if b in ("detected", "short")),
                         "declared_language": declared, "declaration_disagrees": record.declaration_disagrees}
        if hasattr(self.backend, "consulted"):  # the ensemble: how many paragraphs needed lingua
            record.report["second_opinions"] = self.backend.consulted - consulted_before
        if record.declaration_disagrees:
            record.report["note"] = f"the page declares '{declared}' but its text is '{record.language}'"
        if record.language == UNDETERMINED:
            record.degrade("language undetermined: no paragraph has letters to detect a language from")
        return record
