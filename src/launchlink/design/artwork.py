"""Artwork we store ourselves: validated, squared, resized, and its colour taken.

Uploads are decoded with Pillow under a pixel budget (a decompression bomb is refused,
not decoded), re-encoded as a progressive JPEG (whatever metadata or payload the upload
carried is dropped) and named by the hash of the result, so a stored file never changes
and can be cached for a year.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from launchlink.errors import ValidationFailed

if TYPE_CHECKING:
    from PIL import Image

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 300
STORED_SIDE = 1200
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
ARTWORK_FIELD = "artwork"
STORED_MEDIA_TYPE = "image/jpeg"
"""What every stored artwork is re-encoded as (and served as: design/media.py)."""


@dataclass(frozen=True, slots=True)
class ProcessedArtwork:
    key: str
    """File name: the content hash and the extension."""
    data: bytes
    accent: str
    side: int


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field=ARTWORK_FIELD)


def process_artwork(upload: bytes) -> ProcessedArtwork:
    """The stored form of an uploaded cover, or a field error saying what is wrong."""
    # Imported on use: only this path needs Pillow, not every process that imports the app.
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not upload:
        raise _refuse("choose an image file to upload")
    if len(upload) > MAX_UPLOAD_BYTES:
        raise _refuse("the image is larger than 10 MB; export it smaller")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload))
            if image.format not in ACCEPTED_FORMATS:
                raise _refuse("upload a JPEG, PNG or WebP image")
            if image.width * image.height > MAX_PIXELS:
                raise _refuse("the image has too many pixels; 3000 × 3000 is plenty")
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning,
            Image.DecompressionBombError):  # fmt: skip
        raise _refuse("this file is not an image we can read; upload a JPEG, PNG or WebP") from None
    if min(image.width, image.height) < MIN_SIDE:
        raise _refuse(f"the image is too small; at least {MIN_SIDE} × {MIN_SIDE} pixels")
    upright = ImageOps.exif_transpose(image).convert("RGB")
    side = min(upright.width, upright.height, STORED_SIDE)
    square = ImageOps.fit(upright, (side, side), method=Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    square.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
    data = buffer.getvalue()
    key = hashlib.sha256(data).hexdigest()[:32] + ".jpg"
    return ProcessedArtwork(key=key, data=data, accent=dominant_color(square), side=side)


def dominant_color(image: Image.Image) -> str:
    """The artwork's most telling colour: frequent and vivid beats frequent and grey."""
    from PIL import Image

    small = image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)
    palette = small.quantize(colors=6, method=Image.Quantize.MEDIANCUT)
    counts: list[tuple[int, int]] = [
        (count, index)
        for count, index in palette.getcolors() or []
        if isinstance(index, int)  # a palette image's colours are palette indexes
    ]
    counts.sort(reverse=True)
    colours = palette.getpalette() or []
    best, best_score = (109, 40, 217), -1.0
    for count, index in counts:
        red, green, blue = colours[index * 3 : index * 3 + 3]
        _hue, lightness, saturation = colorsys.rgb_to_hls(red / 255, green / 255, blue / 255)
        # Near-black and near-white say little about a cover; saturated colours say most.
        vivid = saturation * (1 - abs(lightness - 0.5) * 1.6)
        score = count * (0.15 + max(vivid, 0.0))
        if score > best_score:
            best, best_score = (red, green, blue), score
    return "#{:02X}{:02X}{:02X}".format(*best)


class ArtworkStore:
    """Stored artwork files under one directory, named by their content."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, artwork: ProcessedArtwork) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / artwork.key
        if not path.exists():
            temporary = path.with_suffix(".part")
            temporary.write_bytes(artwork.data)
            temporary.replace(path)

    def path(self, key: str) -> Path | None:
        """The file of a stored key; None for anything that is not one of our names."""
        stem, dot, suffix = key.partition(".")
        if dot != "." or suffix != "jpg" or len(stem) != 32 or not _is_hex(stem):
            return None
        path = self.directory / key
        return path if path.is_file() else None

    def read(self, key: str) -> bytes | None:
        path = self.path(key)
        return path.read_bytes() if path is not None else None


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


# "_media" can never be a slug (slugs start with a letter or digit): no link is shadowed.
MEDIA_PREFIX = "/_media/artwork/"


def artwork_url(key: str) -> str:
    return MEDIA_PREFIX + key
