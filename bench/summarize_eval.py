"""ROUGE-1/2/L of newsum's extractive summarizer against lead-3 (and sumy's LexRank, TextRank).

    python bench/summarize_eval.py [DATA ...] [--real] [--languages en,fr] [--sumy] [--methods ...]

Each DATA folder holds <language>/*.json files with {title, text, reference} (default: the
project's own set, bench/data/summarize, a regression check only: its articles were written
for the project and are not lead-first). --real adds the real news sets that
bench/summarize_corpus.py builds into ~/.cache/newsum (CNN/DailyMail highlights in English,
OrangeSum abstracts in French), their dev part (tuned on) and their test part (never tuned on).
"newsum" is the stage's extractive path as a run makes it (the learned scorer, length chosen
per article); "newsum before" is the earlier hand-weighted scorer (rank_sentences + MMR,
three sentences) that the stage used until the learned one replaced it. Scores are F-measures averaged over
articles, per language.
ROUGE is computed here (lower-cased letter/digit tokens, no stemming, so that French and
English are scored alike); ROUGE-L is the longest common subsequence over the whole summary.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Config, SummarizeConfig  # noqa: E402
from pipeline.records import TranslateRecord  # noqa: E402
from pipeline.stages.base import StageContext  # noqa: E402
from pipeline.stages.summarize.stage import SummarizeStage, extract, source_sentences  # noqa: E402

CACHE = Path.home() / ".cache" / "newsum"

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _f1(overlap: int, candidate: int, reference: int) -> float:
    if not overlap or not candidate or not reference:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: list[str], reference: list[str], n: int) -> float:
    def grams(seq: list[str]) -> dict[tuple, int]:
        counts: dict[tuple, int] = {}
        for i in range(len(seq) - n + 1):
            gram = tuple(seq[i:i + n])
            counts[gram] = counts.get(gram, 0) + 1
        return counts

    c, r = grams(candidate), grams(reference)
    overlap = sum(min(count, r[g]) for g, count in c.items() if g in r)
    return _f1(overlap, sum(c.values()), sum(r.values()))


def rouge_l(candidate: list[str], reference: list[str]) -> float:
    if not candidate or not reference:
        return 0.0
    previous = [0] * (len(reference) + 1)
    for token in candidate:
        current = [0]
        for j, ref_token in enumerate(reference):
            current.append(previous[j] + 1 if token == ref_token else max(previous[j + 1], current[j]))
        previous = current
    return _f1(previous[-1], len(candidate), len(reference))


def scores(candidate: str, reference: str) -> tuple[float, float, float]:
    c, r = tokens(candidate), tokens(reference)
    return rouge_n(c, r, 1), rouge_n(c, r, 2), rouge_l(c, r)


def lead(article: dict, language: str, k: int = 3) -> str:
    return " ".join(s.text for s in source_sentences(article["text"], language)[:k])


def newsum_extractive(article: dict, language: str, k: int = 3) -> str:
    sentences = source_sentences(article["text"], language)
    return " ".join(sentences[i].text for i in extract(sentences, article["title"], language, k))


_STAGE = SummarizeStage(StageContext(replace(Config(), summarize=SummarizeConfig(method="extractive"))))


def newsum_stage(article: dict, language: str) -> str:
    record = TranslateRecord(doc_id="eval", source_language=language, target_language=language,
                             title=article["title"], text=article["text"])
    return _STAGE([record])[0].summary


def sumy_method(name: str):
    """sumy's LexRank or TextRank over newsum's own sentence split (sumy's needs NLTK data at run time)."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import null_stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    from pipeline.text import stopwords, words

    class Tokenizer:
        def __init__(self, language: str):
            self.language = language

        def to_words(self, text: str) -> list[str]:
            return words(text)

    def summarize(article: dict, language: str, k: int = 3) -> str:
        tokenizer = Tokenizer(language)
        sentences = source_sentences(article["text"], language)
        paragraphs: dict[int, list] = {}
        for s in sentences:
            paragraphs.setdefault(s.paragraph, []).append(Sentence(s.text, tokenizer))
        document = ObjectDocumentModel([Paragraph(p) for _, p in sorted(paragraphs.items())])
        summarizer = (LexRankSummarizer if name == "lexrank" else TextRankSummarizer)(null_stemmer)
        summarizer.stop_words = stopwords(language)
        return " ".join(str(s) for s in summarizer(document, k))

    return summarize


def evaluate(folder: Path, language: str, methods: dict, per_article: bool) -> None:
    files = sorted(Path(folder, language).glob("*.json"))
    if not files:
        return
    articles = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    print(f"{folder} [{language}]: {len(articles)} articles")
    print(f"  {'method':20} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'words':>6} {'ms/doc':>7}")
    for name, method in methods.items():
        started = time.perf_counter()
        outputs = [method(a, language) for a in articles]
        ms = (time.perf_counter() - started) * 1000 / len(articles)
        per = [scores(o, a["reference"]) for o, a in zip(outputs, articles, strict=True)]
        mean = [sum(p[i] for p in per) / len(per) for i in range(3)]
        length = sum(len(tokens(o)) for o in outputs) / len(outputs)
        print(f"  {name:20} {mean[0]:6.3f} {mean[1]:6.3f} {mean[2]:6.3f} {length:6.0f} {ms:7.1f}")
        if per_article:
            print("    " + " ".join(f"{f.stem}:{p[1]:.2f}" for f, p in zip(files, per, strict=True)))
    reference = sum(len(tokens(a["reference"])) for a in articles) / len(articles)
    print(f"  {'(reference)':20} {'':6} {'':6} {'':6} {reference:6.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="*", help="folders of <language>/*.json (default: bench/data/summarize)")
    parser.add_argument("--real", action="store_true",
                        help="also the dev and test parts built by bench/summarize_corpus.py into ~/.cache/newsum")
    parser.add_argument("--only-real", action="store_true", help="the real sets only")
    parser.add_argument("--split", default="dev,test", help="parts of the real sets (default dev,test)")
    parser.add_argument("--languages", default="en,fr")
    parser.add_argument("--sumy", action="store_true", help="also score sumy's LexRank and TextRank")
    parser.add_argument("--per-article", action="store_true", help="print ROUGE-2 of each article")
    parser.add_argument("--methods", help="only these methods, comma-separated (e.g. 'lead-3,newsum,sumy lexrank')")
    args = parser.parse_args()

    methods = {"lead-3": lead, "newsum": newsum_stage, "newsum before": newsum_extractive}
    if args.sumy:
        methods["sumy lexrank"] = sumy_method("lexrank")
        methods["sumy textrank"] = sumy_method("textrank")
    if args.methods:
        wanted = [m.strip() for m in args.methods.split(",")]
        unknown = [m for m in wanted if m not in methods]
        if unknown:
            parser.error(f"unknown methods {unknown}; known: {sorted(methods)} (sumy's need --sumy)")
        methods = {m: methods[m] for m in wanted}
    folders = [Path(d) for d in args.data]
    if not folders and not args.only_real:
        folders.append(ROOT / "bench" / "data" / "summarize")
    languages = args.languages.split(",")
    for folder in folders:
        for language in languages:
            evaluate(folder, language, methods, args.per_article)
    if args.real or args.only_real:
        for language in languages:
            for split in args.split.split(","):
                folder = CACHE / f"summarize-{language}" / split
                if not Path(folder, language).is_dir():
                    print(f"{folder}: missing; build it with python bench/summarize_corpus.py")
                    continue
                evaluate(folder, language, methods, args.per_article)


if __name__ == "__main__":
    main()
