"""detect: document and paragraph languages, short and letterless text, declarations, backends."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, load_records, run_cli, validate

from pipeline.config import Config, DetectConfig, parse_config
from pipeline.errors import ConfigError
from pipeline.records import CleanRecord
from pipeline.stages.base import StageContext
from pipeline.stages.detect.langid import EnsembleBackend, EnsembleSettings, letter_languages
from pipeline.stages.detect.stage import DetectStage, declared_code, letters

ITALIAN = [
    "Il consiglio comunale ha approvato ieri sera il bilancio con quindici voti favorevoli e tre contrari.",
    "Secondo l'assessore, i lavori per la nuova linea del tram partiranno in primavera dai quartieri periferici.",
    "Le associazioni dei commercianti chiedono che il cantiere non blocchi le strade del centro durante le feste.",
]
ENGLISH = [
    "The city council approved the budget last night with fifteen votes in favour and three against.",
    "According to the transport chief, work on the new tram line will start in spring in the outer districts.",
    "Shop owners have asked that the building site should not block the streets of the centre over the holidays.",
]
FRENCH_TEASER = ("découvrez comment les camions électriques rattrapent enfin le diesel sur les longs trajets "
                 "grâce à de nouvelles batteries et à des bornes de recharge plus rapides.")

BACKENDS = ("langdetect", "fasttext", "lingua", "ensemble")


def detect_stage(config: DetectConfig, declared: str | None = None) -> DetectStage:
    return DetectStage(StageContext(replace(Config(), detect=config), declared_language=declared))


def detect(text: str, declared: str | None = None, override: str | None = None, **config) -> dict:
    stage = detect_stage(DetectConfig(**config), override)
    record = stage.detect(CleanRecord(doc_id="doc", text=text, declared_language=declared))
    data = record.to_dict()
    data["timings"] = {"started_at": "now", "seconds": 0.0}
    validate(data)
    return data


def page(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


# -- document language --------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_finds_the_language_of_plain_articles(backend):
    assert detect(page(*ITALIAN), backend=backend)["language"] == "it"
    assert detect(page(*ENGLISH), backend=backend)["language"] == "en"
    record = detect(page(*ENGLISH), backend=backend)
    assert record["report"]["backend"] == backend
    assert all(p["language"] == "en" for p in record["paragraphs"])


def test_an_english_article_on_a_french_site_is_english_and_the_record_says_the_tag_disagreed():
    record = detect(page(*ENGLISH), declared="fr")
    assert record["language"] == "en"
    assert record["declared_language"] == "fr"
    assert record["declaration_disagrees"] is True
    agreeing = detect(page(*ENGLISH), declared="en")
    assert agreeing["declaration_disagrees"] is False


def test_the_declared_language_from_the_command_line_wins_over_the_page_tag_but_not_over_the_text():
    record = detect(page(*ITALIAN), declared="en", override="fr")
    assert record["declared_language"] == "fr"
    assert record["language"] == "it"
    assert record["declaration_disagrees"] is True


@pytest.mark.parametrize(("value", "code"), [("fr-FR", "fr"), ("en_US", "en"), ("IT", "it"), ("zh-cn", "zh"),
                                             ("", None), (None, None), ("not a code", None)])
def test_declared_languages_are_recorded_as_iso_codes(value, code):
    assert declared_code(value) == code


def test_a_paragraph_a_detector_mistakes_for_a_neighbour_language_does_not_flip_the_document():
    """The document is the weight of evidence across paragraphs, not the loudest single call."""

    class Scripted:
        name = "scripted"

        def scores(self, text):
            # The longest paragraph is called Spanish with some confidence; the others Italian.
            return [("es", 0.6), ("it", 0.4)] if text.startswith("Spanish-ish") else [("it", 0.95), ("es", 0.05)]

    stage = detect_stage(DetectConfig(backend="langdetect"))
    stage.backend = Scripted()
    # The Spanish-looking paragraph is the longest, but the Italian ones hold more letters.
    long_one = "Spanish-ish " + "parola " * 25
    assert letters(long_one) > max(letters(p) for p in ITALIAN)
    record = stage.detect(CleanRecord(doc_id="doc", text=page(long_one, *ITALIAN)))
    assert record.language == "it"
    assert [p["language"] for p in record.paragraphs[1:]] == ["it"] * len(ITALIAN)
    assert record.shares["it"] > record.shares.get("es", 0.0)


def test_a_long_paragraph_in_another_language_keeps_its_language_and_the_page_is_mixed():
    record = detect(page(*ENGLISH, FRENCH_TEASER, ENGLISH[0]), declared="fr")
    assert record["language"] == "en"
    assert [p["language"] for p in record["paragraphs"]] == ["en", "en", "en", "fr", "en"]
    assert record["mixed"] is True
    assert set(record["shares"]) == {"en", "fr"}
    assert record["shares"]["en"] > record["shares"]["fr"] > 0
    assert sum(record["shares"].values()) == pytest.approx(1.0, abs=1e-3)


def test_a_page_in_one_language_is_not_mixed():
    record = detect(page(*ITALIAN, "Leggi anche"))
    assert record["mixed"] is False
    assert record["shares"] == {"it": 1.0}


# -- short, empty and letterless text ------------------------------------------------------

@pytest.mark.parametrize("name", ["Sam Altman", "Scale AI", "Google Cloud"])
def test_short_lines_without_language_inherit_the_document_language_with_low_confidence(name):
    record = detect(page(*ITALIAN, name, ITALIAN[0]))
    short = record["paragraphs"][3]
    assert short["basis"] == "short"
    assert short["language"] == "it"
    assert short["confidence"] < 0.5
    assert min(p["confidence"] for i, p in enumerate(record["paragraphs"]) if i != 3) > 0.9


def test_page_furniture_in_the_site_language_is_marked_so_but_the_document_follows_its_text():
    """Breadcrumbs and teasers left on a page are in the site's language; the article is not."""
    lines = ["Accueil › Économie", *ENGLISH, "Lire aussi", "La Bourse de Paris termine la semaine en hausse"]
    record = detect(page(*lines), declared="fr")
    assert record["language"] == "en"
    assert record["declaration_disagrees"] is True
    assert [p["language"] for p in record["paragraphs"]] == ["fr", "en", "en", "en", "fr", "fr"]


