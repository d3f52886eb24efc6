"""Hostile inputs: files that are not what discovery saw, NULs late in a file, legacy
encodings, over-long "sentences", and a models.yaml built to exhaust the loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, load_records, run_cli, validate

from pipeline.config import MAX_ALIAS_NODES, load_config
from pipeline.errors import ConfigError, InputError
from pipeline.inputs import Document, NotRegularFile, open_regular, read_document
from pipeline.text import MAX_SENTENCE_CHARS, split_sentences

GOOD = (ROOT / "samples" / "en-wire-story.txt").read_text(encoding="utf-8")

# Runs `newsum run` in a child process whose discovery swaps one document for a FIFO right
# after yielding it, as `rm x.txt && mkfifo x.txt` would while a run goes.
SWAP_DRIVER = """
import os, sys
import pipeline.inputs as inputs

real = inputs.discover

def discover(paths, discovery=None, **options):
    for doc in real(paths, discovery, **options):
        if doc.path.name == "swapped.txt":
            os.unlink(doc.path)
            os.mkfifo(doc.path)
        yield doc

inputs.discover = discover
from pipeline.cli import main
main(sys.argv[1:])
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_swapped_in_after_discovery_fails_its_document_and_the_run_ends(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(GOOD, encoding="utf-8")
    (src / "swapped.txt").write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    # A hang (opening the FIFO while hashing or reading it) fails here instead of hanging CI.
    result = subprocess.run([sys.executable, "-c", SWAP_DRIVER, "run", str(src), "--out", str(out),
                             "--stages", "clean,detect", "--workers", "1"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert (src / "swapped.txt").is_fifo()
    assert result.returncode == 2, result.stderr
    records = load_records(out)
    assert records["swapped"]["clean"]["status"] == "failed"
    assert records["swapped"]["clean"]["error"]["code"] == "not_a_regular_file"
    assert "detect" not in records["swapped"]
    assert records["good"]["clean"]["status"] == "ok" and records["good"]["detect"]["status"] == "ok"
    validate(records["swapped"]["clean"])
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_open_regular_never_blocks_and_refuses_what_is_not_a_file(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):
        open_regular(fifo)  # no writer: a blocking open would wait here for ever
    with pytest.raises(NotRegularFile):
        open_regular(tmp_path)
    with pytest.raises(InputError) as caught:
        read_document(Document("pipe", fifo, "text"))
    assert caught.value.code == "not_a_regular_file"
    real = tmp_path / "real.txt"
    real.write_text("text")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with open_regular(link) as fh:
        assert fh.read() == b"text"
    with pytest.raises(NotRegularFile):
        open_regular(link, follow_symlinks=False)


def test_nul_bytes_after_the_first_64_kib_make_a_file_binary(tmp_path):
    path = tmp_path / "late-nul.txt"
    body = GOOD.encode("utf-8")
    data = (body * (70 * 1024 // len(body) + 1))[:70 * 1024] + b"\x00\x00\x00\x01binary tail\x00" + body
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_document(Document("late-nul", path, "text"))
    assert caught.value.code == "binary"
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--out", str(out), "--stages", "clean")
    assert result.exit_code == 2, result.output
    record = load_records(out)["late-nul"]["clean"]
    assert record["status"] == "failed" and record["error"]["code"] == "binary"


def test_utf16_files_still_read(tmp_path):
    path = tmp_path / "utf16.txt"
    path.write_bytes(GOOD.encode("utf-16-le"))  # no byte-order mark
    source = read_document(Document("utf16", path, "text"))
    assert source.encoding == "utf-16-le" and "\x00" not in source.text


# ---------------------------------------------------------------- long "sentences"

LOWER_CASE_SENTENCES = [
    "the council met again on tuesday to discuss the budget for the coming year.",
    "members argued for hours about the cost of the new bus lines and the tram depot!",
    "the mayor said the first line would open in may, and the second one a year later.",
    "opposition members asked why the depot had cost twice what was planned?",
    "a vote is expected next week, after the finance committee has read the figures.",
]


def _lower_case_page(sentences: int) -> str:
    body = " ".join(LOWER_CASE_SENTENCES[i % len(LOWER_CASE_SENTENCES)].replace("the ", f"the {i} ", 1)
                    for i in range(sentences))
    return ("<!doctype html><html><head><title>council budget debate</title></head><body><article>"
            f"<h1>council budget debate</h1><p>{body}</p></article></body></html>")


def test_a_one_paragraph_page_of_lower_case_sentences_is_not_one_sentence(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "lower.html").write_text(_lower_case_page(300), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("run", str(src), "--out", str(out), "--stages", "clean,summarize")
    assert result.exit_code in (0, 3), result.output
    records = load_records(out)["lower"]
    text = records["clean"]["text"]
    assert len(text) > 20 * MAX_SENTENCE_CHARS
    summary = records["summary"]
    sentences = [s["text"] for s in summary["sentences"]]
    assert len(sentences) >= 250
    assert max(len(s) for s in sentences) <= MAX_SENTENCE_CHARS
    assert "".join(sentences).replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert len(summary["summary"]) < 1000
    validate(summary)


def test_over_long_sentences_are_cut_at_clauses_then_words_keeping_every_character():
    clauses = ", ".join(f"clause number {i} of a sentence that never ends" for i in range(40))
    words = " ".join(f"w{i}" for i in range(400))
    blob = "x" * (2 * MAX_SENTENCE_CHARS + 7)
    for paragraph in (clauses, words, blob, f"{clauses}. {words} {blob}"):
        pieces = split_sentences(paragraph, "en")
        assert len(pieces) > 1
        assert all(0 < len(p) <= MAX_SENTENCE_CHARS for p in pieces)
        assert "".join(pieces).replace(" ", "") == paragraph.replace(" ", "")
    assert all(p.endswith(",") for p in split_sentences(clauses, "en")[:-1])  # cut after a comma


def test_ordinary_sentences_are_split_as_before():
    paragraph = ("The plan costs 2.5 million euros, approx. twenty per resident. "
                 "It was approved on Monday. Critics called it \"a waste\".")
    assert split_sentences(paragraph, "en") == [
        "The plan costs 2.5 million euros, approx. twenty per resident.",
        "It was approved on Monday.", "Critics called it \"a waste\"."]


# ---------------------------------------------------------------- models.yaml

def _billion_laughs() -> str:
    lines = ['  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "laughs:\n" + "\n".join(lines) + "\ndetect:\n  seed: *a9\n"


def test_a_yaml_alias_bomb_is_refused_with_one_line(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(_billion_laughs(), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "alias" in message and "\n" not in message and len(message) < 300
    result = run_cli("run", str(ROOT / "samples" / "en-wire-story.txt"), "--out", str(tmp_path / "o"),
                     "--config", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_small_aliases_still_work(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("translate:\n  models:\n    it: &pair {model: ./it-en, generation: {num_beams: 4}}\n"
                    "    fr: *pair\n", encoding="utf-8")
    config = load_config(path)
    assert config.translate.models["fr"].generation == {"num_beams": 4}
    assert MAX_ALIAS_NODES >= 100


def test_norwegian_and_other_yaml_11_booleans_are_language_codes(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("translate:\n  models:\n    no: ./no-en\n    on: ./on-en\n  cache: false\n"
                    "summarize:\n  model: null\n", encoding="utf-8")
    config = load_config(path)
    assert set(config.translate.models) == {"no", "on"}
    assert config.translate.models["no"].model == str((tmp_path / "no-en").resolve())
    assert config.translate.cache is False
    path.write_text("translate:\n  cache: yes\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="translate.cache: expected bool"):
        load_config(path)


def test_config_errors_never_echo_a_whole_value(tmp_path):
    path = tmp_path / "models.yaml"
    cases = {
        "detect:\n  seed: [" + ", ".join(["long-value-" * 5] * 2000) + "]\n": "detect.seed: expected int",
        "detect:\n  seed: {" + ", ".join(f"k{i}: {'v' * 80}" for i in range(500)) + "}\n": "detect.seed: expected int",
        "translate:\n  models:\n    " + "q" * 900 + ": x\n": "not an ISO 639 language code",
        "detect:\n  " + "z" * 900 + ": 1\n": "unknown key",
        "device: " + json.dumps("cuda" * 500) + "\n": "device:",
    }
    for text, expected in cases.items():
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        message = str(caught.value)
        assert expected in message and "\n" not in message
        assert len(message) < len(str(path)) + 400, message[:300]
        for run in ("long-value-" * 7, "v" * 80, "q" * 100, "z" * 100, "cuda" * 20):
            assert run not in message


def test_values_for_language_codes_keep_their_check(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("translate:\n  models:\n    Italian: ./it-en\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="translate.models.Italian: not an ISO 639"):
        load_config(path)



# ---------------------------------------------------------------- legacy encodings

FRENCH = ("La mère du maire espère que la fête aura lieu à la salle des fêtes, comme prévu.\n\n"
          "Le conseil municipal a déjà voté le budget : il n'y aura pas de hausse des impôts cette année, "
          "a-t-il précisé après la séance. Où trouver l'argent ? Les élus de l'opposition ont répondu "
          "qu'ils s'abstiendraient, même si le projet leur paraît très coûteux.")
ITALIAN = ("Il sindaco ha detto che la città è pronta per la festa.\n\n"
           "Però la giunta non ha ancora deciso perché mancano più fondi di quanto previsto. Già lunedì "
           "si tornerà a discutere del bilancio, così ha annunciato l'assessore, e sarà un'opportunità "
           "per chiarire le responsabilità di ciascuno.")
RUSSIAN = ("Президент заявил, что правительство рассмотрит новый бюджет на следующей неделе.\n\n"
           "Москва готовится к выборам, а депутаты обсуждают закон о городском транспорте и новых линиях метро.")
POLISH = ("Rząd przyjął w środę projekt ustawy o zmianach w podatkach.\n\nMinister powiedział, że będzie to "
          "ważny krok dla gospodarki. Żadna z partii opozycyjnych nie poparła tego pomysłu, a posłowie "
          "zapowiedzieli, że złożą własny projekt.")


@pytest.mark.parametrize(("name", "text", "encoding"), [
    ("fr-latin1", FRENCH, "latin-1"), ("it-latin1", ITALIAN, "latin-1"), ("fr-cp1252", FRENCH + " L’œuvre.", "cp1252"),
    ("ru-koi8", RUSSIAN, "koi8-r"), ("ru-cp1251", RUSSIAN, "cp1251"), ("pl-iso2", POLISH, "iso-8859-2"),
    ("pl-cp1250", POLISH, "cp1250")])
def test_legacy_encodings_are_decoded_as_the_text_reads(tmp_path, name, text, encoding):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(text.encode(encoding))
    source = read_document(Document(name, path, "text"))
    assert source.text == text
    assert not source.doubts
    assert source.encoding_confidence > 0.25


def test_latin1_french_and_italian_records_say_the_encoding_and_are_ok(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "fr.txt").write_bytes(FRENCH.encode("latin-1"))
    (src / "it.txt").write_bytes(ITALIAN.encode("latin-1"))
    out = tmp_path / "out"
    result = run_cli("run", str(src), "--out", str(out), "--stages", "clean,detect")
    assert result.exit_code == 0, result.output
    records = load_records(out)
    for doc, text, language in (("fr", FRENCH, "fr"), ("it", ITALIAN, "it")):
        clean = records[doc]["clean"]
        assert clean["status"] == "ok"
        assert clean["source"]["encoding"] in ("cp1252", "iso8859-15")
        assert 0 < clean["source"]["encoding_confidence"] <= 1
        assert "mčre" not in clean["text"] and "č" not in clean["text"]
        assert text.split("\n\n")[1][:60] in clean["text"]
        assert records[doc]["detect"]["language"] == language
        validate(clean)


def test_a_doubtful_decoding_degrades_the_clean_record(tmp_path):
    # An article whose accented letters are bytes that no encoding makes words of.
    ascii_text = GOOD.encode("ascii", "ignore").decode("ascii")
    odd = [w[:2] + "\xa7\xb0" + w[2:] if len(w) > 4 and i % 3 == 0 else w
           for i, w in enumerate(ascii_text.split(" "))]
    path = tmp_path / "odd.txt"
    path.write_bytes(" ".join(odd).encode("latin-1"))
    source = read_document(Document("odd", path, "text"))
    assert source.doubts and "encoding uncertain" in source.doubts[0]
    out = tmp_path / "out"
    run_cli("run", str(path), "--out", str(out), "--stages", "clean")
    clean = load_records(out)["odd"]["clean"]
    assert clean["status"] == "degraded"
    assert any("encoding uncertain" in reason for reason in clean["report"]["degraded"])
    validate(clean)


def test_utf8_with_a_few_damaged_bytes_stays_utf8(tmp_path):
    data = GOOD.encode("utf-8")
    path = tmp_path / "damaged.txt"
    path.write_bytes(data[:1500] + b"\xff\xfe broken \xc3\x28 bytes" + data[1500:])
    source = read_document(Document("damaged", path, "text"))
    assert source.encoding == "utf-8" and not source.doubts
    assert "’" in source.text and "â€" not in source.text
