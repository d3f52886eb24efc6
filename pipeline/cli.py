"""The newsum command line: a thin shell over the library."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline import stages as registry
from pipeline.errors import EXIT_INTERRUPTED, EXIT_USAGE, NewsumError, OutputError, UsageError

EXIT_CODES_HELP = """\b
Exit codes (a run's code tells the state of OUT after it, not only
what it redid: while a document is failed or degraded, every run says so):
  0  every document went through every stage
  1  usage or configuration error, or OUT cannot be written
  2  some documents are failed (bad input, no article text)
  3  some documents are degraded (a model missing, a language left
     untranslated), none failed
  4  another run holds the lock on OUT
  130 interrupted (SIGINT/SIGTERM); rerun to do the rest"""


class NewsumGroup(click.Group):
    """click, with newsum's exit codes: a usage error is 1 (click's own is 2, which newsum
    gives to failed documents), and an interrupt is 130, with one line, not "Aborted!"."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.Abort:
            click.echo("newsum: interrupted; rerun to do the rest", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    click.echo(f"newsum: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func):
    """Expected failures become one line on stderr and their exit code; --debug shows the traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return func(*args, **kwargs)
        except NewsumError as exc:
            if debug:
                raise
            _fail(str(exc), exc.exit_code)

    return wrapper


def _load_config(path: str | None):
    from pipeline.config import load_config

    return load_config(path)


@click.group(cls=NewsumGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="newsum")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def main(debug: bool) -> None:
    """Turn folders of scraped news pages into English summaries.

    Each document goes through four stages, and each stage writes a JSON record
    that the next one reads: clean (strip page furniture), detect (language of
    the document and of each paragraph), translate (to English, with the models
    in models.yaml) and summarize (summary, key points, provenance).

    \b
    Quick start:
      newsum run samples/ --out out/
      newsum status out/
      newsum models list
      newsum models pull      (fetch the models, once, on a connected machine)
    """
    from pipeline.report import setup_logging

    setup_logging(quiet=False, debug=debug, log_file=None, log_format="text")


def _out_option(func):
    return click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False),
                        help="Folder for the records (created if missing).")(func)


def _config_option(func):
    return click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
                        help="models.yaml to use (default: ./models.yaml, else the one beside newsum's "
                             "own files in a checkout, else built-in defaults).")(func)



def _with_device(config, device: str | None):
    """The configuration with --device, when given, in place of models.yaml's device."""
    if not device:
        return config
    import dataclasses

    from pipeline.config import parse_device

    return dataclasses.replace(config, device=parse_device(device, "--device"))


_RUN_OPTIONS = {
    # Options every run command has.
    "batch_size": click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1),
                               help="Documents handled together (model stages batch across them)."),
    "wait": click.option("--wait", "wait_seconds", type=click.FloatRange(0), default=0, show_default=True,
                         help="If another run holds OUT, wait up to SECONDS for it instead of exiting with 4."),
    "quiet": click.option("--quiet", "-q", is_flag=True, help="Only errors and the summary line."),
    "log_file": click.option("--log-file", type=click.Path(dir_okay=False), help="Also write every event to this file."),
    "log_format": click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                               help="Format of log lines (json: one object per line)."),
    # Options a stage declares it reads (Stage.options): a command offers those of its stages.
    "declared_lang": click.option("--declared-lang", callback=lambda ctx, param, value: _declared(value),
                                  help="The language the pages claim (ISO 639-1, e.g. it or fr-FR); recorded, "
                                       "not trusted."),
    "workers": click.option("--workers", "-j", type=click.IntRange(1), default=None,
                            help="Processes for the CPU stages.  [default: number of cores]"),
    "device": click.option("--device", help="Where models run: auto (cuda when present, else cpu), cpu, cuda or "
                                            "cuda:N; default: models.yaml's device."),
    "explain": click.option("--explain", is_flag=True,
                            help="Record in clean.json, per block, the decision and the signals behind it."),
}
_COMMON = ("batch_size", "wait", "quiet", "log_file", "log_format")