def test_a_wrong_site_tag_does_not_pull_the_article_s_own_short_lines():
    lines = ["Politica", ITALIAN[0], "Le reazioni", ITALIAN[1], "Leggi anche", ITALIAN[2]]
    record = detect(page(*lines), declared="en")
    assert record["language"] == "it"
    assert all(p["language"] == "it" for p in record["paragraphs"])


def test_a_document_of_one_short_line_still_gets_a_language_with_low_confidence():
    record = detect("Ultime notizie dal mondo")
    assert record["language"] == "it"
    assert record["paragraphs"][0]["confidence"] < 1.0


@pytest.mark.parametrize("text", ["", "   \n\n  ", "12.04.2025 | 08:30", "+++ 2,0 % +++ 2,2 %",
                                  "https://example.org/path/to/page", "🎉🎉 👍", "1 2 3\n\n4 5 6"])
def test_text_without_letters_is_undetermined(text):
    record = detect(text)
    assert record["language"] == "und"
    assert record["confidence"] == 0.0
    assert record["status"] == "degraded"
    assert all(p["language"] == "und" and p["basis"] == "no_letters" for p in record["paragraphs"])


def test_a_line_of_digits_on_a_page_is_undetermined_and_takes_no_share():
    record = detect(page(ITALIAN[0], "12.04.2025 | 08:30", ITALIAN[1]))
    assert [p["language"] for p in record["paragraphs"]] == ["it", "und", "it"]
    assert record["shares"] == {"it": 1.0}
    assert record["status"] == "ok"


def test_urls_and_handles_are_not_counted_as_letters():
    assert letters("see https://www.example.com/notizie and @redazione") == len("seeand")


# -- long documents, determinism, configuration ----------------------------------------------

class Recording:
    name = "recording"

    def __init__(self):
        self.seen: list[str] = []

    def scores(self, text):
        self.seen.append(text)
        return [("it", 0.9), ("es", 0.1)]


def test_long_documents_are_sampled_not_fed_whole():
    stage = detect_stage(DetectConfig(backend="langdetect", sample_chars=1000, paragraph_chars=300))
    stage.backend = recorder = Recording()
    paragraph = " ".join(ITALIAN * 3)  # about 900 characters
    record = stage.detect(CleanRecord(doc_id="doc", text=page(*[paragraph] * 20)))
    assert all(len(text) <= 300 for text in recorder.seen)
    assert len(recorder.seen) < 20
    beyond = [p for p in record.paragraphs if p["basis"] == "beyond_sample"]
    assert beyond and all(p["language"] == "it" and p["inherited"] for p in beyond)
    assert record.report["examined"] == len(recorder.seen)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_text_gives_the_same_record_every_time(backend):
    text = page(*ITALIAN, "Leggi anche", "Ok, accetto", FRENCH_TEASER, "Social network")
    first = detect(text, backend=backend)
    assert all(detect(text, backend=backend) == first for _ in range(3))


