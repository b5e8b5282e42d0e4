"""What authors submit, made safe: rich text through nh3, images checked by content and re-encoded."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from preau.core import richtext

MAX_BODY_CHARS = 50_000


def sanitise_html(text: str) -> str:
    """Sanitised HTML for a news item or a note (core.richtext: plain text becomes escaped paragraphs)."""
    if len((text or "").strip()) > MAX_BODY_CHARS:
        raise ValidationError(_("Le texte ne doit pas dépasser %(n)s caractères.") % {"n": MAX_BODY_CHARS})
    return richtext.clean(text)


def plain_text(html: str, limit: int = 300) -> str:
    """The text of sanitised HTML, for notifications and summaries."""
    return richtext.summary(html, limit)


# --- Images ---------------------------------------------------------------------------------------------------

# Pillow format → (content type, file extension).
IMAGE_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp"),
                 "GIF": ("image/gif", "gif")}
MAX_PIXELS = 40_000_000


@dataclass
class CheckedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def check_image(upload) -> CheckedImage:
    """Read an uploaded file, check it is a PNG, JPEG, WebP or GIF image by its content (not by its name or the
    browser's claimed type), within PREAU_NEWS_IMAGE_MAX_BYTES and MAX_PIXELS, and re-encode it: the stored file is
    what Pillow wrote, without the original's metadata (EXIF, GPS position) or trailing bytes."""
    limit = settings.PREAU_NEWS_IMAGE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(_("L'image dépasse la taille maximale (%(mb)s Mo).") % {"mb": _megabytes(limit)})
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ValidationError(_("L'image dépasse la taille maximale (%(mb)s Mo).") % {"mb": _megabytes(limit)})
    if not raw:
        raise ValidationError(_("Le fichier est vide."))
    refused = ValidationError(_("Ce fichier n'est pas une image PNG, JPEG, WebP ou GIF valide."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                fmt = probe.format
                if fmt not in IMAGE_FORMATS:
                    raise refused
                if probe.width * probe.height > MAX_PIXELS:
                    raise ValidationError(_("L'image est trop grande (plus de 40 millions de pixels)."))
                probe.verify()
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                animated = bool(getattr(image, "is_animated", False))
                out = io.BytesIO()
                if fmt == "JPEG":
                    image = ImageOps.exif_transpose(image)
                    if image.mode not in ("RGB", "L", "CMYK"):
                        image = image.convert("RGB")
                    image.save(out, format="JPEG", quality=88, optimize=True)
                elif animated:
                    image.save(out, format=fmt, save_all=True)
                else:
                    image.save(out, format=fmt)
                width, height = image.size
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            SyntaxError, ValueError, EOFError):
        raise refused from None
    content_type, extension = IMAGE_FORMATS[fmt]
    return CheckedImage(data=out.getvalue(), content_type=content_type, extension=extension, width=width,
                        height=height)


def _megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 else f"{value:.1f}".replace(".", ",")
