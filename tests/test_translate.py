"""translate: routing, exact segmentation, paragraph alignment, the cache, offline behaviour, CTranslate2.

Every model here is a tiny real one built in conftest and loaded through the code that loads
real models; expected values come from the inputs, never from the code under test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SEEDS, load_records, run_cli, sample_files, validate

from pipeline.config import parse_config
from pipeline.errors import ConfigError
from pipeline.models.loading import load_seq2seq
from pipeline.models.registry import ModelRegistry
from pipeline.records import DetectRecord
from pipeline.stages.base import StageContext
from pipeline.stages.translate.stage import TITLE, TranslateStage, pack_segments
from pipeline.text import split_paragraphs
from pipeline.workspace import Workspace

IT_TEXT = ("Il consiglio comunale ha approvato il bilancio dopo una lunga discussione. "
           "La sindaca ha parlato di una scelta necessaria.\n\n"
           "I lavori sul ponte cominceranno a marzo e dureranno due anni.\n\n"
           "Secondo i tecnici, il cantiere non chiuderà mai del tutto la strada.")
DE_TEXT = ("Der Stadtrat hat den Haushalt nach einer langen Debatte beschlossen.\n\n"
           "Die Arbeiten an der Brücke beginnen im März.")


def _config(models: dict, fallback=None, tmp_path: Path | None = None, **translate):
    section = {"batch_size": 4, "models": {lang: {"model": str(path), "generation": {"num_beams": 1, "max_new_tokens": 16}}
                                           for lang, path in models.items()}}
    if fallback is not None:
        section["fallback"] = {"model": str(fallback), "generation": {"num_beams": 1, "max_new_tokens": 16}}
    section.update(translate)
    return parse_config({"device": "cpu", "translate": section})


def _detect(doc_id: str, language: str, text: str, title: str = "", paragraphs=None) -> DetectRecord:
    return DetectRecord(doc_id=doc_id, language=language, confidence=0.99, title=title, text=text,
                        paragraphs=paragraphs or [])


def _stage(config, out_dir=None) -> TranslateStage:
    workspace = Workspace(out_dir) if out_dir is not None else None
    return TranslateStage(StageContext(config, workspace=workspace), ModelRegistry(config))


def _record_dict(record) -> dict:
    data = record.to_dict()
    data["timings"] = {"started_at": "2026-01-01T00:00:00+00:00", "seconds": 0.0}
    return data


def _long_texts() -> list[tuple[str, str]]:
    """Real-shaped inputs: the seeds when present, and the project's samples."""
    texts = [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in sample_files() if p.suffix == ".txt"]
    if SEEDS.is_dir():
        texts += [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in sorted(SEEDS.glob("*.txt"))]
    return texts


# -- routing ------------------------------------------------------------------------------

def test_pair_model_fallback_and_unknown_language_are_routed(tiny_models, tiny_multilingual):
    config = _config({"it": tiny_models["it"]}, fallback=tiny_multilingual["m2m100"])
    records = [_detect("it-doc", "it", IT_TEXT, title="Il bilancio approvato"), _detect("de-doc", "de", DE_TEXT)]
    italian, german = _stage(config)(records)
    assert italian.translated and german.translated
    assert {s["model"] for s in italian.segments} == {str(tiny_models["it"])}
    assert {s["model"] for s in german.segments} == {str(tiny_multilingual["m2m100"])}
    assert italian.model["id"] == str(tiny_models["it"])
    assert german.model["id"] == str(tiny_multilingual["m2m100"])
    for record in (italian, german):
        validate(_record_dict(record))

    no_fallback = _config({"it": tiny_models["it"]})
    (german,) = _stage(no_fallback)([_detect("de-doc", "de", DE_TEXT)])
    assert german.status == "degraded" and german.translated is False
    assert german.text == DE_TEXT
    assert "no translation model for 'de'" in german.report["degraded"][0]
    validate(_record_dict(german))


