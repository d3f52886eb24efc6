"""Load and validate models.yaml: which model does what, and the stages' tunables.

Every key is checked; an error names the file and the dotted key that is wrong. Each
section is a dataclass whose fields are its settings, declared once with their defaults and
ranges (`setting`); the keys a section allows and how each is checked come from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import reprlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.stages.detect.langid import BACKENDS, EnsembleSettings

DEFAULT_CONFIG_NAME = "models.yaml"

# Aliases may share a small block (a generation setting used by several models), never
# multiply the document: all aliases together may stand for at most this many nodes.
MAX_ALIAS_NODES = 1000
MAX_KEY_CHARS = 60


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader with two changes for models.yaml.

    - YAML 1.2 booleans: only true/false (any case) are booleans, so language codes such as
      `no` (Norwegian), `on`, `off`, `yes`, `y`, `n` stay strings.
    - Aliases are bounded: the nodes all aliases stand for (an alias of a mapping counts its
      whole tree) may not exceed MAX_ALIAS_NODES, so a "billion laughs" document is refused
      while it is composed, before anything is built or shown.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._alias_nodes = 0
        self._node_sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                self._alias_nodes += self._size(node)
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise yaml.composer.ComposerError(
                        None, None, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (refused)",
                        event.start_mark)
        return super().compose_node(parent, index)

    def _size(self, node) -> int:
        """The number of nodes `node` stands for, aliases inside it counted in full."""
        known = self._node_sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._size(k) + self._size(v) for k, v in node.value)
        size = min(size, MAX_ALIAS_NODES + 1)  # past the bound the exact figure does not matter
        self._node_sizes[id(node)] = size
        return size


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))

def setting(default: Any = None, *, factory: Callable[[], Any] | None = None, minimum: float | None = None,
            maximum: float | None = None, choices: tuple | None = None,
            parse: Callable[[str | None, str, Any, Path | None], Any] | None = None) -> Any:
    """A setting of models.yaml, declared once: its default, its range or choices, and how to
    read it when it is not a plain value. The allowed keys, type checks and ranges of every
    section are derived from these declarations."""
    rules = {"minimum": minimum, "maximum": maximum, "choices": choices, "parse": parse}
    if factory is not None:
        return field(default_factory=factory, metadata=rules)
    return field(default=default, metadata=rules)


def _fail(path: str | None, key: str, problem: str) -> ConfigError:
    where = path or "configuration"
    return ConfigError(f"{where}: {key}: {problem}")


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 50, 50
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 4


def _shown(value: Any) -> str:
    """A value as an error message shows it: never more than a line, and never built whole
    (a deep or shared structure is cut while it is shown, not after)."""
    text = " ".join(_REPR.repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _key(prefix: str, key: Any) -> str:
    """A dotted key for a message; a key that is not a short string is shown cut."""
    name = key if isinstance(key, str) and len(key) <= MAX_KEY_CHARS and key.isprintable() else _shown(key)
    return f"{prefix}.{name}" if prefix else name


def _check_keys(path, prefix: str, data: Any, allowed: set[str]) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(path, prefix, f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise _fail(path, _key(prefix, key),
                        f"unknown key (expected one of: {', '.join(sorted(allowed))})")
    return data


_PLAIN = {"str": str, "int": int, "float": float, "bool": bool}


def _typed(path, key: str, value: Any, annotation: str) -> Any:
    """A plain value checked against its declared type (`int`, `float`, `str | None`...)."""
    kinds = [k.strip() for k in annotation.split("|")]
    if value is None:
        if "None" in kinds:
            return None
    kind = _PLAIN[kinds[0]]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise _fail(path, key, f"expected {kind.__name__}, got {_shown(value)}")
    return value


def _check_range(path, key: str, value: Any, rules: dict) -> Any:
    choices, minimum, maximum = rules.get("choices"), rules.get("minimum"), rules.get("maximum")
    if value is None:
        return value
    if choices and value not in choices:
        raise _fail(path, key, f"must be one of {', '.join(map(str, choices))}, got {_shown(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = minimum if minimum is not None else (0 if isinstance(value, int) else None)
        if low is not None and maximum is not None and not low <= value <= maximum:
            raise _fail(path, key, f"must be between {low:g} and {maximum:g}, got {value:g}")
        if low is not None and value < low:
            raise _fail(path, key, "must not be negative" if low == 0 else f"must be at least {low:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise _fail(path, key, f"must be at most {maximum:g}, got {value:g}")
    return value


def parse_section(cls: type, data: Any, path: str | None, prefix: str, base_dir: Path | None):
    """One section of models.yaml as `cls`: keys, types and ranges from the class's declarations."""
    declared = {f.name: f for f in fields(cls) if not f.metadata.get("internal")}
    hints = {name: f.type if isinstance(f.type, str) else f.type.__name__ for name, f in declared.items()}
    data = _check_keys(path, prefix, data, set(declared))
    values = {}
    for name, spec in declared.items():
        if name not in data:
            continue
        key = f"{prefix}.{name}" if prefix else name
        parse = spec.metadata.get("parse")
        value = parse(path, key, data[name], base_dir) if parse else _typed(path, key, data[name], hints[name])
        values[name] = _check_range(path, key, value, spec.metadata)
    return cls(**values)


