"""core.richtext: the one sanitiser of what people write."""

from preau.core import richtext


def test_plain_text_becomes_escaped_paragraphs_and_html_is_cleaned():
    assert richtext.clean("Ligne 1\nLigne 2\n\nFin <3 & co") == "<p>Ligne 1<br>Ligne 2</p><p>Fin &lt;3 &amp; co</p>"
    safe = richtext.clean('<h2>T</h2><p onclick="x()">a <a href="javascript:x()">b</a> <a href="https://e.org">c</a>'
                          '</p><script>x()</script><!-- y -->')
    assert safe == ('<h2>T</h2><p>a <a rel="noopener noreferrer nofollow">b</a> '
                    '<a href="https://e.org" rel="noopener noreferrer nofollow">c</a></p>')


def test_text_and_summary():
    safe = richtext.clean("<p>Un &amp; deux</p><ul><li>trois</li><li>quatre</li></ul>")
    assert richtext.to_text(safe) == "Un & deux\n\ntrois\nquatre"
    assert richtext.summary(safe) == "Un & deux trois quatre"
    assert richtext.summary("<p>" + "mot " * 50 + "</p>", 20).endswith("…")
