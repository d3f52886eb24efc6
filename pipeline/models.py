"""Loading seq2seq models: a hub id or a local folder, a pinned revision, a device.

torch and transformers are imported here, inside functions, so that commands that need
no model start instantly. A registry loads each model once per run and remembers failures,
so a missing model costs one message, not one per document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Config, ModelSpec
from pipeline.errors import ModelUnavailable


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cached_snapshot(spec: ModelSpec, config: Config) -> str | None:
    """The local folder of a hub model in the Hugging Face cache, or None; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(spec.model, revision=spec.revision, cache_dir=config.cache_dir,
                                 local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def how_to_get(spec: ModelSpec, role: str) -> str:
    if spec.is_local:
        return f"check the folder, or point {role} in models.yaml at a folder saved with save_pretrained"
    return ("run `newsum models pull` on a connected machine (same HF_HOME), "
            f"or point {role} in models.yaml at a local folder")


@dataclass
class Seq2SeqModel:
    """A loaded tokenizer and model, and how to generate with them."""

    spec: ModelSpec
    role: str
    tokenizer: Any
    model: Any
    device: str
    max_input_tokens: int
    model_type: str
    generation: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> dict[str, Any]:
        return {"id": self.spec.model, "revision": self.spec.revision}

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def generate(self, texts: list[str], **overrides: Any) -> tuple[list[str], list[bool]]:
        """Generate for a batch; returns the outputs and, for each, whether it hit the length cap."""
        import torch

        settings = {**self.generation, **overrides}
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=False)
        longest = int(encoded["input_ids"].shape[1])
        if longest > self.max_input_tokens:
            raise ValueError(f"input of {longest} tokens is over the model's limit of {self.max_input_tokens}")
        encoded = {k: v.to(self.device) for k, v in encoded.items()}
        with torch.inference_mode():
            output = self.model.generate(**encoded, **settings)
        texts_out = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        cap = settings.get("max_new_tokens") or settings.get("max_length")
        pad = self.tokenizer.pad_token_id
        capped = []
        for row in output:
            length = int((row != pad).sum()) if pad is not None else int(row.shape[0])
            capped.append(bool(cap) and length >= cap)
        return [t.strip() for t in texts_out], capped


def load_seq2seq(spec: ModelSpec, role: str, config: Config) -> Seq2SeqModel:
    """Load a model with AutoTokenizer + AutoModelForSeq2SeqLM (safetensors only, no remote code)."""
    if spec.backend != "transformers":
        raise ModelUnavailable(f"{role}: backend {spec.backend!r} is not available in this version; "
                               "use backend: transformers")
    if spec.is_local and not os.path.isdir(spec.model):
        raise ModelUnavailable(f"model folder {spec.model} ({role}) does not exist: {how_to_get(spec, role)}")
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # newsum reports model problems itself, one line each
    hf_logging.disable_progress_bar()
    if config.translate.threads and torch.get_num_threads() != config.translate.threads:
        torch.set_num_threads(config.translate.threads)
    # Runs never download: a hub model must be in the local cache (`newsum models pull`), so a
    # nightly run neither hangs on the network nor changes models behind the operator's back.
    location = spec.model if spec.is_local else cached_snapshot(spec, config)
    if location is None:
        raise ModelUnavailable(f"model {spec.model} (revision {spec.revision or 'main'}) for {role} is not in "
                               f"the local Hugging Face cache. Fix: {how_to_get(spec, role)}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModelForSeq2SeqLM.from_pretrained(location, use_safetensors=True)
    except (OSError, ValueError, KeyError) as exc:
        detail = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        raise ModelUnavailable(f"model {spec.model} for {role} cannot be loaded: {detail[:300]}. "
                               f"Fix: {how_to_get(spec, role)}") from None
    device = resolve_device(config.device)
    model.to(device)
    model.eval()
    limits = [spec.max_input_tokens] if spec.max_input_tokens else []
    if not limits:
        tok_limit = getattr(tokenizer, "model_max_length", None)
        if tok_limit and tok_limit < 1_000_000:
            limits.append(int(tok_limit))
        positions = getattr(model.config, "max_position_embeddings", None)
        if positions:
            limits.append(int(positions))
    max_input = min(limits) if limits else 512
    generation = dict(spec.generation)
    if "max_new_tokens" not in generation and "max_length" not in generation:
        generation["max_new_tokens"] = max_input
    return Seq2SeqModel(spec=spec, role=role, tokenizer=tokenizer, model=model, device=device,
                        max_input_tokens=max_input, model_type=model.config.model_type,
                        generation=generation)


class ModelRegistry:
    """Loads each configured model at most once per run, and remembers which could not load."""

    def __init__(self, config: Config):
        self.config = config
        self._loaded: dict[str, Seq2SeqModel] = {}
        self._failed: dict[str, ModelUnavailable] = {}
        self.loads = 0

    def get(self, spec: ModelSpec, role: str) -> Seq2SeqModel:
        key = spec.key()
        if key in self._failed:
            raise self._failed[key]
        if key not in self._loaded:
            try:
                self._loaded[key] = load_seq2seq(spec, role, self.config)
                self.loads += 1
            except ModelUnavailable as exc:
                self._failed[key] = exc
                raise
        return self._loaded[key]

    @property
    def failures(self) -> list[str]:
        return [str(e) for e in self._failed.values()]
