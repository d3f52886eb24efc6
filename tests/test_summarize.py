"""summarize: extractive sentences are the source's, provenance points at real sentences,
long inputs go through map-reduce with a real (tiny) BART, other languages keep theirs."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import pytest
from conftest import ROOT, SEEDS, load_records, run_cli, sample_files, validate, write_config

from pipeline.config import Config, SummarizeConfig, load_config
from pipeline.models.registry import ModelRegistry
from pipeline.records import TranslateRecord
from pipeline.stages.base import StageContext
from pipeline.stages.summarize.stage import SummarizeStage, main_clause, source_sentences, support, trace
from pipeline.text import split_paragraphs, split_sentences


def seed_files() -> list:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present")
    return sorted(p for p in SEEDS.glob("*.txt"))


def _no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.replace("_", " "))


def _is_subsequence(shorter: str, longer: str) -> bool:
    """Whether `shorter` is `longer` with characters only taken out (spaces aside)."""
    rest = iter(_no_space(longer))
    return all(c in rest for c in _no_space(shorter))


@pytest.fixture(scope="module")
def extractive_config(tmp_path_factory):
    """Extractive only, no translation models: every document is summarized in its own language."""
    path = tmp_path_factory.mktemp("cfg") / "models.yaml"
    path.write_text("device: cpu\ntranslate:\n  models: {}\nsummarize:\n  method: extractive\n  model: null\n",
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def extractive_run(extractive_config, tmp_path_factory):
    src = tmp_path_factory.mktemp("in")
    for path in sample_files():
        shutil.copy(path, src / path.name)
    if SEEDS.is_dir():
        for path in SEEDS.glob("*.txt"):
            shutil.copy(path, src / f"seed-{path.name}")
    out = tmp_path_factory.mktemp("out")
    result = run_cli("run", str(src), "--out", str(out), "--config", str(extractive_config))
    assert result.exit_code in (0, 3), result.output
    return load_records(out)


# -- sentences ----------------------------------------------------------------------------


def test_split_sentences_loses_no_text_on_samples_and_seeds():
    paths = sample_files() + (sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else [])
    checked = 0
    for path in paths:
        for paragraph in split_paragraphs(path.read_text(encoding="utf-8", errors="replace")):
            for language in ("en", "fr", "it", "de"):
                assert _no_space("".join(split_sentences(paragraph, language))) == _no_space(paragraph), path
            checked += 1
    assert checked > 50


def test_split_sentences_rejoins_a_cut_after_an_abbreviation():
    paragraph = ("Un quartier romain daté du Ier au IIIe siècle après J.-C., comprenant trois demeures, a été "
                 "mis au jour. Les fouilles reprendront en mai.")
    assert split_sentences(paragraph, "fr") == [
        "Un quartier romain daté du Ier au IIIe siècle après J.-C., comprenant trois demeures, a été mis au jour.",
        "Les fouilles reprendront en mai."]
    assert split_sentences("The firm, founded approx. twenty years ago, sold it. eBay rose.", "en") == [
        "The firm, founded approx. twenty years ago, sold it.", "eBay rose."]
    # a line break is a boundary even before a lower-case word (list items, captions)
    assert split_sentences("Tickets are on sale now.\nsee the full programme online.", "en") == [
        "Tickets are on sale now.", "see the full programme online."]


# -- extractive -----------------------------------------------------------------------------


def test_extractive_summary_sentences_are_verbatim_source_sentences(extractive_run):
    summarized = 0
    for doc_id, stages in extractive_run.items():
        summary = stages.get("summary")
        if summary is None or summary["status"] == "failed":
            continue
        validate(summary)
        assert summary["method"] == "extractive"
        by_id = {s["id"]: s["text"] for s in summary["sentences"]}
        # the numbered sentences are the translate record's text, in order, none lost
        assert _no_space("".join(by_id[i] for i in sorted(by_id))) == _no_space(stages["translate"]["text"])
        items = [p for p in summary["provenance"] if p["kind"] == "summary"]
        assert 1 <= len(items) <= 4, doc_id
        assert " ".join(p["text"] for p in items) == summary["summary"]
        for item in items:
            assert [s["id"] for s in item["sources"]]
            source = by_id[item["sources"][0]["id"]]
            # the source sentence itself, less page residue: a leading dateline or bullet, markup
            shown, kept = _words(item["text"]), _words(source)
            assert shown and shown == kept[len(kept) - len(shown):], (doc_id, item["text"], source)
            assert _is_subsequence(item["text"], source), (doc_id, item["text"], source)
            assert item["unsupported"] is False
        ids = [p["sources"][0]["id"] for p in items]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # document order, no repeats
        summarized += 1
    assert summarized >= len(sample_files())


def test_key_points_are_their_source_sentence_or_a_part_of_it(extractive_run):
    for doc_id, stages in extractive_run.items():
        summary = stages.get("summary")
        if summary is None or summary["status"] == "failed":
            continue
        by_id = {s["id"]: s["text"] for s in summary["sentences"]}
        points = [p for p in summary["provenance"] if p["kind"] == "key_point"]
        assert [p["text"] for p in points] == summary["key_points"]
        assert 3 <= len(points) <= 5 or len(by_id) < 3, doc_id
        for point in points:
            source = by_id[point["sources"][0]["id"]]
            # a shortened point keeps its words in order: drop-only edits of the source sentence
            remaining = source.lower()
            for word in re.findall(r"\w+", point["text"].lower()):
                position = remaining.find(word)
                assert position >= 0, (doc_id, point["text"], source)
                remaining = remaining[position + len(word):]


def test_untranslated_document_is_summarized_in_its_own_language(extractive_run):
    languages = {}
    for doc_id, stages in extractive_run.items():
        summary = stages.get("summary")
        if summary is None or summary["status"] == "failed":
            continue
        detected = stages["detect"]["language"]
        if detected in ("fr", "it", "de", "es"):
            assert stages["translate"]["translated"] is False
            assert summary["language"] == detected
            source_text = stages["translate"]["text"]
            for sentence in [p["text"] for p in summary["provenance"] if p["kind"] == "summary"]:
                assert sentence in source_text
            languages[detected] = doc_id
    assert {"fr", "it"} <= set(languages)


# Three scene-setting sentences, then the news, which the title announces and the rest explains.
ANECDOTAL_OPENING = ("Maria Lopez has walked her dog along the river every morning for twenty years.\n\n"
                     "She knows every bench, every heron and every crack in the old towpath.\n\n"
                     "On Tuesday she found the gate locked and a notice pinned to it.\n\n"
                     "The city council has closed the Eastbank riverside path for eighteen months to rebuild its "
                     "flood wall, at a cost of 14 million euros.\n\n"
                     "The council said the flood wall had been weakened by last winter's storms and could fail "
                     "during a major flood.\n\n"
                     "Work on the flood wall will start in March, and a temporary path will open on the other bank.\n\n"
                     "Residents criticised the council for closing the path without consultation.")


def test_extractive_prefers_the_news_over_an_anecdotal_opening():
    # Three scene-setting sentences, then the news, which the title announces and the rest explains.
    text = ANECDOTAL_OPENING
    sentences = source_sentences(text, "en")
    from pipeline.stages.summarize.stage import extract

    chosen = extract(sentences, "Council closes Eastbank riverside path to rebuild flood wall", "en", 3)
    assert 3 in chosen
    assert chosen != [0, 1, 2]


# -- provenance of generated sentences ------------------------------------------------------


def _sentences():
    return source_sentences(
        "The council approved a budget of 412 million dollars on Tuesday. "
        "Property taxes will rise by 3.9 percent for homeowners.\n\n"
        "Library branches will stay open on Saturdays after a late amendment.", "en")


def test_a_copied_sentence_is_supported_by_the_sentence_it_copies():
    sentences = _sentences()
    item = trace("summary", 0, "Property taxes will rise by 3.9 percent.", sentences, "en", 0.6)
    assert item["sources"][0]["id"] == 1
    assert item["unsupported"] is False


def test_a_sentence_fusing_two_sources_lists_both():
    sources, coverage, missing = support("The council approved the budget and libraries stay open on Saturdays.",
                                         _sentences(), "en")
    assert {s["id"] for s in sources} >= {0, 2}
    assert coverage == 1.0 and missing == []


def test_invented_content_and_invented_figures_are_flagged():
    sentences = _sentences()
    invented = trace("summary", 0, "Firefighters rescued seven kittens from a burning warehouse.", sentences, "en", 0.6)
    assert invented["unsupported"] is True
    wrong_figure = trace("summary", 1, "The council approved a budget of 512 million dollars.", sentences, "en", 0.6)
    assert wrong_figure["unsupported"] is True
    assert "512" in wrong_figure["unsupported_reason"]


# -- key points ---------------------------------------------------------------------------


@pytest.mark.parametrize("sentence, language, expected", [
    ("In a statement, the company said gas accounted for a third of its operating costs.", "en",
     "The company said gas accounted for a third of its operating costs."),
    ("The case will now return to the lower court in the county, where a new judge will be assigned.", "en",
     "The case will now return to the lower court in the county."),
    # a condition is part of the claim
    ("On a good day, if the wind is right, a single bar of signal flickers onto the screens.", "en", None),
    # an opening with a name or a figure says where or when: it stays
    ("In Paris, police arrested four people after the protest turned violent.", "en", None),
    ("In 2019, the same cooperative was fined 30,000 euros for an illegal discharge.", "en", None),
    # a clause that closes before the sentence ends is not the end of the sentence
    ("Since March, the kiosk, which relied on people like him, has been closed for good.", "en", None),
    # nothing is cut inside a quotation
    ('"We will keep the branches open, which is what people asked for," the mayor said.', "en", None),
    ("Jeudi, le conseil régional a adopté la gratuité des trains pour les moins de 26 ans.", "fr",
     "Le conseil régional a adopté la gratuité des trains pour les moins de 26 ans."),
    # German keeps its verb in second place only with the opening phrase
    ("Am Dienstag hat die Regierung den Haushalt beschlossen, der viel Geld kostet.", "de", None),
])
def test_main_clause(sentence, language, expected):
    assert main_clause(sentence, language) == (expected or sentence)


# -- abstractive: map-reduce with a tiny BART ------------------------------------------------


def _long_english_text() -> str:
    paragraphs = []
    for path in sample_files():
        if path.name.startswith("en-") and path.suffix == ".txt":
            paragraphs.extend(split_paragraphs(path.read_text(encoding="utf-8")))
    return "\n\n".join(paragraphs)


@pytest.fixture
def small_window_stage(tiny_models, tmp_path):
    config_path = write_config(tmp_path / "models.yaml", tiny_models, summarize={
        "method": "abstractive",
        "model": {"model": str(tiny_models["bart"]), "max_input_tokens": 48,
                  "generation": {"num_beams": 2, "max_new_tokens": 12, "no_repeat_ngram_size": 3}}})
    config = load_config(config_path)
    registry = ModelRegistry(config)
    model = registry.get(config.summarize.model, "summarize.model")
    inputs: list[list[str]] = []
    generate = model.generate

    def recording_generate(texts, **overrides):
        inputs.append(list(texts))
        return generate(texts, **overrides)

    model.generate = recording_generate
    return SummarizeStage(StageContext(config), registry), model, inputs


def test_long_input_goes_through_map_reduce_without_truncation(small_window_stage):
    stage, model, inputs = small_window_stage
    text = _long_english_text()
    [record] = stage([TranslateRecord(doc_id="long", source_language="en", title="Long", text=text)])
    record.timings = {"started_at": "2025-01-01T00:00:00+00:00", "seconds": 0.0}  # the runner's part
    validate(record.to_dict())
    assert record.method == "abstractive"
    assert record.report["path"] == "map_reduce"
    rounds = record.report["chunks_per_round"]
    assert rounds[0] > 1 and rounds == sorted(rounds, reverse=True) and len(rounds) >= 2
    every_input = [t for batch in inputs for t in batch]
    assert all(model.count_tokens(t) <= 48 for t in every_input)
    # the first round's chunks, joined, are the whole text: nothing cut off
    first_round = sorted(every_input[:rounds[0]], key=lambda t: _no_space(text).find(_no_space(t)))
    assert _no_space("".join(first_round)) == _no_space(text)
    ids = {s["id"] for s in record.sentences}
    for item in record.provenance:
        assert {s["id"] for s in item["sources"]} <= ids


def test_short_input_takes_the_single_path(small_window_stage):
    stage, _, inputs = small_window_stage
    [record] = stage([TranslateRecord(doc_id="short", source_language="en", title="",
                                      text="The council approved the budget on Tuesday.")])
    assert record.report["path"] == "single" and record.report["chunks_per_round"] == [1]
    assert len(inputs) == 1


def test_documents_of_a_batch_share_generate_calls(small_window_stage):
    stage, _, inputs = small_window_stage
    records = [TranslateRecord(doc_id=f"d{i}", source_language="en", title="",
                               text=f"The council approved budget number {i} on Tuesday.") for i in range(3)]
    outputs = stage(records)
    assert [o.report["path"] for o in outputs] == ["single"] * 3
    assert len(inputs) == 1 and len(inputs[0]) == 3


def test_a_sentence_longer_than_the_window_is_cut_between_words_not_dropped(small_window_stage):
    stage, model, _ = small_window_stage
    sentence = " ".join(["the council approved the budget after a long debate"] * 12) + "."
    chunks = stage._chunks([sentence], model)
    assert len(chunks) > 1
    assert all(model.count_tokens(c) <= 48 for c in chunks)
    assert " ".join(chunks) == sentence


def test_non_english_text_is_not_fed_to_the_english_summarizer(small_window_stage):
    stage, _, inputs = small_window_stage
    [record] = stage([TranslateRecord(doc_id="fr", source_language="fr", title="Budget",
                                      text="Le conseil a adopté le budget mardi soir après un long débat.")])
    assert record.method == "extractive" and record.language == "fr"
    assert "abstractive_skipped" in record.report and inputs == []


def test_support_threshold_is_validated(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("summarize:\n  support_threshold: 1.5\n", encoding="utf-8")
    result = run_cli("run", str(ROOT / "samples"), "--out", str(tmp_path / "o"), "--config", str(path))
    assert result.exit_code == 1
    assert "summarize.support_threshold" in result.output


def test_seed_pages_get_summaries_whose_provenance_points_at_real_sentences(extractive_run):
    seed_files()
    seeds = {d: s for d, s in extractive_run.items() if d.startswith("seed-")}
    assert seeds
    for doc_id, stages in seeds.items():
        summary = stages["summary"]
        assert summary["status"] != "failed", doc_id
        by_id = {s["id"]: s["text"] for s in summary["sentences"]}
        for item in summary["provenance"]:
            assert item["sources"] and all(s["id"] in by_id for s in item["sources"])


def test_a_summary_cut_by_the_length_cap_loses_its_unfinished_sentence(small_window_stage):
    stage, model, _ = small_window_stage

    def generate_cut_short(texts, **overrides):  # what a model does when max_new_tokens is too small
        return ["The council approved the budget on Tuesday. The mayor said the rise was"] * len(texts), \
            [True] * len(texts)

    model.generate = generate_cut_short
    [record] = stage([TranslateRecord(doc_id="capped", source_language="en", title="",
                                      text="The council approved the budget on Tuesday after a long debate.")])
    assert record.method == "abstractive"
    assert record.summary == "The council approved the budget on Tuesday."
    assert "unfinished last sentence was dropped" in record.report["output_capped"]
    assert record.status == "ok"


def test_a_huge_document_is_read_as_far_as_max_chars_and_the_record_says_so():
    from pipeline.config import Config, SummarizeConfig

    news = ("The city council has closed the Eastbank riverside path for eighteen months to rebuild its "
            "flood wall.\n\nWork on the flood wall will start in March, the council said on Tuesday.\n\n"
            "Residents criticised the council for closing the path without consultation.")
    tail = "\n\n".join(f"Line {i} of a log that someone saved as an article, with no news in it at all."
                       for i in range(2000))
    config = replace(Config(), summarize=SummarizeConfig(method="extractive", max_chars=len(news) + 40))
    stage = SummarizeStage(StageContext(config), ModelRegistry(config))
    huge, short = stage([TranslateRecord(doc_id="huge", source_language="en", title="Path closed",
                                         text=news + "\n\n" + tail),
                         TranslateRecord(doc_id="short", source_language="en", title="Path closed", text=news)])
    assert huge.status == "ok" and huge.report["text_chars"] == len(news) + 2 + len(tail)
    assert len(news) <= huge.report["read_chars"] <= len(news) + 40 and "max_chars" in huge.report["note_input"]
    assert all(s["text"] in news or s["text"].startswith("Line 0 ") for s in huge.sentences)
    assert "Line 1 " not in huge.summary
    assert "read_chars" not in short.report
    data = huge.to_dict()
    data["timings"] = {"started_at": "2026-01-01T00:00:00+00:00", "seconds": 0.0}
    validate(data)


# -- the learned extractive summary: what a newsroom would not print --------------------------


def _summarize(text: str, title: str, language: str = "en", **config):
    stage = SummarizeStage(StageContext(replace(Config(), summarize=SummarizeConfig(method="extractive", **config))))
    record = TranslateRecord(doc_id="doc", source_language=language, target_language=language,
                             translated=False, title=title, text=text)
    out = stage([record])[0]
    by_id = {s["id"]: s["text"] for s in out.sentences}
    summary_ids = [p["sources"][0]["id"] for p in out.provenance if p["kind"] == "summary"]
    point_ids = [p["sources"][0]["id"] for p in out.provenance if p["kind"] == "key_point"]
    return out, by_id, summary_ids, point_ids


def _id_of(by_id: dict, start: str) -> int:
    return next(i for i, text in by_id.items() if text.lstrip("-_ (").startswith(start))


LIBRARIES = (
    "Three branches will open around the clock from May, the council said on Tuesday.\n\n"
    "Three libraries in Leeds will stay open around the clock from May, the city council said on Tuesday.\n\n"
    "The branches in Headingley, Chapeltown and Armley will let members in with their library card at night.\n\n"
    "Staff will work during the day, and security guards will patrol the buildings overnight.\n\n"
    "The trial will cost 14 billion pence over three years, according to the council's budget papers.\n\n"
    "The 14.3 billion pence trial is funded by a government grant for public services.\n\n"
    "However, unions said the plan would put library staff at risk of losing their jobs.\n\n"
    "This decision marks a change for a service that has lost a third of its branches since 2010.\n\n"
    "But the council said no jobs would be cut and that opening hours would only grow.\n\n"
    "Is this the future of public libraries?\n\n"
    "Similar schemes in Denmark and Sweden have doubled the number of visits in two years.\n\n"
    "Members will be able to book study rooms online from April.\n\n"
    "The council will publish a review of the trial after twelve months.")
LIBRARIES_TITLE = "Leeds libraries to open 24 hours a day"


def test_a_standfirst_restated_by_the_lead_is_not_summarized_twice():
    out, by_id, summary_ids, point_ids = _summarize(LIBRARIES, LIBRARIES_TITLE)
    standfirst, lead = _id_of(by_id, "Three branches"), _id_of(by_id, "Three libraries")
    assert not {standfirst, lead} <= set(summary_ids), out.summary
    assert not {standfirst, lead} <= set(summary_ids + point_ids), (out.summary, out.key_points)
    assert {standfirst, lead} & set(summary_ids), "the news of the story belongs in its summary"


def test_a_figure_restated_is_given_once():
    out, by_id, summary_ids, point_ids = _summarize(LIBRARIES, LIBRARIES_TITLE)
    first, again = _id_of(by_id, "The trial will cost"), _id_of(by_id, "The 14.3 billion")
    assert not {first, again} <= set(summary_ids + point_ids), (out.summary, out.key_points)


def test_key_points_stand_alone_and_follow_the_source_order():
    out, by_id, summary_ids, point_ids = _summarize(LIBRARIES, LIBRARIES_TITLE)
    assert len(out.key_points) >= 3
    assert point_ids == sorted(point_ids)
    leaning = {"however", "this", "but", "and", "so", "he", "she", "it", "they", "these", "also"}
    for point in out.key_points:
        first = re.findall(r"\w+", point.lower())[0]
        assert first not in leaning, point
        assert not point.rstrip().endswith("?"), point
    assert not set(point_ids) & set(summary_ids)


def test_key_points_in_other_languages_do_not_open_with_a_connective():
    text = ("Il governo ha approvato martedì un piano da 3 miliardi di euro per le ferrovie regionali.\n\n"
            "Beh, evidentemente il piano non basterà a coprire tutte le linee.\n\n"
            "Perché proprio un piano per le ferrovie regionali e non per l'alta velocità?\n\n"
            "Il ministro dei trasporti ha detto che i lavori partiranno a settembre in sei regioni.\n\n"
            "Ma i sindacati chiedono più personale nelle stazioni e sui treni.\n\n"
            "La Lombardia riceverà la quota più alta, seguita dal Lazio e dalla Campania.\n\n"
            "Le associazioni dei pendolari hanno accolto il piano con prudenza.\n\n"
            "Il piano prevede anche nuovi treni elettrici entro il 2028.")
    out, by_id, summary_ids, point_ids = _summarize(text, "Tre miliardi per le ferrovie regionali", "it")
    assert len(out.key_points) >= 3
    for point in out.key_points:
        assert not re.match(r"(?i)\W*(beh|perché|ma|quindi|però)\b", point), point
        assert not point.rstrip().endswith("?"), point
    assert point_ids == sorted(point_ids)


def test_markup_residue_is_stripped_and_provenance_still_points_at_the_sentence():
    text = ("_Colossal investment in battery plants_ is planned by the state of Saxony over the next decade.\n\n"
            "- The regional government will spend 2 billion euros on three new battery factories near Leipzig.\n\n"
            "**The first plant** will open in 2027 and employ about 1,200 people, the economy minister said.\n\n"
            "Carmakers in the region have asked for a local supply of cells for their electric models.\n\n"
            "The factories will be built on former coal-mining land to the south of the city.\n\n"
            "Environmental groups welcomed the choice of site but asked for strict water limits.\n\n"
            "The state parliament will vote on the funding in March.")
    out, by_id, summary_ids, point_ids = _summarize(text, "Saxony plans battery plants near Leipzig")
    assert out.provenance
    for item in out.provenance:
        assert "_" not in item["text"] and "**" not in item["text"], item["text"]
        assert not item["text"].startswith(("- ", "* ", "• ")), item["text"]
        source = by_id[item["sources"][0]["id"]]
        assert _is_subsequence(item["text"], source), (item["text"], source)
        if item["kind"] == "summary":
            assert _words(item["text"]) == _words(source), (item["text"], source)
    assert "_" not in out.summary and "**" not in out.summary and not out.summary.startswith("- ")
    # the record keeps the source sentences as they were: provenance is checked against them
    assert any(text.startswith("_Colossal") for text in by_id.values())


def test_a_dateline_is_not_part_of_the_summary():
    text = ("LONDON (Reuters) – British house prices rose by 2.1 percent in March, the fastest pace in two years, "
            "mortgage lender Halifax said on Friday.\n\n"
            "Prices have now risen for six months in a row as mortgage rates fall from last year's peak.\n\n"
            "The average home cost 293,000 pounds in March, up from 287,000 pounds a year earlier.\n\n"
            "Economists polled by Reuters had expected a rise of 0.8 percent for the month.\n\n"
            "The Bank of England is expected to cut interest rates again in May.\n\n"
            "Buyers in Northern Ireland saw the strongest growth, while prices in London barely moved.")
    out, by_id, summary_ids, point_ids = _summarize(text, "UK house prices rise at fastest pace in two years")
    assert 0 in summary_ids, "the lead carries the news"
    assert out.summary.startswith("British house prices rose"), out.summary
    assert "(Reuters)" not in out.summary and "LONDON" not in out.summary
    assert all("(Reuters) –" not in point for point in out.key_points)
    assert by_id[0].startswith("LONDON (Reuters)")  # the numbered sentence is the source's


def test_the_length_is_chosen_per_article_and_recorded_also_for_other_languages():
    text = ("Der Stadtrat von Leipzig hat am Dienstag den Bau von drei neuen Schulen beschlossen.\n\n"
            "Die Schulen sollen bis 2028 im Norden der Stadt entstehen und 2.400 Kinder aufnehmen.\n\n"
            "Die Kosten von 180 Millionen Euro teilen sich Stadt und Land.\n\n"
            "Eltern hatten seit Jahren über überfüllte Klassen geklagt.\n\n"
            "Der Bau der ersten Schule beginnt im Herbst auf einem ehemaligen Bahngelände.\n\n"
            "Die Opposition kritisierte, dass keine Sporthalle vorgesehen ist.")
    out, _, summary_ids, _ = _summarize(text, "Leipzig baut drei neue Schulen", "de")
    length = out.report["length"]
    assert 1 <= length["sentences"] == len(summary_ids) <= 4
    assert length["budget_language"] == "default"
    assert length["words"] == len(out.summary.split())
    short = _summarize(LIBRARIES, LIBRARIES_TITLE, sentences=2)[0]
    assert short.report["length"]["sentences"] <= 2 and short.report["length"]["max_sentences"] == 2


def test_the_learned_summary_prefers_the_news_over_an_anecdotal_opening():
    text = ANECDOTAL_OPENING
    out, by_id, summary_ids, _ = _summarize(text, "Council closes Eastbank riverside path to rebuild flood wall")
    assert _id_of(by_id, "The city council has closed") in summary_ids, out.summary


# -- glued paragraphs ---------------------------------------------------------------------

GLUED = ("Le tribunal administratif a estimé que la fermeture des écoles portait atteinte au droit à "
         "l'éducation, selon une ordonnance rendue mercredi.\"L'arrêté du maire porte une atteinte grave\", "
         "a estimé la juge des référés.La ville n'a établi aucun risque particulier, a-t-elle aussi rappelé."
         "Où en est le retour à l'école ?par BFMTVDéjà connue pour sa politique du logement, la municipalité "
         "avait fermé ses écoles maternelles jusqu'en septembre. M.Legault a payé 1.000 euros sur BFMTV.com.")


def test_sentences_glued_without_a_space_are_split_as_paragraphs():
    from pipeline.stages.summarize.extractive import glued_parts

    parts = glued_parts(GLUED)
    assert "".join(parts) == GLUED  # nothing lost, nothing added
    assert [p[:12] for p in parts] == ["Le tribunal ", "\"L'arrêté du", "La ville n'a", "Où en est le",
                                       "par BFMTV", "Déjà connue "]
    # the quotation that the sentence opened is closed before the cut, not carried over
    assert parts[1].endswith("référés.") and parts[1].count('"') == 2
    assert parts[-1].endswith("M.Legault a payé 1.000 euros sur BFMTV.com.")  # no cut inside these
    sentences = source_sentences(GLUED, "fr")
    assert sentences[2].text.startswith("La ville n'a établi") and sentences[2].paragraph == 2
    assert _no_space("".join(s.text for s in sentences)) == _no_space(GLUED)


def test_a_glued_video_credit_is_not_part_of_the_summary():
    out, by_id, summary_ids, point_ids = _summarize(GLUED, "Bobigny : la fermeture des écoles jugée illégale", "fr")
    credit = next(i for i, text in by_id.items() if text.startswith("par BFMTV"))
    assert by_id[credit] == "par BFMTV"
    assert credit not in summary_ids + point_ids
    assert "BFMTVDéjà" not in out.summary and all("BFMTVDéjà" not in p for p in out.key_points)


def test_a_video_credit_glued_to_a_title_without_an_end_mark_is_cut_out():
    from pipeline.stages.summarize.extractive import glued_parts

    text = ("\"Même dans les guerres, il y a des trêves\", répond la ministrepar Europe 1Jeudi 12 décembre, "
            "la ministre a défendu son message. Le trafic sera nul le 5 décembrepar BFMTVLa circulation sera forte.")
    parts = glued_parts(text)
    assert "".join(parts) == text
    assert "par Europe 1" in parts and "par BFMTV" in parts
    assert any(p.startswith("Jeudi 12 décembre") for p in parts) and any(p.startswith("La circulation") for p in parts)
    # a word that ends in "par" before an ordinary name is no credit
    plain = "Le film de Gaspar Noé a été vu par Jean Dupont. Le réalisateur Gaspar McDonald est venu."
    assert glued_parts(plain) == [plain]


def test_features_give_the_place_in_the_paragraph_and_the_share_of_the_title_held():
    from pipeline.stages.summarize import extractive
    from pipeline.stages.summarize.stage import content_terms

    text = ("Leeds libraries will open all night from May. Members will use their library card.\n\n"
            "Night staff will patrol the branches. The council voted on Tuesday.")
    sentences = source_sentences(text, "en")
    rows = extractive.features(sentences, content_terms("Leeds libraries open all night", "en"), "en")
    place = [row[extractive.FEATURES.index("in_paragraph")] for row in rows]
    held = [row[extractive.FEATURES.index("title_recall")] for row in rows]
    assert place == [1.0, 0.5, 1.0, 0.5]  # first, second of the first paragraph; again in the second
    assert held[0] == 1.0 and held[3] == 0.0 and 0 < held[1] < 1  # "library" is "libraries" cut to five letters
    assert [row[extractive.FEATURES.index("title_recall")] for row in extractive.features(sentences, content_terms("", "en"), "en")] == [0.0] * 4


def test_given_features_choose_picks_what_it_picks_when_it_computes_them():
    from pipeline.stages.summarize import extractive
    from pipeline.stages.summarize.stage import content_terms

    text = ("The city council approved a new tram line on Tuesday after a long debate. "
            "The line will link the station to the university by 2028. "
            "It will cost 300 million euros, paid by the region and the state. "
            "Residents of the old town had opposed the route for years.")
    sentences = source_sentences(text, "en")
    title = content_terms("Council approves the new tram line", "en")
    computed = extractive.choose(sentences, title, "en", 3, 2)
    given = extractive.choose(sentences, title, "en", 3, 2, rows=extractive.features(sentences, title, "en"))
    assert (given.summary, given.key_points, given.scores) == (computed.summary, computed.key_points, computed.scores)
    constant = extractive.choose(sentences, title, "en", 3, 2, rows=[[0.0] * len(extractive.FEATURES)] * 4)
    assert len(set(constant.scores)) == 1  # the rows given are the ones scored


def test_soft_labels_rank_sentences_by_their_bigrams_in_the_reference():
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from summarize_eval import tokens
    from train_summarize_model import soft_labels

    reference = tokens("The council approved the tram line to the university on Tuesday.")
    sentences = [tokens(s) for s in (
        "The council approved the tram line to the university on Tuesday.",  # the reference itself
        "On Tuesday the council approved the tram line.",  # some of its bigrams
        "Residents of the old town opposed the route.",  # none
    )]
    labels = soft_labels(sentences, reference)
    assert labels[0] == 1.0 and labels[2] == 0.0 and 0.0 < labels[1] < 1.0
    assert soft_labels(sentences, reference, power=1.0)[1] ** 2 == pytest.approx(labels[1])  # squared by default
    assert soft_labels([tokens("Nothing in common here.")], reference) == [0.0]  # no division by zero


def test_fold_figures_give_each_folds_mean_and_the_standard_error_over_folds():
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from summarize_cv import fold_figures

    means, se = fold_figures([1.0, 1.0, 3.0, 5.0], [0, 0, 1, 1], 2)
    assert means == [1.0, 4.0]
    assert se == pytest.approx(1.5)  # sample deviation of (1, 4) is 2.12, over the root of two folds