@pytest.mark.parametrize("kind,tag", [("m2m100", "__en__"), ("nllb", "eng_Latn")])
def test_multilingual_fallback_is_told_the_languages(tiny_multilingual, kind, tag):
    config = _config({}, fallback=tiny_multilingual[kind])
    model = load_seq2seq(config.translate.fallback, "translate.fallback", config)
    assert model.tags.kind == kind
    assert model.supports("de") and not model.supports("xx")
    model.count_tokens("Die Arbeiten", "de")
    expected_code = "de" if kind == "m2m100" else "deu_Latn"
    assert model.tokenizer.src_lang == expected_code
    (record,) = _stage(config)([_detect("de-doc", "de", DE_TEXT)])
    assert record.translated and record.status == "ok", record.report
    assert all(tag not in s["target"] and s["target"] for s in record.segments)


def test_language_the_fallback_does_not_know_is_left_untranslated(tiny_multilingual):
    config = _config({}, fallback=tiny_multilingual["m2m100"])
    (record,) = _stage(config)([_detect("xx-doc", "tlh", "Qapla' batlh Daqawlu'taH.")])
    assert record.status == "degraded" and record.translated is False
    assert "no language code for 'tlh'" in record.report["degraded"][0]


def test_english_and_undetermined_documents_are_not_sent_to_a_model(tiny_models):
    config = _config({"it": tiny_models["it"]})
    stage = _stage(config)
    english, unknown = stage([_detect("en", "en", "The council met.\n\nIt voted."), _detect("und", "und", "12 34")])
    assert english.status == "ok" and english.translated is False and english.text == "The council met.\n\nIt voted."
    assert unknown.status == "degraded" and unknown.translated is False
    assert stage.generate_calls == 0


# -- exact segmentation -------------------------------------------------------------------

def _assert_exact_cover(paragraph: str, spans: list[tuple[int, int]]) -> None:
    """The spans are in order, hold every non-space character, and only white space lies between."""
    position = 0
    for start, end in spans:
        assert start >= position
        assert paragraph[position:start].strip() == ""
        position = end
    assert paragraph[position:].strip() == ""


def test_segments_fit_the_model_limit_and_lose_nothing(tiny_models):
    config = _config({"it": tiny_models["it"]})
    model = load_seq2seq(config.translate.models["it"], "translate.models.it", config)
    assert model.max_input_tokens == 64  # the fixture's max_position_embeddings and model_max_length
    split_seen = 0
    for name, text in _long_texts():
        for paragraph in split_paragraphs(text):
            segments = pack_segments(paragraph, "it", model)
            spans = [span for span, _split, _tokens in segments]
            _assert_exact_cover(paragraph, spans)
            assert "".join("".join(paragraph[a:b].split()) for a, b in spans) == "".join(paragraph.split()), name
            boundaries = [a for a, _b in spans[1:]]
            sentences_at_spaces = all(paragraph[a - 1].isspace() for a in boundaries)
            assert sentences_at_spaces or any(split for _s, split, _t in segments), name
            for (a, b), split, tokens in segments:
                assert model.count_tokens(paragraph[a:b], "it") == tokens <= model.max_input_tokens, name
                split_seen += split
    assert split_seen, "the inputs should include sentences longer than the tiny model's 64 tokens"


def test_a_sentence_over_the_limit_is_split_at_clause_boundaries_and_marked(tiny_models):
    config = _config({"it": tiny_models["it"]})
    clauses = ["il sindaco ha parlato a lungo della nuova linea del tram che attraversa la città",
               "la giunta ha risposto alle domande dei consiglieri sul costo dei lavori in corso",
               "i comitati di quartiere hanno chiesto un incontro pubblico prima della fine del mese"]
    sentence = "Ieri sera, " + "; ".join(clauses) + "."
    (record,) = _stage(config)([_detect("long", "it", sentence)])
    model = load_seq2seq(config.translate.models["it"], "translate.models.it", config)
    assert model.count_tokens(sentence, "it") > model.max_input_tokens
    pieces = [s for s in record.segments if s["paragraph"] == 0]
    assert len(pieces) > 1 and all(s["split_sentence"] for s in pieces)
    assert all(model.count_tokens(s["source"], "it") <= model.max_input_tokens for s in pieces)
    # cut after clause punctuation, not inside a clause, where the clauses allow it
    assert all(s["source"][-1] in ",;." for s in pieces)
    assert " ".join(s["source"] for s in pieces) == sentence
    assert record.report["split_sentences"] == len(pieces) and "split" in record.report["note"]