def _declared(value: str | None) -> str | None:
    if value is None:
        return None
    from pipeline.stages.detect.stage import declared_code

    code = declared_code(value)
    if code is None or len(code) != 2:
        raise click.BadParameter(f"{value[:40]!r} is not an ISO 639-1 language code (e.g. it, fr, en-GB)")
    return code


def _run_options(stage_names: list[str]):
    """The options of a command that runs these stages: the common ones and those its stages read."""
    used = {option for name in stage_names for option in registry.get(name).options}
    chosen = [name for name in _RUN_OPTIONS if name in _COMMON or name in used]

    def decorate(func):
        for name in reversed(chosen):
            func = _RUN_OPTIONS[name](func)
        return func

    return decorate


def _execute(out: str, stages: list, config_path: str | None, common: dict, work, total=None) -> None:
    """Lock OUT, run, report, exit with the documented code. SIGINT/SIGTERM finish the batch in hand."""
    import signal

    from pipeline.report import Reporter, event, setup_logging
    from pipeline.runner import Runner, RunOptions
    from pipeline.stages.base import StageContext
    from pipeline.workspace import Workspace

    setup_logging(quiet=common["quiet"], debug=click.get_current_context().find_root().params.get("debug", False),
                  log_file=common["log_file"], log_format=common["log_format"])
    config = _with_device(_load_config(config_path), common.get("device"))
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder: {exc.strerror or exc}") from None
    workspace = Workspace(out)
    context = StageContext(config, declared_language=common.get("declared_lang"), explain=common.get("explain", False),
                           workspace=workspace)
    options = RunOptions(batch_size=common["batch_size"], force=common.get("force", False),
                         retry_failed=common.get("retry_failed", False), prune=common.get("prune", False))
    workers = common.get("workers") or os.cpu_count() or 1
    lock = workspace.lock()
    try:
        lock.acquire(common["wait_seconds"])
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the lock file: {exc.strerror or exc}") from None
    if lock.previous_holder:
        event(logging.INFO, f"took over the lock of an earlier run that is gone (pid {lock.previous_holder.get('pid')})")
    stale = workspace.remove_stale_temporaries(registry.record_types())  # under the lock: no write of ours is in progress
    if stale:
        event(logging.INFO, f"removed {stale} temporary file(s) that an interrupted run left beside the records")
    try:
        engine = _make_engine(common, config, workers, options.batch_size)
        runner = Runner(workspace, context, stages, options, engine=engine)
    except BaseException:
        lock.release()
        raise
    reporter = Reporter([s.name for s in stages], total() if callable(total) else total, quiet=common["quiet"])
    runner.on_record, runner.on_progress = reporter.on_record, reporter.on_progress

    def stop(signum, frame):
        if runner.stop_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        runner.stop_requested = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = work(runner)
        if common.get("digest") and result.documents and not result.interrupted:
            _write_digest(out, config)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reporter.close()
        lock.release()
    if result.documents == 0 and not result.interrupted:
        raise UsageError(common["nothing_message"])
    reporter.finish(result)
    sys.exit(result.exit_code)


def _make_engine(common: dict, config, workers: int, batch_size: int):
    """The local engine, or Ray, imported only when --engine ray asks for it."""
    if common.get("engine", "local") != "ray":
        if common.get("ray_address"):
            raise UsageError("--ray-address is for --engine ray")
        from pipeline.engines.local import LocalEngine

        return LocalEngine(workers)
    from pipeline.engines.ray import RayEngine

    debug = click.get_current_context().find_root().params.get("debug", False)
    return RayEngine(config, workers, batch_size, address=common.get("ray_address"), debug=debug)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_out_option
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where stages compute: this machine, or a Ray cluster (needs pip install 'newsum[ray]').")
@click.option("--ray-address", metavar="ADDRESS",
              help="With --engine ray: the cluster to join (e.g. ray://head:10001 or auto); "
                   "without it a local Ray instance is started.")
