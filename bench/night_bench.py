"""A night's work per core-hour: `newsum run` end to end at full-size architectures, both backends.

Builds, once, in --workdir:

- models with the architectures of the configured ones and random weights:
  opus-mt-it-en (MarianMT, 6+6 layers, d_model 512, vocabulary 80 379),
  opus-mt-fr-en (the same, vocabulary 59 514), and distilbart-cnn-12-6 (BART, 12+6 layers,
  d_model 1024, FFN 4096, vocabulary 50 264, 1 024 positions), each with SentencePiece
  tokenizers learned on the corpus (MarianMT: the source language and English; BART: English)
  and laid into the full vocabulary (bench/translate_bench.py's builder), saved with save_pretrained and converted to
  CTranslate2 int8 by `newsum models pull`;
- a nightly corpus from real articles: Italian and French from CL-TLS (Global Voices,
  MorenoLaQuatra/CL-TLS @ 39ae6d5c84f86af45811fc2bf4ea44c4809a685f, in
  ~/.cache/newsum/cltls.jsonl, built by bench/stories_eval.py), French also from the OrangeSum
  training articles of ../shared/dev/summarize-fr (CC BY-SA 4.0), English from the dev part
  of the CNN/DailyMail cache (~/.cache/newsum/summarize-en, bench/summarize_corpus.py).
  Articles of 300-1 500 words, a third of each language, in the shapes of samples/: a
  plain-text dump with a cookie banner, a date widget, a "related" list and a footer around
  the title and body, and one in five an HTML page. Nothing of it is committed.

Random weights never emit the end token, so every output runs to its cap: the caps are
the realistic lengths. Translation: `max_new_tokens` is the mean length of the segments
translate makes of the corpus's cleaned pages (a translation is about as long as its
source), beam 4 as in models.yaml. The MarianMT target side is a SentencePiece model learned
on the English articles, as opus-mt's is learned on English, and every other entry of the
vocabulary is biased out of the output layer, so translations are made of English pieces
and reach the summarizer (whose tokenizer is learned on the same English text) about as
long as they were generated, as real English would. Summaries: distilbart's settings from models.yaml (beam 4, no repeated
trigram) with `max_new_tokens` --summary-tokens (90, a CNN-style summary of ~70 words).

Configurations (--configs) are a backend and options joined by `+`: `select` sets
summarize.long_input: select (a long text's sentences that matter, one generation, instead
of map-reduce), `greedy` decodes with beam 1 instead of 4 (both models).

Then, for each configuration and thread setting, --repeats times: night 1 runs `newsum run` (the
real command, in its own process) over the corpus into a fresh OUT; night 2 adds --new-share
new articles to the input and runs again on the same OUT (only the new work is done).
It prints, medians over the repeats: articles per core-hour (CPU time of the run and its
children, and wall time times the cores allowed), each stage's share of the wall time (from
the records' `timings.seconds`; the rest is start-up, discovery, state and writing), peak
RSS of the largest process, and the ratios between configurations of the same invocation.

    .venv/bin/python bench/night_bench.py                                  # 300 articles, 3 repeats
    nice -n 10 .venv/bin/python bench/night_bench.py --articles 24 --repeats 1
    .venv/bin/python bench/night_bench.py --threads 1,2 --configs ctranslate2,ctranslate2+select+greedy
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
from datetime import datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CACHE = Path.home() / ".cache" / "newsum"
STAGES = ("clean", "detect", "translate", "summarize")
RECORD_FILES = {"clean": "clean.json", "detect": "detect.json", "translate": "translate.json",
                "summarize": "summary.json"}
# The configured models' shapes (their config.json on the hub): vocabulary sizes with <pad> last.
MARIAN_VOCAB = {"it": 80_379, "fr": 59_514}
BART_VOCAB = 50_264
TARGET_PIECES = 32_000  # each side's SentencePiece model in OPUS-MT's recipes (see translate_bench.py)

FURNITURE = {
    "it": ("Questo sito utilizza cookie tecnici e di profilazione. Continuando la navigazione accetti l'uso "
           "dei cookie. Accetta tutti Rifiuta Personalizza",
           "Leggi anche", "© Riproduzione riservata. P.IVA 01234567890 - Tutti i diritti riservati"),
    "fr": ("Nous utilisons des cookies pour vous garantir la meilleure expérience sur notre site. En "
           "poursuivant votre navigation, vous acceptez leur utilisation. Accepter Refuser Paramétrer",
           "À lire aussi", "© Tous droits réservés. Mentions légales - Politique de confidentialité"),
    "en": ("We use cookies to improve your experience on our site. By continuing to browse you agree to "
           "our use of cookies. Accept all Reject Manage preferences",
           "Related articles", "© All rights reserved. Terms of use - Privacy policy - Contact us"),
}
WEEKDAYS = {"it": "martedì", "fr": "mardi", "en": "Tuesday"}


# -- the corpus ---------------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of an article: its own line breaks, else groups of three sentences."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 3:
        return lines
    sentences = re.split(r"(?<=[.!?»\"])\s+(?=[A-ZÀ-Ý«\"])", " ".join(lines))
    return [" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3)]


def _article(title: str, paragraphs: list[str], low: int, high: int) -> tuple[str, list[str]] | None:
    """The article cut at a paragraph to at most `high` words; None when under `low`."""
    kept, count = [], 0
    for p in paragraphs:
        n = len(p.split())
        if count + n > high:
            break
        kept.append(p)
        count += n
    if count < low:
        return None
    if not title:
        first = kept[0].split()
        title = " ".join(first[:12]).rstrip(",;:")
    return title, kept


def real_articles(low: int = 300, high: int = 1500) -> dict[str, list[tuple[str, list[str]]]]:
    """(title, paragraphs) of real articles per language, in a fixed order."""
    articles: dict[str, list[tuple[str, list[str]]]] = {"it": [], "fr": [], "en": []}
    cltls = CACHE / "cltls.jsonl"
    if cltls.is_file():
        for line in cltls.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            language = item["id"].split("/")[0]
            if language in ("it", "fr"):
                lines = [x.strip() for x in item["text"].splitlines() if x.strip()]
                if len(lines) > 3:
                    got = _article(lines[0] if len(lines[0]) < 150 else "", lines[1:], low, high)
                    if got:
                        articles[language].append(got)
    orangesum = ROOT.parent / "shared" / "dev" / "summarize-fr"
    for path in sorted(orangesum.glob("*.txt")):
        if path.name.endswith(".ref.txt"):
            continue
        title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        got = _article(title.strip(), _paragraphs(body), low, high)
        if got:
            articles["fr"].append(got)
    for path in sorted(glob.glob(str(CACHE / "summarize-en" / "dev" / "en" / "*.json"))):
        item = json.loads(Path(path).read_text(encoding="utf-8"))
        got = _article(item.get("title") or "", _paragraphs(item["text"]), low, high)
        if got:
            articles["en"].append(got)
    for language, found in articles.items():
        if not found:
            raise SystemExit(f"no {language} articles found: build the caches first (see the docstring)")
        random.Random(language).shuffle(found)
    return articles


def page(language: str, title: str, paragraphs: list[str], n: int, html: bool) -> str:
    """An article in the shape of samples/: page furniture around the title and the body."""
    cookie, related, footer = FURNITURE[language]
    teasers = [f"{related}: " + " ".join(p.split()[:9]) for p in paragraphs[-2:]]
    date = f"{WEEKDAYS[language]} {1 + n % 28} 2026"
    if not html:
        return "\n\n".join([cookie, date, title, *paragraphs, related, *teasers, footer]) + "\n"
    body = "\n".join(f"    <p>{escape(p)}</p>" for p in paragraphs)
    items = "\n".join(f"      <li><a href=\"/a/{n}-{i}\">{escape(t)}</a></li>" for i, t in enumerate(teasers))
    return (f"<!DOCTYPE html>\n<html lang=\"{language}\">\n<head><meta charset=\"utf-8\"><title>{escape(title)}"
            f"</title></head>\n<body>\n  <div class=\"cookie-banner\">{escape(cookie)}</div>\n"
            f"  <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav>\n  <article>\n"
            f"    <h1>{escape(title)}</h1>\n    <time>{date}</time>\n{body}\n  </article>\n"
            f"  <aside><h2>{related}</h2><ul>\n{items}\n  </ul></aside>\n"
            f"  <footer>{escape(footer)}</footer>\n</body>\n</html>\n")


def write_corpus(folder: Path, articles: dict, start: int, count: int) -> list[Path]:
    """Articles start..start+count of the rotation it, fr, en (one in five as HTML)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, languages = [], ("it", "fr", "en")
    for n in range(start, start + count):
        language = languages[n % 3]
        pool = articles[language]
        title, paragraphs = pool[(n // 3) % len(pool)]
        html = n % 5 == 4
        path = folder / f"{language}-{n:05d}.{'html' if html else 'txt'}"
        path.write_text(page(language, title, paragraphs, n, html), encoding="utf-8")
        paths.append(path)
    return paths


# -- the models ---------------------------------------------------------------------------------


def build_bart(folder: Path, texts: list[str]) -> None:
    """distilbart-cnn-12-6's architecture with random weights, a SentencePiece tokenizer on English text."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration
    from translate_bench import SP_PIECES, opus_tokenizer

    tokenizer = opus_tokenizer(folder, texts, BART_VOCAB, SP_PIECES, max_length=1024)
    tokenizer.bos_token = "</s>"  # BART starts with a bos token (CTranslate2's conversion names one); here it is id 0
    pad = BART_VOCAB - 1
    config = BartConfig(vocab_size=BART_VOCAB, d_model=1024, encoder_layers=12, decoder_layers=6,
                        encoder_attention_heads=16, decoder_attention_heads=16, encoder_ffn_dim=4096,
                        decoder_ffn_dim=4096, max_position_embeddings=1024, activation_function="gelu",
                        pad_token_id=pad, bos_token_id=0, eos_token_id=0, decoder_start_token_id=0,
                        forced_eos_token_id=0, forced_bos_token_id=None,
                        # keys distilbart-cnn-12-6's config.json carries and CTranslate2's converter reads
                        normalize_before=False, normalize_embedding=True, add_final_layer_norm=False)
    torch.manual_seed(1)
    model = BartForConditionalGeneration(config)
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")


def target_pieces_only(folder: Path) -> None:
    """Bias the output layer against every entry that is not a learned piece of the target side.

    Random weights pick any entry of the vocabulary. Decoded, a filler entry is a long string
    (`<unused_123>`) that the next model reads as a dozen pieces, and a source-side piece (an
    Italian or French one in opus-mt's joint vocabulary) is one that the summarizer's English
    tokenizer cuts several times finer than English: either way translations would reach
    summarize several times longer than real ones. With the bias, outputs are made of the
    target side's learned pieces (English for opus-mt-it-en and -fr-en, whose target side is
    learned on English text, and for BART), about as long in the next model's tokens as they
    were generated; the output layer is computed whole as before (the work per step is unchanged)."""
    import sentencepiece as spm
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    marker = folder / "target-pieces-only"
    if marker.is_file():
        return
    tokenizer = AutoTokenizer.from_pretrained(folder)
    target = spm.SentencePieceProcessor(model_file=str(folder / "target.spm"))
    allowed = {target.id_to_piece(i) for i in range(target.get_piece_size())
               if not target.is_unknown(i) and not target.id_to_piece(i).startswith("<unused_")}
    allowed.add(tokenizer.eos_token)
    biased = [i for token, i in tokenizer.get_vocab().items() if token not in allowed]
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True)
    with torch.no_grad():
        model.final_logits_bias[0, biased] = -1e4
    model.save_pretrained(folder)
    marker.write_text(f"{len(biased)} entries biased out, {len(allowed)} target pieces left\n", encoding="utf-8")


def build_models(workdir: Path, articles: dict) -> dict[str, Path]:
    from translate_bench import build_marian

    texts = {lang: ["\n".join([t, *ps]) for t, ps in found] for lang, found in articles.items()}
    models = {}
    for language in ("it", "fr"):
        folder = workdir / f"marian-{language}-en"
        if not (folder / "model" / "model.safetensors").is_file():
            print(f"building the opus-mt-{language}-en architecture in {folder} ...", flush=True)
            # the target side learned on English, as opus-mt's is: translations are made of English pieces
            build_marian(folder, texts[language], MARIAN_VOCAB[language], TARGET_PIECES, target_texts=texts["en"])
        models[language] = folder / "model"
    folder = workdir / "distilbart"
    if not (folder / "model" / "model.safetensors").is_file():
        print(f"building the distilbart-cnn-12-6 architecture in {folder} ...", flush=True)
        build_bart(folder, texts["en"])
    models["summarize"] = folder / "model"
    for model in models.values():
        target_pieces_only(model)
    return models


def mean_segment_tokens(models: dict[str, Path], corpus: Path, workdir: Path) -> int:
    """The mean length, in target tokens, of the segments translate makes of the corpus's own
    pages after clean (furniture that survives included): random weights never stop, so every
    segment's translation runs to this cap, and the translated articles are then as long in
    all as their sources, as real translations are."""
    from pipeline.config import parse_config
    from pipeline.models.loading import load_seq2seq
    from pipeline.stages.translate.stage import pack_segments
    from pipeline.text import split_paragraphs

    out = workdir / "segments-clean"
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, "-m", "pipeline", "run", str(corpus), "--out", str(out),
                           "--stages", "clean", "--quiet"], capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"clean failed:\n{done.stderr[-2000:]}")
    lengths = []
    for language in ("it", "fr"):
        config = parse_config({"device": "cpu", "translate": {"models": {language: {"model": str(models[language])}}}})
        model = load_seq2seq(config.translate.models[language], language, config, lazy=True)
        for path in sorted(out.glob(f"{language}-*/clean.json")):
            text = json.loads(path.read_text(encoding="utf-8"))["text"]
            lengths += [tokens for p in split_paragraphs(text) for _s, _x, tokens in pack_segments(p, language, model)]
    shutil.rmtree(out, ignore_errors=True)
    return max(8, round(statistics.fmean(lengths)))


def write_config(path: Path, models: dict[str, Path], variant: str, threads: int, translate_tokens: int,
                 summary_tokens: int, workdir: Path) -> Path:
    import yaml

    backend, *flags = variant.split("+")
    unknown = set(flags) - {"select", "greedy"}
    if backend not in ("transformers", "ctranslate2") or unknown:
        raise SystemExit(f"--configs: {variant}: a backend (transformers, ctranslate2) and options select, greedy")
    beams = 1 if "greedy" in flags else 4

    def spec(model: Path, generation: dict, **extra) -> dict:
        return {"model": str(model), "backend": backend, "generation": generation, **extra}

    translation = {"num_beams": beams, "max_new_tokens": translate_tokens}
    summary = {"num_beams": beams, "max_new_tokens": summary_tokens, "no_repeat_ngram_size": 3}
    config = {
        "device": "cpu", "cache_dir": str(workdir / "hf"),
        "translate": {"threads": threads, "models": {lang: spec(models[lang], translation) for lang in ("it", "fr")}},
        # BART's tokenizer here is a SentencePiece model laid into the vocabulary: the whole of it
        # stays the decoder's choice (distilbart's BPE vocabulary has no separate target side).
        "summarize": {"method": "abstractive", "long_input": "select" if "select" in flags else "map_reduce",
                      "model": spec(models["summarize"], summary,
                                                            **({"target_vocabulary": "full"}
                                                               if backend == "ctranslate2" else {}))},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# -- running ------------------------------------------------------------------------------------


def measured(command: list[str]) -> dict:
    """Run a command in a child that reports the command's CPU time and largest process's peak RSS."""
    probe = ("import json,resource,subprocess,sys,time;t=time.perf_counter();"
             "c=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE,text=True);"
             "w=time.perf_counter()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
             "sys.stderr.write(c.stderr[-4000:]);"
             "print(json.dumps({'code':c.returncode,'wall':w,'cpu':u.ru_utime+u.ru_stime,'rss_mb':u.ru_maxrss/1024}))")
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


def stage_seconds(out: Path, since: datetime) -> dict[str, float]:
    """Seconds per stage of the records written since `since` (their `timings.seconds`)."""
    totals = dict.fromkeys(STAGES, 0.0)
    for stage in STAGES:
        for path in out.rglob(RECORD_FILES[stage]):
            record = json.loads(path.read_text(encoding="utf-8"))
            timings = record.get("timings") or {}
            started = timings.get("started_at")
            if started and datetime.fromisoformat(started) >= since:
                totals[stage] += timings.get("seconds", 0.0)
    return totals


def first_round_chunks(out: Path, since: datetime) -> list[int]:
    """Chunks of the first map-reduce round (1 where the text fit, or was selected) of the
    summaries written since `since`: how long translated articles reached summarize."""
    counts = []
    for path in out.rglob(RECORD_FILES["summarize"]):
        record = json.loads(path.read_text(encoding="utf-8"))
        started = (record.get("timings") or {}).get("started_at")
        rounds = (record.get("report") or {}).get("chunks_per_round")
        if started and datetime.fromisoformat(started) >= since and rounds:
            counts.append(rounds[0])
    return counts


def night(corpus: Path, out: Path, config: Path, workers: int, articles: int, cores: int) -> dict:
    since = datetime.now().astimezone().replace(microsecond=0)
    command = [sys.executable, "-m", "pipeline", "run", str(corpus), "--out", str(out), "--config", str(config),
               "--workers", str(workers), "--quiet"]
    got = measured(command)
    if got["code"] not in (0, 3):
        raise SystemExit(f"newsum run exited {got['code']}:\n{got['stderr']}")
    stages = stage_seconds(out, since)
    chunks = first_round_chunks(out, since)
    return {"articles": articles, "code": got["code"], "wall": got["wall"], "cpu": got["cpu"], "rss_mb": got["rss_mb"],
            "per_cpu_hour": articles * 3600 / got["cpu"], "per_core_hour": articles * 3600 / (got["wall"] * cores),
            **{f"share_{s}": stages[s] / got["wall"] for s in STAGES},
            "share_other": max(0.0, 1 - sum(stages.values()) / got["wall"]),
            "chunks": statistics.fmean(chunks) if chunks else 0.0, "chunks_max": max(chunks, default=0)}


def median(results: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def show(label: str, m: dict) -> None:
    shares = "  ".join(f"{s} {m[f'share_{s}']:5.1%}" for s in (*STAGES, "other"))
    print(f"  {label:34} {m['articles']:4.0f} articles  wall {m['wall']:7.1f} s  CPU {m['cpu']:7.1f} s  "
          f"{m['per_cpu_hour']:7.0f} /CPU-hour  {m['per_core_hour']:7.0f} /core-hour (wall)  "
          f"peak RSS {m['rss_mb']:5.0f} MB  exit {m['code']:.0f}\n  {'':34} time: {shares}\n"
          f"  {'':34} summarize input: {m['chunks']:.1f} chunks per article in the first round "
          f"(at most {m['chunks_max']:.0f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=CACHE / "night-bench-en",
                        help="models, conversions and corpora (reused between invocations)")
    parser.add_argument("--articles", type=int, default=300, help="articles of night 1")
    parser.add_argument("--new-share", type=float, default=0.1, help="night 2: this share of new articles added")
    parser.add_argument("--repeats", type=int, default=3, help="figures are medians of this many runs")
    parser.add_argument("--configs", default="transformers,ctranslate2,ctranslate2+select",
                        help="backend[+select][+greedy], comma-separated; ratios are against the first")
    parser.add_argument("--threads", default="1", help="translate.threads settings to run, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="newsum run --workers")
    parser.add_argument("--summary-tokens", type=int, default=90)
    options = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    workdir = options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    articles = real_articles()
    models = build_models(workdir, articles)
    new = max(1, round(options.articles * options.new_share))
    corpus = workdir / f"corpus-{options.articles}"
    night1 = write_corpus(corpus / "night1", articles, 0, options.articles)
    extra = write_corpus(corpus / "new", articles, options.articles, new)
    words = [len(p.read_text(encoding="utf-8").split()) for p in night1]
    translate_tokens = mean_segment_tokens(models, corpus / "night1", workdir)
    print(f"corpus: {len(night1)} articles (it, fr, en; {sum(p.suffix == '.html' for p in night1)} HTML), "
          f"{statistics.median(words):.0f} words median ({min(words)}-{max(words)}), page furniture included; "
          f"night 2 adds {new}", flush=True)
    print(f"outputs: translations {translate_tokens} tokens (the mean segment of the cleaned pages), summaries {options.summary_tokens} "
          f"tokens, beam 4; workers {options.workers}; {os.cpu_count()} CPUs on this machine", flush=True)
    results: dict[tuple[str, int], tuple[dict, dict]] = {}
    for backend in options.configs.split(","):
        for threads in [int(t) for t in options.threads.split(",")]:
            config = write_config(workdir / f"models-{backend.replace('+', '-')}-{threads}.yaml", models, backend, threads,
                                  translate_tokens, options.summary_tokens, workdir)
            if backend.startswith("ctranslate2"):
                pulled = subprocess.run([sys.executable, "-m", "pipeline", "models", "pull", "--config", str(config)],
                                        capture_output=True, text=True)
                if pulled.returncode != 0:
                    raise SystemExit(f"conversion failed:\n{pulled.stdout[-2000:]}{pulled.stderr[-2000:]}")
            cores = max(threads, options.workers)
            firsts, seconds = [], []
            for repeat in range(options.repeats):
                inputs, out = workdir / "run" / "in", workdir / "run" / "out"
                shutil.rmtree(workdir / "run", ignore_errors=True)
                shutil.copytree(corpus / "night1", inputs)
                firsts.append(night(inputs, out, config, options.workers, len(night1), cores))
                for path in extra:
                    shutil.copy(path, inputs / path.name)
                seconds.append(night(inputs, out, config, options.workers, new, cores))
                print(f"  ({backend}, {threads} thread(s), repeat {repeat + 1}: {firsts[-1]['wall']:.1f} s, "
                      f"then {seconds[-1]['wall']:.1f} s)", flush=True)
            results[(backend, threads)] = (median(firsts), median(seconds))
    print(f"\nmedians of {options.repeats} repeat(s); articles per core-hour = articles / (core-seconds / 3600)")
    for (backend, threads), (first, second) in results.items():
        print(f"{backend}, {threads} thread(s), {options.workers} worker(s):")
        show("night 1 (all new)", first)
        show(f"night 2 ({new} new of {len(night1) + new})", second)
    keys = list(results)
    for base in keys:
        for other in keys:
            if other[1] == base[1] and other[0] != base[0] and base[0] == keys[0][0]:
                for n, label in ((0, "night 1"), (1, "night 2")):
                    fa, fb = results[base][n], results[other][n]
                    print(f"{label}: {other[0]} vs {base[0]} ({base[1]} thread(s)): {fa['wall'] / fb['wall']:.2f}x wall, "
                          f"{fa['cpu'] / fb['cpu']:.2f}x CPU time, end to end")
    for variant in dict.fromkeys(k[0] for k in keys):
        runs = sorted(k for k in keys if k[0] == variant)
        for a, b in zip(runs, runs[1:], strict=False):
            fa, fb = results[a][0], results[b][0]
            print(f"night 1, {variant}: {b[1]} vs {a[1]} thread(s): {fa['wall'] / fb['wall']:.2f}x wall, "
                  f"{fb['per_core_hour'] / fa['per_core_hour']:.2f}x articles per core-hour")

if __name__ == "__main__":
    main()
