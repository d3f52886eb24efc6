"""Site templates: a line that stands on pages of other stories in the run is furniture; lines
that updates of one story share stay; what a night learns is remembered by the next."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import run_cli

# The masthead's tagline reads like a headline and shares a word with each story: on one page
# alone, clean takes it for the headline.
TAGLINE = "News from the coast and the islands since 1851"
HEAD = f"Harbour Gazette\n{TAGLINE}\nHome\nNews\nSport\nBusiness\nOpinion\n"
FOOT = "More from the Gazette\nContact us\nCopyright 2026 Harbour Gazette Ltd. All rights reserved.\n"
# A support prompt written as prose: on one page alone, clean cannot tell it from the article.
PROMPT = ("Our reporters spend months on stories like this one, and we can only keep doing it because readers "
          "like you choose to support independent local journalism every month.")
STORIES = {
    "ferry": ("Ferry service to the islands resumes after storm repairs", [
        "The morning ferry to the outer islands sailed again on Tuesday, ten days after a winter storm damaged the "
        "loading ramp at the main pier.",
        "Engineers worked through the weekend to replace the hydraulic arms, and the harbour master said the new "
        "ramp had passed its safety inspection on Monday evening.",
        "Islanders had relied on a small passenger boat for food and medicine while the car ferry was out of "
        "service, and several shops on the largest island ran short of fresh milk.",
        "The operator said timetables would return to normal by Friday, with two extra crossings on Saturday to "
        "clear the backlog of freight."]),
    "school": ("New primary school opens its doors in the east district", [
        "More than three hundred pupils started lessons at the new Eastfield primary school on Monday, the first "
        "school to open in the district in forty years.",
        "The building has a library, a sports hall and solar panels on the roof, and it was finished two months "
        "ahead of schedule, the council said.",
        "Parents had campaigned for a decade for a school within walking distance, after the old one closed and "
        "children were bussed across the city.",
        "The head teacher said the school would also open its hall to community groups in the evenings and at "
        "weekends."]),
    "market": ("Fish market prices climb as catches fall for a third season", [
        "Prices at the city's fish market rose again this month as the local fleet landed its smallest autumn "
        "catch in more than a decade.",
        "Traders said cod and haddock now cost almost twice what they did three years ago, and some restaurants "
        "have taken them off their menus.",
        "Scientists at the marine institute blame warmer water, which has pushed the fish further north, while "
        "skippers point to the rising cost of fuel.",
        "The harbour authority plans to meet fishing groups next week to discuss help for boats that can no "
        "longer cover their costs."]),
    "library": ("City library to stay open until midnight during exams", [
        "The central library will stay open until midnight for the next six weeks so that students can revise "
        "during the exam season, the council announced on Wednesday.",
        "Extra staff have been hired for the late shifts, and the cafe on the ground floor will serve hot drinks "
        "until eleven.",
        "Students' groups had asked for longer hours after the university library closed two floors for "
        "repairs.",
        "If the trial goes well, the council said, late opening could return every spring."]),
}
# Two updates of one story: the later one repeats the background paragraph of the first.
BACKGROUND = ("The bridge, which carries some forty thousand vehicles a day, was closed to lorries last year after "
              "inspectors found corrosion in two of its steel cables.")
UPDATES = {
    "bridge-1": ("Bridge closed after crack found in main span", [
        "The Northgate bridge was closed to all traffic on Thursday morning after engineers found a crack in the "
        "main span during a routine inspection.",
        BACKGROUND,
        "Police set up diversions through the city centre, and commuters were warned to expect long delays."]),
    "bridge-2": ("Northgate bridge to stay closed for weeks, engineers say", [
        "The Northgate bridge will stay closed for at least three weeks while engineers repair the crack found in "
        "its main span on Thursday, the city council said.",
        BACKGROUND,
        "Council leaders said the diversions through the city centre would stay in place, and extra buses would "
        "run for commuters during the repairs."]),
}


def write_page(folder: Path, name: str, title: str, paragraphs: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(paragraphs[:2] + [PROMPT] + paragraphs[2:])
    path = folder / f"{name}.txt"
    path.write_text(f"{HEAD}\n{title}\n\n{body}\n\n{FOOT}", encoding="utf-8")
    return path


def clean_run(inputs: Path, out: Path) -> dict[str, dict]:
    result = run_cli("run", str(inputs), "--out", str(out), "--stages", "clean", "--workers", "1")
    assert result.exit_code == 0, result.output
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*/clean.json")}


def template_lines(record: dict) -> list[str]:
    return [r["text"] for r in record["removed"] if r["reason"] == "template"]


def test_a_prompt_on_the_pages_of_other_stories_goes_as_template(tmp_path):
    alone = tmp_path / "alone"
    write_page(alone, "ferry", *STORIES["ferry"])
    by_itself = clean_run(alone, tmp_path / "out-alone")["ferry"]
    assert PROMPT in by_itself["text"]  # one page gives no evidence: the prompt passes for prose
    assert by_itself["title"] == TAGLINE  # and the tagline for the headline

    night = tmp_path / "night"
    for name, (title, paragraphs) in STORIES.items():
        write_page(night, name, title, paragraphs)
    records = clean_run(night, tmp_path / "out")
    assert sorted(records) == sorted(STORIES)
    for name, record in records.items():
        assert PROMPT not in record["text"], name
        assert PROMPT in template_lines(record)
        assert record["title"] == STORIES[name][0]  # a template line is never the headline
        for paragraph in STORIES[name][1]:  # every paragraph of each story stays
            assert paragraph in record["text"]
        assert record["report"]["removed_by_reason"]["template"] >= 1


def test_a_template_line_is_never_the_headline():
    from pipeline.stages.clean.classify import classify
    from pipeline.stages.clean.templates import fingerprint

    title, paragraphs = STORIES["ferry"]
    page = ["Harbour Gazette", TAGLINE, title, *paragraphs]
    assert classify(page).title == TAGLINE
    assert classify(page, template_lines=frozenset({fingerprint(TAGLINE)})).title == title


def test_lines_that_updates_of_one_story_share_stay(tmp_path):
    night = tmp_path / "night"
    for name, (title, paragraphs) in UPDATES.items():
        write_page(night, name, title, paragraphs)
    write_page(night, "school", *STORIES["school"])
    records = clean_run(night, tmp_path / "out")
    for name in UPDATES:
        assert BACKGROUND in records[name]["text"], name  # the story's own background, told twice
        assert PROMPT in template_lines(records[name])  # the site's prompt is still furniture
    assert PROMPT in template_lines(records["school"])


def test_a_later_night_remembers_the_sites_template_and_redoes_pages_it_changes(tmp_path):
    out, inbox = tmp_path / "out", tmp_path / "inbox"
    write_page(inbox, "ferry", *STORIES["ferry"])
    assert PROMPT in clean_run(inbox, out)["ferry"]["text"]

    for name in ("school", "market"):  # the next night, pages of two other stories beside it
        write_page(inbox, name, *STORIES[name])
    records = clean_run(inbox, out)
    assert PROMPT in template_lines(records["ferry"])  # redone: what the run found about it changed
    with sqlite3.connect(out / ".newsum" / "state.sqlite") as db:
        assert db.execute("SELECT count(*) FROM evidence WHERE stage = 'clean'").fetchone()[0] > 0

    for old in inbox.iterdir():  # a night with one page of a new story: the prompt is known
        old.unlink()
    write_page(inbox, "library", *STORIES["library"])
    assert PROMPT in template_lines(clean_run(inbox, out)["library"])
    fresh = clean_run(inbox, tmp_path / "fresh-out")  # a workspace without that memory keeps it
    assert PROMPT in fresh["library"]["text"]


def test_the_survey_keeps_what_it_read_of_each_page_and_survives_a_damaged_cache(tmp_path):
    night, out = tmp_path / "night", tmp_path / "out"
    for name, (title, paragraphs) in STORIES.items():
        write_page(night, name, title, paragraphs)
    clean_run(night, out)
    cache = out / ".newsum" / "clean-survey.sqlite"
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM pages").fetchone()[0] == len(STORIES)
    cache.write_bytes(b"not a database at all" * 100)
    (night / "ferry.txt").write_text((night / "ferry.txt").read_text(encoding="utf-8") + "\nA late correction.\n",
                                     encoding="utf-8")
    records = clean_run(night, out)  # the damaged file is moved aside and the survey is made anew
    assert all(PROMPT in template_lines(record) for record in records.values())
    assert list((out / ".newsum").glob("clean-survey.sqlite.damaged-*"))


def test_a_stop_during_the_survey_ends_it_with_nothing_found_and_keeps_what_it_read(tmp_path):
    from pipeline.config import Config
    from pipeline.inputs import Document
    from pipeline.stages.base import StageContext
    from pipeline.stages.clean.stage import CleanStage
    from pipeline.workspace import Workspace

    night = tmp_path / "night"
    documents = [Document(name, write_page(night, name, *story), "text") for name, story in STORIES.items()]
    context = StageContext(Config(), workspace=Workspace(tmp_path / "out"))
    assert CleanStage.survey(documents, context, {}).evidence  # the pages share the prompt
    asked = []

    def stopped() -> bool:  # the stop comes while the second page is in hand
        asked.append(1)
        return len(asked) > 2

    found = CleanStage.survey(documents, StageContext(Config(), workspace=Workspace(tmp_path / "out2")), {}, stopped)
    assert found.evidence == {} and found.seen == {}
    assert len(asked) == 3  # it gave up at the third page, not after the last
    with sqlite3.connect(tmp_path / "out2" / ".newsum" / "clean-survey.sqlite") as db:
        assert db.execute("SELECT count(*) FROM pages").fetchone()[0] == 2  # the two pages read