@click.option("--stages", default=lambda: ",".join(registry.names()), show_default="all, in order: "
              + ",".join(registry.names()),
              help="Comma-separated stages to run, in order; a stage whose predecessor does not "
                   "run takes the document text as it is.")
@_config_option
@click.option("--force", is_flag=True, help="Redo every document and stage, changed or not.")
@click.option("--retry-failed", is_flag=True, help="Also redo the document-stages that failed last time.")
@click.option("--prune", is_flag=True, help="Remove the records of documents no longer in the input.")
@click.option("--digest", is_flag=True,
              help="At the end, group the articles into stories (OUT/stories.json) and write the digest.")
@_run_options(registry.names())
@handle_errors
def run(inputs, out, stages, config_path, **common):
    """Run the pipeline over files and folders.

    INPUT may be files or folders; folders are walked recursively for .txt,
    .html and .htm files (hidden files and other types are skipped and counted).
    Records go to OUT/<path relative to its input folder, without
    extension>/<stage>.json.

    Runs are incremental: a document-stage whose input, configuration and code
    are unchanged since the last run is skipped. `newsum status OUT` tells what
    the runs did.
    """
    _run_inputs(inputs, out, registry.parse(stages), config_path, common)


def _run_inputs(inputs, out, stages, config_path, common) -> None:
    from pipeline.inputs import Discovery, discover

    discovery = Discovery()
    common["nothing_message"] = f"no documents (.txt, .html, .htm) found in {', '.join(inputs)}"

    def count() -> int | None:
        # Only a terminal shows bars with an ETA; counting walks the tree once more (stat only).
        return sum(1 for _ in discover(inputs, exclude=[out])) if sys.stderr.isatty() and not common["quiet"] else None

    out_folder = Path(out).resolve()
    for item in inputs:
        if not Path(item).exists():
            raise UsageError(f"{item}: no such file or folder")
        where = Path(item).resolve()
        if where == out_folder or out_folder in where.parents:
            raise UsageError(f"{item}: is inside the output folder {out}; keep inputs outside OUT")
    # OUT inside an input folder is left out of the walk, with everything newsum writes.
    _execute(out, stages, config_path, common,
             lambda runner: runner.run_documents(discover(inputs, discovery, exclude=[out]), discovery,
                                                 command=_command_line()),
             total=count)


def _command_line() -> str:
    return " ".join(["newsum", *sys.argv[1:]])[:500]


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_out_option
@_config_option
@click.option("--force", is_flag=True, help="Redo every document, changed or not.")
@_run_options(["clean"])
@handle_errors
def clean(inputs, out, config_path, **common):
    """Strip page furniture and keep the article: writes clean.json."""
    _run_inputs(inputs, out, [registry.get("clean")], config_path, common)


def _single_stage(name: str, doc: str):
    stage = registry.get(name)
    consumed = registry.get(stage.consumes).record.file

    @click.argument("out", type=click.Path(exists=True, file_okay=False))
    @_config_option
    @_run_options([name])
    @handle_errors
    def command(out, config_path, **common):
        from pipeline.workspace import Workspace

        if not Workspace(out).has_state():  # nothing is written in a folder that is not an OUT
            raise UsageError(f"{out}: not a newsum output folder (no earlier run wrote here); "
                             f"run `newsum run INPUT --out {out}` first")
        common["nothing_message"] = f"{out}: no {consumed} records to read; run the earlier stages first"
        _execute(out, [stage], config_path, common,
                 lambda runner: runner.run_from_records(command=_command_line()))

    command.__doc__ = (f"{doc}\n\nReads OUT/**/{consumed} and writes the next record beside it, "
                       "redoing every document.")
    return main.command(name=name, epilog=EXIT_CODES_HELP)(command)


