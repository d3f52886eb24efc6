"""Translate-stage benchmark: the real opus-mt-it-en architecture with random weights, both backends.

Builds a MarianMT model with the shape of Helsinki-NLP/opus-mt-it-en (d_model 512, 6+6
layers, 8 heads, FFN 2048, vocabulary 80 379, 512 positions) and random weights, with a
SentencePiece tokenizer trained here on the project's Italian texts and laid into the 80k
vocabulary; converts it to CTranslate2 int8 through `newsum models pull`'s code; then, each
in its own process (so that peak memory is its own), translates the same Italian documents:

  plain-transformers        a plain batched generate() loop over the stage's own segments
  stage-transformers        the translate stage, backend transformers (float32)
  stage-ctranslate2         the translate stage, backend ctranslate2 (int8), decoding among the
                            target side's tokens (target_vocabulary: auto, the default)
  stage-ctranslate2-full    the same over the whole vocabulary (target_vocabulary: full)

As in opus-mt, the vocabulary holds both sides' SentencePiece pieces and target.spm has its
own: --target-pieces of them (default 32 000, the size OPUS-MT's training recipes give each
side's SentencePiece model; opus-mt-it-en's own could not be checked offline). The learned
pieces are the Italian ones; the rest of the target side are named vocabulary entries that
no text produces, which changes nothing but the size of the target side.

greedy and beam 4, and prints source tokens/s, generated tokens/s and peak RSS. Random
weights never emit the end token, so every output runs to --max-new-tokens: the work per
segment is the same for every runner (the stage's generated tokens are counted as the
outputs that reached the cap times the cap). The cache is off, so the stage translates everything.

    .venv/bin/python bench/translate_bench.py                # build (once) and run
    .venv/bin/python bench/translate_bench.py --threads 2 --max-segments 96
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCAB_SIZE = 80_379  # opus-mt-it-en: <pad> is the last id
SP_PIECES = 8_000


def italian_texts() -> list[str]:
    """Italian documents written for the project (bench data, samples), and the seeds when present."""
    paths = sorted((ROOT / "bench" / "data" / "clean").glob("it-*.txt")) + sorted((ROOT / "samples").glob("it-*.txt"))
    seeds = ROOT.parent / "shared" / "seeds"
    if seeds.is_dir():
        paths += sorted(seeds.glob("*.txt"))
    return [p.read_text(encoding="utf-8", errors="replace") for p in paths]


def target_side_size(folder: Path) -> int | None:
    """Pieces of the built model's target.spm; None when there is no model yet."""
    import sentencepiece as spm

    path = folder / "model" / "target.spm"
    if not (folder / "model" / "model.safetensors").is_file() or not path.is_file():
        return None
    return spm.SentencePieceProcessor(model_file=str(path)).get_piece_size()


def opus_tokenizer(folder: Path, texts: list[str], vocab_size: int, target_pieces: int, max_length: int = 512,
                   target_texts: list[str] | None = None):
    """A MarianTokenizer laid out as opus-mt's: SentencePiece pieces learned on `texts`, in a
    vocabulary of `vocab_size` entries (the rest named entries no text produces, <pad> last),
    and a target side of `target_pieces` pieces. With `target_texts` the target side is
    learned on them instead (English for an it-en model), and the vocabulary holds both
    sides' pieces, as opus-mt's joint vocabulary does. Returns the tokenizer."""
    import sentencepiece as spm
    from transformers import MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(texts), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "sp"), vocab_size=SP_PIECES,
                                   hard_vocab_limit=False, character_coverage=1.0, model_type="unigram",
                                   bos_id=-1, eos_id=-1, unk_id=1, pad_id=-1, minloglevel=2)
    processor = spm.SentencePieceProcessor(model_file=str(folder / "sp.model"))
    target_corpus = corpus
    if target_texts is not None:
        target_corpus = folder / "target-corpus.txt"
        target_corpus.write_text("\n".join(target_texts), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(target_corpus), model_prefix=str(folder / "sp-target"),
                                       vocab_size=SP_PIECES, hard_vocab_limit=False, character_coverage=1.0,
                                       model_type="unigram", bos_id=-1, eos_id=-1, unk_id=1, pad_id=-1, minloglevel=2)
        target_processor = spm.SentencePieceProcessor(model_file=str(folder / "sp-target.model"))
    else:
        target_processor = processor
    vocab = {"</s>": 0, "<unk>": 1}
    for side in (processor, target_processor):
        for i in range(side.get_piece_size()):
            vocab.setdefault(side.id_to_piece(i), len(vocab))
    while len(vocab) < vocab_size - 1:  # the rest of opus-mt's vocabulary: ids the tokenizer never emits
        vocab[f"<unused_{len(vocab)}>"] = len(vocab)
    vocab["<pad>"] = vocab_size - 1
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "source.spm").write_bytes((folder / "sp.model").read_bytes())
    # The target side: the same learned pieces, and as many named entries of the vocabulary
    # as make it --target-pieces long (user-defined symbols: pieces no text ever produces).
    learned = target_processor.get_piece_size()
    extra = [token for token in vocab if token.startswith("<unused_")][: max(0, target_pieces - learned)]
    spm.SentencePieceTrainer.train(input=str(target_corpus), model_prefix=str(folder / "target"),
                                   vocab_size=SP_PIECES + len(extra), user_defined_symbols=extra,
                                   hard_vocab_limit=False, character_coverage=1.0, model_type="unigram",
                                   bos_id=-1, eos_id=-1, unk_id=1, pad_id=-1, minloglevel=2)
    (folder / "target.spm").write_bytes((folder / "target.model").read_bytes())
    return MarianTokenizer(str(folder / "source.spm"), str(folder / "target.spm"), str(folder / "vocab.json"),
                           model_max_length=max_length)


