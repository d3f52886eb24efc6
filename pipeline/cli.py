"""The newsum command line: a thin shell over the library."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline.errors import NewsumError, OutputError, UsageError
from pipeline.records import STAGES

EXIT_CODES_HELP = """\b
Exit codes:
  0  every document went through every stage
  1  usage or configuration error, or OUT cannot be written
  2  some documents failed (bad input, no article text)
  3  some stages degraded (a model missing, a language left
     untranslated), none failed
  4  another run holds the lock on OUT
  130 interrupted (SIGINT/SIGTERM) after finishing the documents in hand"""


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


def _parse_stages(value: str) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    aliases = {"summary": "summarize"}
    names = [aliases.get(n, n) for n in names]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise UsageError(f"--stages: unknown stage {', '.join(unknown) or '(none)'}; "
                         f"choose from {','.join(STAGES)}")
    if names != [s for s in STAGES if s in names] or len(set(names)) != len(names):
        raise UsageError(f"--stages: stages run in the order {','.join(STAGES)}; got {value}")
    return names


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
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
    """
    from pipeline.report import setup_logging

    setup_logging(quiet=False, debug=debug, log_file=None, log_format="text")


def _out_option(func):
    return click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False),
                        help="Folder for the records (created if missing).")(func)


def _config_option(func):
    return click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
                        help="models.yaml to use (default: ./models.yaml).")(func)



