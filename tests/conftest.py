"""Fixtures: tiny real models (random weights, a SentencePiece model trained here), saved with
save_pretrained and loaded by newsum through exactly the code that loads real models."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # no test touches the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SEEDS = ROOT.parent / "shared" / "seeds"
SCHEMAS = ROOT / "pipeline" / "schemas"


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".txt", ".html", ".htm"))


def _train_sentencepiece(folder: Path, files: list[Path] | None = None, name: str = "sp",
                         vocab_size: int = 400) -> Path:
    import sentencepiece as spm

    corpus = folder / f"{name}-corpus.txt"
    with open(corpus, "w", encoding="utf-8") as fh:
        for path in files or sample_files():
            fh.write(path.read_text(encoding="utf-8", errors="replace"))
            fh.write("\n")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / name), vocab_size=vocab_size, character_coverage=1.0,
        model_type="unigram", bos_id=-1, eos_id=-1, unk_id=1, pad_id=-1, unk_piece="<unk>",
        hard_vocab_limit=False, minloglevel=2)
    return folder / f"{name}.model"


def _marian_tokenizer(folder: Path, sp_model: Path, pad_last: bool = False, target_sp_model: Path | None = None):
    """A MarianTokenizer over one vocabulary holding the pieces of the source SentencePiece
    model and, when given, of a separate target one (as opus-mt's source.spm/target.spm)."""
    import sentencepiece as spm
    from transformers import MarianTokenizer

    vocab = {"</s>": 0, "<unk>": 1} if pad_last else {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for model_file in (sp_model, target_sp_model or sp_model):
        processor = spm.SentencePieceProcessor(model_file=str(model_file))
        for i in range(processor.get_piece_size()):
            vocab.setdefault(processor.id_to_piece(i), len(vocab))
    if pad_last:  # as in the opus-mt models: <pad> is the last id, which CTranslate2's converter expects
        vocab["<pad>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    shutil.copy(sp_model, folder / "source.spm")
    shutil.copy(target_sp_model or sp_model, folder / "target.spm")
    return MarianTokenizer(str(folder / "source.spm"), str(folder / "target.spm"), str(folder / "vocab.json"),
                           model_max_length=512), len(vocab)


def _teach_to_stop(model, tokenizer, steps: int = 150) -> None:
    """A few optimisation steps so that generation ends with EOS after a handful of tokens.

    Random weights alone never emit EOS, so every output would hit the length cap; the
    task taught here (echo the first three source pieces, then stop) is enough for the
    pipeline's behaviour to be exercised as with a real model.
    """
    import torch

    texts = []
    for path in sample_files():
        texts.extend(line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                     if len(line.strip()) > 20)
    texts = texts[:64]
    batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=48)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    labels = torch.full((len(texts), 4), eos)
    labels[:, :3] = batch["input_ids"][:, :3]
    labels[labels == pad] = eos
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()


def build_tiny_marian(folder: Path, sp_model: Path, seed: int = 0, max_positions: int = 64,
                      pad_last: bool = False, target_sp_model: Path | None = None) -> Path:
    import torch
    from transformers import MarianConfig, MarianMTModel

    tokenizer, vocab_size = _marian_tokenizer(folder / "_tok", sp_model, pad_last=pad_last,
                                              target_sp_model=target_sp_model)
    pad = vocab_size - 1 if pad_last else 2
    torch.manual_seed(seed)
    config = MarianConfig(vocab_size=vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=max_positions, pad_token_id=pad,
                          eos_token_id=0, decoder_start_token_id=pad, forced_eos_token_id=0)
    model = MarianMTModel(config)
    _teach_to_stop(model, tokenizer)
    if pad_last:
        # As in opus-mt: the decoder starts from a zero embedding (the <pad> row, which CTranslate2
        # drops and replaces by zeros) and <pad> is never generated.
        with torch.no_grad():
            model.get_input_embeddings().weight[pad].zero_()
        model.generation_config.bad_words_ids = [[pad]]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    shutil.rmtree(folder / "_tok")
    return folder


def build_tiny_bart(folder: Path, sp_model: Path, seed: int = 1, max_positions: int = 128) -> Path:
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    tokenizer, vocab_size = _marian_tokenizer(folder / "_tok", sp_model)
    torch.manual_seed(seed)
    config = BartConfig(vocab_size=vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                        decoder_ffn_dim=32, max_position_embeddings=max_positions, pad_token_id=2,
                        bos_token_id=0, eos_token_id=0, decoder_start_token_id=0, forced_eos_token_id=0,
                        forced_bos_token_id=None)
    model = BartForConditionalGeneration(config)
    _teach_to_stop(model, tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    shutil.rmtree(folder / "_tok")
    return folder


def _teach_multilingual_to_stop(model, tokenizer, target_token: str, languages: list[str], steps: int = 150) -> None:
    """As _teach_to_stop, for a model told its languages by tags: output the target tag, two pieces, EOS."""
    import torch

    lines = []
    for path in sample_files():
        lines.extend(line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                     if len(line.strip()) > 20)
    ids, labels = [], []
    target_id, eos = tokenizer.convert_tokens_to_ids(target_token), tokenizer.eos_token_id
    for n, text in enumerate(lines[:64]):
        tokenizer.src_lang = languages[n % len(languages)]
        row = tokenizer(text, truncation=True, max_length=48)["input_ids"]
        ids.append(row)
        labels.append([target_id, row[1], row[2], eos])
    width = max(len(r) for r in ids)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in ids])
    mask = (input_ids != pad).long()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=torch.tensor(labels)).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()