def _detect_in_subprocess(folder: Path, out: Path, backend: str, hash_seed: str) -> dict:
    config = out.parent / f"models-{backend}.yaml"
    config.write_text(f"detect: {{backend: {backend}}}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-m", "pipeline", "run", str(folder), "--out", str(out), "--stages", "detect",
                    "--config", str(config)], check=True, env=env, cwd=ROOT, capture_output=True)
    records = load_records(out)
    for stages in records.values():
        stages["detect"].pop("timings")
    return records


@pytest.mark.parametrize("backend", ["langdetect", "ensemble"])
def test_the_same_input_gives_the_same_records_across_processes(tmp_path, backend):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "mixed.txt").write_text(page(*ENGLISH, FRENCH_TEASER, "Read more", "Ok"), encoding="utf-8")
    (folder / "short.txt").write_text("Scale AI\n\nOk, accetto", encoding="utf-8")
    (folder / "it.txt").write_text(page(*ITALIAN), encoding="utf-8")
    first = _detect_in_subprocess(folder, tmp_path / "a", backend, "1")
    second = _detect_in_subprocess(folder, tmp_path / "b", backend, "2")
    assert first == second
    assert first["it"]["detect"]["language"] == "it"


def test_the_backend_is_chosen_in_the_configuration():
    assert parse_config({"detect": {"backend": "langdetect"}}).detect.backend == "langdetect"
    assert parse_config({}).detect.backend == "ensemble"
    with pytest.raises(ConfigError, match="detect.backend"):
        parse_config({"detect": {"backend": "cld9"}})
    with pytest.raises(ConfigError, match="detect.fast_accept"):
        parse_config({"detect": {"fast_accept": 2}})
    with pytest.raises(ConfigError, match="detect.page_weight"):
        parse_config({"detect": {"page_weight": -0.5}})
    with pytest.raises(ConfigError, match="detect.sample_char"):
        parse_config({"detect": {"sample_char": 10}})


def test_lingua_is_asked_only_where_fasttext_is_unsure():
    stage = detect_stage(DetectConfig(backend="ensemble"))
    stage.detect(CleanRecord(doc_id="doc", text=page(*ENGLISH)))
    assert stage.backend.consulted == 0
    stage.detect(CleanRecord(doc_id="doc", text="Scale AI"))
    assert stage.backend.consulted == 1
    never = detect_stage(replace(DetectConfig(backend="ensemble"), fast_accept=1.01))
    never.detect(CleanRecord(doc_id="doc", text=page(*ENGLISH)))
    assert never.backend.consulted == len(ENGLISH)


def test_a_language_lingua_does_not_know_is_left_to_fasttext():
    galician = ("O concello aprobou onte á noite os orzamentos para o vindeiro ano, e a Xunta anunciou "
                "novas axudas para as familias con fillos pequenos.")
    assert detect(galician, backend="ensemble", fast_accept=1.01)["language"] == "gl"


# -- letters few languages write ----------------------------------------------------------------

def test_letters_few_languages_write_name_their_languages_in_words_that_are_not_names():
    assert letter_languages("Ședința consiliului s-a încheiat.") == {"ro"}
    assert letter_languages("Convertește ASCII la alternativa EBCDIC.") == {"ro"}  # an acronym is no name run
    assert letter_languages("Ich weiß es nicht genau") == {"de"}  # (capitalised nouns count as names)
    assert letter_languages("Přečtěte si návod") == {"cs"}
    assert "es" in letter_languages("mañana por la tarde")


@pytest.mark.parametrize("text", [
    "The mayor met Ionuț Popescu in the town hall on Monday.",  # a Romanian name in an English sentence
    "Ștefan Popescu arrived on Monday.",  # a run of names at the start of a sentence
    "Latin-2 writes Romanian ș/ț with a cedilla.",  # letters quoted alone, not words
    "The council approved the budget last night.",  # no such letter at all
])
def test_names_and_letters_quoted_alone_are_no_evidence(text):
    assert letter_languages(text) is None


def test_a_romanian_sentence_with_letters_only_romanian_writes_is_romanian():
    assert detect("Convertește fișierele în formatul nou.", backend="ensemble")["language"] == "ro"
    backend = EnsembleBackend()
    assert backend.scores("Convertește fișierele")[0][0] == "ro"
    # The letters weigh as much as one detector's doubt: without them fastText is unsure.
    without = EnsembleBackend(EnsembleSettings(letters_weight=0)).scores("Convertește fișierele")
    assert backend.scores("Convertește fișierele")[0][1] > without[0][1]


