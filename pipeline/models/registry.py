"""The model registry: each configured model loaded at most once per process, failures remembered,
so a missing model costs one message, not one per document."""

from __future__ import annotations

from pipeline.config import Config, ModelSpec
from pipeline.deadline import paused
from pipeline.errors import ModelUnavailable
from pipeline.models.loading import Seq2SeqModel, load_seq2seq


class ModelRegistry:
    """Loads each configured model at most once per run, and remembers which could not load."""

    def __init__(self, config: Config):
        self.config = config
        self._loaded: dict[str, Seq2SeqModel] = {}
        self._failed: dict[str, ModelUnavailable] = {}
        self.loads = 0

    def get(self, spec: ModelSpec, role: str, lazy: bool = False) -> Seq2SeqModel:
        """The model, loaded once; with lazy, its weights wait until it first generates."""
        key = spec.key()
        if key in self._failed:
            raise self._failed[key]
        try:
            if key not in self._loaded:
                with paused():  # the tokenizer, torch's import: not the document's time
                    self._loaded[key] = load_seq2seq(spec, role, self.config, lazy=True)
                self.loads += 1
            if not lazy:
                self._loaded[key].ensure_weights()
        except ModelUnavailable as exc:
            self._failed[key] = exc
            raise
        return self._loaded[key]

    @property
    def failures(self) -> list[str]:
        return [str(e) for e in self._failed.values()]
