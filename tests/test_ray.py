"""The Ray engine computes what the local engine computes: same records, same state, same exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("ray")

from conftest import (  # noqa: E402
    SAMPLES,
    STAGE_SUBSETS,
    load_records,
    run_cli,
    run_subsets,
    sample_files,
    validate,
    write_config,
)
from test_stage_contract import WordCountStage, check_wordcount, run_with_wordcount  # noqa: E402

from pipeline import stages as registry  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    """One local Ray for the module: starting Ray costs seconds; the engine joins it."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def without_timings(records: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    return {doc: {stage: {k: v for k, v in record.items() if k != "timings"} for stage, record in stages.items()}
            for doc, stages in records.items()}


def without_cache_bookkeeping(records: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """Records less timings and whether a segment came from the translation cache.

    The local engine keeps its cache in OUT/.newsum/; Ray actors have none unless
    translate.cache_path is set. When a batch is retried document by document, the local
    engine finds the segments the failed attempt already translated: same text, `cached`.
    """
    out = without_timings(records)
    for stages in out.values():
        translate = stages.get("translate")
        if translate:
            translate["segments"] = [{k: v for k, v in seg.items() if k != "cached"} for seg in translate["segments"]]
            translate["report"] = {k: v for k, v in translate["report"].items()
                                   if k not in ("cached_segments", "translated_segments")}
    return out


def record_mtimes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*.json") if ".newsum" not in p.parts}


def test_ray_engine_writes_the_records_of_the_local_engine(tmp_path, tiny_config):
    local = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "local"), "--config", str(tiny_config),
                    "--workers", "1", "--quiet")
    on_ray = run_cli("run", str(SAMPLES), "--out", str(tmp_path / "ray"), "--config", str(tiny_config),
                     "--engine", "ray", "--quiet")
    assert on_ray.exit_code == local.exit_code
    expected, got = load_records(tmp_path / "local"), load_records(tmp_path / "ray")
    assert len(got) == len(sample_files())
    assert without_timings(got) == without_timings(expected)
    translated = [doc for doc, stages in got.items() if stages["translate"]["translated"]]
    assert translated, "the tiny models translated nothing: the comparison would not exercise the actors"
    assert any(stages["summary"]["method"] == "abstractive" for stages in got.values())
    for stages in got.values():
        for record in stages.values():
            validate(record)


def test_ray_engine_reruns_only_what_changed(tmp_path, tiny_config):
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLES, inputs)
    out = tmp_path / "out"
    args = ["run", str(inputs), "--out", str(out), "--config", str(tiny_config), "--engine", "ray", "--quiet"]
    first = run_cli(*args)
    before = record_mtimes(out)
    changed = inputs / "fr-article.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nUn paragraphe ajouté.\n", encoding="utf-8")
    second = run_cli(*args)
    after = record_mtimes(out)
    assert second.exit_code == first.exit_code
    rewritten = {path for path in after if after[path] != before.get(path)}
    assert rewritten == {f"fr-article/{name}" for name in ("clean.json", "detect.json", "translate.json",
                                                          "summary.json")}


def test_a_document_that_breaks_an_actor_fails_alone(tmp_path, tiny_models):
    """max_input_tokens above what the model's positions allow: generate raises on the one long paragraph."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    long_paragraph = " ".join(["La città ha approvato il nuovo piano per il trasporto pubblico e le piste ciclabili"] * 8)
    (inputs / "it-long.txt").write_text(f"Il piano dei trasporti\n\n{long_paragraph}.\n", encoding="utf-8")
    (inputs / "it-short.txt").write_text(
        "Il sindaco e la giunta discutono il bilancio della città\n\n"
        "Il sindaco ha parlato questa mattina con i cittadini riuniti in piazza.\n\n"
        "Il bilancio prevede nuovi fondi per le scuole e per le strade della città.\n\n"
        "La giunta comunale vota oggi il bilancio, dopo tre settimane di discussione.\n\n"
        "L'opposizione chiede più risorse per i trasporti pubblici e per i parchi.\n", encoding="utf-8")
    (inputs / "fr-short.txt").write_text(
        "Le maire et le conseil municipal débattent du budget de la ville\n\n"
        "Le maire a parlé ce matin avec les habitants réunis sur la place.\n\n"
        "Le budget prévoit de nouveaux fonds pour les écoles et pour les routes.\n\n"
        "Le conseil municipal vote aujourd'hui le budget, après trois semaines de débat.\n\n"
        "L'opposition demande plus de moyens pour les transports publics et les parcs.\n", encoding="utf-8")
    config = write_config(tmp_path / "models.yaml", tiny_models, translate={
        "batch_size": 8, "models": {
            "it": {"model": str(tiny_models["it"]), "max_input_tokens": 400,
                   "generation": {"num_beams": 1, "max_new_tokens": 16}},
            "fr": {"model": str(tiny_models["fr"]), "generation": {"num_beams": 1, "max_new_tokens": 16}}}})
    common = ["--config", str(config), "--quiet"]
    local = run_cli("run", str(inputs), "--out", str(tmp_path / "local"), "--workers", "1", *common)
    on_ray = run_cli("run", str(inputs), "--out", str(tmp_path / "ray"), "--engine", "ray", *common)
    records = load_records(tmp_path / "ray")
    assert records["it-long"]["detect"]["language"] == "it"
    failed = records["it-long"]["translate"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "internal_error"
    assert "summary" not in records["it-long"]
    for doc in ("it-short", "fr-short"):
        assert records[doc]["translate"]["status"] != "failed"
        assert records[doc]["translate"]["translated"] is True
        assert records[doc]["summary"]["status"] != "failed"
    assert on_ray.exit_code == local.exit_code == 2
    assert without_cache_bookkeeping(records) == without_cache_bookkeeping(load_records(tmp_path / "local"))


@pytest.fixture(scope="module")
def ray_subset_runs(tiny_config, tmp_path_factory):
    return run_subsets(tmp_path_factory.mktemp("subsets-ray"), tiny_config, "--engine", "ray")


@pytest.mark.parametrize("subset", STAGE_SUBSETS)
def test_every_ordered_subset_gives_the_same_records_on_ray(subset, ray_subset_runs, local_subset_runs):
    ray_exit, ray_records = ray_subset_runs[subset]
    local_exit, local_records = local_subset_runs[subset]
    assert ray_exit == local_exit
    assert without_cache_bookkeeping(ray_records) == without_cache_bookkeeping(local_records)
    assert all(r["status"] != "failed" for stages in ray_records.values() for r in stages.values())


def test_a_registered_fifth_stage_runs_on_ray(tmp_path, tiny_config):
    import sys

    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[WordCountStage.__module__])  # workers cannot import tests/
    registry.register(WordCountStage)
    try:
        result, records = run_with_wordcount(tmp_path / "ray", tiny_config, "--engine", "ray")
        _, local = run_with_wordcount(tmp_path / "local", tiny_config, "--workers", "1")
    finally:
        registry.unregister(WordCountStage)
    assert result.exit_code == 0, result.output
    check_wordcount(records)
    assert without_cache_bookkeeping(records) == without_cache_bookkeeping(local)