def test_an_unbroken_run_longer_than_the_limit_is_cut_without_loss(tiny_models):
    config = _config({"it": tiny_models["it"]})
    model = load_seq2seq(config.translate.models["it"], "translate.models.it", config)
    paragraph = "Fonte: https://example.org/" + "abcdefghij" * 40 + " fine."
    segments = pack_segments(paragraph, "it", model)
    spans = [span for span, _s, _t in segments]
    _assert_exact_cover(paragraph, spans)
    assert "".join(paragraph[a:b] for a, b in spans).replace(" ", "") == paragraph.replace(" ", "")
    assert all(tokens <= model.max_input_tokens for _span, _split, tokens in segments)


def test_a_translation_cut_at_the_length_cap_is_flagged_even_with_a_forced_end_token(tiny_models):
    config = parse_config({"device": "cpu", "translate": {"models": {"it": {
        "model": str(tiny_models["it"]), "generation": {"num_beams": 1, "max_new_tokens": 2}}}}})
    model = load_seq2seq(config.translate.models["it"], "translate.models.it", config)
    assert model.model.config.forced_eos_token_id == model.tokenizer.eos_token_id  # as in opus-mt
    (record,) = _stage(config)([_detect("a", "it", IT_TEXT)])
    assert all(s["output_capped"] for s in record.segments)
    assert record.status == "degraded" and "length cap" in record.report["degraded"][-1]


# -- paragraph alignment ------------------------------------------------------------------

def test_paragraph_n_of_the_output_translates_paragraph_n_of_the_input(tiny_models):
    config = _config({"it": tiny_models["it"]})
    english_quote = "We will keep the bridge open to pedestrians during the works, the engineer said."
    text = IT_TEXT + "\n\n" + english_quote
    paragraphs = [{"index": 3, "language": "en", "confidence": 0.99, "basis": "detected"}]
    (record,) = _stage(config)([_detect("doc", "it", text, title="Il ponte", paragraphs=paragraphs)])
    inputs = split_paragraphs(text)
    outputs = split_paragraphs(record.text)
    assert len(outputs) == len(inputs)
    for p, output in enumerate(outputs):
        mine = [s for s in record.segments if s["paragraph"] == p]
        assert mine, p
        assert " ".join(s["source"] for s in mine).split() == inputs[p].split()
        assert output == " ".join(" ".join(s["target"].split()) for s in mine)
    title_segments = [s for s in record.segments if s["paragraph"] == TITLE]
    assert [s["source"] for s in title_segments] == ["Il ponte"]
    assert record.title == title_segments[0]["target"]
    # the English paragraph is kept as it is, not sent to the Italian model
    assert outputs[3] == english_quote
    assert [s["model"] for s in record.segments if s["paragraph"] == 3] == [None]
    assert record.report["kept_paragraphs"] == [3]


def test_a_paragraph_in_another_language_goes_to_its_own_model(tiny_models):
    config = _config({"it": tiny_models["it"], "fr": tiny_models["fr"]})
    text = IT_TEXT + "\n\n" + "Le maire a promis une réponse avant la fin du mois prochain."
    paragraphs = [{"index": 3, "language": "fr", "confidence": 0.97, "basis": "detected"},
                  {"index": 2, "language": "fr", "confidence": 0.6, "basis": "detected"}]
    (record,) = _stage(config)([_detect("doc", "it", text, paragraphs=paragraphs)])
    by_paragraph = {s["paragraph"]: s["model"] for s in record.segments}
    assert by_paragraph[3] == str(tiny_models["fr"])
    assert by_paragraph[2] == str(tiny_models["it"])  # not sure enough to leave the document's language
    assert by_paragraph[0] == str(tiny_models["it"])


