"""Exact and near copies: syndicated wire copy, re-posts with a footer, light rewrites."""

from __future__ import annotations

from pipeline.neardup import CopyCandidate, content_hash, copy_groups

WIRE = (
    "The regional transport authority said on Monday that it would buy forty electric buses from a Polish "
    "maker, replacing the diesel fleet on the northern routes by the end of next year. The contract, worth "
    "about 31 million euros, was signed after a tender that drew five bids. Drivers will be trained over the "
    "winter, and the first buses are due in March. The authority's chairman, Marta Keller, said the change "
    "would cut the fleet's emissions by a third and that fares would not rise because of it. Unions welcomed "
    "the decision but asked for more charging points at the depots, which the authority said it would add."
)
OTHER = (
    "A late frost destroyed much of the apricot blossom in the valley last week, growers said, and the "
    "harvest could be the smallest in twenty years. Some farms lost nine flowers in ten. The cooperative "
    "asked the regional government for emergency aid and for help with insurance premiums, which have "
    "doubled since the last bad year. Prices at the market are expected to climb in June."
)


def _rewrite(text: str) -> str:
    """A content farm's copy: a few words swapped, a footer added."""
    return (text.replace("said on Monday", "announced on Monday").replace("buy", "purchase")
            .replace("welcomed", "praised") + "\n\nThis article was rewritten from wire reports. Share it with friends!")


def test_copies_that_differ_in_spacing_case_and_punctuation_share_a_hash():
    assert content_hash(WIRE) == content_hash("  " + WIRE.upper().replace(",", " ,").replace(". ", ".\n\n"))
    assert content_hash(WIRE) != content_hash(OTHER)


def test_exact_copy_and_rewrite_are_grouped_the_unrelated_article_is_not():
    docs = [CopyCandidate("wire/a", WIRE), CopyCandidate("blog/b", WIRE.replace("  ", " ") + " "),
            CopyCandidate("farm/c", _rewrite(WIRE)), CopyCandidate("paper/d", OTHER)]
    [group] = copy_groups(docs, threshold=0.5)
    assert group.members == ["blog/b", "farm/c", "wire/a"]
    assert group.kind == "near"
    assert "paper/d" not in group.members
    assert group.similarity and all(0.5 <= s <= 1 for s in group.similarity.values())


def test_exact_copies_alone_form_an_exact_group():
    [group] = copy_groups([CopyCandidate("a", WIRE), CopyCandidate("b", WIRE.lower())])
    assert group.kind == "exact" and group.members == ["a", "b"]


def test_canonical_copy_is_the_earliest_when_all_have_dates_else_the_fullest():
    dated = [CopyCandidate("late", WIRE, date="2026-03-02"), CopyCandidate("early", _rewrite(WIRE), date="2026-03-01")]
    [group] = copy_groups(dated)
    assert (group.canonical, group.canonical_rule) == ("early", "earliest")
    undated = [CopyCandidate("short", WIRE), CopyCandidate("long", _rewrite(WIRE), date="2026-03-01")]
    [group] = copy_groups(undated)
    assert (group.canonical, group.canonical_rule) == ("long", "fullest")


def test_different_articles_on_the_same_topic_are_not_copies():
    follow_up = ("The regional transport authority has chosen a Polish maker for forty electric buses. Critics "
                 "in the council said the tender was rushed and that local firms were shut out; the opposition "
                 "will ask for the documents at Thursday's meeting, and a councillor, Jonas Weber, said the "
                 "depots lack the power supply for overnight charging.")
    assert copy_groups([CopyCandidate("a", WIRE), CopyCandidate("b", follow_up)]) == []


def test_signatures_estimate_the_jaccard_of_word_shingles():
    from pipeline.neardup import estimated_jaccard, normalise, signature

    words = normalise(WIRE + " " + OTHER).split()
    for keep in (0.9, 0.6, 0.3):
        cut = int(len(words) * keep)
        a, b = " ".join(words[:cut]), " ".join(words[len(words) - cut:])
        sa = {tuple(words[i:i + 3]) for i in range(cut - 2)}
        sb = {tuple(words[len(words) - cut + i:len(words) - cut + i + 3]) for i in range(cut - 2)}
        true = len(sa & sb) / len(sa | sb)
        estimate = estimated_jaccard(signature(a, 3, 512), signature(b, 3, 512))
        assert abs(estimate - true) < 0.08, (keep, true, estimate)
    assert estimated_jaccard(signature(WIRE), signature(OTHER)) < 0.05
    assert estimated_jaccard(signature(WIRE), signature(WIRE.upper())) == 1.0


def test_signatures_are_what_datasketch_computes_for_the_same_shingle_hashes():
    from datasketch import MinHash

    from pipeline.neardup import _permutations, normalise, shingle_hashes, signature

    for text in (WIRE, OTHER, "one two", ""):
        words = normalise(text).split()
        reference = MinHash(num_perm=128, seed=1, scheme="affine32", permutations=_permutations(128),
                            hashfunc=lambda value: value)
        reference.update_batch(shingle_hashes(words, 3).tolist())
        assert (signature(text, 3, 128) == reference.hashvalues).all()


def test_word_hashes_are_the_crc32_of_each_word_however_full_the_table_of_known_words(monkeypatch):
    import zlib

    from pipeline import neardup

    monkeypatch.setattr(neardup, "_WORD_HASHES", {})
    monkeypatch.setattr(neardup, "WORD_HASHES_KEPT", 30)  # less than one text's words: emptied on the way
    for text in (WIRE, OTHER, WIRE, "città Città naïve"):
        words = neardup.normalise(text).split()
        assert neardup._word_hashes(words).tolist() == [zlib.crc32(w.encode("utf-8")) for w in words]
    assert len(neardup._WORD_HASHES) <= max(30, len(set(neardup.normalise(WIRE).split())))