def build_model(folder: Path, target_pieces: int) -> None:
    build_marian(folder, italian_texts() + [p.read_text(encoding="utf-8", errors="replace")
                                            for p in sorted((ROOT / "samples").glob("*.txt"))],
                 VOCAB_SIZE, target_pieces)


def build_marian(folder: Path, texts: list[str], vocab_size: int, target_pieces: int,
                 target_texts: list[str] | None = None) -> None:
    """An opus-mt architecture (6+6 layers, d_model 512) with random weights in folder/model;
    `target_texts`: the target side's own text (see opus_tokenizer)."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    tokenizer = opus_tokenizer(folder, texts, vocab_size, target_pieces, target_texts=target_texts)
    pad = vocab_size - 1
    config = MarianConfig(vocab_size=vocab_size, d_model=512, encoder_layers=6, decoder_layers=6,
                          encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
                          decoder_ffn_dim=2048, max_position_embeddings=512, activation_function="swish",
                          scale_embedding=True, pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad,
                          forced_eos_token_id=0)
    torch.manual_seed(0)
    model = MarianMTModel(config)
    with torch.no_grad():
        model.get_input_embeddings().weight[pad].zero_()  # as in opus-mt: decoding starts from zeros
    model.generation_config.bad_words_ids = [[pad]]
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")


def _config(model_dir: Path, backend: str, beams: int, args, target_vocabulary: str = "auto") -> object:
    from pipeline.config import parse_config

    return parse_config({"device": args.device, "cache_dir": str(Path(args.workdir) / "hf"), "translate": {
        "batch_size": args.batch_size, "batch_tokens": args.batch_tokens, "threads": args.threads, "cache": False,
        "models": {"it": {
            "model": str(model_dir), "backend": backend, "target_vocabulary": target_vocabulary,
            "generation": {"num_beams": beams, "max_new_tokens": args.max_new_tokens}}}}})


def workload(args) -> list:
    """DetectRecords of Italian paragraphs, up to --max-segments segments, no two alike."""
    from pipeline.records import DetectRecord
    from pipeline.text import split_paragraphs

    seen, records = set(), []
    for n, text in enumerate(italian_texts()):
        paragraphs = [p for p in split_paragraphs(text) if len(p.split()) >= 6 and p not in seen]
        seen.update(paragraphs)
        for p in paragraphs:
            records.append(DetectRecord(doc_id=f"doc{n}-{len(records)}", language="it", text=p))
            if len(records) >= args.max_segments:
                return records
    return records


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: ru_maxrss survives exec and
    would report the parent's peak (which built the model) for every runner."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, beams: int, args) -> dict:
    """One runner in this process; returns its figures."""
    from pipeline.models.registry import ModelRegistry
    from pipeline.stages.base import StageContext
    from pipeline.stages.translate.stage import TranslateStage

    model_dir = Path(args.workdir) / "model"
    backend = "ctranslate2" if mode.startswith("stage-ctranslate2") else "transformers"
    config = _config(model_dir, backend, beams, args, "full" if mode.endswith("-full") else "auto")
    records = workload(args)
    registry = ModelRegistry(config)
    spec = config.translate.models["it"]
    model = registry.get(spec, "translate.models.it")  # weights loaded before the clock starts
    # The segments the stage makes (segmenting is cheap, the model is not): the same for every runner.
    from pipeline.stages.translate.stage import pack_segments

    segments = [p[a:b] for r in records for p in [r.text] for (a, b), _s, _t in pack_segments(p, "it", model)]
    source_tokens = sum(model.count_tokens(s, "it") for s in segments)
    warmup = segments[:2]
    if mode == "plain-transformers":
        import torch

        tokenizer, hf_model = model.tokenizer, model.model
        settings = {"num_beams": beams, "max_new_tokens": args.max_new_tokens}
        with torch.inference_mode():
            hf_model.generate(**tokenizer(warmup, return_tensors="pt", padding=True), **settings)
        started, cpu_started = time.perf_counter(), time.process_time()
        generated = 0
        ordered = sorted(segments, key=len)
        with torch.inference_mode():
            for i in range(0, len(ordered), args.batch_size):
                batch = tokenizer(ordered[i:i + args.batch_size], return_tensors="pt", padding=True)
                output = hf_model.generate(**batch, **settings)
                tokenizer.batch_decode(output, skip_special_tokens=True)
                generated += int((output != tokenizer.pad_token_id).sum())
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    else:
        stage = TranslateStage(StageContext(config), registry)
        model.generate(warmup, source_language="it")
        started, cpu_started = time.perf_counter(), time.process_time()
        outputs = stage(records)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        stage_segments = [s["source"] for o in outputs for s in o.segments]
        assert sorted(stage_segments) == sorted(segments), "the stage must translate the same segments"
        # Random weights run every output to the cap; a segment that stopped early counts as unknown (0).
        generated = sum(args.max_new_tokens for o in outputs for s in o.segments if s["output_capped"])
    return {"mode": mode, "beams": beams, "segments": len(segments), "source_tokens": source_tokens,
            "seconds": round(seconds, 3), "source_tok_s": round(source_tokens / seconds, 1),
            "cpu_seconds": round(cpu_seconds, 3), "source_tok_cpu_s": round(source_tokens / cpu_seconds, 1),
            "generated_tokens": generated, "generated_tok_s": round(generated / seconds, 1),
            "peak_rss_mb": round(_peak_rss_mb()), "target_vocabulary": getattr(model, "target_vocabulary", None)}


def prepare(args) -> None:
    from pipeline.models.loading import vocabulary_map_size
    from pipeline.models.store import pull_model

    workdir = Path(args.workdir)
    built = target_side_size(workdir)
    if built is None or abs(built - args.target_pieces) > 16:  # none yet, or another target side
        print(f"building the opus-mt-it-en architecture with random weights in {workdir} ...", flush=True)
        build_model(workdir, args.target_pieces)
    config = _config(workdir / "model", "ctranslate2", 1, args)
    result = pull_model("translate.models.it", config.translate.models["it"], config)
    if not result.ok:
        raise SystemExit(f"conversion failed: {result.message}")
    folder = Path(result.lock["ctranslate2"]["folder"])
    print(f"CTranslate2 int8 conversion: {folder}; target side {vocabulary_map_size(folder)} of "
          f"{VOCAB_SIZE} vocabulary entries", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=str(Path.home() / ".cache" / "newsum" / "translate-bench"),
                        help="where the model and its conversion are built (reused between runs)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batch-tokens", type=int, default=4096,
                        help="translate.batch_tokens: CTranslate2's sub-batches, in padded source tokens (0: off)")
    parser.add_argument("--max-segments", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--beams", default="1,4", help="beam sizes to run, comma-separated")
    parser.add_argument("--modes", default="plain-transformers,stage-transformers,stage-ctranslate2,"
                                           "stage-ctranslate2-full")
    parser.add_argument("--target-pieces", type=int, default=32_000,
                        help="pieces of the target side's SentencePiece model (opus-mt: its target.spm)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.child:
        mode, beams = args.child.split(":")
        print(json.dumps(child(mode, int(beams), args)))
        return
    prepare(args)
    print(f"threads {args.threads}, batch {args.batch_size}, up to {args.max_segments} segments, "
          f"outputs of {args.max_new_tokens} tokens, device {args.device}", flush=True)
    results = []
    passthrough = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                   if k not in ("child", "beams", "modes") and v is not None]
    for beams in [int(b) for b in args.beams.split(",")]:
        for mode in args.modes.split(","):
            out = subprocess.run([sys.executable, __file__, f"--child={mode}:{beams}", *passthrough],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"{mode} beam {beams} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"beam {beams}  {mode:20} {result['segments']:4} segments {result['source_tokens']:6} source tokens "
                  f"in {result['seconds']:7.2f} s: {result['source_tok_s']:7.1f} source tok/s, "
                  f"{result['generated_tok_s']:7.1f} generated tok/s, peak RSS {result['peak_rss_mb']} MB; "
                  f"CPU {result['cpu_seconds']:7.2f} s: {result['source_tok_cpu_s']:7.1f} source tok/CPU-s", flush=True)
    by = {(r["mode"], r["beams"]): r for r in results}
    for beams in [int(b) for b in args.beams.split(",")]:
        plain, stage_tf, stage_ct2, stage_full = (by.get((m, beams)) for m in (
            "plain-transformers", "stage-transformers", "stage-ctranslate2", "stage-ctranslate2-full"))
        # CPU time beside wall time: on a shared machine, wall time measures the neighbours too.
        if plain and stage_tf:
            print(f"beam {beams}: stage (transformers) vs plain generate loop: "
                  f"{stage_tf['seconds'] / plain['seconds'] - 1:+.1%} wall time, "
                  f"{stage_tf['cpu_seconds'] / plain['cpu_seconds'] - 1:+.1%} CPU time")
        for label, ct2 in (("target side", stage_ct2), ("whole vocabulary", stage_full)):
            if plain and ct2:
                print(f"beam {beams}: stage (ctranslate2 int8, {label}) vs plain transformers float32 loop: "
                      f"{ct2['source_tok_s'] / plain['source_tok_s']:.2f}x source tokens/s (wall), "
                      f"{ct2['source_tok_cpu_s'] / plain['source_tok_cpu_s']:.2f}x (CPU)")


if __name__ == "__main__":
    main()