def _tiny_m2m100_config(vocab_size: int, max_positions: int, pad: int, bos: int, eos: int):
    from transformers import M2M100Config

    return M2M100Config(vocab_size=vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                        decoder_ffn_dim=32, max_position_embeddings=max_positions, pad_token_id=pad,
                        bos_token_id=bos, eos_token_id=eos, decoder_start_token_id=eos)


def build_tiny_m2m100(folder: Path, sp_model: Path, seed: int = 4, max_positions: int = 64) -> Path:
    """An M2M100 model with the real tokenizer layout: SentencePiece pieces, then __xx__ language tags."""
    import sentencepiece as spm
    import torch
    from transformers import M2M100ForConditionalGeneration, M2M100Tokenizer
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES

    processor = spm.SentencePieceProcessor(model_file=str(sp_model))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(i), len(vocab))
    staging = folder / "_tok"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    shutil.copy(sp_model, staging / "sentencepiece.bpe.model")
    codes = FAIRSEQ_LANGUAGE_CODES["m2m100"]
    tokenizer = M2M100Tokenizer(str(staging / "vocab.json"), str(staging / "sentencepiece.bpe.model"),
                                additional_special_tokens=[f"__{c}__" for c in codes], model_max_length=max_positions)
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(_tiny_m2m100_config(len(vocab) + len(codes) + 8, max_positions, 1, 0, 2))
    _teach_multilingual_to_stop(model, tokenizer, "__en__", ["it", "de", "es", "fr"])
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    shutil.rmtree(staging)
    return folder


def build_tiny_nllb(folder: Path, seed: int = 5, max_positions: int = 256) -> Path:
    """An NLLB-style model: M2M100 architecture, a tokenizer that names languages with FLORES-200 codes."""
    import torch
    from transformers import M2M100ForConditionalGeneration, NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "\u2581": 4}
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in sample_files())
    for ch in sorted(set(text)):
        if not ch.isspace():
            vocab.setdefault(ch, len(vocab))  # characters only: no merges are needed for a test model
    tokenizer = NllbTokenizer(vocab=vocab, merges=[], src_lang="ita_Latn", tgt_lang="eng_Latn",
                              model_max_length=max_positions)
    torch.manual_seed(seed)
    size = len(vocab) + len(FAIRSEQ_LANGUAGE_CODES) + 1
    model = M2M100ForConditionalGeneration(_tiny_m2m100_config(size, max_positions, 1, 0, 2))
    _teach_multilingual_to_stop(model, tokenizer, "eng_Latn", ["ita_Latn", "deu_Latn", "spa_Latn"])
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_multilingual(tiny_models, tmp_path_factory) -> dict[str, Path]:
    """An M2M100 and an NLLB-style fallback, and Marians with opus-mt's vocabulary layout (for
    CTranslate2): one whose two sides share a SentencePiece model, one with a target side of
    its own, as opus-mt's it-en. That target side is made of figures only, so that what the
    model writes shows at once whether it was kept to it (its source pieces are letters)."""
    import random

    folder = tmp_path_factory.mktemp("multilingual")
    sp_model = tiny_models["it"].parent / "sp.model"
    rng = random.Random(0)
    figures = folder / "figures.txt"
    figures.write_text("\n".join(" ".join(f"{rng.randint(0, 10 ** rng.randint(1, 6))}{rng.choice(['', ',5', '%', '.'])}"
                                          for _ in range(12)) for _ in range(400)), encoding="utf-8")
    target_side = _train_sentencepiece(folder, [figures], "sp-figures", 60)
    return {
        "m2m100": build_tiny_m2m100(folder / "m2m100-mul-en", sp_model),
        "nllb": build_tiny_nllb(folder / "nllb-mul-en"),
        "marian_opus_layout": build_tiny_marian(folder / "marian-it-en-opus", sp_model, seed=6, pad_last=True),
        "marian_two_sides": build_tiny_marian(folder / "marian-it-en-two-sides", sp_model, seed=7, pad_last=True,
                                              target_sp_model=target_side),
    }


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    sp_model = _train_sentencepiece(folder)
    return {
        "it": build_tiny_marian(folder / "marian-it-en", sp_model, seed=0),
        "fr": build_tiny_marian(folder / "marian-fr-en", sp_model, seed=2),
        "fallback": build_tiny_marian(folder / "marian-mul-en", sp_model, seed=3),
        "bart": build_tiny_bart(folder / "bart-sum", sp_model),
    }


