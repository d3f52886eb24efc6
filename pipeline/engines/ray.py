"""The Ray engine: the same stages, records and state, computed on a Ray cluster.

The runner stays in charge: it plans (what to skip), and writes every record and the
state, exactly as with the local engine. This engine only computes one stage over the
documents of a window, with Ray Data:

- clean and detect run as `map_batches` tasks, each task a batch of documents;
- translate and summarize run on an actor pool (`concurrency=`), each actor building its
  stage once and loading each model once, with a GPU when the configuration asks for one.

Batches are cut on the driver, `--batch-size` documents each, so an actor sees exactly the
documents the local engine would hand its stage together (and gives the same records).
Records travel pickled (with Ray's cloudpickle, so that the records of a stage registered
from outside the package travel too): they are Python objects, not columns.

`import ray` happens here only, and this module is imported only for `--engine ray`.
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.engines.base import Engine, compute
from pipeline.errors import UsageError
from pipeline.records import Record
from pipeline.stages.base import CPU, Stage, StageContext

log = logging.getLogger("newsum")

INSTALL_HINT = "pip install 'newsum[ray]'"
# What a worker needs from the driver's environment to find models offline, as the driver does.
FORWARDED_ENV = ("HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM")
# Documents planned, computed and written per round, at least: each round is one Ray Data
# execution per stage, whose start-up cost is amortised over this many documents.
MIN_WINDOW = 1024


def import_ray(debug: bool = False) -> Any:
    if not debug:
        # Read by Ray Data when it is imported (and by its workers): its console logs a line
        # per execution at INFO; the runner reports per stage itself.
        os.environ.setdefault("RAY_DATA_LOGGING_CONFIG", str(Path(__file__).resolve().parent.parent / "resources" / "ray_data_logging.yaml"))
    try:
        import ray
        import ray.data  # noqa: F401  (the extra installs ray[data]; plain ray lacks it)
    except ImportError:
        raise UsageError(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def wants_gpu(device: str, cluster_gpus: float) -> bool:
    """Whether model actors ask Ray for a GPU: cuda asked for, or auto on a cluster that has one."""
    if device.startswith("cuda"):
        return True
    return device == "auto" and cluster_gpus > 0


# -- what runs on the workers ----------------------------------------------------------------

_task_stages: dict[str, Stage] = {}  # per worker process: each CPU stage built once


def _cpu_batches(batch: dict, stage: type[Stage], context: StageContext) -> dict:
    """A Ray Data task: each row holds a pickled batch of documents (or records) for a CPU stage."""
    import numpy as np

    if stage.name not in _task_stages:
        _task_stages[stage.name] = stage(context)  # CPU stages load no model
    from ray import cloudpickle

    outputs = [cloudpickle.dumps(compute(_task_stages[stage.name], pickle.loads(chunk))) for chunk in batch["chunk"]]
    return {"index": batch["index"], "chunk": np.array(outputs, dtype=object)}


class ModelStageActor:
    """An actor of the pool for a model stage: builds its stage once; models load once, on first use."""

    def __init__(self, stage: type[Stage], context: StageContext):
        from pipeline.models.registry import ModelRegistry

        self.stage = stage(context, ModelRegistry(context.config))

    def __call__(self, batch: dict) -> dict:
        import numpy as np
        from ray import cloudpickle

        outputs = [cloudpickle.dumps(compute(self.stage, pickle.loads(chunk))) for chunk in batch["chunk"]]
        return {"index": batch["index"], "chunk": np.array(outputs, dtype=object)}


# -- the driver side -------------------------------------------------------------------------

class RayEngine(Engine):
    """Computes stages on Ray: a local instance started here, or the cluster at `address`."""

    def __init__(self, config, workers: int, batch_size: int, address: str | None = None, *, debug: bool = False):
        self.ray = import_ray(debug)
        self.config = config
        self.batch_size = batch_size
        self.started_here = False
        if not self.ray.is_initialized():
            env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
            settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": debug,
                                        "logging_level": logging.DEBUG if debug else logging.ERROR}
            if env:
                settings["runtime_env"] = {"env_vars": env}
            if address:
                settings["address"] = address
            else:
                settings["num_cpus"] = workers  # a local instance: as many CPUs as --workers
            try:
                self.ray.init(**settings)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UsageError(f"--engine ray: cannot start or join {where}: {detail[:300]}") from None
            self.started_here = True
        context = self.ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the runner reports progress itself
        context.print_on_execution_start = False
        resources = self.ray.cluster_resources()
        self.cluster_cpus = max(1, int(resources.get("CPU", 1)))
        self.cluster_gpus = float(resources.get("GPU", 0))
        self.use_gpu = wants_gpu(config.device, self.cluster_gpus)
        if self.use_gpu and not self.cluster_gpus:
            # Actors asking for a GPU the cluster does not have would wait for it forever.
            self.close()
            raise UsageError(f"device {config.device} in models.yaml, but the Ray cluster has no GPU; "
                             "use device: auto or cpu, or add GPU nodes")
        # An actor sees only the GPU Ray gave it, as cuda:0, whatever cuda:N says on the driver.
        self.actor_config = replace(config, device="cuda") if self.use_gpu else config

    def start(self, stages: list[type[Stage]], context: StageContext) -> None:
        # Workers keep no cache in OUT (it is the driver's): translate.cache_path may name a shared one.
        self.context = replace(context, workspace=None)
        self.actor_context = replace(self.context, config=self.actor_config)

    def window(self, batch_size: int) -> int:
        wanted = max(MIN_WINDOW, batch_size * 4 * self.cluster_cpus)
        return -(-wanted // batch_size) * batch_size

    def apply(self, stage: type[Stage], inputs: list) -> list[Record]:
        if not inputs:
            return []
        size = self.batch_size
        chunks = [inputs[i:i + size] for i in range(0, len(inputs), size)]
        rows = [{"index": i, "chunk": self.ray.cloudpickle.dumps(chunk)} for i, chunk in enumerate(chunks)]
        data = self.ray.data.from_items(rows, override_num_blocks=len(rows))
        if stage.kind(self.context.config) == CPU:
            data = data.map_batches(_cpu_batches, batch_size=1, batch_format="numpy",
                                    fn_args=(stage, self.context))
        else:
            actors = max(1, int(self.cluster_gpus)) if self.use_gpu else self.cluster_cpus
            data = data.map_batches(ModelStageActor, batch_size=1, batch_format="numpy",
                                    fn_constructor_args=(stage, self.actor_context),
                                    compute=self.ray.data.ActorPoolStrategy(size=max(1, min(actors, len(chunks)))),
                                    num_gpus=1 if self.use_gpu else 0)
        try:
            results = data.take_all()
        except Exception as exc:  # the cluster, not a document: an actor died, a node was lost
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            message = f"Ray engine: {type(exc).__name__}: {detail}"
            log.debug("Ray execution of %s failed", stage.name, exc_info=True)
            return [stage.failed(item, "engine_error", message) for item in inputs]
        by_index = {int(row["index"]): pickle.loads(row["chunk"]) for row in results}
        outputs: list[Record] = []
        for i in range(len(chunks)):
            outputs.extend(by_index[i])
        return outputs

    def close(self) -> None:
        if self.started_here and self.ray.is_initialized():
            self.ray.shutdown()
            self.started_here = False


__all__ = ["RayEngine", "ModelStageActor", "import_ray", "wants_gpu", "INSTALL_HINT"]
