"""Rich text sanitised with nh3; images checked by their content, size-limited and re-encoded without metadata."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from preau.news.content import check_image, plain_text, sanitise_html

from .conftest import image_bytes


def test_sanitise_keeps_the_small_safe_tag_set():
    html = sanitise_html('<h2>Titre</h2><p>Un <strong>mot</strong> et <em>un lien</em> '
                         '<a href="https://example.org/a" onclick="x()">ici</a></p><ul><li>un</li></ul>')
    assert "<h2>Titre</h2>" in html and "<strong>mot</strong>" in html and "<li>un</li>" in html
    assert 'href="https://example.org/a"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "onclick" not in html


@pytest.mark.parametrize("dangerous", [
    '<script>alert(1)</script>', '<img src=x onerror="alert(1)">', '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>', '<p style="position:fixed">x</p>', '<svg onload=alert(1)>',
    '<form action="/"><input name="password"></form>', '<!-- <script>alert(1)</script> -->',
])
def test_sanitise_removes_scripts_handlers_and_foreign_elements(dangerous):
    html = sanitise_html(f"<p>ok</p>{dangerous}")
    for marker in ("<script", "onerror", "javascript:", "<iframe", "style=", "<svg", "onload", "<form", "<input",
                   "<img", "<!--"):
        assert marker not in html.lower()
    assert "<p>ok</p>" in html


def test_sanitise_plain_text_becomes_escaped_paragraphs():
    html = sanitise_html("Bonjour,\n\nSortie le 3 mai.\nPrévoir 5 € & un pique-nique.")
    assert html.startswith("<p>Bonjour,</p>")
    assert "<br>" in html and "&amp;" in html


def test_sanitise_limits_length():
    with pytest.raises(ValidationError):
        sanitise_html("a" * 50_001)


def test_plain_text_for_notifications():
    assert plain_text("<p>Un &amp; deux</p><p>trois</p>") == "Un & deux trois"
    assert plain_text("<p>" + "mot " * 200 + "</p>", 20).endswith("…")


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                              ("WEBP", "image/webp"), ("GIF", "image/gif")])
def test_image_formats_accepted_by_content(fmt, content_type):
    # The name and the claimed type are lies: only the content counts.
    upload = SimpleUploadedFile("photo.txt", image_bytes(fmt), content_type="text/plain")
    checked = check_image(upload)
    assert checked.content_type == content_type and (checked.width, checked.height) == (8, 6)
    assert Image.open(io.BytesIO(checked.data)).format == fmt


@pytest.mark.parametrize("data", [
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"%PDF-1.4\n1 0 obj\n", b"GIF89a" + b"\x00" * 20, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    b"<html><script>alert(1)</script></html>",
])
def test_image_refuses_what_is_not_a_valid_image(data):
    with pytest.raises(ValidationError) as excinfo:
        check_image(SimpleUploadedFile("image.png", data, content_type="image/png"))
    assert "n'est pas une image" in excinfo.value.messages[0]


def test_image_refuses_other_image_formats():
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="BMP")
    with pytest.raises(ValidationError):
        check_image(SimpleUploadedFile("image.bmp", out.getvalue()))


def test_image_size_limit(settings):
    settings.PREAU_NEWS_IMAGE_MAX_BYTES = 1000
    noisy = Image.frombytes("RGB", (300, 300), bytes((i * 7919) % 251 for i in range(300 * 300 * 3)))
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    with pytest.raises(ValidationError) as excinfo:
        check_image(SimpleUploadedFile("big.png", out.getvalue()))
    assert "taille maximale" in excinfo.value.messages[0]
    with pytest.raises(ValidationError):
        check_image(SimpleUploadedFile("empty.png", b""))


def test_image_metadata_removed_and_trailing_bytes_dropped():
    exif = Image.Exif()
    exif[0x010F] = "Téléphone de Léa"  # Make
    exif[0x8825] = {1: "N", 2: (45.0, 45.0, 0.0)}  # GPS
    data = image_bytes("JPEG", exif=exif.tobytes()) + b"<script>alert(1)</script>"
    checked = check_image(SimpleUploadedFile("photo.jpg", data))
    assert not Image.open(io.BytesIO(checked.data)).getexif()
    assert b"<script>" not in checked.data
