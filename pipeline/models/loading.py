"""Loading seq2seq models: a hub id or a local folder, a pinned revision, a device, a backend.

torch, transformers and ctranslate2 are imported here, inside functions, so that commands
that need no model start instantly. A registry loads each model once per run and remembers
failures, so a missing model costs one message, not one per document.

Two backends share one interface (`Seq2SeqModel.generate`, `count_tokens`,
`max_input_tokens`): `transformers` runs the model with torch; `ctranslate2` runs the
int8 conversion that `newsum models pull` makes with CTranslate2's own converter. Both
tokenize with the model's own Hugging Face tokenizer, so segments and records are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.config import Config, ModelSpec
from pipeline.deadline import paused
from pipeline.errors import ModelUnavailable

# Generation settings and their names in CTranslate2's translate_batch.
_CT2_SETTINGS = {"num_beams": "beam_size", "max_new_tokens": "max_decoding_length",
                 "max_length": "max_decoding_length", "min_length": "min_decoding_length",
                 "no_repeat_ngram_size": "no_repeat_ngram_size", "length_penalty": "length_penalty"}
CT2_MARKER = "newsum-conversion.json"  # written beside a converted model: what it was made from
VMAP_FILE = "vmap.txt"  # CTranslate2's vocabulary map: here, the target side's tokens


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def hub_cache_dir(config: Config) -> str:
    """models.yaml's cache_dir, else HF_HUB_CACHE, else HF_HOME/hub, read when asked (not at import)."""
    if config.cache_dir:
        return config.cache_dir
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def cached_snapshot(spec: ModelSpec, config: Config) -> str | None:
    """The local folder of a hub model in the Hugging Face cache, or None; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(spec.model, revision=spec.revision, cache_dir=hub_cache_dir(config),
                                 local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def snapshot_commit(folder: str | os.PathLike) -> str | None:
    """The commit sha of a hub snapshot folder (`.../snapshots/<sha>`), None for a local model."""
    path = Path(folder)
    if path.parent.name == "snapshots" and len(path.name) == 40:
        return path.name
    return None


def newsum_home(config: Config) -> Path:
    """Where newsum keeps what it derives from models (CTranslate2 conversions), beside the HF cache."""
    if config.cache_dir:
        from pipeline.workspace import NEWSUM_DIR

        return Path(config.cache_dir) / NEWSUM_DIR  # inside the cache models.yaml names, out of its listing
    hf_home = os.environ.get("HF_HOME")
    if not hf_home:
        from huggingface_hub import constants

        hf_home = constants.HF_HOME
    return Path(hf_home) / "newsum"


def ct2_folder(spec: ModelSpec, config: Config, source: str | os.PathLike) -> Path:
    """The folder of the CTranslate2 conversion of a model, named after exactly what it was made from.

    A hub model is named by its commit; a local folder by its path and the size and time of
    its weights, so that a retrained model is not served from a stale conversion.
    """
    source = Path(source)
    commit = snapshot_commit(source)
    if commit:
        name = f"{spec.model.replace('/', '--')}--{commit[:12]}"
    else:
        stamp = [str(source.resolve())]
        for weights in sorted(source.glob("*.safetensors")):
            info = weights.stat()
            stamp.append(f"{weights.name}:{info.st_size}:{info.st_mtime_ns}")
        name = f"{source.name}--{hashlib.sha256('|'.join(stamp).encode()).hexdigest()[:12]}"
    return newsum_home(config) / "ctranslate2" / f"{name}--{spec.quantization}"


def how_to_get(spec: ModelSpec, role: str) -> str:
    if spec.backend == "ctranslate2":
        return (f"run `newsum models pull` (it converts {role} to CTranslate2 {spec.quantization}; "
                "a hub model needs a connected machine with the same HF_HOME)")
    if spec.is_local:
        return f"check the folder, or point {role} in models.yaml at a folder saved with save_pretrained"
    return ("run `newsum models pull` on a connected machine (same HF_HOME), "
            f"or point {role} in models.yaml at a local folder")


@cache
def flores_codes() -> dict[str, str]:
    """ISO 639-1 codes to the FLORES-200 codes that NLLB-style tokenizers use."""
    text = resources.files("pipeline.resources").joinpath("translate/flores200.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


@dataclass(frozen=True)
class LanguageTags:
    """How a multilingual model is told the source and target language.

    M2M100 tokenizers take ISO 639-1 codes (`it`) and mark the target with `__en__`;
    NLLB tokenizers take FLORES-200 codes (`ita_Latn`) and mark it with `eng_Latn`.
    A pair model (opus-mt) has no tags: `kind` is None.
    """

    kind: str | None = None  # None | "m2m100" | "nllb"
    codes: frozenset[str] = frozenset()

    def source_code(self, language: str) -> str | None:
        if self.kind == "m2m100":
            return language if language in self.codes else None
        if self.kind == "nllb":
            code = flores_codes().get(language)
            return code if code in self.codes else None
        return language

    def target_token(self, language: str) -> str | None:
        if self.kind == "m2m100":
            return f"__{language}__" if language in self.codes else None
        if self.kind == "nllb":
            code = flores_codes().get(language)
            return code if code in self.codes else None
        return None


def language_tags(tokenizer: Any) -> LanguageTags:
    if hasattr(tokenizer, "lang_code_to_token") and hasattr(tokenizer, "get_lang_id"):
        return LanguageTags("m2m100", frozenset(tokenizer.lang_code_to_token))
    vocab_tokens = set(tokenizer.get_vocab())
    flores = set(flores_codes().values()) & vocab_tokens
    if "eng_Latn" in flores and hasattr(tokenizer, "src_lang"):
        return LanguageTags("nllb", frozenset(flores))
    return LanguageTags()


class LanguageNotSupported(ValueError):
    """A multilingual model that has no code for the requested language."""


@dataclass
class Seq2SeqModel:
    """A loaded tokenizer and model, and how to generate with them.

    The tokenizer is always the model's own Hugging Face tokenizer; subclasses differ only
    in how they turn token ids into output ids (`_generate_ids`).
    """

    spec: ModelSpec
    role: str
    tokenizer: Any
    model: Any  # None until the weights are needed, when load_weights is given
    device: str
    max_input_tokens: int
    model_type: str
    generation: dict[str, Any] = field(default_factory=dict)
    commit: str | None = None
    tags: LanguageTags = field(default_factory=LanguageTags)
    target_language: str = "en"
    load_weights: Callable[[], Any] | None = None
    target_vocabulary: int | None = None  # the target tokens the decoder chooses among, where restricted
    _weights_error: ModelUnavailable | None = None

    def ensure_weights(self) -> None:
        """Load the weights if they are not yet: a run whose segments are all cached never does."""
        if self.model is not None:
            return
        if self._weights_error is not None:
            raise self._weights_error
        if self.load_weights is None:
            raise ModelUnavailable(f"model {self.spec.model} for {self.role} has no weights loaded")
        try:
            with paused():  # a load is not the document's time, and must not be cut short
                self.model = self.load_weights()
        except ModelUnavailable as exc:
            self._weights_error = exc
            raise

    @property
    def weights_loaded(self) -> bool:
        return self.model is not None

    @property
    def ident(self) -> dict[str, Any]:
        ident = {"id": self.spec.model, "revision": self.spec.revision, "commit": self.commit,
                 "backend": self.spec.backend}
        if self.target_vocabulary:
            ident["target_vocabulary"] = self.target_vocabulary
        return ident

    @property
    def cache_identity(self) -> str:
        """Everything the output of a segment depends on besides its text: the translation cache key."""
        identity = {"model": self.spec.model, "revision": self.spec.revision, "commit": self.commit,
                    "backend": self.spec.backend, "generation": self.generation,
                    "target": self.target_language}
        if self.spec.backend == "ctranslate2":
            identity["quantization"] = self.spec.quantization
        if self.target_vocabulary:
            identity["target_vocabulary"] = self.target_vocabulary
        return json.dumps(identity, sort_keys=True)

    def supports(self, language: str | None) -> bool:
        return language is None or self.tags.kind is None or self.tags.source_code(language) is not None

    def _set_source(self, language: str | None) -> None:
        if self.tags.kind is None or language is None:
            return
        code = self.tags.source_code(language)
        if code is None:
            raise LanguageNotSupported(f"{self.spec.model} has no language code for '{language}'")
        if getattr(self.tokenizer, "src_lang", None) != code:
            self.tokenizer.src_lang = code

    def count_tokens(self, text: str, language: str | None = None) -> int:
        """Input tokens as the model's tokenizer counts them, special tokens included."""
        self._set_source(language)
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def generate(self, texts: list[str], source_language: str | None = None,
                 **overrides: Any) -> tuple[list[str], list[bool]]:
        """Generate for a batch; returns the outputs and, for each, whether it hit the length cap."""
        settings = {**self.generation, **overrides}
        self._set_source(source_language)
        encoded = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        longest = max((len(ids) for ids in encoded), default=0)
        if longest > self.max_input_tokens:
            raise ValueError(f"input of {longest} tokens is over the model's limit of {self.max_input_tokens}")
        target_token = self.tags.target_token(self.target_language) if self.tags.kind else None
        self.ensure_weights()
        outputs = self._generate_ids(encoded, settings, target_token)
        eos = self.tokenizer.eos_token_id
        drop = {self.tokenizer.convert_tokens_to_ids(target_token)} if target_token else set()
        # Generated tokens allowed (max_length also counts the decoder's start token). An output
        # that used them all is capped even if it ends with EOS: opus-mt's forced_eos_token_id
        # puts one there when the cap cuts a translation short.
        cap = settings.get("max_new_tokens") or (settings["max_length"] - 1 if settings.get("max_length") else None)
        texts_out, capped = [], []
        for ids in outputs:
            capped.append(eos not in ids or (cap is not None and len(ids) >= cap))
            # Language tags are not always special tokens for the decoder: drop them by id.
            texts_out.append(self.tokenizer.decode([i for i in ids if i not in drop],
                                                   skip_special_tokens=True).strip())
        return texts_out, capped

    def _generate_ids(self, encoded: list[list[int]], settings: dict[str, Any],
                      target_token: str | None) -> list[list[int]]:
        """Output ids for each input (end token included when the model produced it)."""
        import torch

        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in encoded)
        # Padding on the side the tokenizer pads on, with an attention mask, as tokenizer(padding=True) does.
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        rows, masks = [], []
        for ids in encoded:
            fill = [pad] * (width - len(ids))
            rows.append(fill + ids if left else ids + fill)
            masks.append([0] * len(fill) + [1] * len(ids) if left else [1] * len(ids) + [0] * len(fill))
        input_ids = torch.tensor(rows, dtype=torch.long, device=self.device)
        attention_mask = torch.tensor(masks, dtype=torch.long, device=self.device)
        if target_token:
            settings = {**settings, "forced_bos_token_id": self.tokenizer.convert_tokens_to_ids(target_token)}
        with torch.inference_mode():
            output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **settings)
        start = self.model.config.decoder_start_token_id
        result = []
        for row in output.tolist():
            if row and row[0] == start:
                row = row[1:]
            while row and row[-1] == pad and pad != self.tokenizer.eos_token_id:
                row.pop()
            result.append(row)
        return result


