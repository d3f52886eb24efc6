"""What the operator sees: progress bars on a terminal, short lines for cron, log files.

On a terminal each stage gets a progress bar with documents/s and ETA. Elsewhere (cron,
pipes) there are no bars: one line per failed document, one line per stage at the end and
a summary line, so the cron mail stays short. `--log-file` receives every event, as text
or as JSON lines (`--log-format json`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pipeline.inputs import printable

log = logging.getLogger("newsum")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "message": record.getMessage()}
        event.update(getattr(record, "fields", {}))
        return json.dumps(event, ensure_ascii=False)


def setup_logging(*, quiet: bool, debug: bool, log_file: str | None, log_format: str) -> None:
    log.handlers.clear()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    console.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter("newsum: %(message)s"))
    console.addFilter(lambda r: debug or not getattr(r, "file_only", False))
    log.addHandler(console)
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(JsonFormatter() if log_format == "json"
                             else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)


def event(level: int, message: str, *, file_only: bool = False, **fields: Any) -> None:
    log.log(level, message, extra={"fields": fields, "file_only": file_only})


class Reporter:
    """Receives the runner's callbacks and turns them into bars, lines and log events."""

    def __init__(self, stages: list[str], total: int | None, *, quiet: bool, bars: bool | None = None):
        self.stages = stages
        self.quiet = quiet
        self.bars_enabled = sys.stderr.isatty() and not quiet if bars is None else bars
        self.total = total
        self._bars: dict[str, Any] = {}

    def _bar(self, stage: str):
        if stage not in self._bars:
            from tqdm import tqdm  # only on a terminal

            self._bars[stage] = tqdm(total=self.total, desc=f"{stage:9}", unit="doc", position=self.stages.index(stage),
                                     leave=True, dynamic_ncols=True, file=sys.stderr)
        return self._bars[stage]

    def on_progress(self, stage: str, n: int) -> None:
        if self.bars_enabled:
            self._bar(stage).update(n)

    def on_record(self, record) -> None:
        fields = {"event": "record", "doc_id": record.doc_id, "stage": record.stage, "status": record.status}
        if record.status == "failed":
            where = printable(getattr(record, "source", {}).get("path") or record.doc_id)
            self._write(logging.WARNING, f"{where}: {record.stage} failed: {printable(record.error['message'])}",
                        error=record.error, **fields)
        elif record.status == "degraded":
            reasons = record.report.get("degraded", [])
            event(logging.INFO, f"{record.doc_id}: {record.stage} degraded: {'; '.join(reasons)}",
                  file_only=True, reasons=reasons, **fields)
        else:
            event(logging.DEBUG, f"{record.doc_id}: {record.stage} {record.status}", file_only=True, **fields)

    def _write(self, level: int, message: str, **fields: Any) -> None:
        if self._bars:
            from tqdm import tqdm

            with tqdm.external_write_mode(file=sys.stderr):
                event(level, message, **fields)
        else:
            event(level, message, **fields)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()

    def finish(self, result) -> None:
        """Stage lines (off a terminal), the summary line, then one line per cause of what is
        failed or degraded in OUT (this run's and what earlier runs left), with counts."""
        self.close()
        for stage in result.stages:
            counts = result.counts.get(stage, Counter())
            parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if n)
            event(logging.INFO, f"{stage}: {parts or 'nothing to do'}", file_only=self.bars_enabled,
                  event="stage", stage=stage, counts=dict(counts))
        docs = result.documents
        problem_docs = {d for d, *_ in result.current_problems}
        line = (f"{docs} document{'s' if docs != 1 else ''} in {result.seconds:.1f} s: "
                f"{docs - len(problem_docs)} ok, {result.degraded_docs} degraded, {result.failed_docs} failed")
        earlier = result.earlier_problem_docs
        if earlier:
            line += f" ({earlier} of them unchanged since an earlier run)"
        if result.skipped:
            reasons = ", ".join(f"{r}: {n}" for r, n in sorted(result.skipped.items()))
            skipped = sum(result.skipped.values())
            line += f"; {skipped} file{'s' if skipped != 1 else ''} skipped ({reasons})"
        if result.interrupted:
            line += ("; interrupted: the stage in hand was finished for its batch of documents, "
                     "rerun to do the rest")
        quiet_level = logging.WARNING if not self.quiet else logging.INFO
        level = logging.WARNING if problem_docs or result.interrupted else logging.INFO
        event(max(level, logging.INFO if not self.quiet else logging.WARNING), line, event="summary",
              **result.counts_dict())
        if result.removed:
            verb = "their records were removed (--prune)" if result.pruned else "their records are kept (--prune removes them)"
            event(quiet_level,
                  f"{len(result.removed)} document{'s' if len(result.removed) != 1 else ''} no longer in the input; {verb}: "
                  + ", ".join(d for d, _ in result.removed[:5]) + (" …" if len(result.removed) > 5 else ""),
                  event="removed", documents=[d for d, _ in result.removed])
        # This run's failures had their line each as they came; earlier runs' are repeated here.
        printed = {(d, stage) for d, stage, status, _ in result.problems if status == "failed"}
        remaining = [p for p in result.current_problems if p[2] != "failed" or (p[0], p[1]) not in printed]
        for (stage, status, reason), doc_ids in group_causes(remaining):
            n = len(doc_ids)
            examples = ", ".join(printable(d) for d in doc_ids[:3]) + (f" and {n - 3} more" if n > 3 else "")
            event(quiet_level, f"{stage} {status} for {n} document{'s' if n != 1 else ''} ({examples}): "
                               f"{printable(reason)}",
                  event="cause", stage=stage, status=status, reason=reason, documents=doc_ids)


def group_causes(problems) -> list[tuple[tuple[str, str, str], list[str]]]:
    """(stage, status, reason) → the documents it concerns, most documents first: one line per cause."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for doc_id, stage, status, reason in problems:
        docs = groups.setdefault((stage, status, reason), [])
        if doc_id not in docs:
            docs.append(doc_id)
    return sorted(groups.items(), key=lambda kv: (kv[0][1] != "failed", -len(kv[1]), kv[0]))