# -- the cache ----------------------------------------------------------------------------

def test_a_second_run_translates_nothing_and_loads_no_weights(tiny_models, tmp_path):
    config = _config({"it": tiny_models["it"]})
    records = [_detect("a", "it", IT_TEXT, title="Il bilancio"), _detect("b", "it", IT_TEXT.split("\n\n")[1])]
    first_stage = _stage(config, out_dir=tmp_path)
    first = first_stage(records)
    assert first_stage.generate_calls > 0
    assert (tmp_path / ".newsum" / "translations.sqlite").is_file()
    # identical segments are translated once, even within one run
    sources = [s["source"] for r in first for s in r.segments]
    assert first_stage.cache.misses == len(set(sources)) < len(sources)
    assert len(first_stage.cache) == len(set(sources))

    second_stage = _stage(config, out_dir=tmp_path)
    second = second_stage(records)
    assert second_stage.generate_calls == 0
    model = second_stage.registry.get(config.translate.models["it"], "translate.models.it", lazy=True)
    assert not model.weights_loaded
    for a, b in zip(first, second, strict=True):
        assert a.text == b.text and a.title == b.title
        assert all(s["cached"] for s in b.segments)
        assert b.report["cached_segments"] == len(b.segments) and b.report["translated_segments"] == 0


def test_a_new_article_quoting_an_old_one_reuses_its_translation(tiny_models, tmp_path):
    config = _config({"it": tiny_models["it"]})
    quoted = IT_TEXT.split("\n\n")[1]
    _stage(config, out_dir=tmp_path)([_detect("old", "it", IT_TEXT)])
    new_text = "Un articolo nuovo, su un tema diverso, scritto oggi.\n\n" + quoted
    (record,) = _stage(config, out_dir=tmp_path)([_detect("new", "it", new_text)])
    assert [s["cached"] for s in record.segments if s["paragraph"] == 1] == [True]
    assert not any(s["cached"] for s in record.segments if s["paragraph"] == 0)


def test_other_generation_settings_do_not_reuse_the_cache(tiny_models, tmp_path):
    _stage(_config({"it": tiny_models["it"]}), out_dir=tmp_path)([_detect("a", "it", IT_TEXT)])
    beams = _config({"it": tiny_models["it"]})
    beams_spec = beams.translate.models["it"]
    config = parse_config({"device": "cpu", "translate": {"models": {"it": {
        "model": beams_spec.model, "generation": {"num_beams": 2, "max_new_tokens": 16}}}}})
    stage = _stage(config, out_dir=tmp_path)
    (record,) = stage([_detect("a", "it", IT_TEXT)])
    assert not any(s["cached"] for s in record.segments) and stage.generate_calls > 0


def test_cache_can_be_turned_off(tiny_models, tmp_path):
    config = _config({"it": tiny_models["it"]}, cache=False)
    stage = _stage(config, out_dir=tmp_path)
    stage([_detect("a", "it", IT_TEXT)])
    assert stage.cache is None and not (tmp_path / ".newsum").exists()


# -- offline: the Hugging Face cache, missing models ---------------------------------------

