"""The teacher-labelled page builder (bench/clean_teacher.py): how it reads pages, their tests'
expectations and their sites. No network, no mirrors: pages written here in the sources' shapes."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import clean_teacher  # noqa: E402
from clean_corpus import split_of  # noqa: E402


def test_a_page_in_a_legacy_charset_is_read_with_the_charset_its_meta_names():
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head>' \
           "<body><p>市の図書館は五月から開館する。</p></body></html>"
    assert "市の図書館は五月から開館する。" in clean_teacher.decode_page(html.encode("shift_jis"))


def test_a_utf8_page_is_read_as_utf8():
    assert clean_teacher.decode_page("Größe – „Zitat“".encode()) == "Größe – „Zitat“"


def test_junit_tests_give_each_page_file_its_url_and_expected_start():
    test = '''
    @Test
    public void testFaz() throws Exception {
        // http://www.faz.net/aktuell/wirtschaft/artikel.html
        JResult res = extractor.extractContent(c.streamToString(getClass().getResourceAsStream("faz.html")));
        assertTrue(res.getText(), res.getText().startsWith("Im Streit um die \\"Rente\\" zeichnet sich"));
    }

    @Test
    public void testNoStart() throws Exception {
        JResult res = extractor.extractContent(readFileAsString("test_data/7.html"));
        assertEquals("Title", res.getTitle());
    }
    '''
    found = clean_teacher.junit_expectations([test])
    assert found["faz.html"] == ("http://www.faz.net/aktuell/wirtschaft/artikel.html",
                                 ["Im", "Streit", "um", "die", '"Rente"', "zeichnet", "sich"])
    assert found["7.html"] == ("", [])


def test_mercury_tests_pair_fixtures_with_their_first_words():
    test = """
      url = 'https://www.lemonde.fr/economie/article/2019/05/07/x.html';
      const html = fs.readFileSync('./fixtures/www.lemonde.fr.html');
      const first13 = excerptContent($('*').first().text(), 13);
      assert.equal(
        first13,
        'Les dirigeants européens qui doivent se réunir, jeudi 9 mai'
      );
    """
    found = clean_teacher.mercury_expectations([test])
    url, first = found["fixtures/www.lemonde.fr.html"]
    assert url.startswith("https://www.lemonde.fr/")
    assert first[:3] == ["Les", "dirigeants", "européens"]


def test_the_expected_start_must_be_half_found_in_the_teacher_text():
    expected = "(Photo: Agency) Houston has promoted offensive coordinator Major Applewhite".split()
    assert clean_teacher.starts_like("Houston has promoted offensive coordinator Major Applewhite to coach.", expected)
    assert not clean_teacher.starts_like("Notes - someone reblogged this - someone liked this", expected)
    assert clean_teacher.starts_like("anything", [])


def test_a_page_is_on_the_same_side_as_the_gold_pages_of_its_site():
    html = '<html><head><meta property="og:url" content="https://www.nytimes.com/2016/x.html"></head></html>'
    site = clean_teacher.site_of(html, "", "fixtures/www.nytimes.com--feature.html")
    assert site == "nytimes"
    assert split_of(site) == split_of(clean_teacher.site_of("<html></html>", "", "tests/nytimes/3.html", True))


def test_a_site_named_by_digits_keeps_its_name():
    assert clean_teacher.site_of("<html></html>", "", "fixtures/www.163.com/1660814937204.html") == "163"
    assert clean_teacher.site_of("<html></html>", "", "tests/163/1.html", True) == "163"


def test_the_same_article_twice_is_a_near_copy_and_another_article_is_not():
    article = "The council voted on Tuesday to open the library at night. The mayor welcomed the decision."
    assert clean_teacher.near_copy(article + " Share this.", [article])
    assert not clean_teacher.near_copy("A storm closed the port for two days; ferries stayed in harbour.", [article])


def test_a_file_named_by_its_url_belongs_to_that_site():
    path = "tests/fixtures/content/https___www.lemonde.fr_actualite-medias_article_2015_04_12_x.html"
    assert clean_teacher.site_of("<html></html>", "", path) == "lemonde"


def test_table_markup_leaves_the_teacher_paragraphs():
    text = "Charles Darwin\n| Born | 12 February 1809 |\n|---|---|\n| Died | 1882 |\n- a list item stays"
    assert clean_teacher.plain_lines(text) == ["Charles Darwin", "Born 12 February 1809", "Died 1882",
                                               "- a list item stays"]