def _section(cls: type) -> Callable:
    return lambda path, key, value, base_dir: parse_section(cls, value, path, key, base_dir)


def _relative_path(path, key: str, value: Any, base_dir: Path | None) -> str | None:
    """An optional file or folder path; a relative one is relative to models.yaml."""
    if value is None:
        return None
    value = os.path.expanduser(_typed(path, key, value, "str"))
    if base_dir is not None and not os.path.isabs(value):
        value = str((base_dir / value).resolve())
    return value


def _model_id(path, key: str, value: Any, base_dir: Path | None) -> str:
    model = _typed(path, key, value, "str")
    # A relative local path is relative to models.yaml, not to the working directory.
    if base_dir is not None and model.startswith((".", "~")):
        model = str((base_dir / os.path.expanduser(model)).resolve())
    return model


def _revision(path, key: str, value: Any, base_dir: Path | None) -> str | None:
    return None if value is None else str(value)  # a commit sha of digits only reads as a number


def _generation(path, key: str, value: Any, base_dir: Path | None) -> dict[str, Any]:
    value = _check_keys(path, key, value, set(GENERATION_KEYS))
    return {k: _typed(path, f"{key}.{k}", v, GENERATION_KEYS[k]) for k, v in value.items()}


GENERATION_KEYS = {
    "num_beams": "int",
    "max_new_tokens": "int",
    "max_length": "int",
    "min_length": "int",
    "no_repeat_ngram_size": "int",
    "length_penalty": "float",
    "early_stopping": "bool",
}

# Compute types CTranslate2's converter and runtime accept (backend: ctranslate2).
CT2_QUANTIZATIONS = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
                     "bfloat16", "float32")


@dataclass(frozen=True)
class ModelSpec:
    """One seq2seq model: a hub id or a local directory, and how to run it."""

    model: str = setting(parse=_model_id)
    revision: str | None = setting(parse=_revision)
    backend: str = setting("transformers", choices=("transformers", "ctranslate2"))
    generation: dict[str, Any] = setting(factory=dict, parse=_generation)
    max_input_tokens: int | None = None  # None: what the tokenizer/config says
    quantization: str = setting("int8", choices=CT2_QUANTIZATIONS)  # backend ctranslate2: the converted model's compute type
    # backend ctranslate2 only: "auto" lets the decoder choose among the target side's tokens
    # only, where the tokenizer tells them apart (opus-mt: target.spm's pieces); "full": all.
    target_vocabulary: str = setting("auto", choices=("auto", "full"))

    @property
    def is_local(self) -> bool:
        return os.path.isabs(self.model) or self.model.startswith((".", "~"))

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _model_spec(path, key: str, data: Any, base_dir: Path | None) -> ModelSpec | None:
    if data is None:
        return None
    if isinstance(data, str):
        data = {"model": data}
    if isinstance(data, dict) and "model" not in data:
        _check_keys(path, key, data, {f.name for f in fields(ModelSpec)})
        raise _fail(path, f"{key}.model", "missing (a Hugging Face id or a local directory)")
    return parse_section(ModelSpec, data, path, key, base_dir)


