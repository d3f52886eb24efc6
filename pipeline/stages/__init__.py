"""The registry: the stages, in the order a document goes through them.

Each stage declares itself once (pipeline/stages/base.py); everything else (the runner, the
engines, the command line, the status) reads this list. `register` adds a stage after the
others, for an extension or a test.
"""

from __future__ import annotations

from pipeline.errors import UsageError
from pipeline.stages.base import CPU, MODEL, Stage, StageContext

ALIASES = {"summary": "summarize"}
_REGISTRY: list[type[Stage]] = []


def registry() -> list[type[Stage]]:
    """The registered stages, in order. The stage modules are imported on first use (the
    configuration imports detect's machinery, and the stages import the configuration)."""
    if not _REGISTRY:
        from pipeline.stages.clean.stage import CleanStage
        from pipeline.stages.detect.stage import DetectStage
        from pipeline.stages.summarize.stage import SummarizeStage
        from pipeline.stages.translate.stage import TranslateStage

        _REGISTRY.extend([CleanStage, DetectStage, TranslateStage, SummarizeStage])
    return _REGISTRY


def names() -> list[str]:
    return [stage.name for stage in registry()]


def get(name: str) -> type[Stage]:
    for stage in registry():
        if stage.name == name:
            return stage
    raise KeyError(name)


def register(stage: type[Stage]) -> type[Stage]:
    """Add a stage after the registered ones (its `consumes` must name one of them)."""
    if stage.name in names():
        raise ValueError(f"a stage named {stage.name!r} is already registered")
    if stage.consumes is not None and stage.consumes not in names():
        raise ValueError(f"{stage.name} consumes {stage.consumes!r}, which is not a registered stage")
    registry().append(stage)
    return stage


def unregister(stage: type[Stage]) -> None:
    registry().remove(stage)


def parse(value: str) -> list[type[Stage]]:
    """`--stages clean,detect`: the stages named, which must keep the registry's order."""
    given = [ALIASES.get(n.strip(), n.strip()) for n in value.split(",") if n.strip()]
    unknown = [n for n in given if n not in names()]
    if unknown or not given:
        raise UsageError(f"--stages: unknown stage {', '.join(unknown) or '(none)'}; "
                         f"choose from {','.join(names())}")
    if given != [n for n in names() if n in given] or len(set(given)) != len(given):
        raise UsageError(f"--stages: stages run in the order {','.join(names())}; got {value}")
    return [get(n) for n in given]


def record_types() -> list:
    return [stage.record for stage in registry()]


__all__ = ["CPU", "MODEL", "registry", "Stage", "StageContext", "get", "names", "parse", "record_types",
           "register", "unregister"]
