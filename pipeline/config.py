"""Load and validate models.yaml: which model does what, and the stages' tunables.

Every key is checked; an error names the file and the dotted key that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

DEFAULT_CONFIG_NAME = "models.yaml"

GENERATION_KEYS = {
    "num_beams": int,
    "max_new_tokens": int,
    "max_length": int,
    "min_length": int,
    "no_repeat_ngram_size": int,
    "length_penalty": float,
    "early_stopping": bool,
}

# Compute types CTranslate2's converter and runtime accept (backend: ctranslate2).
CT2_QUANTIZATIONS = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
                     "bfloat16", "float32")


@dataclass(frozen=True)
class ModelSpec:
    """One seq2seq model: a hub id or a local directory, and how to run it."""

    model: str
    revision: str | None = None
    backend: str = "transformers"
    generation: dict[str, Any] = field(default_factory=dict)
    max_input_tokens: int | None = None  # None: what the tokenizer/config says
    quantization: str = "int8"  # backend ctranslate2 only: the compute type of the converted model
    # backend ctranslate2 only: "auto" lets the decoder choose among the target side's tokens
    # only, where the tokenizer tells them apart (opus-mt: target.spm's pieces); "full": all.
    target_vocabulary: str = "auto"

    @property
    def is_local(self) -> bool:
        return os.path.isabs(self.model) or self.model.startswith((".", "~"))

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


DETECT_BACKENDS = ("langdetect", "fasttext", "lingua", "ensemble")


@dataclass(frozen=True)
class DetectConfig:
    backend: str = "ensemble"  # see pipeline/langid.py; langdetect is always available
    seed: int = 0  # langdetect is random; the seed makes it answer the same in every process
    min_chars: int = 20  # paragraphs with fewer letters are short: they lean to the document's language
    sample_chars: int = 20000  # characters examined per document; later paragraphs inherit
    paragraph_chars: int = 600  # characters examined per paragraph
    page_weight: float = 0.3  # how strongly the page's languages pull each paragraph's (0: not at all)
    declared_weight: float = 0.4  # share of that pull given to the declared language (never for the document)
    fast_accept: float = 0.9  # ensemble: fastText's probability above which lingua is not asked
    fast_accept_min_letters: int = 40  # ensemble: ...on paragraphs with at least this many letters
    letters_weight: float = 1.0  # ensemble: weight of letters few languages write (ș → ro) where lingua is asked; 0: off
    candidates_unsure: int = 20  # ensemble: fastText's best languages lingua chooses between where fastText is lost


@dataclass(frozen=True)
class TranslateConfig:
    target: str = "en"
    batch_size: int = 16
    # backend ctranslate2: a batch is cut into sub-batches of at most this many source tokens,
    # padding counted (CTranslate2's batch_type "tokens"); 0: never cut
    batch_tokens: int = 4096
    threads: int = 0
    models: dict[str, ModelSpec] = field(default_factory=dict)
    fallback: ModelSpec | None = None
    cache: bool = True  # reuse earlier translations of the same segment with the same model and settings
    cache_path: str | None = None  # None: OUT/.newsum/translations.sqlite
    paragraph_languages: bool = True  # route each paragraph by its own detected language


@dataclass(frozen=True)
class SummarizeConfig:
    method: str = "auto"  # auto | extractive | abstractive
    model: ModelSpec | None = None
    batch_size: int = 4
    sentences: int = 3
    key_points: int = 4
    support_threshold: float = 0.6  # share of a generated sentence's words its sources must hold
    max_chars: int = 200_000  # characters of a document read (cut at a paragraph); the record says so; 0: all


@dataclass(frozen=True)
class StoriesConfig:
    """Grouping articles into stories (pipeline/stories.py) and near copies (pipeline/neardup.py)."""

    embedding: str = "auto"  # auto: the multilingual sentence encoder when installed, else TF-IDF | none
    lead_chars: int = 1000  # characters of the text after the headline that are embedded
    join_threshold: float = 0.45  # an article joins the best story scoring at least this
    evidence_weight: float = 0.5  # share of the score from names, figures, dates and quotes (the rest: text)
    tfidf_join_threshold: float = 0.15  # the same two, where TF-IDF stands in for the sentence encoder
    tfidf_evidence_weight: float = 0.7
    max_key_share: float = 0.02  # evidence keys held by more than this share of articles find no candidates
    max_candidates: int = 50  # stories scored per article
    near_duplicate_threshold: float = 0.3  # estimated Jaccard of word shingles above which two texts are copies
    shingle_words: int = 3
    num_perm: int = 128  # MinHash permutations
    window_days: int = 7  # a story not seen for this many nights takes no new articles; 0: never closes


@dataclass(frozen=True)
class Config:
    path: str | None = None
    device: str = "auto"
    cache_dir: str | None = None
    detect: DetectConfig = field(default_factory=DetectConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    summarize: SummarizeConfig = field(default_factory=SummarizeConfig)
    stories: StoriesConfig = field(default_factory=StoriesConfig)

    def section_hash(self, stage: str) -> str:
        """A stable hash of what a stage's output depends on in the configuration."""
        section = {
            "clean": {},
            "detect": asdict(self.detect),
            "translate": asdict(self.translate),
            "summarize": asdict(self.summarize),
        }[stage]
        blob = json.dumps(section, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _fail(path: str | None, key: str, problem: str) -> ConfigError:
    where = path or "configuration"
    return ConfigError(f"{where}: {key}: {problem}")


def _check_keys(path, prefix: str, data: Any, allowed: set[str]) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(path, prefix, f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise _fail(path, f"{prefix}.{key}" if prefix else str(key),
                        f"unknown key (expected one of: {', '.join(sorted(allowed))})")
    return data


def _typed(path, key: str, value: Any, kind: type, choices: tuple | None = None):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise _fail(path, key, f"expected {kind.__name__}, got {value!r}")
    if choices and value not in choices:
        raise _fail(path, key, f"must be one of {', '.join(choices)}, got {value!r}")
    if kind is int and value < 0:
        raise _fail(path, key, f"must not be negative, got {value}")
    return value


def _model_spec(path, key: str, data: Any, base_dir: Path | None) -> ModelSpec:
    if isinstance(data, str):
        data = {"model": data}
    data = _check_keys(path, key, data,
                       {"model", "revision", "backend", "generation", "max_input_tokens", "quantization",
                        "target_vocabulary"})
    if "model" not in data:
        raise _fail(path, f"{key}.model", "missing (a Hugging Face id or a local directory)")
    model = _typed(path, f"{key}.model", data["model"], str)
    # A relative local path is relative to models.yaml, not to the working directory.
    if base_dir is not None and model.startswith((".", "~")):
        model = str((base_dir / os.path.expanduser(model)).resolve())
    revision = data.get("revision")
    if revision is not None:
        revision = _typed(path, f"{key}.revision", str(revision), str)
    backend = _typed(path, f"{key}.backend", data.get("backend", "transformers"), str,
                     ("transformers", "ctranslate2"))
    generation = _check_keys(path, f"{key}.generation", data.get("generation"),
                             set(GENERATION_KEYS))
    generation = {k: _typed(path, f"{key}.generation.{k}", v, GENERATION_KEYS[k])
                  for k, v in generation.items()}
    max_input = data.get("max_input_tokens")
    if max_input is not None:
        max_input = _typed(path, f"{key}.max_input_tokens", max_input, int)
    quantization = _typed(path, f"{key}.quantization", data.get("quantization", "int8"), str,
                          CT2_QUANTIZATIONS)
    target_vocabulary = _typed(path, f"{key}.target_vocabulary",
                               data.get("target_vocabulary", ModelSpec.target_vocabulary), str, ("auto", "full"))
    return ModelSpec(model=model, revision=revision, backend=backend, generation=generation,
                     max_input_tokens=max_input, quantization=quantization, target_vocabulary=target_vocabulary)


def _local_path(path, key: str, value: Any, base_dir: Path | None) -> str | None:
    """An optional file path; a relative one is relative to models.yaml."""
    if value is None:
        return None
    value = os.path.expanduser(_typed(path, key, value, str))
    if base_dir is not None and not os.path.isabs(value):
        value = str((base_dir / value).resolve())
    return value


def parse_device(device: str, key: str = "device", path: str | None = None) -> str:
    """auto, cpu, cuda, cuda:N or mps; anything else is a ConfigError naming the key."""
    if not (device in ("auto", "cpu", "cuda", "mps") or (device.startswith("cuda:") and device[5:].isdigit())):
        raise _fail(path, key, f"must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    return device


def parse_config(data: Any, path: str | None = None) -> Config:
    base_dir = Path(path).resolve().parent if path else None
    data = _check_keys(path, "", data, {"device", "cache_dir", "detect", "translate", "summarize", "stories"})
    device = parse_device(_typed(path, "device", data.get("device", "auto"), str), "device", path)
    cache_dir = data.get("cache_dir")
    if cache_dir is not None:
        cache_dir = _typed(path, "cache_dir", cache_dir, str)
        if base_dir is not None:
            cache_dir = str((base_dir / os.path.expanduser(cache_dir)).resolve())

    d = _check_keys(path, "detect", data.get("detect"), set(DetectConfig.__dataclass_fields__))
    detect_defaults = DetectConfig()
    detect = DetectConfig(
        backend=_typed(path, "detect.backend", d.get("backend", detect_defaults.backend), str, DETECT_BACKENDS),
        seed=_typed(path, "detect.seed", d.get("seed", detect_defaults.seed), int),
        min_chars=max(1, _typed(path, "detect.min_chars", d.get("min_chars", detect_defaults.min_chars), int)),
        sample_chars=_typed(path, "detect.sample_chars", d.get("sample_chars", detect_defaults.sample_chars), int),
        paragraph_chars=max(1, _typed(path, "detect.paragraph_chars",
                                      d.get("paragraph_chars", detect_defaults.paragraph_chars), int)),
        declared_weight=_typed(path, "detect.declared_weight",
                               d.get("declared_weight", detect_defaults.declared_weight), float),
        page_weight=_typed(path, "detect.page_weight", d.get("page_weight", detect_defaults.page_weight), float),
        fast_accept=_typed(path, "detect.fast_accept", d.get("fast_accept", detect_defaults.fast_accept), float),
        fast_accept_min_letters=_typed(path, "detect.fast_accept_min_letters",
                                       d.get("fast_accept_min_letters", detect_defaults.fast_accept_min_letters), int),
        letters_weight=_typed(path, "detect.letters_weight",
                              d.get("letters_weight", detect_defaults.letters_weight), float),
        candidates_unsure=max(1, _typed(path, "detect.candidates_unsure",
                                        d.get("candidates_unsure", detect_defaults.candidates_unsure), int)),
    )
    for key in ("fast_accept", "declared_weight", "page_weight"):
        if not 0.0 <= getattr(detect, key) <= 1.0:
            raise _fail(path, f"detect.{key}", "must be between 0 and 1")
    if detect.letters_weight < 0:
        raise _fail(path, "detect.letters_weight", "must not be negative")

    t = _check_keys(path, "translate", data.get("translate"),
                    {"target", "batch_size", "batch_tokens", "threads", "models", "fallback", "cache", "cache_path",
                     "paragraph_languages"})
    models_data = _check_keys(path, "translate.models", t.get("models"), set(t.get("models") or {}))
    models = {}
    for lang, spec in models_data.items():
        lang = str(lang)
        if not (2 <= len(lang) <= 3 and lang.isalpha() and lang.islower()):
            raise _fail(path, f"translate.models.{lang}", "not an ISO 639 language code (e.g. it, fr)")
        models[lang] = _model_spec(path, f"translate.models.{lang}", spec, base_dir)
    fallback = t.get("fallback")
    translate = TranslateConfig(
        target=_typed(path, "translate.target", t.get("target", "en"), str, ("en",)),
        batch_size=max(1, _typed(path, "translate.batch_size", t.get("batch_size", 16), int)),
        batch_tokens=_typed(path, "translate.batch_tokens",
                            t.get("batch_tokens", TranslateConfig.batch_tokens), int),
        threads=_typed(path, "translate.threads", t.get("threads", 0), int),
        models=models,
        fallback=_model_spec(path, "translate.fallback", fallback, base_dir) if fallback else None,
        cache=_typed(path, "translate.cache", t.get("cache", True), bool),
        cache_path=_local_path(path, "translate.cache_path", t.get("cache_path"), base_dir),
        paragraph_languages=_typed(path, "translate.paragraph_languages", t.get("paragraph_languages", True), bool),
    )

    s = _check_keys(path, "summarize", data.get("summarize"),
                    {"method", "model", "batch_size", "sentences", "key_points", "support_threshold", "max_chars"})
    summary_model = s.get("model")
    summarize = SummarizeConfig(
        method=_typed(path, "summarize.method", s.get("method", "auto"), str,
                      ("auto", "extractive", "abstractive")),
        model=_model_spec(path, "summarize.model", summary_model, base_dir) if summary_model else None,
        batch_size=max(1, _typed(path, "summarize.batch_size", s.get("batch_size", 4), int)),
        sentences=_typed(path, "summarize.sentences", s.get("sentences", 3), int),
        key_points=_typed(path, "summarize.key_points", s.get("key_points", 4), int),
        support_threshold=_typed(path, "summarize.support_threshold", s.get("support_threshold", 0.6), float),
        max_chars=_typed(path, "summarize.max_chars", s.get("max_chars", SummarizeConfig.max_chars), int),
    )
    if not 0.0 <= summarize.support_threshold <= 1.0:
        raise _fail(path, "summarize.support_threshold", "must be between 0 and 1")
    if summarize.method == "abstractive" and summarize.model is None:
        raise _fail(path, "summarize.model", "method is abstractive but no model is named")
    if not 2 <= summarize.sentences <= 4:
        raise _fail(path, "summarize.sentences", "must be between 2 and 4")
    if not 3 <= summarize.key_points <= 5:
        raise _fail(path, "summarize.key_points", "must be between 3 and 5")
    return Config(path=path, device=device, cache_dir=cache_dir, detect=detect,
                  translate=translate, summarize=summarize, stories=_stories(path, data.get("stories")))


def _stories(path, data: Any) -> StoriesConfig:
    fields_ = StoriesConfig.__dataclass_fields__
    data = _check_keys(path, "stories", data, set(fields_))
    defaults = StoriesConfig()
    values = {}
    for name in fields_:
        kind = type(getattr(defaults, name))
        choices = ("auto", "none") if name == "embedding" else None
        values[name] = _typed(path, f"stories.{name}", data.get(name, getattr(defaults, name)), kind, choices)
    stories = StoriesConfig(**values)
    for name in ("join_threshold", "evidence_weight", "tfidf_join_threshold", "tfidf_evidence_weight",
                 "max_key_share", "near_duplicate_threshold"):
        if not 0.0 <= getattr(stories, name) <= 1.0:
            raise _fail(path, f"stories.{name}", "must be between 0 and 1")
    for name in ("shingle_words", "num_perm", "max_candidates"):
        if getattr(stories, name) < 1:
            raise _fail(path, f"stories.{name}", "must be at least 1")
    return stories


def find_default_config() -> Path | None:
    """models.yaml in the working directory, else the one next to the package (a checkout)."""
    for candidate in (Path.cwd() / DEFAULT_CONFIG_NAME,
                      Path(__file__).resolve().parent.parent / DEFAULT_CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a models.yaml; with no path, the default one (or built-in defaults)."""
    if path is None:
        found = find_default_config()
        if found is None:
            return Config()
        path = found
    path = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(data or {}, path)
