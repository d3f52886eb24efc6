"""A hostile night: one folder holding every kind of bad file newsum has met, run twice in a row.

    python bench/hostile_corpus.py                 # builds the corpus in a temporary folder, runs, checks
    python bench/hostile_corpus.py --keep DIR      # ...in DIR, kept for a look afterwards
    python bench/hostile_corpus.py --limit 900     # seconds each run may take before it counts as a hang

The corpus mixes good pages (the samples) with: a FIFO, a file swapped for a FIFO while the run
goes, a symlink to /dev/zero, a file name that is not UTF-8, one with a newline, one that is a
`javascript:` URL, names that collide with record files and the digest, two files that want the
same id, Latin-1 French and Windows-1252 Italian, NUL bytes after 64 KiB, random bytes, an empty
file, a sparse file over the size limit, a text of a million lines, 30 MB of paragraphs that run
past the time limit this script sets (--clean-seconds), 40 000 short lines, a single-paragraph HTML page of
lower-case sentences, and an input tree 1 100 folders deep. OUT is inside the input folder.
Between the two runs OUT is damaged: the state database overwritten with bytes, a record
replaced by garbage, another by `[]`, one record path taken by a folder, the translation cache
truncated, and a record folder replaced by a symlink to a folder outside OUT.

Each run must end (within --limit seconds, no traceback) with exit code 2 (some documents
failed), and the check of each case below must hold after each run; nothing outside OUT may
change. Prints one line per case and run, and the wall time and peak memory of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages import record_types  # noqa: E402

SAMPLES = ROOT / "samples"

FRENCH = ("La mère du maire espère une réforme\n\nLa mère du maire de Besançon espère que la réforme des écoles "
          "sera votée avant l'été. « C'est un problème de société », a-t-elle déclaré mercredi, après une "
          "réunion très animée à l'hôtel de ville.\n\nLes élèves et leurs familles attendent une décision depuis "
          "des mois ; le conseil municipal se réunira de nouveau en février pour étudier le budget.\n")
ITALIAN = ("Perché la città è più verde\n\nIl sindaco ha annunciato lunedì che entro l'estate saranno piantati "
           "mille alberi in più nelle vie del centro. «È una scelta che cambierà la qualità della vita», ha "
           "detto ai giornalisti.\n\nI lavori costeranno due milioni di euro e cominceranno già a febbraio, "
           "quando le temperature lo permetteranno.\n")


def sample(name: str = "en-wire-story.txt") -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def build(corpus: Path) -> dict[str, Callable]:
    """Writes the corpus; returns, per case, a check of the finished run: (out, stderr) -> problem or None."""
    corpus.mkdir(parents=True)
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix in (".txt", ".html"):
            shutil.copy(path, corpus / path.name)
    os.mkfifo(corpus / "fifo.txt")
    (corpus / "swapped.html").write_text(sample("html-page.html"), encoding="utf-8")
    os.symlink("/dev/zero", corpus / "zero.txt")
    (corpus / os.fsdecode(b"caf\xe9-latin1-name.txt")).write_text(sample(), encoding="utf-8")
    (corpus / "new\nline.txt").write_text(sample(), encoding="utf-8")
    (corpus / "javascript:alert(document.domain).txt").write_text(sample(), encoding="utf-8")
    (corpus / "a").mkdir()
    (corpus / "a.txt").write_text(sample(), encoding="utf-8")
    (corpus / "a" / "clean.json.txt").write_text(sample("fr-article.txt"), encoding="utf-8")
    (corpus / "digest.md.txt").write_text(sample(), encoding="utf-8")
    (corpus / "same.txt").write_text(sample(), encoding="utf-8")
    (corpus / "same.html").write_text(sample("html-page.html"), encoding="utf-8")
    (corpus / "latin1-fr.txt").write_bytes(FRENCH.encode("latin-1"))
    (corpus / "cp1252-it.txt").write_bytes(ITALIAN.encode("cp1252"))
    (corpus / "nul-late.txt").write_bytes((sample() * 40).encode()[: 70 * 1024] + b"\x00" * 64 + b"end\n")
    (corpus / "random.txt").write_bytes(random.Random(0).randbytes(20000))
    (corpus / "empty.txt").write_bytes(b"")
    with open(corpus / "huge.txt", "wb") as fh:  # sparse: over the 64 MiB limit without using the disk
        fh.truncate(65 * 1024 * 1024)
    rng = random.Random(1)
    words = "the of and a to in is was for on that with by as at from his her said it".split()
    (corpus / "million-lines.txt").write_text("".join(f"{rng.choice(words)} {rng.choice(words)}\n"
                                                      for _ in range(1_000_000)), encoding="utf-8")
    paragraph = " ".join(f"{rng.choice(words).capitalize()} {' '.join(rng.choices(words, k=12))}."
                         for _ in range(15))
    (corpus / "slow-30mb.txt").write_text("".join(f"{paragraph} {i}\n\n" for i in range(40_000)), encoding="utf-8")
    (corpus / "short-40k-lines.txt").write_text("".join(f"{rng.choice(words)}\n" for _ in range(40_000)),
                                                encoding="utf-8")
    sentences = " ".join(f"this is sentence {i} of a page that never uses a capital letter, and it goes on"
                         for i in range(2000))
    (corpus / "one-paragraph.html").write_text(f"<html><body><article><h1>a page</h1><p>{sentences}.</p>"
                                               "</article></body></html>", encoding="utf-8")
    deep = corpus / "deep"
    deep.mkdir()
    for _ in range(1100):  # one level at a time: pathlib's mkdir(parents=True) recurses
        deep = deep / "d"
        deep.mkdir()
    (deep / "bottom.txt").write_text(sample(), encoding="utf-8")

    files = {t.stage: t.file for t in record_types()}

    def record(out: Path, doc_id: str, stage: str = "clean") -> dict | None:
        try:
            return json.loads((out / doc_id / files[stage]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def failed_with(doc_id: str, *codes: str) -> Callable:
        def check(out: Path, stderr: str) -> str | None:
            r = record(out, doc_id)
            if r is None:
                return f"no clean record for {doc_id}"
            if r["status"] != "failed" or r["error"]["code"] not in codes:
                return f"{doc_id}: {r['status']} {r.get('error')}"
            return None
        return check

    def ok(doc_id: str, stage: str = "summarize") -> Callable:
        def check(out: Path, stderr: str) -> str | None:
            r = record(out, doc_id, stage)
            if r is None or r["status"] == "failed":
                return f"{doc_id}/{stage}: {r and r.get('error')}"
            return None
        return check

    def skipped(words: str) -> Callable:
        return lambda out, stderr: None if words in stderr else f"no '{words}' in the run's messages"

    def decoded(doc_id: str, text: str, encoding: str) -> Callable:
        def check(out: Path, stderr: str) -> str | None:
            r = record(out, doc_id)
            if r is None or text not in (r["title"] + r["text"]):
                return f"{doc_id}: {text!r} not in the record"
            if r["source"].get("encoding") != encoding:
                return f"{doc_id}: decoded as {r['source'].get('encoding')}"
            return None
        return check

    def sentences_bounded(out: Path, stderr: str) -> str | None:
        r = record(out, "one-paragraph", "summarize")
        if r is None:
            return "no summary"
        return None if len(r["summary"]) < 2000 else f"a summary of {len(r['summary'])} characters"

    def digest_escaped(out: Path, stderr: str) -> str | None:
        html = (out / "digest.html").read_text(encoding="utf-8")
        if 'href="javascript:' in html:
            return "a javascript: link in digest.html"
        return None if "Content-Security-Policy" in html else "no Content-Security-Policy"

    def one_line_newline_name(out: Path, stderr: str) -> str | None:
        return None if not any(line.startswith("line.txt") for line in stderr.splitlines()) else "a forged line"

    samples = [p.stem for p in SAMPLES.iterdir() if p.suffix in (".txt", ".html")]

    def samples_summarized(out: Path, stderr: str) -> str | None:
        # a record folder that leads outside OUT, or a folder where a record goes: that document
        # fails, named, and nothing is written there or deleted
        linked = [s for s in samples if (out / s).is_symlink()
                  or any((out / s / name).is_dir() for name in files.values())]
        for doc_id in linked:
            if not any(doc_id in line and ("cannot write" in line or "symlink" in line) for line in stderr.splitlines()):
                return f"{doc_id}: its records cannot be written, and no failure names it"
        return next((p for p in (ok(s)(out, stderr) for s in samples if s not in linked) if p), None)

    return {
        "the samples are summarized; those whose record folder is a symlink or a record path a folder fail":
            samples_summarized,
        "a FIFO is a named skip": skipped("not_a_regular_file"),
        "a file swapped for a FIFO mid-run fails alone": lambda out, err: None if (record(out, "swapped") or {}).get(
            "status") in ("failed", "ok", None) else "swapped: unexpected record",
        "a symlink to /dev/zero is a named skip": skipped("symlink_outside_input"),
        "a name that is not UTF-8 is a named skip": skipped("undecodable_name"),
        "a name with a newline stays on one line": one_line_newline_name,
        "a javascript: name gives no javascript: link": digest_escaped,
        "a.txt and a/clean.json.txt both get records": lambda out, err: ok("a")(out, err) or ok(
            "a/clean.json.txt")(out, err),
        "digest.md.txt keeps its full name": ok("digest.md.txt"),
        "same.txt and same.html: one keeps the id, the other fails naming both": lambda out, err: (
            ok("same")(out, err) or failed_with("same.html", "id_clash")(out, err)
            if (record(out, "same") or {}).get("source", {}).get("path", "").endswith("same.txt")
            else ok("same")(out, err) or failed_with("same.txt", "id_clash")(out, err)),
        "Latin-1 French decodes as Latin-1/cp1252": decoded("latin1-fr", "mère du maire espère", "cp1252"),
        "cp1252 Italian decodes as cp1252": decoded("cp1252-it", "Perché la città è più verde", "cp1252"),
        "NUL bytes after 64 KiB fail the file": failed_with("nul-late", "binary"),
        "random bytes fail the file": failed_with("random", "binary", "bad_encoding"),
        "an empty file fails": failed_with("empty", "empty", "no_article_text"),
        "a file over 64 MiB fails without being read": failed_with("huge", "too_large"),
        "a million lines fail at once": failed_with("million-lines", "too_many_lines", "no_article_text"),
        "30 MB of paragraphs stop at the time limit (clean's or detect's)": lambda out, err: None if any(
            ((record(out, "slow-30mb", stage) or {}).get("error") or {}).get("code") == "time_limit"
            for stage in ("clean", "detect")) else "no time_limit failure",
        "40 000 short lines end": lambda out, err: None if record(out, "short-40k-lines") else "no record",
        "one lower-case paragraph makes a bounded summary": sentences_bounded,
        "a tree 1 100 folders deep is walked": ok("deep/" + "/".join(["d"] * 1100) + "/bottom", "clean"),
    }


def damage(out: Path, outside: Path) -> list[str]:
    """Between the nights: what an operator's accident or a full disk can leave in OUT."""
    done = []
    state = out / ".newsum" / "state.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    state.write_bytes(b"this is not a database " * 100)
    done.append("state.sqlite overwritten with text")
    (out / "fr-article" / "clean.json").write_text("{garbage", encoding="utf-8")
    done.append("fr-article/clean.json replaced by '{garbage'")
    (out / "en-wire-story" / "summary.json").write_text("[]", encoding="utf-8")
    done.append("en-wire-story/summary.json replaced by '[]'")
    (out / "it-cookie-widget" / "detect.json").unlink()
    (out / "it-cookie-widget" / "detect.json").mkdir()
    done.append("it-cookie-widget/detect.json replaced by a folder")
    cache = out / ".newsum" / "translations.sqlite"
    if cache.exists():
        cache.write_bytes(cache.read_bytes()[:100])
        done.append("translations.sqlite truncated to 100 bytes")
    outside.mkdir()
    shutil.rmtree(out / "es-paywall-captions")
    os.symlink(outside, out / "es-paywall-captions")
    done.append("es-paywall-captions/ replaced by a symlink to a folder outside OUT")
    return done