def test_a_loanword_does_not_outweigh_both_detectors():
    assert EnsembleBackend().scores("Jalapeño peppers are very hot in summer")[0][0] == "en"
    text = ("The restaurant added a spicy jalapeño sauce to its menu this week, and the owners say "
            "customers have asked for it since the summer.")
    assert detect(text, backend="ensemble")["language"] == "en"


def test_where_fasttext_is_lost_lingua_chooses_among_its_best_twenty():
    """A traditional Irish proverb fastText ranks Irish 13th for: with ten candidates lingua
    never saw Irish and the line was German."""
    proverb = "Is fearr bheith cinnte ná bheith caillte."
    backend = EnsembleBackend()
    assert "ga" not in [lang for lang, _ in backend.first_opinion(proverb)[:10]]
    assert backend.scores(proverb)[0][0] == "ga"
    assert backend.first_opinion(proverb)[0][1] < backend.settings.fast_unsure
    assert parse_config({}).detect.candidates_unsure == 20
    assert parse_config({"detect": {"candidates_unsure": 10}}).detect.candidates_unsure == 10


def test_the_weight_of_the_letters_is_configured():
    assert parse_config({}).detect.letters_weight == 1.0
    assert parse_config({"detect": {"letters_weight": 0}}).detect.letters_weight == 0.0
    with pytest.raises(ConfigError, match="detect.letters_weight"):
        parse_config({"detect": {"letters_weight": -1}})


# -- the seeds: real pages -----------------------------------------------------------------

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not there")


def _seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


@needs_seeds
@pytest.mark.parametrize("stages", ["clean,detect", "detect"])
def test_the_seeds_languages(tmp_path, stages):
    result = run_cli("run", str(SEEDS), "--out", str(tmp_path), "--stages", stages, "--declared-lang", "fr")
    assert result.exit_code == 0, result.output
    records = {doc_id[:3]: stages["detect"] for doc_id, stages in load_records(tmp_path).items()}
    for record in records.values():
        validate(record)
        assert record["declared_language"] == "fr"
    assert records["000"]["language"] == "it"
    assert records["002"]["language"] == "it"
    assert records["001"]["language"] == "en"
    english_on_french_site = records["003"]
    assert english_on_french_site["language"] == "en"
    assert english_on_french_site["declaration_disagrees"] is True
    assert records["000"]["declaration_disagrees"] is True


@needs_seeds
def test_the_french_teasers_of_the_english_article_are_french_when_they_reach_detect(tmp_path):
    result = run_cli("run", str(_seed("003")), "--out", str(tmp_path), "--stages", "detect")
    assert result.exit_code == 0, result.output
    record = next(iter(load_records(tmp_path).values()))["detect"]
    paragraphs = [p for p in record["text"].split("\n\n") if p.strip()]
    assert len(paragraphs) == len(record["paragraphs"])
    teasers = [r for r, text in zip(record["paragraphs"], paragraphs, strict=True) if text.startswith("découvrez")]
    assert len(teasers) >= 3
    assert all(t["language"] == "fr" for t in teasers)
    body = [r for r, text in zip(record["paragraphs"], paragraphs, strict=True)
            if text.startswith(("Meta, the parent company", "This operation, one of"))]
    assert len(body) == 2 and all(b["language"] == "en" for b in body)
    assert record["language"] == "en"
    assert record["mixed"] is True


@needs_seeds
def test_the_italian_seeds_lines_are_italian_with_langdetect_too(tmp_path):
    """langdetect stays a working backend: the Italian pages are Italian with it as well."""
    for prefix in ("000", "002"):
        text = _seed(prefix).read_text(encoding="utf-8")
        assert detect(text, backend="langdetect")["language"] == "it"


# -- what the language decides downstream -----------------------------------------------------

def test_an_undetermined_document_is_reported_and_left_untranslated(tmp_path, tiny_config):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scores.txt").write_text("3 - 1\n\n2 - 2\n\n0 - 4", encoding="utf-8")
    result = run_cli("run", str(folder), "--out", str(tmp_path / "out"), "--stages", "detect,translate",
                     "--config", str(tiny_config))
    assert result.exit_code == 3
    records = load_records(tmp_path / "out")["scores"]
    assert records["detect"]["language"] == "und"
    assert records["translate"]["translated"] is False
    assert records["translate"]["text"] == records["detect"]["text"]
