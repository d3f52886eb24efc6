"""The newsum command line: a thin shell over the library."""

from __future__ import annotations

import functools
import logging
import sys
from collections import Counter

import click

from pipeline import __version__
from pipeline.errors import NewsumError, UsageError
from pipeline.records import STAGES

EXIT_CODES_HELP = """\b
Exit codes:
  0  every document went through every stage
  1  usage or configuration error
  2  some documents failed (bad input, no article text)
  3  some stages degraded (a model missing, a language left
     untranslated), none failed
  4  another run holds the lock on OUT"""


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


def _report(result, quiet: bool) -> None:
    """The closing lines of a run: counts, then one paragraph on what failed or degraded."""
    docs = result.documents
    ok = docs - len({d for d, *_ in result.problems})
    line = (f"newsum: {docs} document{'s' if docs != 1 else ''} in {result.seconds:.1f} s: "
            f"{ok} ok, {result.degraded_docs - len(_both(result))} degraded, {result.failed_docs} failed")
    if result.skipped:
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(result.skipped.items()))
        line += f"; {sum(result.skipped.values())} files skipped ({reasons})"
    click.echo(line, err=True)
    degraded = Counter((stage, reason) for _, stage, status, reason in result.problems if status == "degraded")
    if degraded and not quiet:
        parts = [f"{stage} degraded for {n} document{'s' if n != 1 else ''}: {reason}"
                 for (stage, reason), n in sorted(degraded.items(), key=lambda kv: -kv[1])]
        click.echo("Degraded: " + " ".join(p if p.endswith(".") else p + "." for p in parts), err=True)


def _both(result) -> set[str]:
    failed = {d for d, _, s, _ in result.problems if s == "failed"}
    return {d for d, _, s, _ in result.problems if s == "degraded"} & failed


def _record_printer(quiet: bool):
    def on_record(record) -> None:
        if record.status == "failed":
            where = record.source.get("path") if record.stage == "clean" and record.source.get("path") else record.doc_id
            click.echo(f"newsum: {where}: {record.stage} failed: {record.error['message']}", err=True)
    return on_record


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
      newsum models list
      newsum models pull      (fetch the models, once, on a connected machine)
    """
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="newsum: %(message)s")


def _out_option(func):
    return click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False),
                        help="Folder for the records (created if missing).")(func)


def _config_option(func):
    return click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
                        help="models.yaml to use (default: ./models.yaml).")(func)


def _with_device(config, device: str | None):
    """The configuration with --device, when given, in place of models.yaml's device."""
    if not device:
        return config
    import dataclasses

    from pipeline.config import parse_device

    return dataclasses.replace(config, device=parse_device(device, "--device"))


def _run(inputs, out, stages, config_path, declared_lang, batch_size, quiet, device=None) -> None:
    from pipeline.inputs import Discovery, discover
    from pipeline.runner import Runner

    config = _with_device(_load_config(config_path), device)
    discovery = Discovery()
    runner = Runner(out, config, stages, declared_language=declared_lang, batch_size=batch_size,
                    on_record=_record_printer(quiet))
    documents = discover(inputs, discovery)
    result = runner.run_documents(documents, discovery)
    if result.documents == 0:
        raise UsageError(f"no documents (.txt, .html, .htm) found in {', '.join(inputs)}")
    _report(result, quiet)
    sys.exit(result.exit_code)


_common_run_options = [
    click.option("--declared-lang", help="The language the pages claim (ISO 639-1); recorded, not trusted."),
    click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1),
                 help="Documents handled together (model stages batch across them)."),
    click.option("--quiet", "-q", is_flag=True, help="Only the summary line and errors."),
    click.option("--device", help="Where models run: auto (cuda when present, else cpu), cpu, cuda or cuda:N; "
                                  "default: models.yaml's device."),
]


def _with(options):
    def apply(func):
        for option in reversed(options):
            func = option(func)
        return func
    return apply


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_out_option
@click.option("--stages", default=",".join(STAGES), show_default=True,
              help="Comma-separated stages to run, in order; a stage whose predecessor does not "
                   "run takes the document text as it is.")
@_config_option
@_with(_common_run_options)
@handle_errors
def run(inputs, out, stages, config_path, declared_lang, batch_size, quiet, device):
    """Run the pipeline over files and folders.

    INPUT may be files or folders; folders are walked recursively for .txt,
    .html and .htm files (hidden files and other types are skipped and counted).
    Records go to OUT/<path relative to its input folder, without
    extension>/<stage>.json.
    """
    _run(inputs, out, _parse_stages(stages), config_path, declared_lang, batch_size, quiet, device)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_out_option
@_config_option
@_with(_common_run_options)
@handle_errors
def clean(inputs, out, config_path, declared_lang, batch_size, quiet, device):
    """Strip page furniture and keep the article: writes clean.json."""
    _run(inputs, out, ["clean"], config_path, declared_lang, batch_size, quiet, device)


def _single_stage(stage: str, doc: str):
    previous = {"detect": "clean.json", "translate": "detect.json", "summarize": "translate.json"}[stage]

    @click.argument("out", type=click.Path(exists=True, file_okay=False))
    @_config_option
    @_with(_common_run_options)
    @handle_errors
    def command(out, config_path, declared_lang, batch_size, quiet, device):
        from pipeline.runner import Runner, documents_in_out

        config = _with_device(_load_config(config_path), device)
        runner = Runner(out, config, [stage], declared_language=declared_lang, batch_size=batch_size,
                        on_record=_record_printer(quiet))
        result = runner.run_from_records(documents_in_out(out, {"translate": "detect", "detect": "clean",
                                                                "summarize": "translate"}[stage]))
        if result.documents == 0:
            raise UsageError(f"{out}: no {previous} records to read; run the earlier stages first")
        _report(result, quiet)
        sys.exit(result.exit_code)

    command.__doc__ = f"{doc}\n\nReads OUT/**/{previous} and writes the next record beside it."
    return main.command(name=stage, epilog=EXIT_CODES_HELP)(command)


_single_stage("detect", "Detect the language of each document and paragraph: writes detect.json.")
_single_stage("translate", "Translate non-English documents to English: writes translate.json.")
_single_stage("summarize", "Summarize each document, with key points and provenance: writes summary.json.")


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
    Never touches the network.
    """
    from pipeline.modelstore import model_states

    config = _load_config(config_path)
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
        click.echo(f"{state.role:28} {name}  {line}")


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
    from pipeline.modelstore import pull_models

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
    from pipeline.modelstore import check_model, configured_models

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
