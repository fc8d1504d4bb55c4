"""Pictures for the shop's categories, drawn as small SVG documents from the category's slug
alone: the same slug always gives the same picture (so it can be cached for good), different
slugs get different colours and shapes."""

from __future__ import annotations

import hashlib
import re

__all__ = ["SLUG", "category_art"]

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

# background, shape pairs with enough contrast to read as a picture, soft enough to sit behind
# text-free product cards
_PALETTES = (("#e8f1ef", "#0b5f5a", "#f0a500"), ("#f6ece3", "#9a4a1c", "#2f6f8f"),
             ("#eceaf6", "#4b3f8f", "#d95f43"), ("#eef4e4", "#3d6b1f", "#c2410c"),
             ("#f4e9ee", "#8f2f57", "#1f6f8f"), ("#e6eef6", "#1f4f8f", "#b7791f"),
             ("#f3f0e2", "#6b5a12", "#3f6f5f"), ("#e9eef0", "#33505f", "#b83280"))


def _digits(slug: str) -> bytes:
    return hashlib.sha256(slug.encode()).digest()


def category_art(slug: str) -> str:
    """An SVG picture (320 by 200) for the category ``slug`` (``ValueError`` for a malformed
    slug: its text never reaches the document)."""
    if not SLUG.match(slug):
        raise ValueError("not a category slug")
    d = _digits(slug)
    paper, ink, spark = _PALETTES[d[0] % len(_PALETTES)]
    shapes: list[str] = []
    for i in range(5):  # a few soft circles and one bold one
        cx, cy, r = 20 + d[1 + i] * 280 // 255, 20 + d[6 + i] * 160 // 255, 18 + d[11 + i] % 40
        colour = ink if i % 2 else spark
        opacity = 0.9 if i == 0 else 0.35
        shapes.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}" '
                      f'fill-opacity="{opacity}"/>')
    wave = d[16] % 40 + 120
    shapes.append(f'<path d="M0 {wave} Q80 {wave - 40} 160 {wave} T320 {wave} V200 H0 Z" '
                  f'fill="{ink}" fill-opacity="0.85"/>')
    for i in range(3):  # a row of little diamonds along the wave
        x = 40 + i * 100 + d[17 + i] % 40
        y = wave - 6 - d[20 + i] % 20
        shapes.append(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{paper}" '
                      f'transform="rotate(45 {x + 7} {y + 7})"/>')
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 200" width="320" '
            f'height="200"><rect width="320" height="200" fill="{paper}"/>'
            + "".join(shapes) + "</svg>")