def _pair_models(path, key: str, data: Any, base_dir: Path | None) -> dict[str, ModelSpec]:
    data = _check_keys(path, key, data, set(data or {}))
    models = {}
    for lang, spec in data.items():
        if not (isinstance(lang, str) and 2 <= len(lang) <= 3 and lang.isascii() and lang.isalpha()
                and lang.islower()):
            raise _fail(path, _key(key, lang), "not an ISO 639 language code (e.g. it, fr)")
        models[lang] = _model_spec(path, f"{key}.{lang}", spec, base_dir)
    return models


def _device(path, key: str, value: Any, base_dir: Path | None) -> str:
    return parse_device(_typed(path, key, value, "str"), key, path)


_ENSEMBLE = EnsembleSettings()


@dataclass(frozen=True)
class DetectConfig:
    backend: str = setting("ensemble", choices=BACKENDS)  # see pipeline/stages/detect/langid.py
    seed: int = 0  # langdetect is random; the seed makes it answer the same in every process
    min_chars: int = setting(20, minimum=1)  # paragraphs with fewer letters are short: they lean to the document's language
    sample_chars: int = 20000  # characters examined per document; later paragraphs inherit
    paragraph_chars: int = setting(600, minimum=1)  # characters examined per paragraph
    page_weight: float = setting(0.3, minimum=0.0, maximum=1.0)  # how strongly the page's languages pull each paragraph's
    declared_weight: float = setting(0.4, minimum=0.0, maximum=1.0)  # share of that pull given to the declared language
    # The ensemble's settings that models.yaml exposes; their defaults are the ensemble's own.
    fast_accept: float = setting(_ENSEMBLE.fast_accept, minimum=0.0, maximum=1.0)
    fast_accept_min_letters: int = _ENSEMBLE.fast_accept_min_letters
    letters_weight: float = setting(_ENSEMBLE.letters_weight, minimum=0.0)
    candidates_unsure: int = setting(_ENSEMBLE.candidates_unsure, minimum=1)

    def ensemble(self) -> EnsembleSettings:
        """The ensemble backend's settings: its defaults, with what models.yaml sets."""
        shared = {f.name for f in fields(EnsembleSettings)} & {f.name for f in fields(self)}
        return replace(_ENSEMBLE, **{name: getattr(self, name) for name in shared})


@dataclass(frozen=True)
class TranslateConfig:
    target: str = setting("en", choices=("en",))
    batch_size: int = setting(16, minimum=1)
    # backend ctranslate2: a batch is cut into sub-batches of at most this many source tokens,
    # padding counted (CTranslate2's batch_type "tokens"); 0: never cut
    batch_tokens: int = 4096
    threads: int = 0
    models: dict[str, ModelSpec] = setting(factory=dict, parse=_pair_models)
    fallback: ModelSpec | None = setting(parse=_model_spec)
    cache: bool = True  # reuse earlier translations of the same segment with the same model and settings
    cache_path: str | None = setting(parse=_relative_path)  # None: the translation cache in OUT's state folder
    paragraph_languages: bool = True  # route each paragraph by its own detected language


@dataclass(frozen=True)
class SummarizeConfig:
    method: str = setting("auto", choices=("auto", "extractive", "abstractive"))
    model: ModelSpec | None = setting(parse=_model_spec)
    batch_size: int = setting(4, minimum=1)
    sentences: int = setting(4, minimum=2, maximum=4)  # at most; the number is chosen per article (a learned word budget)
    key_points: int = setting(4, minimum=3, maximum=5)
    support_threshold: float = setting(0.6, minimum=0.0, maximum=1.0)  # share of a generated sentence's words its sources must hold
    max_chars: int = 200_000  # characters of a document read (cut at a paragraph); the record says so; 0: all
    # abstractive, a text longer than the model's input: map_reduce reads it all in chunks; select
    # gives the model the text's most relevant sentences that fit, in one generation
    long_input: str = setting("map_reduce", choices=("map_reduce", "select"))