def swap_later(path: Path, seconds: float) -> threading.Thread:
    def swap():
        time.sleep(seconds)
        try:
            path.unlink()
            os.mkfifo(path)
        except OSError:
            pass
    thread = threading.Thread(target=swap, daemon=True)
    thread.start()
    return thread


def run_night(corpus: Path, out: Path, config: Path, limit: float) -> tuple[int | None, str, float, float]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "pipeline", "run", str(corpus), "--out", str(out),
                               "--config", str(config), "--digest", "--workers", "2"],
                              cwd=ROOT, capture_output=True, text=True, errors="replace", timeout=limit, env=env)
        code, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, stderr = None, (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return code, stderr, time.perf_counter() - started, peak


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under folder; its own stack, for the deep tree."""
    out, pending = {}, [folder]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            else:
                out[entry.path] = (info.st_size, info.st_mtime_ns)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds a run may take (default 900)")
    parser.add_argument("--clean-seconds", type=float, default=10.0,
                        help="limits.cpu_seconds for the run (default 10: the 30 MB page runs past it)")
    args = parser.parse_args()
    top = args.keep or Path(tempfile.mkdtemp(prefix="newsum-hostile-"))
    top.mkdir(parents=True, exist_ok=True)
    corpus, outside = top / "corpus", top / "outside"
    out = corpus / "_out"  # OUT inside the input folder: it must be left out of discovery
    config = top / "models.yaml"
    config.write_text((ROOT / "models.yaml").read_text(encoding="utf-8")
                      + f"\nlimits:\n  cpu_seconds: {args.clean_seconds}\n", encoding="utf-8")
    checks = build(corpus)
    inputs_before = {k: v for k, v in snapshot(corpus).items() if not k.startswith(str(out))}
    failures = 0
    for night in (1, 2):
        if night == 2:
            for line in damage(out, outside):
                print(f"  damaged: {line}")
            outside_before = snapshot(outside)
        failures_before = failures
        swapper = swap_later(corpus / "swapped.html", 2.0) if night == 1 else None
        code, stderr, seconds, peak = run_night(corpus, out, config, args.limit)
        if swapper:
            swapper.join()
        print(f"night {night}: exit {code}, {seconds:.1f} s, peak RSS of the runs so far {peak:.0f} MB")
        problems = []
        if code is None:
            problems.append(f"did not end within {args.limit:g} s")
        elif code != 2:
            problems.append(f"exit code {code}, expected 2")
        if "Traceback" in stderr:
            problems.append("a traceback in the messages")
        for name, check in checks.items():
            problem = check(out, stderr)
            print(f"  {'ok  ' if problem is None else 'FAIL'} {name}{'' if problem is None else ': ' + problem}")
            failures += problem is not None
        after = {k: v for k, v in snapshot(corpus).items() if not k.startswith(str(out))}
        changed = sorted(set(after) ^ set(inputs_before)
                         | {k for k in after if k in inputs_before and after[k] != inputs_before[k]})
        changed = [c for c in changed if not c.endswith("swapped.html")]
        if changed:
            problems.append(f"inputs changed: {changed[:3]}")
        if night == 2 and snapshot(outside) != outside_before:
            problems.append("something was written outside OUT (through the symlinked record folder)")
        if night == 2 and not list((out / ".newsum").glob("state.sqlite.damaged-*")):
            problems.append("the damaged state was not kept aside")
        for problem in problems:
            print(f"  FAIL {problem}")
        night_failures = failures - failures_before + len(problems)
        failures += len(problems)
        if code is not None and night_failures:
            print("\n".join("    | " + line for line in stderr.splitlines()[-15:]))
    if not args.keep:
        shutil.rmtree(top, ignore_errors=True)
    print("all cases hold on both nights" if not failures else f"{failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