_single_stage("detect", "Detect the language of each document and paragraph: writes detect.json.")
_single_stage("translate", "Translate non-English documents to English: writes translate.json.")
_single_stage("summarize", "Summarize each document, with key points and provenance: writes summary.json.")


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1), help="How many recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines (every document-stage, and the causes).")
@click.option("--verbose", "-v", is_flag=True, help="List every failed or degraded document-stage, not only the causes.")
@handle_errors
def status(out, runs, as_json, verbose):
    """What the last runs on OUT did, and what is failed or degraded now.

    \b
    For each run: start, end, exit code, documents and counts per stage
    (ok, degraded, failed, skipped = unchanged since the previous run).
    Then what is wrong now, one line per cause with how many documents it
    concerns and a few of them (--verbose: every document-stage).
    """
    import json

    from pipeline.inputs import printable
    from pipeline.report import group_causes
    from pipeline.workspace import Workspace

    state = Workspace(out).read_state()
    if state is None:
        raise UsageError(f"{out}: no newsum state here; run `newsum run ... --out {out}` first")
    try:
        data = {"runs": state.runs(runs), "problems": state.problems()}
    finally:
        state.close()
    order = {name: i for i, name in enumerate(registry.names())}
    data["problems"].sort(key=lambda p: (p["doc_id"], order.get(p["stage"], len(order))))
    causes = group_causes([(p["doc_id"], p["stage"], p["status"], reason) for p in data["problems"]
                           for reason in ([p["error"]] if p["error"] else p["reasons"] or [""])])
    data["causes"] = [{"stage": stage, "status": status, "reason": reason, "documents": len(docs), "examples": docs[:5]}
                      for (stage, status, reason), docs in causes]
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for run_info in data["runs"]:
        counts = run_info["counts"] or {}
        end = run_info["ended_at"] or "still running, or killed"
        code = run_info["exit_code"] if run_info["exit_code"] is not None else "-"
        click.echo(f"run {run_info['id']}: {run_info['started_at']} → {end}, exit {code}, "
                   f"{counts.get('documents', '?')} documents")
        run_stages = counts.get("stages") or {}
        order = {name: i for i, name in enumerate(registry.names())}
        for stage in sorted(run_stages, key=lambda name: order.get(name, len(order))):
            stage_counts = run_stages[stage]
            parts = ", ".join(f"{n} {s}" for s, n in sorted(stage_counts.items()) if n)
            click.echo(f"    {stage:9} {parts}")
    if not data["problems"]:
        click.echo("no failed or degraded documents")
    elif verbose:
        for problem in data["problems"]:
            reason = problem["error"] or "; ".join(problem["reasons"])
            click.echo(f"{problem['status']:8} {printable(problem['doc_id'])} [{problem['stage']}]: {printable(reason)}")
    else:
        for cause in data["causes"]:
            n = cause["documents"]
            examples = ", ".join(printable(d) for d in cause["examples"][:3]) + (f" and {n - 3} more" if n > 3 else "")
            click.echo(f"{cause['stage']} {cause['status']} for {n} document{'s' if n != 1 else ''} "
                       f"({examples}): {printable(cause['reason'])}")


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@_config_option
@handle_errors
def digest(out, config_path):
    """Write OUT/stories.json, OUT/digest.md and OUT/digest.html, for a person to read.

    The articles are grouped into stories (one event across sources and
    languages, remembered across nights); each story shows its headline in
    English and as published, its outlets, languages, summary and key points,
    and links to each article's records, the stories carried by the most
    sources first. What needs the operator (missing models, failures) comes
    last, grouped by cause. The HTML page is self-contained and works offline.
    """
    for path in _write_digest(out, _load_config(config_path)):
        click.echo(str(path))


def _write_digest(out, config) -> list[Path]:
    from pipeline.digest import write_digest
    from pipeline.storyrun import STORIES_FILE, build_stories

    build_stories(out, config)
    return [Path(out) / STORIES_FILE, *write_digest(out)]


@main.group()
def models() -> None:
    """The models named in models.yaml: list them, fetch them, check them."""


