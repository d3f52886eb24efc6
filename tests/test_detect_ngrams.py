"""lingua's confidence values computed from its models kept as arrays (pipeline.stages.detect.ngrams)
must be lingua's own, on every kind of text the rules treat differently."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("lingua")
pytest.importorskip("brotli")

from lingua import Language, LanguageDetectorBuilder  # noqa: E402

from pipeline.stages.detect import langid  # noqa: E402
from pipeline.stages.detect.ngrams import ModelStore, ModelsUnavailable, Scorer, fast_path, words_of  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

LANGUAGES = ["ENGLISH", "FRENCH", "GERMAN", "ITALIAN", "SPANISH", "PORTUGUESE", "RUSSIAN", "UKRAINIAN",
             "GREEK", "POLISH", "ROMANIAN"]

TEXTS = [
    "short text here",
    "ok",
    "Le gouvernement a présenté mardi son projet de loi.",
    "Der Bundestag hat am Donnerstag das Gesetz beschlossen.",
    "Straße",  # ß: a character only German writes
    "Il sindaco ha annunciato nuove misure per il traffico in città.",
    "El Gobierno aprobó ayer la reforma, según fuentes oficiales.",
    "A população de São Paulo cresceu.",  # ã: Portuguese or Vietnamese
    "Rząd przyjął w środę projekt ustawy o ochronie środowiska.",  # ą ę ż ś
    "Guvernul a adoptat țara și școala.",
    "Ο πρωθυπουργός μίλησε στη Βουλή.",  # Greek: one language's alphabet
    "Уряд схвалив законопроект у четвер.",  # Ukrainian letters
    "Правительство одобрило законопроект в четверг.",
    "The European Commission said on Tuesday that it would propose new rules for digital markets "
    "in the coming weeks, according to three officials familiar with the plans, who asked not to be named.",
    "Apple, Google e Microsoft",  # names only
    "2025 — 10:30 | 14,3 %",  # no letters
    "Paris Москва Roma",  # two alphabets, one word each
    "Ceci est une phrase française with some English words mixed in it",
    "İstanbul'da hava güzel",  # İ lower-cases to two characters
    "ΣΟΦΟΣ ΟΔΥΣΣΕΥΣ",  # final sigma when lower-cased
    "é́ combining marks e\u0301te\u0301",
    "co-operation, e-mail: news@example.com #breaking 🚀",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ModelStore:
    return ModelStore(tmp_path_factory.mktemp("lingua-cache"))


def lingua_values(text: str, names: list[str]) -> dict[str, float]:
    detector = LanguageDetectorBuilder.from_languages(*(Language.from_str(n) for n in names)).build()
    return {v.language.name: v.value for v in detector.compute_language_confidence_values(text)}


def assert_same(ours: list[tuple[str, float]], theirs: dict[str, float]) -> None:
    assert set(dict(ours)) == set(theirs)
    for name, value in ours:
        assert value == pytest.approx(theirs[name], rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("text", TEXTS)
def test_equals_lingua_on_kinds_of_text(store, text):
    assert fast_path(text)
    assert_same(Scorer(store).confidence_values(text, LANGUAGES), lingua_values(text, LANGUAGES))


def test_equals_lingua_on_small_candidate_sets(store):
    # The ensemble asks about a handful of languages, sometimes without the right one.
    texts = ["Der Hund schläft.", "Questo è un articolo molto interessante", "Собака спит на диване"]
    for names in (["ENGLISH", "FRENCH"], ["ITALIAN", "SPANISH", "PORTUGUESE"], ["RUSSIAN", "UKRAINIAN"],
                  ["ENGLISH", "GERMAN", "GREEK"]):
        for text in texts:
            assert_same(Scorer(store).confidence_values(text, names), lingua_values(text, names))


def test_equals_lingua_on_sample_paragraphs(store):
    names = ["ENGLISH", "FRENCH", "GERMAN", "ITALIAN", "SPANISH"]
    paragraphs = [p.strip() for path in sorted(SAMPLES.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n") if p.strip()]
    checked = 0
    for paragraph in paragraphs[:200]:
        if fast_path(paragraph):
            assert_same(Scorer(store).confidence_values(paragraph, names), lingua_values(paragraph, names))
            checked += 1
    assert checked > 50


def test_other_scripts_go_to_lingua(store, tmp_path):
    for text in ("東京で会議が開かれた", "सरकार ने कहा", "الحكومة قالت", "รัฐบาลกล่าว", "정부는 말했다"):
        assert not fast_path(text)
    backend = langid.LinguaBackend(cache_dir=str(tmp_path / "cache"))
    text = "東京で会議が開かれた"
    direct = lingua_values(text, ["CHINESE", "JAPANESE", "KOREAN"])
    ours = dict(backend.scores(text, ["zh", "ja", "ko"]))
    assert ours == pytest.approx(dict(langid._merge([(Language.from_str(n).iso_code_639_1.name, v)
                                                     for n, v in direct.items() if v > 0])))
    assert not (tmp_path / "cache").exists()  # lingua itself answered


def test_words_are_runs_of_letters():
    assert words_of("  L'État, c'est moi! 3G e-mail ") == ["l", "état", "c", "est", "moi", "g", "e", "mail"]


def test_models_are_read_back_from_the_cache(tmp_path):
    first = ModelStore(tmp_path)
    text = "Le gouvernement a présenté son projet"
    names = ["FRENCH", "ENGLISH"]
    expected = Scorer(first).confidence_values(text, names)
    saved = sorted(p.name for p in first.folder.iterdir())
    assert saved == [f"{lang}-{n}.npy" for lang in names[::-1] for n in range(1, 6)] + ["index.json"]
    second = ModelStore(tmp_path)

    def no_rebuild(*args):
        raise AssertionError("rebuilt instead of read from the cache")

    second._build = no_rebuild
    second.model_index = no_rebuild
    assert Scorer(second).confidence_values(text, names) == expected


def test_damaged_cache_files_are_rebuilt(tmp_path):
    text = "Der Bundestag hat das Gesetz beschlossen"
    names = ["GERMAN", "ENGLISH"]
    expected = lingua_values(text, names)
    store = ModelStore(tmp_path)
    Scorer(store).confidence_values(text, names)
    (store.folder / "GERMAN-2.npy").write_bytes(b"not an array")
    (store.folder / "index.json").write_text("{broken", encoding="utf-8")
    assert_same(Scorer(ModelStore(tmp_path)).confidence_values(text, names), expected)


def test_unwritable_cache_keeps_models_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    text = "Il governo ha approvato la legge"
    names = ["ITALIAN", "SPANISH"]
    assert_same(Scorer(ModelStore(blocker)).confidence_values(text, names), lingua_values(text, names))


def test_a_module_without_models_falls_back_to_lingua(tmp_path, monkeypatch):
    fake = tmp_path / "lingua.so"
    fake.write_bytes(b"\x7fELF" + b"\0" * 200)
    with pytest.raises(ModelsUnavailable):
        ModelStore(tmp_path / "cache", module=fake).model("ENGLISH", 1)
    monkeypatch.setattr(langid, "_scorers", {})
    monkeypatch.setattr("pipeline.stages.detect.ngrams._module_path", lambda: fake)
    backend = langid.LinguaBackend(cache_dir=str(tmp_path / "cache"))
    text = "The government approved the law on Tuesday"
    ours = dict(backend.scores(text, ["en", "fr", "de"]))
    direct = lingua_values(text, ["ENGLISH", "FRENCH", "GERMAN"])
    assert ours == pytest.approx(dict(langid._merge([(Language.from_str(n).iso_code_639_1.name, v)
                                                     for n, v in direct.items() if v > 0])))
    assert langid._scorers[str(tmp_path / "cache")] is None  # lingua itself from now on


def test_another_lingua_version_is_asked_itself(tmp_path, monkeypatch):
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "2.2.0" if name == "lingua-language-detector" else real(name))
    with pytest.raises(ModelsUnavailable):
        ModelStore(tmp_path)
    monkeypatch.setattr(langid, "_scorers", {})
    backend = langid.LinguaBackend(cache_dir=str(tmp_path / "cache"))
    assert backend.scores("Il governo ha approvato la legge", ["it", "es"])[0][0] == "it"
    assert langid._scorers[str(tmp_path / "cache")] is None
    assert not (tmp_path / "cache").exists()


def test_numerals_are_not_letters():
    assert words_of("10 km² in ½ Stunde, Ⅻ Kapitel") == ["km", "in", "stunde", "kapitel"]


def test_a_long_night_hands_over_to_lingua(tmp_path, monkeypatch):
    monkeypatch.setattr(langid.LinguaBackend, "HANDOVER", 2)
    monkeypatch.setattr(langid, "_scorers", {})
    backend = langid.LinguaBackend(cache_dir=str(tmp_path / "cache"))
    first = dict(backend.scores("Il governo ha approvato la legge", ["it", "es", "pt"]))
    backend.scores("El gobierno aprobó la ley", ["it", "es", "pt"])
    assert any((tmp_path / "cache").rglob("ITALIAN-5.npy"))  # answered from the arrays

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError("the arrays were asked after the handover")

    langid._scorers[str(tmp_path / "cache")] = Untouchable()
    third = dict(backend.scores("Il governo ha approvato la legge", ["it", "es", "pt"]))
    assert third == pytest.approx(first, rel=1e-9)  # lingua itself, the same values


def test_an_index_that_does_not_fit_the_module_is_read_again(tmp_path):
    text = "Le gouvernement a présenté son projet"
    names = ["FRENCH", "ENGLISH"]
    store = ModelStore(tmp_path)
    store.index()
    (store.folder / "index.json").write_text('{"FRENCH": {"1": [99999999999, 10]}}', encoding="utf-8")
    assert_same(Scorer(ModelStore(tmp_path)).confidence_values(text, names), lingua_values(text, names))