def _fake_hub_cache(hf_home: Path, repo: str, folder: Path, sha: str, ref: str = "main") -> None:
    """Lay a model out as huggingface_hub caches it: models--org--name/{refs,snapshots/<sha>}."""
    root = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / sha
    shutil.copytree(folder, snapshot)
    (root / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
    (root / "refs" / ref).write_text(sha)


def test_hub_model_loads_offline_from_the_cache_and_the_record_names_its_commit(tiny_models, tmp_path, monkeypatch):
    sha = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _fake_hub_cache(tmp_path / "hf", "example-org/tiny-it-en", tiny_models["it"], sha, ref="refs/pr/3")
    config = parse_config({"device": "cpu", "translate": {"models": {"it": {
        "model": "example-org/tiny-it-en", "revision": "refs/pr/3", "generation": {"max_new_tokens": 16}}}}})
    (record,) = _stage(config)([_detect("a", "it", IT_TEXT)])
    assert record.translated and record.model == {"id": "example-org/tiny-it-en", "revision": "refs/pr/3",
                                                  "commit": sha, "backend": "transformers"}
    config_file = tmp_path / "models.yaml"
    config_file.write_text(yaml.safe_dump({"translate": {"models": {"it": {
        "model": "example-org/tiny-it-en", "revision": "refs/pr/3"}}}}))
    listed = run_cli("models", "list", "--config", str(config_file))
    assert listed.exit_code == 0
    assert "present" in listed.output and sha[:12] in listed.output


def test_hub_model_missing_offline_degrades_and_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config_file = tmp_path / "models.yaml"
    config_file.write_text(yaml.safe_dump({"device": "cpu", "translate": {"models": {"it": {
        "model": "example-org/not-pulled", "revision": "refs/pr/3"}}}}))
    config = parse_config(yaml.safe_load(config_file.read_text()), str(config_file))
    (record,) = _stage(config)([_detect("a", "it", IT_TEXT)])
    assert record.status == "degraded" and not record.translated and record.text == IT_TEXT
    message = record.report["degraded"][0]
    assert "example-org/not-pulled" in message and "refs/pr/3" in message and "newsum models pull" in message

    pulled = run_cli("models", "pull", "--config", str(config_file))
    assert pulled.exit_code == 3
    assert "HF_HUB_OFFLINE" in pulled.output and "example-org/not-pulled" in pulled.output
    listed = run_cli("models", "list", "--config", str(config_file))
    assert "missing" in listed.output and "newsum models pull" in listed.output


def test_pull_refuses_a_revision_without_safetensors(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    files = ["config.json", "pytorch_model.bin", "source.spm", "target.spm", "vocab.json"]
    info = SimpleNamespace(sha="f" * 40, siblings=[SimpleNamespace(rfilename=f) for f in files])
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: info)
    config_file = tmp_path / "models.yaml"
    config_file.write_text(yaml.safe_dump({"translate": {"models": {"it": {"model": "example-org/bin-only"}}}}))
    result = run_cli("models", "pull", "--config", str(config_file))
    assert result.exit_code == 3
    assert "no safetensors" in result.output and "pytorch_model.bin" in result.output
    assert "refs/pr/" in result.output
    assert not (tmp_path / "models.lock.json").exists()


def test_local_folder_without_safetensors_is_unavailable_not_a_crash(tiny_models, tmp_path):
    broken = tmp_path / "no-weights"
    shutil.copytree(tiny_models["it"], broken)
    for weights in broken.glob("*.safetensors"):
        weights.unlink()
    config = _config({"it": broken})
    (record,) = _stage(config)([_detect("a", "it", IT_TEXT)])
    assert record.status == "degraded" and not record.translated
    assert str(broken) in record.report["degraded"][0]


def test_translate_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="translate.models.it.quantization"):
        parse_config({"translate": {"models": {"it": {"model": "x/y", "quantization": "int3"}}}})
    with pytest.raises(ConfigError, match="translate.cache"):
        parse_config({"translate": {"cache": "yes"}})
    with pytest.raises(ConfigError, match="--device"):
        from pipeline.config import parse_device

        parse_device("gpu", "--device")


def test_models_check_translates_one_sentence_per_model(tiny_config):
    result = run_cli("models", "check", "--config", str(tiny_config))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("ok") for line in lines)
    assert any("translate.fallback" in line for line in lines)