@dataclass(frozen=True)
class StoriesConfig:
    """Grouping articles into stories (pipeline/stories.py) and near copies (pipeline/neardup.py)."""

    embedding: str = setting("auto", choices=("auto", "none"))  # auto: the multilingual sentence encoder when installed, else TF-IDF
    lead_chars: int = 1000  # characters of the text after the headline whose words TF-IDF compares
    embed_chars: int = setting(300, minimum=0)  # characters of the lead (up to 3 sentences) embedded after the headline
    join_threshold: float = setting(0.35, minimum=0.0, maximum=1.0)  # an article joins the best story scoring at least this
    evidence_weight: float = setting(0.1, minimum=0.0, maximum=1.0)  # share of the score from names, figures, dates, quotes
    tfidf_join_threshold: float = setting(0.15, minimum=0.0, maximum=1.0)  # the same two, where TF-IDF stands in
    tfidf_evidence_weight: float = setting(0.7, minimum=0.0, maximum=1.0)
    max_key_share: float = setting(0.02, minimum=0.0, maximum=1.0)  # keys held by more of the articles find no candidates
    max_candidates: int = setting(50, minimum=1)  # stories scored per article
    near_duplicate_threshold: float = setting(0.3, minimum=0.0, maximum=1.0)  # estimated Jaccard of shingles for a copy
    shingle_words: int = setting(3, minimum=1)
    num_perm: int = setting(128, minimum=1)  # MinHash permutations
    window_days: int = 7  # a story not seen for this many nights takes no new articles; 0: never closes
    date_gap_days: int = setting(7, minimum=0)  # a dated article joins no story dated further apart than this; 0: off


@dataclass(frozen=True)
class LimitsConfig:
    """How long one document may take in one stage before it fails with `time_limit` (0: no limit).

    A model stage's batch gets the sum of its documents' limits; a batch that overruns is
    run again one document at a time, so only the runaway document fails."""

    cpu_seconds: float = setting(120.0, minimum=0.0)  # CPU stages (clean, detect), in the process's CPU time
    model_seconds: float = setting(1800.0, minimum=0.0)  # model stages, in wall-clock time (a long page, beam search, a CPU)


@dataclass(frozen=True)
class Config:
    path: str | None = field(default=None, metadata={"internal": True})  # the file it was read from
    device: str = setting("auto", parse=_device)
    cache_dir: str | None = setting(parse=_relative_path)
    detect: DetectConfig = setting(factory=DetectConfig, parse=_section(DetectConfig))
    translate: TranslateConfig = setting(factory=TranslateConfig, parse=_section(TranslateConfig))
    summarize: SummarizeConfig = setting(factory=SummarizeConfig, parse=_section(SummarizeConfig))
    stories: StoriesConfig = setting(factory=StoriesConfig, parse=_section(StoriesConfig))
    limits: LimitsConfig = setting(factory=LimitsConfig, parse=_section(LimitsConfig))

    def section_digest(self, section: str | None) -> str:
        """A stable hash of one section (None: no section), for the keys of the stages that read it."""
        blob = json.dumps(asdict(getattr(self, section)) if section else {}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_device(device: str, key: str = "device", path: str | None = None) -> str:
    """auto, cpu, cuda, cuda:N or mps; anything else is a ConfigError naming the key."""
    if not (device in ("auto", "cpu", "cuda", "mps") or (device.startswith("cuda:") and device[5:].isdigit())):
        raise _fail(path, key, f"must be auto, cpu, cuda, cuda:N or mps, got {_shown(device)}")
    return device


def parse_config(data: Any, path: str | None = None) -> Config:
    base_dir = Path(path).resolve().parent if path else None
    config = replace(parse_section(Config, data, path, "", base_dir), path=path)
    if config.summarize.method == "abstractive" and config.summarize.model is None:
        raise _fail(path, "summarize.model", "method is abstractive but no model is named")
    return config


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
            data = yaml.load(fh, Loader=ConfigLoader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(data or {}, path)
