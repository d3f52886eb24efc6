"""clean: what a reader would call the article stays, page furniture goes, with a reason.

Samples (written for this project) are checked by phrase; the seeds (real page dumps kept
outside the repo) by line number: each seed's lines are labelled below by hand, so no
seed text is copied here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, SEEDS, load_records, run_cli, validate

from pipeline.config import Config
from pipeline.inputs import Document, read_document
from pipeline.stages.base import StageContext
from pipeline.stages.clean.classify import classify
from pipeline.stages.clean.cues import REASONS, cue_patterns
from pipeline.stages.clean.stage import CleanStage
from pipeline.text import stopwords


def clean_file(path: Path, explain: bool = False):
    fmt = "html" if path.suffix in (".html", ".htm") else "text"
    source = read_document(Document(path.stem, path, fmt))
    return CleanStage(StageContext(Config(), explain=explain)).clean(path.stem, str(path), source)


def clean_text(text: str, tmp_path: Path, name: str = "page.txt", explain: bool = False):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return clean_file(path, explain=explain)


def flat(text: str) -> str:
    return " ".join(text.split())


# -- samples: furniture that must go, article text (paragraphs, subheadings, list items) that must stay

SAMPLE_EXPECTATIONS = {
    "it-cookie-widget.txt": {
        "title": "Torino accende i semafori intelligenti: in sei mesi attese ridotte del 18% agli incroci",
        "gone": ["cookie", "calendario", "Consigliati per te", "2025  marzo"],
        "kept": ["Per chi attraversa Torino in auto", "«Non abbiamo costruito una strada in più",
                 "I numeri più attesi riguardano proprio il trasporto pubblico",
                 "La seconda fase del progetto, prevista entro la fine del 2026"],
    },
    "it-subheadings-list.txt": {
        "title": "Terre Alte punta sui droni: la cooperativa bresciana porta sensori e intelligenza artificiale "
                 "su 4.000 ettari di vigneti e frutteti",
        "gone": ["Skip to main content", "AgritechInnovazione", "Articoli correlati", "Vendemmia 2024",
                 "Acqua e agricoltura: in Lombardia", "Startup agritech, investimenti record"],
        "kept": ["Una Svolta Tecnologica per l’Agricoltura di Montagna", "Perché Ora", "Il Peso della Siccità",
                 "Costi e Contributi", "Cosa Cambia nei Campi", "Le Prime Misure", "Il Ruolo dell’Università",
                 "Dubbi e Resistenze", "Prospettive", "Il progetto sarà introdotto in tre fasi",
                 "• Installazione di 420 sensori", "• Estensione ai frutteti della Valle Camonica",
                 "L’obiettivo dichiarato è ridurre del 30 per cento"],
    },
    "en-on-french-site.txt": {
        "title": "Hydrogen tank maker Ventrelle raises 600 million euros to build its first gigafactory near Toulouse",
        "gone": ["Publié le", "modifié le", "Frequently Asked Questions", "What does Ventrelle make?",
                 "actu.enviro", "À lire aussi", "découvrez", "plongez", "Airlines test sustainable fuel blends",
                 "The quiet comeback of night trains", "Why offshore wind farms are getting bigger"],
        "kept": ["Ventrelle, a French start-up", "_A bet on carbon-fibre tanks_", "A Factory Sized for Aviation Programmes",
                 "Why Carbon Fibre Matters", "A Crowded and Subsidised Market", "For investors, the main risk lies in timing."],
    },
    "en-wire-story.txt": {
        "title": "Norwegian shipping group Halvard Line to cut 1,200 jobs as container rates slide",
        "gone": ["(Reporting by", "adapted from wire copy", "Editorial standards", "Report an error"],
        "kept": ["OSLO, Feb 12 (Reuters) – Halvard Line", "Aasland said the company would not cancel",
                 "Halvard Line said it would propose a dividend of 2 crowns"],
    },
    "es-paywall-captions.txt": {
        "title": "Valencia limita los pisos turísticos en el centro histórico durante cinco años",
        "gone": ["Ir al contenido", "Suscríbete", "Economía | Vivienda", "Lucía Ferrer Benlloch", "CEST",
                 "Compartir en", "Foto: Jordi Sanchis", "Te puede interesar", "Publicidad",
                 "exclusivo para suscriptores", "Noticias relacionadas", "Barcelona recupera 3.000",
                 "Archivado en", "Comentarios (31)", "Todos los derechos reservados", "Aviso legal"],
        "kept": ["El Ayuntamiento congela las nuevas licencias en Ciutat Vella", "Qué cambia para los propietarios",
                 "La ordenanza prevé tres situaciones distintas:", "- Las viviendas sin licencia no podrán registrarse",
                 "- El resto deberá adaptarse antes de 2029", "El Ayuntamiento reforzará además el servicio de inspección"],
    },
    "fr-article.txt": {
        "title": "Cantines scolaires : Lyon servira 70 % de produits locaux d'ici 2027",
        "gone": ["Aller au contenu principal", "Accueil > Régions", "Par Camille Roussel", "Publié le 18/03/2025",
                 "Partager sur Facebook", "Newsletter Lyon & région", "Recevez chaque matin", "Je m'inscris",
                 "Vous avez aimé cet article", "Mentions légales", "Tous droits réservés"],
        "kept": ["La Ville de Lyon veut que sept repas sur dix", "Des contrats directs avec les producteurs",
                 "Un surcoût discuté", "Les parents d'élèves, eux, attendent de voir les assiettes."],
    },
    "de-single-line.txt": {
        "title": None,  # the headline is glued to the menu in a page without line breaks
        "gone": ["Zum Inhalt springen", "Startseite Politik", "Artikel anhören", "Mehr zum Thema",
                 "Kaufhaus-Schließung", "Neue Radwege in der City", "Kommentare (14)", "Impressum",
                 "© Niedersachsen Medien"],
        "kept": ["Die Stadt Hannover will dem wachsenden Leerstand", "Der Einzelhandelsverband zeigte sich skeptisch.",
                 "Erste Projekte könnten bereits im April starten, hieß es aus dem Rathaus."],
    },
    "html-page.html": {
        "title": "Leeds to trial 24-hour library opening with self-service access",
        "gone": ["We use cookies", "Accept all", "Skip to content", "Related stories", "Bus lane fines",
                 "Get the Leeds Briefing", "Share this article", "All rights reserved", "Photo: Northern Ledger"],
        "kept": ["Three branches will open around the clock from May", "How the unstaffed hours will work",
                 "borrow and return books and DVDs", "print and scan documents using a prepaid card.",
                 "Unions raise concerns", "An evaluation report, including visitor numbers"],
    },
}


@pytest.mark.parametrize("name", sorted(SAMPLE_EXPECTATIONS))
def test_sample_keeps_the_article_and_drops_the_furniture(name):
    expected = SAMPLE_EXPECTATIONS[name]
    record = clean_file(SAMPLES / name)
    assert record.status == "ok"
    text = flat(record.text)
    for phrase in expected["gone"]:
        assert flat(phrase) not in text, f"{name}: furniture survived: {phrase!r}"
    for phrase in expected["kept"]:
        assert flat(phrase) in text, f"{name}: article text lost: {phrase!r}"
    if expected["title"] is not None:
        assert record.title == expected["title"]
        assert not text.startswith(flat(expected["title"])), "the headline is the title, not body text"


def test_every_sample_is_checked():
    assert {p.name for p in SAMPLES.iterdir() if p.suffix in (".txt", ".html")} == set(SAMPLE_EXPECTATIONS)


# -- seeds: hand-labelled line numbers (1-based, counting every line of the file)

SEED_LABELS = {
    # title line, article lines (inclusive ranges), everything else non-empty is furniture
    "000_e1c9f42544be132f.txt": {"title": 6, "article": [(8, 54)]},  # skip link, category, short title copy
    "001_fcbceec4badf9f0e.txt": {"title": 1, "article": [(2, 7)]},  # wire credit, rewrite notice
    "002_c72dbda44555ecf0.txt": {"title": 5, "article": [(7, 9), (11, 15)]},  # cookies, date widget, widget heading
    "003_ebd9bb11e48bbdcf.txt": {"title": 1, "article": [(6, 38)]},  # datelines, SEO FAQ, related list, teasers
}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not there")
@pytest.mark.parametrize("name", sorted(SEED_LABELS))
def test_seed_keeps_every_article_line_and_no_furniture(name):
    path = SEEDS / name
    labels = SEED_LABELS[name]
    lines = path.read_text(encoding="utf-8").split("\n")
    record = clean_file(path, explain=True)
    assert record.status == "ok"
    rows = record.report["explain"]
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    assert len(rows) == len(numbered)  # one block a line on these pages
    article = {n for lo, hi in labels["article"] for n in range(lo, hi + 1)}
    for (number, _line), row in zip(numbered, rows, strict=True):
        if number in article:
            assert row["decision"] == "keep", f"{name}:{number} article line lost ({row['reason']}): {row['signals']}"
        else:
            assert row["decision"] == "remove", f"{name}:{number} furniture kept: {row['signals']}"
            assert row["reason"]
    assert record.title == " ".join(lines[labels["title"] - 1].split())


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not there")
def test_seed_teasers_in_another_language_are_related_links():
    record = clean_file(SEEDS / "003_ebd9bb11e48bbdcf.txt")
    tail = [r for r in record.removed if r["text"].startswith(("découvrez", "plongez"))]
    assert len(tail) == 5
    assert {r["reason"] for r in tail} == {"related_links"}


# -- signals beyond cue phrases

ENGLISH_BODY = [
    "The city council approved the new budget on Tuesday after a debate that lasted more than six hours, "
    "with most of the discussion focused on the cost of repairing the old bridge over the river.",
    "Officials said that the work would begin in the spring and that the bridge would stay open to pedestrians "
    "during the repairs, although cars would have to use a detour for about four months.",
    "The opposition argued that the estimate was too low and that the council should have asked for a second "
    "opinion before committing so much of the year's capital budget to a single project.",
]


def test_french_teasers_under_an_english_article_are_removed_by_their_language(tmp_path):
    teasers = [
        "Le conseil municipal de Nantes a voté la gratuité des transports pour les moins de dix-huit ans à partir de la rentrée.",
        "Une nouvelle piste cyclable relie désormais la gare au centre-ville, et les commerçants en attendent beaucoup.",
    ]
    page = "\n".join(["Council approves bridge repairs despite cost warnings", *ENGLISH_BODY, *teasers])
    record = clean_text(page, tmp_path)
    for teaser in teasers:
        assert teaser not in record.text
        assert {"text": teaser, "reason": "related_links"} in record.removed
    for paragraph in ENGLISH_BODY:
        assert paragraph in record.text


def test_short_line_between_paragraphs_stays_and_a_run_of_titles_after_the_story_goes(tmp_path):
    page = "\n".join([
        "Council approves bridge repairs despite cost warnings",
        ENGLISH_BODY[0], "The vote was 31 to 19.", ENGLISH_BODY[1], ENGLISH_BODY[2],
        "Police appeal after cyclist injured on Bath Road",
        "Popular café to close after 22 years",
        "Roadworks near the station: what drivers need to know",
    ])
    record = clean_text(page, tmp_path)
    assert "The vote was 31 to 19." in record.text
    for title in ("Police appeal after cyclist", "Popular café to close", "Roadworks near the station"):
        assert title not in record.text


def test_headline_is_the_full_line_not_its_short_copy_and_copies_are_removed(tmp_path):
    page = "\n".join([
        "Menu", "Bridge repairs approved",
        "Bridge repairs approved despite warnings about the cost of the work",
        *ENGLISH_BODY,
        "Bridge repairs approved despite warnings about the cost of the work",
    ])
    record = clean_text(page, tmp_path)
    assert record.title == "Bridge repairs approved despite warnings about the cost of the work"
    assert "Bridge repairs approved" not in record.text
    reasons = [r["reason"] for r in record.removed if r["text"].startswith("Bridge repairs approved")]
    assert reasons == ["duplicate_title", "duplicate_title"]


def test_site_name_and_menu_are_not_taken_for_the_headline(tmp_path):
    page = "\n".join([
        "The Valley Courier", "News Sport Politics Business Culture Weather",
        "Council approves bridge repairs despite warnings about the cost", *ENGLISH_BODY,
    ])
    record = clean_text(page, tmp_path)
    assert record.title == "Council approves bridge repairs despite warnings about the cost"
    assert "News Sport Politics" not in record.text and "The Valley Courier" not in record.text


def test_headline_ending_with_a_quote_is_still_the_headline(tmp_path):
    page = "\n".join(["Menu", "Bridge repairs delayed by a year: «We need eight million more»", *ENGLISH_BODY])
    assert clean_text(page, tmp_path).title == "Bridge repairs delayed by a year: «We need eight million more»"


def test_labels_inside_the_story_do_not_cut_it(tmp_path):
    short_paragraphs = [
        "Head teachers welcomed the plan but said some older schools lacked kitchens.",
        "The council said it would spend £2m on new kitchen equipment before January.",
        "Parents who already qualify for free meals are urged to keep registering.",
    ]
    page = "\n".join(["Council approves bridge repairs despite warnings about the cost", ENGLISH_BODY[0],
                      "Advertisement", short_paragraphs[0], "Read more: Teachers balloting over class sizes",
                      short_paragraphs[1], short_paragraphs[2], "Most read", "Man charged after crash"])
    record = clean_text(page, tmp_path)
    for paragraph in short_paragraphs:
        assert paragraph in record.text
    assert "Read more" not in record.text and "Advertisement" not in record.text
    assert "Man charged" not in record.text


def test_readers_comments_after_the_story_go(tmp_path):
    comments = [
        "I have lived near that bridge for thirty years and the council has never once kept to a budget for it.",
        "Finally some good news. The detour will be painful but the repairs are long overdue, in my opinion.",
    ]
    page = "\n".join(["Council approves bridge repairs despite warnings about the cost", *ENGLISH_BODY,
                      "Comments (2)", *comments])
    record = clean_text(page, tmp_path)
    for comment in comments:
        assert comment not in record.text
        assert {"text": comment, "reason": "comments"} in record.removed
    assert ENGLISH_BODY[2] in record.text


def test_author_bio_after_the_story_goes(tmp_path):
    page = "\n".join(["Council approves bridge repairs despite warnings about the cost", "By Owen Pritchard",
                      *ENGLISH_BODY,
                      "Owen Pritchard is our local democracy reporter. He has covered the council since 2017."])
    record = clean_text(page, tmp_path)
    assert "Owen Pritchard" not in record.text
    assert {"text": "By Owen Pritchard", "reason": "byline"} in record.removed
    assert any(r["reason"] == "author_bio" for r in record.removed)


def test_page_language_without_stoplist_is_judged_on_length_and_punctuation():
    body = ["Το δημοτικό συμβούλιο ενέκρινε χθες τον νέο προϋπολογισμό μετά από συζήτηση έξι ωρών, "
            "με το μεγαλύτερο μέρος της να αφορά το κόστος επισκευής της παλιάς γέφυρας του ποταμού."] * 3
    decision = classify(["Αρχική", "Πολιτική", *body, "Διαβάστε επίσης"])
    kept = [b.text for b in decision.blocks if b.reason is None]
    assert kept == body


# -- --explain and the record

def test_explain_shows_every_block_with_decision_reason_and_signals():
    record = clean_file(SAMPLES / "it-cookie-widget.txt", explain=True)
    rows = record.report["explain"]
    assert len(rows) == record.report["blocks"]
    widget = next(r for r in rows if r["text"] == "Consigliati per te")
    assert widget["decision"] == "remove" and widget["reason"] == "recommendations"
    paragraph = next(r for r in rows if r["text"].startswith("Per chi attraversa Torino"))
    assert paragraph["decision"] == "keep" and paragraph["reason"] is None
    for key in ("chars", "words", "stopword_density", "language", "ends_sentence", "class", "class_in_context",
                "in_main_text", "cue"):
        assert key in paragraph["signals"]
    assert paragraph["signals"]["language"] == "it"
    validate(record.to_dict() | {"timings": {"started_at": "now", "seconds": 0.0}})
    assert paragraph["signals"]["stopword_density"] > widget["signals"]["stopword_density"] or widget["signals"]["cue"]


def test_explain_is_off_by_default():
    assert "explain" not in clean_file(SAMPLES / "it-cookie-widget.txt").report


def test_every_removed_block_has_a_reason_and_counts_add_up():
    record = clean_file(SAMPLES / "es-paywall-captions.txt")
    assert all(r["reason"] for r in record.removed)
    report = record.report
    assert sum(report["removed_by_reason"].values()) == report["removed"] == len(record.removed)
    assert report["kept"] + report["removed"] + 1 == report["blocks"]  # + the headline


def test_clean_records_from_the_cli_match_the_schema(tmp_path):
    result = run_cli("run", str(SAMPLES), "--out", str(tmp_path), "--stages", "clean")
    assert result.exit_code == 0, result.output
    for stages in load_records(tmp_path).values():
        validate(stages["clean"])


# -- HTML

def test_html_metadata_language_and_url():
    record = clean_file(SAMPLES / "html-page.html")
    assert record.source["format"] == "html"
    assert record.declared_language == "en"
    assert record.url == "https://www.northernledger.example/news/leeds/2025/04/02/leeds-24-hour-library-pilot"
    assert record.metadata.get("author") == "Daniel Okafor"
    assert record.report["extractor"] == "trafilatura"


def test_html_saved_as_txt_goes_through_the_html_path(tmp_path):
    html = (SAMPLES / "html-page.html").read_text(encoding="utf-8")
    record = clean_text(html, tmp_path, "page.txt")
    assert record.source["format"] == "html"
    assert "How the unstaffed hours will work" in record.text
    assert "<p>" not in record.text and "We use cookies" not in record.text


def test_text_saved_as_html_goes_through_the_text_path(tmp_path):
    text = (SAMPLES / "fr-article.txt").read_text(encoding="utf-8")
    record = clean_text(text, tmp_path, "page.html")
    assert record.source["format"] == "text"
    assert "Un surcoût discuté" in record.text and "Mentions légales" not in record.text


def test_deeply_nested_and_malformed_html_does_not_break_the_stage(tmp_path):
    paragraph = "<p>" + " ".join(ENGLISH_BODY) + "</p>"
    nested = "<html><body>" + "<div>" * 5000 + paragraph + "</div>" * 5000 + "</body></html>"
    record = clean_text(nested, tmp_path, "nested.html")
    assert record.status == "ok"
    assert "The city council approved the new budget" in record.text
    broken = "<html><body><div><p>" + ENGLISH_BODY[0] + "<p>" + ENGLISH_BODY[1] + "<span><b>" + ENGLISH_BODY[2]
    record = clean_text(broken, tmp_path, "broken.html")
    assert record.status == "ok"
    assert "Officials said that the work would begin in the spring" in record.text


# -- bad input

def test_page_that_is_all_furniture_fails_with_no_article_text(tmp_path):
    page = "Skip to main content\nMenu\nMost read\nShare on Facebook\nPrivacy policy\n© 2025 Example Media Ltd\n"
    record = clean_text(page, tmp_path)
    assert record.status == "failed"
    assert record.error["code"] == "no_article_text"
    assert record.text == ""


def test_page_without_line_breaks_is_split_into_sentences(tmp_path):
    record = clean_file(SAMPLES / "de-single-line.txt")
    assert record.report["blocks"] > 20
    assert not record.text.startswith("Zum Inhalt")


def test_very_long_dump_finishes_with_its_articles(tmp_path):
    article = "\n".join(["Menu", "Council approves bridge repairs despite cost warnings", *ENGLISH_BODY,
                         "Most read", "Police appeal after cyclist injured", "© 2025 Example Media Ltd"])
    page = "\n".join([article] * 4000)  # about 3 MB
    record = clean_text(page, tmp_path)
    assert record.status == "ok"
    assert record.text.count(ENGLISH_BODY[1]) >= 3900


def test_giant_single_line_is_cut_without_the_slow_splitter(tmp_path):
    line = " ".join([*ENGLISH_BODY] * 1500)  # about 800 KB in one line
    record = clean_text(line, tmp_path)
    assert record.status == "ok"
    assert record.report["blocks"] >= 4000


# -- the data files

def test_cue_files_compile_and_name_known_reasons():
    patterns = cue_patterns()
    assert set(patterns) <= set(REASONS)
    folder = ROOT / "pipeline" / "resources" / "cues"
    languages = {p.stem for p in folder.glob("*.json")} - {"common", "dates"}
    assert {"en", "it", "fr", "de", "es", "pt"} <= languages
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, values in data.items():
            if path.stem != "dates" and not key.startswith("_"):
                assert key in REASONS, f"{path.name}: unknown reason {key}"
                for pattern in values:
                    re.compile(pattern, re.IGNORECASE)


@pytest.mark.parametrize("language", ["it", "en", "fr", "de", "es", "pt"])
def test_stoplists_exist_for_the_main_languages(language):
    assert len(stopwords(language)) > 100


# -- the evaluation corpus: a floor under the score, so that a change that loses text shows

EVAL = ROOT / "bench" / "data" / "clean"


@pytest.mark.skipif(not (EVAL / "README.md").exists(), reason="bench/data/clean is not there")
def test_evaluation_corpus_token_f1_stays_high():
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from clean_eval import newsum, pages, prf

    by_format: dict[str, list[float]] = {"text": [], "html": []}
    for page, gold in pages([EVAL]):
        fmt = "html" if page.suffix in (".html", ".htm") else "text"
        source = read_document(Document(page.stem, page, fmt))
        by_format[fmt].append(prf(newsum(page, source), "\n".join(gold["paragraphs"]))[2])
    assert sum(by_format["text"]) / len(by_format["text"]) >= 0.93
    assert sum(by_format["html"]) / len(by_format["html"]) >= 0.95


def test_a_short_brief_with_no_furniture_is_kept_not_failed():
    from pipeline.inputs import SourceText

    text = ("Le maire et le conseil\n\nLe maire de la ville parle ce matin avec les habitants.\n\n"
            "Le conseil municipal vote aujourd'hui le budget de la ville.\n")
    source = SourceText(text=text, encoding="utf-8", format="text", sha256="0" * 64, size=len(text))
    record = CleanStage(StageContext(Config())).clean("brief", "brief.txt", source)
    assert record.status == "ok"
    assert record.text.split("\n\n") == ["Le maire de la ville parle ce matin avec les habitants.",
                                         "Le conseil municipal vote aujourd'hui le budget de la ville."]


# -- scripts written without spaces: sentences end with 。, a character says as much as a short word

JAPANESE_PAGE = """ホーム
ニュース
経済
スポーツ
市内の図書館、五月から二十四時間開館へ
2025年3月1日
市の教育委員会は一日、中央図書館など三つの分館を五月から二十四時間開館にすると発表した。夜間は職員を置かず、利用者は会員カードで入館し、自動貸出機で本を借りることができる。
委員会によると、夜間の利用は試験的に一年間続け、利用者数や安全面の課題を調べたうえで、ほかの分館にも広げるかどうかを決める。防犯カメラを増やし、警備会社が遠隔で見守るという。
市民からは歓迎の声が上がる一方、職員の労働組合は「人のいない図書館で事故が起きたとき、だれが責任を持つのか」と懸念を示している。
関連記事
駅前の再開発、来年着工へ
シェア
"""


def test_japanese_page_keeps_its_sentences_and_drops_the_menu(tmp_path):
    record = clean_text(JAPANESE_PAGE, tmp_path)
    assert record.status == "ok"
    assert record.title == "市内の図書館、五月から二十四時間開館へ"
    assert record.text.split("\n\n") == [line for line in JAPANESE_PAGE.split("\n") if line.endswith("。")]


# A government notice in Chinese: its one paragraph ends on a figure, not on 。, so sentence
# marks alone call it furniture; its function characters (的 在 和 了 …) say it is prose.
CHINESE_NOTICE = """首页 | 政务公开 | 政策文件 | 互动交流 | 网站地图
当前位置：首页 > 统计数据 > 月度分析
全市一季度工业生产保持平稳增长
发布日期：2025-04-18 信息来源：市统计局
一季度，全市规模以上工业增加值同比增长6.1%，比去年全年提高了0.8个百分点。其中制造业增长6.5%，高技术制造业增长9.2%，对全市工业增长的贡献率达到41%。从产品看，新能源汽车、工业机器人和集成电路的产量分别增长了28%、19%和15%，而传统建材的产量则有所下降，水泥产量同比减少4.3%
打印 关闭
版权所有：市人民政府办公厅 备案号：京ICP备12345678号"""


def test_a_chinese_paragraph_without_a_final_full_stop_is_the_article(tmp_path):
    record = clean_text(CHINESE_NOTICE, tmp_path)
    assert record.status == "ok"
    assert record.text.startswith("一季度，全市规模以上工业增加值") and record.text.endswith("水泥产量同比减少4.3%")
    assert "首页" not in record.text and "备案号" not in record.text and "打印" not in record.text
    assert record.report["language_guess"] == "zh"  # counted by its characters: the page has a stoplist
    assert {"text": "发布日期：2025-04-18 信息来源：市统计局", "reason": "dateline"} in record.removed


def test_a_japanese_page_is_measured_by_its_particles(tmp_path):
    assert clean_text(JAPANESE_PAGE, tmp_path).report["language_guess"] == "ja"


def test_a_subheading_of_kanji_alone_is_no_foreign_line_on_a_japanese_page(tmp_path):
    # Chinese function characters outnumber the particles in a line of kanji: it is still Japanese
    lines = JAPANESE_PAGE.split("\n")
    subheading = "中央図書館 夜間開館 試験実施 利用者数 調査 開始"
    page = "\n".join([*lines[:7], subheading, *lines[7:]])
    record = clean_text(page, tmp_path)
    assert record.report["language_guess"] == "ja"
    assert subheading in record.text.split("\n\n")


# -- shapes of real pages: a comment thread without a heading cue, teasers, prev/next, author box

BLOG_BODY = [
    "The regional water authority has started replacing the lead pipes that still serve about four thousand "
    "homes in the old town, a project it expects to finish within three years.",
    "Engineers will work street by street, and each household will be told two weeks before the water is cut, "
    "usually for no more than a day while the new connection is laid.",
    "The authority said the work would be paid for from its maintenance budget, so bills would not rise, "
    "although a consumer group has asked for an independent check of the figures.",
    "Residents who want their own supply tested before the crews arrive can ask for a free kit, which is "
    "posted within a week and returned to the laboratory in a prepaid envelope.",
]
THREAD = [
    "marco_b says:",
    "March 3, 2025 at 9:14 am",
    "We had our pipe replaced last year and honestly the crew was in and out in a morning, no mess at all.",
    "Reply",
    "Gill Harris says:",
    "March 3, 2025 at 11:02 am",
    "Does anyone know whether the free testing kit also covers flats, or only houses with their own meter?",
    "Reply",
]


def test_a_comment_thread_under_the_story_goes(tmp_path):
    page = "\n".join(["Lead pipes in the old town to be replaced within three years", "Posted by Ana Ruiz",
                      *BLOG_BODY, "Leave a Reply", *THREAD])
    record = clean_text(page, tmp_path)
    assert record.text.split("\n\n") == BLOG_BODY
    assert all(line not in record.text for line in THREAD)


TEASERS = [
    "Previous Post",
    "Council names new head of the fire service",
    "Next Post",
    "Summer timetable brings later buses on three routes",
    "You May Also Like",
    "Your Donation Can Change Someone's Life",
    "Five walks along the river you can do in an afternoon",
    "Why the market hall is closing for a month",
    "About the Author",
    "Ana Ruiz covers local government and the environment for the paper. She joined in 2019.",
]


def test_teasers_prev_next_and_the_author_box_after_the_story_go(tmp_path):
    page = "\n".join(["Home", "News", "Local", "Lead pipes in the old town to be replaced within three years",
                      *BLOG_BODY, *TEASERS, "© 2025 Valley Courier"])
    record = clean_text(page, tmp_path)
    assert record.title == "Lead pipes in the old town to be replaced within three years"
    assert record.text.split("\n\n") == BLOG_BODY


# -- a page that lost its line breaks: a trail glued to the headline, share buttons, "1. März"

GERMAN_SINGLE_LINE = (
    "Zum Inhalt springen Startseite Politik Wirtschaft Sport Suche Anmelden "
    "Nachrichten › Bayern › Regensburg Regensburg baut drei neue Radbrücken über den Regen "
    "Von Lena Brandl 04.03.2025, 08:30 Uhr Artikel anhören Teilen "
    "Die Stadt Regensburg will in den nächsten vier Jahren drei neue Brücken für Fußgänger und Radfahrer über "
    "den Regen bauen. Der Stadtrat hat das Programm am Mittwoch mit großer Mehrheit beschlossen. "
    "Die erste Brücke soll ab dem 1. März des kommenden Jahres gebaut werden, die beiden anderen folgen im "
    "Abstand von jeweils einem Jahr. Nach Angaben der Verwaltung kostet das Vorhaben insgesamt rund 24 Millionen "
    "Euro, von denen der Freistaat etwa die Hälfte übernimmt. "
    "Mehr zum Thema Neue Buslinie in den Osten der Stadt Impressum Datenschutz © Donau Medien"
)


def test_a_page_without_line_breaks_keeps_its_headline_and_drops_the_share_button(tmp_path):
    record = clean_text(GERMAN_SINGLE_LINE, tmp_path)
    assert record.status == "ok"
    assert record.title.startswith("Regensburg baut drei neue Radbrücken über den Regen")
    paragraphs = record.text.split("\n\n")
    assert paragraphs[0].startswith("Die Stadt Regensburg will")  # not "Teilen Die Stadt..."
    assert "Die erste Brücke soll ab dem 1. März des kommenden Jahres gebaut werden" in record.text
    assert not any(p.startswith("März") for p in paragraphs)
    for furniture in ("Teilen", "Artikel anhören", "Nachrichten ›", "Impressum", "Neue Buslinie"):
        assert furniture not in record.text


# -- HTML: what the extractor left out is listed with a reason

HTML_PAGE = """<!doctype html><html lang="en"><head><title>Ferry fares frozen | Harbour Post</title></head><body>
<div class="cookie-banner"><p>We use cookies to improve your experience on our site and to show you relevant adverts.</p>
<button>Accept all</button></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<main><article><h1>Ferry fares frozen for another year on all island routes</h1>
<p>The ferry operator has frozen fares on all of its island routes for another year, the third freeze in a row,
after the regional government agreed to raise its subsidy by four per cent.</p>
<p>Islanders had warned that a rise would make the daily crossing too expensive for people who work on the
mainland, and a petition against it gathered more than six thousand signatures in a month.</p>
<p>The operator said it would also add a late sailing on Fridays from June, a change that passengers and
local businesses have asked for since the timetable was cut back two years ago.</p>
</article></main>
<footer><p>Contact us</p><p>© 2025 Harbour Post Media. All rights reserved.</p></footer></body></html>"""


def test_html_record_lists_what_the_extractor_dropped(tmp_path):
    record = clean_text(HTML_PAGE, tmp_path, name="page.html")
    assert record.status == "ok"
    removed = {r["text"]: r["reason"] for r in record.removed}
    assert removed["We use cookies to improve your experience on our site and to show you relevant adverts."] \
        == "cookie_consent"
    assert "Home" in removed and "Sport" in removed
    assert "© 2025 Harbour Post Media. All rights reserved." in removed
    assert all(reason for reason in removed.values())
    assert not any(text.startswith("The ferry operator has frozen") for text in removed)
    assert record.title not in removed
    report = record.report
    assert report["kept"] + report["removed"] + 1 == report["blocks"]


# -- the block model: shipped, read without the network, the same input gives the same record

def test_block_model_loads_offline_and_decides_the_same_twice(tmp_path, monkeypatch):
    import socket

    from pipeline.stages.clean import learned

    def no_network(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "socket", no_network)
    learned.model.cache_clear()
    model = learned.model()
    assert model is not None and model.version == learned.MODEL_VERSION
    page = "\n".join(["Lead pipes in the old town to be replaced within three years", *BLOG_BODY, *TEASERS])
    first = clean_text(page, tmp_path, explain=True)
    second = clean_text(page, tmp_path, name="again.txt", explain=True)
    assert first.text == second.text and first.removed == second.removed
    assert first.report["explain"] == second.report["explain"]


def test_model_removals_name_the_model_and_its_strongest_features(tmp_path):
    from pipeline.stages.clean import learned

    if learned.model() is None:
        pytest.skip("no block model shipped")
    page = "\n".join(["Lead pipes in the old town to be replaced within three years", *BLOG_BODY, *TEASERS])
    record = clean_text(page, tmp_path, explain=True)
    rows = [r for r in record.report["explain"] if (r["rule"] or "").startswith("model")]
    for row in rows:
        assert row["decision"] == "remove" and row["reason"]
        if row["rule"] != "model":
            assert any(name in row["rule"] for name in learned.FEATURES)


@pytest.mark.parametrize("combine_after", [1, 3, 10**9])  # compiled together at once, after a few lines, never
@pytest.mark.parametrize("cut", [False, True])  # each pattern whole, or cut into the pieces it tries in turn
def test_first_character_buckets_find_what_the_whole_alternation_finds(monkeypatch, combine_after, cut):
    from pipeline.stages.clean import cues, firstchar
    from pipeline.stages.clean.firstchar import FirstCharAlternation

    monkeypatch.setattr(firstchar, "COMBINE_AFTER", combine_after)

    patterns = [("a", r"\(?(edited|e-?mail) by\b.*$"), ("a", r"stand\s*:?.{0,20}\d"), ("b", r"[^.!?]{1,9}\s[›»]"),
                ("c", r"\d+\s*min read$"), ("d", r"(?-i:Foto)\b"), ("e", r"(x)?"), ("f", r"ſtop|kelvin"),
                ("g", r"[\w'’.&-]+( \w+){0,2}\s*[|·•]\s*\w+$"), ("h", r"(home|news|stop)( page)?$"),
                ("h", r"(accept|reject)( all)?\s*[|·/]|(mehr|more) zum thema")]
    whole = re.compile("|".join(f"(?P<{n}{i}>{p})" for i, (n, p) in enumerate(patterns)), re.IGNORECASE)
    split = FirstCharAlternation(patterns, cut=cues._tried_in_turn if cut else None)
    texts = ["News", "home page", "Accept all |", "reject /", "More zum Thema", "mehr", "Edited by A. Reporter", "(email by x)", "Email by me", "Standard Fixed 13%", "stand: 12", "News › World",
             "5 min read", "foto", "Foto di", "STOP", "Kelvin", "\u212aelvin", "Home | Sport | Culture", "", "zzz",
             "Écrit par", "ａ"]
    for text in texts * 3:
        expected, found = whole.match(text), split.match(text)
        assert (expected is None) == (found is None), text
        if expected:
            first = next(n[0] for n, v in expected.groupdict().items() if v is not None)
            assert next(n for n, v in found.groupdict().items() if v is not None) == first, text
            assert expected.group(0) == found.group(0), text
        named = split.name(text)  # the first name, with the gated pieces matched apart
        assert (named is None) == (expected is None) and (named is None or named == first), text


@pytest.mark.parametrize("line, reason", [
    ("Email", "share"),                            # e-?mail: the hyphen is optional
    ("Quelle: dpa", "editorial_note"),             # \(?quelle: the bracket is optional
    ("Edited by Jane Doe", "editorial_note"),
    ("(Reporting by Jane Doe; editing by John Roe)", "editorial_note"),
])
def test_a_whole_line_cue_with_an_optional_opener_is_tried(line, reason):
    from pipeline.stages.clean.cues import cue_reason

    assert cue_reason(line, len(line.split())) == reason


def test_a_lazy_pattern_matches_and_compares_as_the_compiled_one():
    from pipeline.stages.clean.lazyre import LazyPattern

    lazy, compiled = LazyPattern(r"(?:listen to this article)(?!\w)", re.IGNORECASE), re.compile(
        r"(?:listen to this article)(?!\w)", re.IGNORECASE)
    assert lazy == LazyPattern(lazy.source, lazy.flags) and hash(lazy) == hash(LazyPattern(lazy.source, lazy.flags))
    assert lazy != LazyPattern(lazy.source)  # other flags: another pattern
    for text in ("Listen to this article", "listen to this articles", "x"):
        assert (lazy.match(text) is None) == (compiled.match(text) is None)
        assert (lazy.search("a " + text) is None) == (compiled.search("a " + text) is None)


def test_whole_line_cues_cut_into_alternatives_find_the_same_first_match():
    from pipeline.stages.clean import cues

    lines = [" ".join(line.split()) for path in sorted(SAMPLES.glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines += ["Home", "News", "Read more", "Related articles", "Share on Facebook", "Foto: Jane Doe", "5 min read",
              "Home | World | Sport", "Accept all cookies |", "Mehr zum Thema", "Leggi anche", "À lire aussi"]
    for plain in (True, False):
        for _, pattern in cues._line_entries(plain):
            whole = re.compile(pattern, re.IGNORECASE)
            pieces = cues._tried_in_turn(pattern)
            cut = re.compile("|".join(f"(?:(?:{head}){rest})" for head, rest in pieces), re.IGNORECASE)
            for line in lines:
                expected, found = whole.match(line), cut.match(line)
                assert (expected and expected.group(0)) == (found and found.group(0)), (pattern, line)


def test_features_no_tree_reads_change_no_score():
    from pipeline.stages.clean import learned
    from pipeline.stages.clean.blocks import page_blocks

    model = learned.model()
    if model is None:
        pytest.skip("no block model shipped")
    assert model.used <= set(learned.FEATURES) and model.used
    for path in sorted(SAMPLES.glob("*.txt")):
        blocks, sentences = page_blocks(path.read_text(encoding="utf-8"))
        decision = classify(blocks, sentences=sentences)
        full = learned.features(decision.blocks, decision.language, decision.title)
        lean = learned.features(decision.blocks, decision.language, decision.title, used=model.used)
        assert [model.probability(row) for row in full] == [model.probability(row) for row in lean], path.name


def test_a_piece_is_read_from_its_head_and_rest_as_from_the_whole_piece():
    from pipeline.stages.clean import cues, firstchar

    pieces = [piece for plain in (True, False) for _, pattern in cues._line_entries(plain)
              for piece in cues._tried_in_turn(pattern)]
    pieces += [("(x)?", "y"), ("a|", "[›»]"), ("[|/]", "\\s*b"), ("", "c:")]  # heads that may match empty
    for head, rest in pieces:
        whole = f"(?:{head}){rest}" if rest else head
        assert firstchar.piece_first_ascii(head, rest) == firstchar.first_ascii(whole), whole
        assert firstchar.piece_required_chars(head, rest) == firstchar.required_chars(whole), whole


def test_preload_builds_the_tables_every_page_reads():
    from pipeline.stages.clean import cues, learned, signals

    for table in (cues.cue_index, cues._any_line, signals.stopword_index):
        table.cache_clear()
    CleanStage(StageContext(Config())).preload()
    assert cues.cue_index.cache_info().currsize == 1 and cues._any_line.cache_info().currsize == 2
    assert signals.stopword_index.cache_info().currsize == 1
    assert learned.model.cache_info().currsize == 1
    record = clean_file(SAMPLES / "en-wire-story.txt")  # and pages clean as before
    assert record.status == "ok" and record.text


def test_an_alternation_without_required_symbols_still_matches():
    from pipeline.stages.clean.firstchar import FirstCharAlternation

    split = FirstCharAlternation([("a", r"home"), ("b", r"news(letter)?")])
    assert split.match("Newsletter").lastgroup == "b" and split.match("Newsletter").group(0) == "Newsletter"
    assert split.match("HOME").lastgroup == "a" and split.match("Sport") is None


@pytest.mark.parametrize("text", ["ΟΔΟΣ ΣΑΣ ΚΑΙ ΣΟΦΙΑ", "İSTANBUL’DA İyi", "Straße STRASSE ǅemal", "ΟΔΟΣʼ ΑΣ’Β"])
def test_a_block_norm_lower_cases_each_word(text):
    from pipeline.stages.clean.classify import _measure
    from pipeline.stages.clean.signals import raw_words

    assert _measure(text).norm == " ".join(word.lower() for word in raw_words(text))


@pytest.mark.parametrize("text", ["L’été à Paris – «Très» chaud", "Größe: 1½ Maß", "naïve café’s", "Łódź i Kraków",
                                  "ªº µ ¹²³ ¼ Ğ 中文"])
def test_words_are_the_same_whichever_class_reads_them(text):
    from pipeline.stages.clean import signals

    assert signals.raw_words(text) == signals._RAW_WORD.findall(text)


# -- hard-wrapped dumps (lynx, w3m): paragraphs broken at the screen's width

WRAPPED_BODY = [
    "The regional water authority said on Monday that the reservoir north of the city had fallen to its lowest "
    "level in thirty years, after a dry winter and a spring with less than half of the usual rain.",
    "Engineers will begin pumping from the river in June, a measure last taken during the drought of 1995, and "
    "households are asked to cut their use by a fifth until the autumn rains return to the hills.",
    "Farmers in the valley said that the restrictions came too late for the first harvest, and that several of "
    "them had already sold part of their herds because the pastures had dried out since April.",
]


def _dump(paragraphs: list[str], width: int = 72, indent: int = 3) -> str:
    """A page as a text browser dumps it: menu items and a list as bullets, every paragraph
    wrapped at the width and indented."""
    import textwrap

    pad = " " * indent
    menu = "\n".join(f"{pad}  * {item}" for item in ("Home", "News", "Weather", "Sport", "Contact us"))
    related = "\n".join(textwrap.fill(t, width, initial_indent=pad + "  * ", subsequent_indent=pad + "    ")
                        for t in ("Storm closes the coast road for a second night as rivers rise",
                                  "Schools in the valley reopen after the floods of last month"))
    body = "\n\n".join(textwrap.fill(p, width, initial_indent=pad, subsequent_indent=pad) for p in paragraphs)
    return (f"{menu}\n\n{pad}Reservoir falls to its lowest level in thirty years\n\n{body}\n\n"
            f"{pad}Related stories\n\n{related}\n")


def test_a_hard_wrapped_dump_keeps_whole_paragraphs(tmp_path):
    page = _dump(WRAPPED_BODY)
    assert max(len(line) for line in page.split("\n")) <= 72
    record = clean_text(page, tmp_path)
    assert record.status == "ok"
    assert record.title == "Reservoir falls to its lowest level in thirty years"
    assert record.text.split("\n\n") == WRAPPED_BODY  # one paragraph each, joined with single spaces
    assert "Storm closes" not in record.text and "Contact us" not in record.text


def test_unwrap_joins_only_what_the_width_broke():
    from pipeline.stages.clean.blocks import unwrap

    lines = _dump(WRAPPED_BODY).split("\n")
    joined = [line.strip() for line in unwrap(lines) if line.strip()]
    assert WRAPPED_BODY[0] in joined and WRAPPED_BODY[2] in joined
    # list items stay apart, and an item wrapped over two lines is one again
    assert "* Home" in joined and "* News" in joined
    assert "* Storm closes the coast road for a second night as rivers rise" in joined or \
        "* Storm closes the coast road for a second night as rivers rise" in " ".join(joined)
    # a page of one paragraph a line is left as it is
    flat_page = ["Home", "News", "", *WRAPPED_BODY, "", "Related stories"]
    assert unwrap(flat_page) == flat_page
    # ...and so is a short page whose related headlines happen to share a length
    headlines = ["Reservoir falls to its lowest level in thirty years", "Storm closes the coast road for a second time",
                 "Schools in the valley reopen after the floods", "Council approves a new bus line to the hospital",
                 "Farmers sell part of their herds as pastures dry", "Engineers begin pumping from the river in June",
                 "Households asked to cut their water use by a fifth"]
    short_page = ["Home", "Log in", headlines[0], "Yesterday", " ".join(WRAPPED_BODY), "Related"]
    for headline in headlines[1:]:
        short_page += [headline, "Daily News"]
    assert unwrap(short_page) == short_page


def test_unwrap_joins_unspaced_scripts_without_a_space():
    from pipeline.stages.clean.blocks import unwrap

    sentence = "東京都は月曜日、市内の貯水池の水位が三十年ぶりの低さになったと発表した。"
    paragraph = sentence * 6
    wrapped = [paragraph[i:i + 38] for i in range(0, len(paragraph), 38)]  # 76 columns a line
    wrapped[0] = "\u3000" + wrapped[0]  # a paragraph's first line indented by a wide space
    lines = ["ホーム", "ニュース", "", *wrapped, "", "関連記事"] + [f"記事 {i}" for i in range(8)]
    lines += ["", "短い行。", paragraph[:38]]  # a short line, then a full one: the author's break
    joined = [line.strip() for line in unwrap(lines) if line.strip()]
    assert paragraph in joined
    assert "短い行。" in joined and paragraph[:38] in joined


# -- Markdown dumps: links, images, headings and emphasis read as a reader sees them

def _markdown_page(paragraphs: list[str]) -> str:
    menu = "\n".join(f"* [{item}](https://news.example.org/{item.lower()}/)" for item in
                     ("Home", "World", "Business", "Sport", "Weather"))
    body = list(paragraphs)
    body[0] = body[0].replace("reservoir", "[reservoir](https://water.example.org/reservoirs/north)", 1)
    body[1] = body[1].replace("pumping from the river", "**pumping from the river**", 1)
    body[2] = body[2].replace("several", "_several_", 1)
    related = "\n".join(f"* [{t}](https://news.example.org/2024/{i}/story)" for i, t in enumerate(
        ("Storm closes the coast road for a second night as rivers rise",
         "Schools in the valley reopen after the floods of last month",
         "Council approves a new bus line to the hospital")))
    return (f"{menu}\n\n# Reservoir falls to its lowest level in thirty years\n\n"
            f"![The dam seen from the north shore](https://img.example.org/dam.jpg)\n\n"
            + "\n\n".join(body) + f"\n\n---\n\n## Related stories\n\n{related}\n")


def test_a_markdown_dump_is_read_as_its_reader_sees_it(tmp_path):
    record = clean_text(_markdown_page(WRAPPED_BODY), tmp_path, name="page.md.txt")
    assert record.status == "ok"
    assert record.title == "Reservoir falls to its lowest level in thirty years"
    assert record.text.split("\n\n") == WRAPPED_BODY  # link text kept, URLs and emphasis gone
    for residue in ("](", "**", "http", "_several_", "# ", "---"):
        assert residue not in record.text
    assert "Storm closes" not in record.text and "Business" not in record.text


def test_plain_text_with_brackets_is_not_taken_for_markdown():
    from pipeline.stages.clean.markdown import is_markdown, plain_lines

    text = "\n".join(["A note [1] on the figures (see table 2).", "Snake_case_names and a * star stay.",
                      "The #1 team won (3-1) [after extra time].", *WRAPPED_BODY])
    assert not is_markdown(text)
    assert plain_lines(text) == text.split("\n")
    for sample in SAMPLES.glob("*.txt"):
        assert not is_markdown(sample.read_text(encoding="utf-8")), sample.name


def test_markdown_lines_keep_their_places():
    from pipeline.stages.clean.markdown import plain_line, plain_lines

    page = _markdown_page(WRAPPED_BODY)
    assert len(plain_lines(page)) == len(page.split("\n"))
    assert plain_line("---") == "" and plain_line("| --- | :---: |") == ""
    assert plain_line(r"Price: 5 \* 3 \_ok\_") == "Price: 5 * 3 _ok_"
    assert plain_line("### Heading ###") == "Heading"
    assert plain_line("a [link](<https://x.org/a b>) and `code`") == "a link and code"
    assert plain_line("[Chanel's new campaign […]](/fashion/chanel) and more") == "Chanel's new campaign […] and more"
    # a paragraph run over lines (Markdown joins them) is one line again; list items stay apart
    page = "\n".join(["* [Home](/)", "* [News](/news/)", "", "# A headline", "",
                      "The council said on Monday that the bridge,", "which opened in 1932, would close",
                      "for repairs.", "* [Sport](/sport/)", "* [Weather](/weather/)"])
    lines = plain_lines(page)
    assert len(lines) == len(page.split("\n"))
    assert "The council said on Monday that the bridge, which opened in 1932, would close for repairs." in lines
    assert "* Sport" in lines and "* Weather" in lines and "* Home" in lines
    # a link whose text runs over two lines
    page = "* [Home](/)\n* [News](/news/)\n# Title\n\nIt costs less than the [Xbox\nOne X](https://x.org/r) does."
    assert plain_lines(page)[-2:] == ["It costs less than the Xbox", "One X does."]
    # a link's title on the next line: its line break stays, so lines keep their places
    page = "* [Home](/)\n* [News](/news/)\n# Title\n\nSee [the report](https://x.org/r\n\"The report\") today."
    assert plain_lines(page)[-2:] == ["See the report today.", ""]


def test_chinese_and_japanese_widgets_meet_their_cues():
    """Cue phrases in scripts without spaces open a line, or sit in it, with no word boundary."""
    from pipeline.stages.clean.cues import cue_patterns

    body = ("多位外国专家在接受采访时表示，两国加强合作、实现共赢符合国际社会的共同利益，"
            "双方应当通过对话解决分歧，并在气候变化和公共卫生等领域继续开展务实合作。")
    decision = classify(["首页", "国际新闻", "外国专家：两国合作共赢符合国际社会利益", body, body,
                         "分享到微信", "相关新闻", "京ICP备12345678号-1", "京公网安备11010502000000号"])
    reasons = {b.text: b.reason for b in decision.blocks}
    assert reasons[body] is None
    assert reasons["分享到微信"] == "share" and reasons["相关新闻"] == "recommendations"
    assert reasons["京ICP备12345678号-1"] and reasons["京公网安备11010502000000号"]
    patterns = cue_patterns()
    assert patterns["recommendations"].match("関連記事") and patterns["share"].match("ツイート")
    assert patterns["legal"].search("記事・写真の無断転載を禁じます")


def test_a_sign_in_line_above_the_headline_is_not_taken_for_it():
    # heading-like and long enough, but it shares no word with the article; the headline does
    page = ["Sign in with Facebook or use your Gazette account",
            "Volunteers plant ten thousand trees along the river banks",
            "By Anna Ricci",
            "More than two hundred volunteers planted ten thousand young trees along the river banks on Saturday, "
            "in the largest planting the valley has seen.",
            "The trees, mostly willows and alders, will hold the banks together when the river floods, and shade "
            "the water for trout in summer.",
            "The council paid for the saplings, and local schools will look after them for the first three years."]
    decision = classify(page)
    assert decision.title == page[1]
    assert decision.blocks[0].reason is not None  # what stands above the headline goes
    assert all(b.reason is None for b in decision.blocks[3:])