def test_models_check_says_what_is_missing(tiny_models, tmp_path):
    config_file = tmp_path / "models.yaml"
    config_file.write_text(yaml.safe_dump({"translate": {"models": {
        "it": {"model": str(tiny_models["it"])}, "fr": {"model": str(tmp_path / "gone")}}}}))
    result = run_cli("models", "check", "--config", str(config_file))
    assert result.exit_code == 3
    assert "FAILED  translate.models.fr" in result.output and str(tmp_path / "gone") in result.output
    assert "ok      translate.models.it" in result.output


# -- CTranslate2 --------------------------------------------------------------------------

def _ct2_config_file(tmp_path: Path, model: Path, quantization: str, beams: int = 1, language: str = "it",
                     batch_tokens: int = 4096) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"device": "cpu", "translate": {
        "batch_size": 4, "batch_tokens": batch_tokens, "models": {language: {
        "model": str(model), "backend": "ctranslate2", "quantization": quantization,
        "generation": {"num_beams": beams, "max_new_tokens": 16}}}}}))
    return path


def test_ctranslate2_conversion_is_made_by_pull_and_translates(tiny_multilingual, tmp_path, monkeypatch):
    pytest.importorskip("ctranslate2")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    config_file = _ct2_config_file(tmp_path, tiny_multilingual["marian_opus_layout"], "int8")
    config = parse_config(yaml.safe_load(config_file.read_text()), str(config_file))

    (before,) = _stage(config)([_detect("a", "it", IT_TEXT)])
    assert before.status == "degraded" and "newsum models pull" in before.report["degraded"][0]

    result = run_cli("models", "pull", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    lock = json.loads((tmp_path / "models.lock.json").read_text())
    converted = Path(lock["models"]["translate.models.it"]["ctranslate2"]["folder"])
    assert (converted / "model.bin").is_file() and converted.is_relative_to(tmp_path / "hf")
    assert "converted" in run_cli("models", "list", "--config", str(config_file)).output

    (record,) = _stage(config)([_detect("a", "it", IT_TEXT, title="Il ponte")])
    assert record.status == "ok" and record.translated, record.report
    assert record.model["backend"] == "ctranslate2"
    assert len(split_paragraphs(record.text)) == len(split_paragraphs(IT_TEXT))
    assert all(s["target"] for s in record.segments)
    validate(_record_dict(record))


def test_ctranslate2_decodes_among_the_target_sides_tokens_only(tiny_multilingual, tmp_path, monkeypatch):
    """A Marian whose target side has its own SentencePiece model (opus-mt's target.spm): the
    conversion maps the decoder to those pieces, `target_vocabulary: full` lifts the map."""
    pytest.importorskip("ctranslate2")
    from transformers import AutoTokenizer

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    model_dir = tiny_multilingual["marian_two_sides"]
    config_file = _ct2_config_file(tmp_path, model_dir, "float32")
    assert run_cli("models", "pull", "--config", str(config_file)).exit_code == 0
    lock = json.loads((tmp_path / "models.lock.json").read_text())
    converted = Path(lock["models"]["translate.models.it"]["ctranslate2"]["folder"])

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    vocab = tokenizer.get_vocab()
    target_side = {tokenizer.spm_target.id_to_piece(i) for i in range(tokenizer.spm_target.get_piece_size())}
    allowed = set((converted / "vmap.txt").read_text(encoding="utf-8").split())
    assert allowed == (target_side | {"</s>", "<unk>"}) & set(vocab)
    assert len(allowed) < len(vocab) - 1  # the source side's own pieces are left out

    data = yaml.safe_load(config_file.read_text())
    restricted = parse_config(data, str(config_file))
    data["translate"]["models"]["it"]["target_vocabulary"] = "full"
    full = parse_config(data, str(config_file))
    sentences = [s for s in IT_TEXT.replace("\n\n", " ").split(". ") if s]
    outputs = {}
    for name, config in (("restricted", restricted), ("full", full)):
        model = ModelRegistry(config).get(config.translate.models["it"], "translate.models.it")
        encoded = [model.tokenizer(s)["input_ids"] for s in sentences]
        rows = model._generate_ids(encoded, model.generation, None)
        outputs[name] = (model, {t for row in rows for t in tokenizer.convert_ids_to_tokens(row)})
    restricted_model, restricted_tokens = outputs["restricted"]
    full_model, full_tokens = outputs["full"]
    assert restricted_tokens and restricted_tokens <= allowed
    assert full_tokens - allowed, "unrestricted, the tiny model echoes its source pieces (letters)"
    assert restricted_model.target_vocabulary == len(allowed) and full_model.target_vocabulary is None
    assert restricted_model.cache_identity != full_model.cache_identity

    # The record says so (kept to figures, this tiny model says little: its status does not matter here).
    (record,) = _stage(restricted)([_detect("a", "it", IT_TEXT)])
    assert record.model["target_vocabulary"] == len(allowed)
    validate(_record_dict(record))

    # A conversion made before vocabulary maps existed gets one from the next pull, unconverted.
    (converted / "vmap.txt").unlink()
    marker = json.loads((converted / "newsum-conversion.json").read_text())
    del marker["target_vocabulary"]
    (converted / "newsum-conversion.json").write_text(json.dumps(marker))
    model_bin = (converted / "model.bin").stat().st_mtime_ns
    assert run_cli("models", "pull", "--config", str(config_file)).exit_code == 0
    assert set((converted / "vmap.txt").read_text(encoding="utf-8").split()) == allowed
    assert (converted / "model.bin").stat().st_mtime_ns == model_bin


@pytest.mark.parametrize("kind,language", [("marian_opus_layout", "it"), ("m2m100", "de")])
def test_ctranslate2_float32_gives_the_same_translations_as_transformers(tiny_multilingual, tmp_path, monkeypatch,
                                                                         kind, language):
    pytest.importorskip("ctranslate2")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    model = tiny_multilingual[kind]
    # batch_tokens this small cuts every batch of 4 into sub-batches: the results come back in order.
    config_file = _ct2_config_file(tmp_path, model, "float32", language=language, batch_tokens=40)
    assert run_cli("models", "pull", "--config", str(config_file)).exit_code == 0
    ct2 = parse_config(yaml.safe_load(config_file.read_text()), str(config_file))
    torch_config = _config({language: model})
    text = IT_TEXT if language == "it" else DE_TEXT
    records = [_detect("a", language, text, title="Il ponte"), _detect("b", language, text.split("\n\n")[-1])]
    with_ct2 = _stage(ct2)(records)
    with_torch = _stage(torch_config)(records)
    for a, b in zip(with_ct2, with_torch, strict=True):
        assert a.status == b.status == "ok", (a.report, b.report)
        assert a.model["backend"] == "ctranslate2" and b.model["backend"] == "transformers"
        assert [(s["source"], s["target"]) for s in a.segments] == [(s["source"], s["target"]) for s in b.segments]
        assert a.text == b.text and a.title == b.title


def test_run_with_device_option_and_cache_under_out(tiny_config, tmp_path):
    out = tmp_path / "out"
    sample = ROOT / "samples" / "it-cookie-widget.txt"
    first = run_cli("run", str(sample), "--out", str(out), "--config", str(tiny_config), "--device", "cpu",
                    "--stages", "clean,detect,translate")
    assert first.exit_code == 0, first.output
    assert (out / ".newsum" / "translations.sqlite").is_file()
    again = run_cli("translate", str(out), "--config", str(tiny_config), "--device", "cpu")
    assert again.exit_code == 0, again.output
    record = load_records(out)["it-cookie-widget"]["translate"]
    assert record["segments"] and all(s["cached"] for s in record["segments"])
    bad = run_cli("run", str(sample), "--out", str(out), "--config", str(tiny_config), "--device", "gpu")
    assert bad.exit_code == 1 and "--device" in bad.output