def _run_options(func):
    options = [
        click.option("--declared-lang", help="The language the pages claim (ISO 639-1); recorded, not trusted."),
        click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1),
                     help="Documents handled together (model stages batch across them)."),
        click.option("--workers", "-j", type=click.IntRange(1), default=None,
                     help="Processes for the CPU stages (clean, detect).  [default: number of cores]"),
        click.option("--wait", "wait_seconds", type=click.FloatRange(0), default=0, show_default=True,
                     help="If another run holds OUT, wait up to SECONDS for it instead of exiting with 4."),
        click.option("--quiet", "-q", is_flag=True, help="Only errors and the summary line."),
        click.option("--log-file", type=click.Path(dir_okay=False), help="Also write every event to this file."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                     help="Format of log lines (json: one object per line)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _execute(out: str, stages: list[str], config_path: str | None, common: dict, work, total=None) -> None:
    """Lock OUT, run, report, exit with the documented code. SIGINT/SIGTERM finish the batch in hand."""
    import signal

    from pipeline.lock import RunLock
    from pipeline.report import Reporter, event, setup_logging
    from pipeline.runner import Runner, RunOptions

    setup_logging(quiet=common["quiet"], debug=click.get_current_context().find_root().params.get("debug", False),
                  log_file=common["log_file"], log_format=common["log_format"])
    config = _load_config(config_path)
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder: {exc.strerror or exc}") from None
    options = RunOptions(declared_language=common["declared_lang"], batch_size=common["batch_size"],
                         workers=common["workers"] or os.cpu_count() or 1, force=common.get("force", False),
                         retry_failed=common.get("retry_failed", False), prune=common.get("prune", False),
                         explain=common.get("explain", False))
    lock = RunLock(out)
    try:
        lock.acquire(common["wait_seconds"])
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the lock file: {exc.strerror or exc}") from None
    if lock.previous_holder:
        event(logging.INFO, f"took over the lock of an earlier run that is gone (pid {lock.previous_holder.get('pid')})")
    try:
        engine = _make_engine(common, config, options)
    except BaseException:
        lock.release()
        raise
    reporter = Reporter(stages, total() if callable(total) else total, quiet=common["quiet"])
    runner = Runner(out, config, stages, options, on_record=reporter.on_record, on_progress=reporter.on_progress,
                    engine=engine)

    def stop(signum, frame):
        if runner.stop_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        runner.stop_requested = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = work(runner)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reporter.close()
        lock.release()
    if result.documents == 0 and not result.interrupted:
        raise UsageError(common["nothing_message"])
    reporter.finish(result)
    sys.exit(result.exit_code)


def _make_engine(common: dict, config, options):
    """None for the local engine; Ray is imported only when --engine ray asks for it."""
    if common.get("engine", "local") != "ray":
        if common.get("ray_address"):
            raise UsageError("--ray-address is for --engine ray")
        return None
    from pipeline.ray_engine import RayEngine

    debug = click.get_current_context().find_root().params.get("debug", False)
    return RayEngine(config, options, address=common.get("ray_address"), debug=debug)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_out_option
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where stages compute: this machine, or a Ray cluster (needs pip install 'newsum[ray]').")
@click.option("--ray-address", metavar="ADDRESS",
              help="With --engine ray: the cluster to join (e.g. ray://head:10001 or auto); "
                   "without it a local Ray instance is started.")
@click.option("--stages", default=",".join(STAGES), show_default=True,
              help="Comma-separated stages to run, in order; a stage whose predecessor does not "
                   "run takes the document text as it is.")
@_config_option
@click.option("--force", is_flag=True, help="Redo every document and stage, changed or not.")
@click.option("--retry-failed", is_flag=True, help="Also redo the document-stages that failed last time.")
@click.option("--prune", is_flag=True, help="Remove the records of documents no longer in the input.")
@_run_options
@handle_errors
def run(inputs, out, stages, config_path, **common):
    """Run the pipeline over files and folders.

    INPUT may be files or folders; folders are walked recursively for .txt,
    .html and .htm files (hidden files and other types are skipped and counted).
    Records go to OUT/<path relative to its input folder, without
    extension>/<stage>.json.

    Runs are incremental: a document-stage whose input, configuration and code
    are unchanged since the last run is skipped. State lives in
    OUT/.newsum/state.sqlite; `newsum status OUT` reads it.
    """
    _run_inputs(inputs, out, _parse_stages(stages), config_path, common)


def _run_inputs(inputs, out, stages, config_path, common) -> None:
    from pipeline.inputs import Discovery, discover

    discovery = Discovery()
    common["nothing_message"] = f"no documents (.txt, .html, .htm) found in {', '.join(inputs)}"

    def count() -> int | None:
        # Only a terminal shows bars with an ETA; counting walks the tree once more (stat only).
        return sum(1 for _ in discover(inputs)) if sys.stderr.isatty() and not common["quiet"] else None

    for item in inputs:
        if not Path(item).exists():
            raise UsageError(f"{item}: no such file or folder")
    _execute(out, stages, config_path, common,
             lambda runner: runner.run_documents(discover(inputs, discovery), discovery, command=_command_line()),
             total=count)


def _command_line() -> str:
    return " ".join(["newsum", *sys.argv[1:]])[:500]


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_out_option
@_config_option
@click.option("--force", is_flag=True, help="Redo every document, changed or not.")
@_run_options
@handle_errors
def clean(inputs, out, config_path, **common):
    """Strip page furniture and keep the article: writes clean.json."""
    _run_inputs(inputs, out, ["clean"], config_path, common)


def _single_stage(stage: str, doc: str):
    previous = {"detect": "clean", "translate": "detect", "summarize": "translate"}[stage]

    @click.argument("out", type=click.Path(exists=True, file_okay=False))
    @_config_option
    @_run_options
    @handle_errors
    def command(out, config_path, **common):
        from pipeline.records import RECORD_FILES
        from pipeline.runner import documents_in_out

        common["nothing_message"] = f"{out}: no {RECORD_FILES[previous]} records to read; run the earlier stages first"
        _execute(out, [stage], config_path, common,
                 lambda runner: runner.run_from_records(documents_in_out(out, previous), command=_command_line()))

    command.__doc__ = (f"{doc}\n\nReads OUT/**/{RECORD_FILES_BY_STAGE[previous]} and writes the next record beside it, "
                       "redoing every document.")
    return main.command(name=stage, epilog=EXIT_CODES_HELP)(command)


RECORD_FILES_BY_STAGE = {"clean": "clean.json", "detect": "detect.json", "translate": "translate.json"}
_single_stage("detect", "Detect the language of each document and paragraph: writes detect.json.")
_single_stage("translate", "Translate non-English documents to English: writes translate.json.")
_single_stage("summarize", "Summarize each document, with key points and provenance: writes summary.json.")


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1), help="How many recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@handle_errors
def status(out, runs, as_json):
    """What the last runs on OUT did, and which documents failed or degraded.

    \b
    For each run: start, end, exit code, documents and counts per stage
    (ok, degraded, failed, skipped = unchanged since the previous run).
    Then every document-stage whose last result was not ok, with the reason.
    """
    import json

    from pipeline.state import open_existing

    state = open_existing(out)
    if state is None:
        raise UsageError(f"{out}: no newsum state here (OUT/.newsum/state.sqlite); run `newsum run ... --out {out}` first")
    try:
        data = {"runs": state.runs(runs), "problems": state.problems()}
    finally:
        state.close()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for run_info in data["runs"]:
        counts = run_info["counts"] or {}
        end = run_info["ended_at"] or "still running, or killed"
        code = run_info["exit_code"] if run_info["exit_code"] is not None else "-"
        click.echo(f"run {run_info['id']}: {run_info['started_at']} → {end}, exit {code}, "
                   f"{counts.get('documents', '?')} documents")
        for stage, stage_counts in (counts.get("stages") or {}).items():
            parts = ", ".join(f"{n} {s}" for s, n in sorted(stage_counts.items()) if n)
            click.echo(f"    {stage:9} {parts}")
    if not data["problems"]:
        click.echo("no failed or degraded documents")
    for problem in data["problems"]:
        reason = problem["error"] or "; ".join(problem["reasons"])
        click.echo(f"{problem['status']:8} {problem['doc_id']} [{problem['stage']}]: {reason}")


@main.group()
def models() -> None:
    """The models named in models.yaml: list them, fetch them, check them."""


@models.command("list")
@_config_option
@handle_errors
def models_list(config_path):
    """What models.yaml configures, and whether each model is present locally."""
    from pipeline.modelstore import configured_models, local_status

    config = _load_config(config_path)
    for role, spec in configured_models(config):
        present, where, size = local_status(spec, config)
        state = f"present ({size / 1e6:.0f} MB) {where}" if present else f"missing: {where}"
        click.echo(f"{role:28} {spec.model}" + (f"@{spec.revision}" if spec.revision else "") + f"  {state}")


if __name__ == "__main__":  # pragma: no cover
    main()