@models.command("list")
@_config_option
@handle_errors
def models_list(config_path):
    """What models.yaml configures, and whether each model is present locally.

    Shows each model's role, id and pinned revision, whether it is in the
    Hugging Face cache (or its local folder exists), its size and resolved
    commit, and for backend ctranslate2 whether it has been converted.
    Never touches the network. Exit code 3 when some model is missing.
    """
    from pipeline.models.store import model_states

    config = _load_config(config_path)
    missing = 0
    for state in model_states(config):
        spec = state.spec
        name = spec.model + (f"@{spec.revision}" if spec.revision else "")
        if spec.backend != "transformers":
            name += f" [{spec.backend} {spec.quantization}]"
        if state.present:
            line = f"present ({state.size / 1e6:.0f} MB)"
            if state.commit:
                line += f" commit {state.commit[:12]}"
            line += f" {state.where}"
            if state.conversion:
                line += (f"; converted ({state.conversion_size / 1e6:.0f} MB) {state.conversion}"
                         if state.conversion_size else f"; {state.conversion}")
        else:
            line = f"missing: {state.where}"
            missing += 1
        click.echo(f"{state.role:28} {name}  {line}")
    from pipeline.models.loading import hub_cache_dir

    click.echo(f"Hugging Face cache looked in: {hub_cache_dir(config)}")
    if missing:
        from pipeline.errors import EXIT_DEGRADED

        click.echo(f"{missing} model{'s' if missing != 1 else ''} missing: runs degrade where they are needed; "
                   "`newsum models pull` on a connected machine fetches them", err=True)
        sys.exit(EXIT_DEGRADED)


@models.command("pull")
@_config_option
@click.option("--reconvert", is_flag=True, help="Convert ctranslate2 models again even when a conversion exists.")
@handle_errors
def models_pull(config_path, reconvert):
    """Fetch every configured model ahead of time, so that runs can be offline.

    Hub models are downloaded into the Hugging Face cache (HF_HOME), safetensors
    weights and tokenizer files only, at the revision models.yaml pins; models
    with backend ctranslate2 are then converted with CTranslate2's converter.
    The resolved commit of each model is recorded in models.lock.json beside
    models.yaml. Exit code 3 when some model could not be pulled.
    """
    from pipeline.errors import EXIT_DEGRADED
    from pipeline.models.store import pull_models

    config = _load_config(config_path)

    def report(n: int, total: int, result) -> None:
        state = "ok" if result.ok else "FAILED"
        click.echo(f"[{n}/{total}] {result.role}: {result.spec.model}: {state}: {result.message}", err=not result.ok)

    results, lock = pull_models(config, on_result=report, force_convert=reconvert)
    if not results:
        click.echo("models.yaml names no models")
    if lock is not None:
        click.echo(f"recorded in {lock}")
    if any(not r.ok for r in results):
        sys.exit(EXIT_DEGRADED)


@models.command("check")
@_config_option
@click.option("--device", help="auto (cuda when present, else cpu), cpu, cuda or cuda:N; default: models.yaml.")
@handle_errors
def models_check(config_path, device):
    """Load each configured model and run it on one sentence.

    Translation models translate a sentence of their language; the summarizer
    summarizes an English one. Each line says ok with the output and the time,
    or what is missing and how to get it. Exit code 3 when some model fails.
    """
    from pipeline.errors import EXIT_DEGRADED
    from pipeline.models.store import check_model, configured_models

    config = _with_device(_load_config(config_path), device)
    failures = 0
    for role, spec in configured_models(config):
        result = check_model(role, spec, config)
        if result.ok:
            click.echo(f"ok      {role:28} {spec.model}  {result.seconds:.1f} s, {result.message}: "
                       f"{result.source!r} -> {result.output!r}")
        else:
            failures += 1
            click.echo(f"FAILED  {role:28} {spec.model}: {result.message}")
    if failures:
        sys.exit(EXIT_DEGRADED)


if __name__ == "__main__":  # pragma: no cover
    main()