@dataclass
class CTranslate2Model(Seq2SeqModel):
    """The same model converted with CTranslate2 (int8 by default): same tokenizer, same records."""

    threads: int = 0
    batch_tokens: int = 0  # sub-batches of at most this many padded source tokens; 0: the batch whole

    def _generate_ids(self, encoded: list[list[int]], settings: dict[str, Any],
                      target_token: str | None) -> list[list[int]]:
        # CTranslate2 runs each sub-batch without the per-step overhead that makes large
        # batches pay in torch, so padding is what costs: a batch that mixes short segments
        # with a 500-token one is cut by tokens (it sorts by length, results come back in order).
        options: dict[str, Any] = {"beam_size": 1, "max_input_length": 0, "return_end_token": True,
                                   "use_vmap": bool(self.target_vocabulary),
                                   "max_batch_size": self.batch_tokens, "batch_type": "tokens"}
        for key, value in settings.items():
            if key in _CT2_SETTINGS:
                options[_CT2_SETTINGS[key]] = value
        tokens = [self.tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        prefix = [[target_token] for _ in tokens] if target_token else None
        results = self.model.translate_batch(tokens, target_prefix=prefix, **options)
        return [self.tokenizer.convert_tokens_to_ids(r.hypotheses[0]) for r in results]


def _input_limit(spec: ModelSpec, tokenizer: Any, positions: int | None) -> int:
    if spec.max_input_tokens:
        return spec.max_input_tokens
    limits = []
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if tok_limit and tok_limit < 1_000_000:
        limits.append(int(tok_limit))
    if positions:
        limits.append(int(positions))
    return min(limits) if limits else 512


def _load_error(spec: ModelSpec, role: str, exc: Exception) -> ModelUnavailable:
    detail = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
    return ModelUnavailable(f"model {spec.model} for {role} cannot be loaded: {detail[:300]}. "
                            f"Fix: {how_to_get(spec, role)}")


def model_location(spec: ModelSpec, role: str, config: Config) -> str:
    """The local folder of a model (never downloads), or ModelUnavailable saying how to get it."""
    if spec.is_local:
        if not os.path.isdir(spec.model):
            raise ModelUnavailable(f"model folder {spec.model} ({role}) does not exist: {how_to_get(spec, role)}")
        return spec.model
    # Runs never download: a hub model must be in the local cache (`newsum models pull`), so a
    # nightly run neither hangs on the network nor changes models behind the operator's back.
    location = cached_snapshot(spec, config)
    if location is None:
        raise ModelUnavailable(f"model {spec.model} (revision {spec.revision or 'main'}) for {role} is not in "
                               f"the local Hugging Face cache. Fix: {how_to_get(spec, role)}")
    return location


def load_seq2seq(spec: ModelSpec, role: str, config: Config, lazy: bool = False) -> Seq2SeqModel:
    """Load a model: AutoTokenizer + AutoModelForSeq2SeqLM (safetensors only, no remote code),
    or its CTranslate2 conversion. With lazy, only the tokenizer now, the weights on first use."""
    location = model_location(spec, role, config)
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # newsum reports model problems itself, one line each
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        with open(os.path.join(location, "config.json"), encoding="utf-8") as fh:
            model_config = json.load(fh)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_error(spec, role, exc) from None
    generation = dict(spec.generation)
    max_input = _input_limit(spec, tokenizer, model_config.get("max_position_embeddings"))
    if "max_new_tokens" not in generation and "max_length" not in generation:
        generation["max_new_tokens"] = max_input
    common = dict(spec=spec, role=role, tokenizer=tokenizer, max_input_tokens=max_input,
                  model_type=model_config.get("model_type", ""), generation=generation,
                  commit=snapshot_commit(location), tags=language_tags(tokenizer),
                  target_language=config.translate.target)
    if spec.backend == "ctranslate2":
        folder = _ct2_ready(spec, role, config, location)
        if spec.target_vocabulary == "auto":
            common["target_vocabulary"] = vocabulary_map_size(folder)
        try:
            device, index = _ct2_device(config.device)
        except ValueError as exc:
            raise _load_error(spec, role, exc) from None
        loaded = CTranslate2Model(model=None, device=device if device == "cpu" else f"cuda:{index}",
                                  threads=config.translate.threads,
                                  batch_tokens=config.translate.batch_tokens, **common)
        loaded.load_weights = lambda: _load_ctranslate2(spec, role, config, location, device, index)
    else:
        loaded = Seq2SeqModel(model=None, device=resolve_device(config.device), **common)
        loaded.load_weights = lambda: _load_transformers(spec, role, config, location, loaded.device)
    if not lazy:
        loaded.ensure_weights()
    return loaded


def _load_transformers(spec: ModelSpec, role: str, config: Config, location: str, device: str) -> Any:
    import torch
    from transformers import AutoModelForSeq2SeqLM

    if config.translate.threads and torch.get_num_threads() != config.translate.threads:
        torch.set_num_threads(config.translate.threads)
    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(location, use_safetensors=True)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_error(spec, role, exc) from None
    model.to(device)
    model.eval()
    return model


def _ct2_device(device: str) -> tuple[str, int]:
    if device == "auto":
        try:
            import ctranslate2
        except ImportError:
            return "cpu", 0  # the load says what is missing
        return ("cuda", 0) if ctranslate2.get_cuda_device_count() > 0 else ("cpu", 0)
    if device.startswith("cuda"):
        return "cuda", int(device.partition(":")[2] or 0)
    if device != "cpu":
        raise ValueError(f"CTranslate2 runs on cpu or cuda, not {device}")
    return "cpu", 0


def _ct2_ready(spec: ModelSpec, role: str, config: Config, location: str) -> Path:
    """The conversion folder, or ModelUnavailable saying what is missing and how to get it."""
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        raise ModelUnavailable(f"{role}: backend ctranslate2 needs the ctranslate2 package: "
                               "pip install 'newsum[ct2]' (or use backend: transformers)") from None
    folder = ct2_folder(spec, config, location)
    if not (folder / "model.bin").is_file():
        raise ModelUnavailable(f"model {spec.model} for {role} has no CTranslate2 {spec.quantization} conversion "
                               f"(expected in {folder}). Fix: {how_to_get(spec, role)}")
    return folder


def _load_ctranslate2(spec: ModelSpec, role: str, config: Config, location: str, device: str, index: int) -> Any:
    import ctranslate2

    folder = _ct2_ready(spec, role, config, location)
    try:
        return ctranslate2.Translator(str(folder), device=device, device_index=index,
                                      compute_type=spec.quantization, inter_threads=1,
                                      intra_threads=config.translate.threads)
    except (RuntimeError, ValueError, OSError) as exc:
        raise _load_error(spec, role, exc) from None


def target_side_tokens(tokenizer: Any) -> list[str] | None:
    """The tokens a model writes on its target side, where its tokenizer tells them apart; else None.

    An opus-mt model has one vocabulary for both sides, made of the pieces of two
    SentencePiece models (source.spm, target.spm), and an output layer over all of it; every
    target it was trained on was cut with target.spm, so only those pieces are ever its
    answer. Restricting the decoder to them (CTranslate2's vocabulary map) skips most of the
    output layer, the largest matrix of a decoding step, and can change an output only where
    the full model would have chosen a piece of the source side, which it never saw as a target.
    """
    target_spm = getattr(tokenizer, "spm_target", None)
    if target_spm is None or getattr(tokenizer, "separate_vocabs", False):
        return None
    vocab = tokenizer.get_vocab()
    pieces = {target_spm.id_to_piece(i) for i in range(target_spm.get_piece_size())}
    pieces |= {tokenizer.eos_token, tokenizer.unk_token}
    tokens = sorted((t for t in pieces if t in vocab and not any(ch.isspace() for ch in t)), key=vocab.get)
    writable = set(vocab) - {tokenizer.pad_token}
    return tokens if len(tokens) < len(writable) else None  # the same pieces on both sides: nothing to skip


def write_vocabulary_map(folder: Path, location: str) -> int | None:
    """Write CTranslate2's vocabulary map of the target side into a converted folder (an
    empty source n-gram: candidates always allowed); returns its size, None when the model
    has no separate target side."""
    from transformers import AutoTokenizer

    tokens = target_side_tokens(AutoTokenizer.from_pretrained(location))
    path = folder / VMAP_FILE
    if tokens is None:
        path.unlink(missing_ok=True)
        return None
    from pipeline.files import write_text_atomic

    write_text_atomic(path, "\t" + " ".join(tokens) + "\n")
    return len(tokens)


def vocabulary_map_size(folder: Path) -> int | None:
    """How many target tokens a converted folder's vocabulary map allows; None: no map."""
    try:
        return len((folder / VMAP_FILE).read_text(encoding="utf-8").split()) or None
    except OSError:
        return None


def convert_to_ctranslate2(spec: ModelSpec, config: Config, location: str, force: bool = False) -> Path:
    """Convert a model folder with CTranslate2's own converter (safetensors only); returns the folder.

    Beside the model goes the vocabulary map of the target side (`target_side_tokens`); a
    conversion made before such maps existed gets one without being converted again."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    class SafetensorsConverter(TransformersConverter):
        # The converter loads with from_pretrained; newsum loads safetensors only, here too.
        def load_model(self, model_class, model_name_or_path, **kwargs):
            return model_class.from_pretrained(model_name_or_path, use_safetensors=True, **kwargs)

    folder = ct2_folder(spec, config, location)
    if (folder / "model.bin").is_file() and not force:
        marker = folder / CT2_MARKER
        try:
            details = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            details = {}
        if "target_vocabulary" not in details:
            from pipeline.files import write_json_atomic

            details["target_vocabulary"] = write_vocabulary_map(folder, location)
            write_json_atomic(marker, details)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + ".partial")
    SafetensorsConverter(location).convert(str(staging), quantization=spec.quantization, force=True)
    target_vocabulary = write_vocabulary_map(staging, location)
    (staging / CT2_MARKER).write_text(json.dumps({
        "source": spec.model, "revision": spec.revision, "commit": snapshot_commit(location),
        "source_folder": str(location), "quantization": spec.quantization,
        "target_vocabulary": target_vocabulary, "ctranslate2": ctranslate2.__version__}, indent=2) + "\n",
        encoding="utf-8")
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    os.replace(staging, folder)  # a half-written conversion is never taken for a whole one
    return folder