def write_config(path: Path, models: dict[str, Path], **overrides) -> Path:
    import yaml

    config = {
        "device": "cpu",
        "translate": {"batch_size": 8, "models": {
            "it": {"model": str(models["it"]), "generation": {"num_beams": 1, "max_new_tokens": 16}},
            "fr": {"model": str(models["fr"]), "generation": {"num_beams": 2, "max_new_tokens": 16}},
        }, "fallback": {"model": str(models["fallback"]), "generation": {"num_beams": 1, "max_new_tokens": 16}}},
        "summarize": {"method": "auto", "model": {"model": str(models["bart"]),
                                                   "generation": {"num_beams": 2, "max_new_tokens": 24,
                                                                  "no_repeat_ngram_size": 3}}},
    }
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            config.setdefault(section, {})[name] = value
        else:
            config[section] = value
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_config(tiny_models, tmp_path_factory) -> Path:
    return write_config(tmp_path_factory.mktemp("config") / "models.yaml", tiny_models)


def run_cli(*args: str):
    """Drive the CLI in-process, as a user would from the shell."""
    from click.testing import CliRunner

    from pipeline.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def load_records(out: Path) -> dict[str, dict[str, dict]]:
    records: dict[str, dict[str, dict]] = {}
    for path in sorted(out.rglob("*.json")):
        rel = path.parent.relative_to(out)
        if any(part.startswith(".") for part in rel.parts):
            continue
        records.setdefault("/".join(rel.parts), {})[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return records


def validate(record: dict) -> None:
    import jsonschema

    stage = record["stage"]
    schema = json.loads((SCHEMAS / f"{stage}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(record, schema)


sys.path.insert(0, str(ROOT / "tests"))


STAGE_NAMES = ("clean", "detect", "translate", "summarize")
STAGE_SUBSETS = [",".join(combo) for n in range(1, len(STAGE_NAMES) + 1)
                 for combo in __import__("itertools").combinations(STAGE_NAMES, n)]
RECORD_NAMES = {"clean": "clean", "detect": "detect", "translate": "translate", "summarize": "summary"}


def run_subsets(out_root: Path, config: Path, *extra: str) -> dict[str, tuple[int, dict]]:
    """`newsum run samples --stages S` for every ordered subset S: exit code and records of each."""
    runs = {}
    for subset in STAGE_SUBSETS:
        out = out_root / subset.replace(",", "+")
        result = run_cli("run", str(SAMPLES), "--out", str(out), "--config", str(config), "--stages", subset,
                         "--quiet", *extra)
        runs[subset] = (result.exit_code, load_records(out))
    return runs


@pytest.fixture(scope="session")
def local_subset_runs(tiny_config, tmp_path_factory) -> dict[str, tuple[int, dict]]:
    return run_subsets(tmp_path_factory.mktemp("subsets-local"), tiny_config, "--workers", "1")
