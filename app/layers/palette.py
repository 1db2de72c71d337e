"""Overlay colours picked against the image and safe for colour-blind readers: the Okabe-Ito
palette (Okabe & Ito 2008, "Color Universal Design"), which stays distinguishable under protan,
deutan and tritan vision. Label 1 is sky blue: far from the red of vessels and tissue in fundus and
endoscopy pictures and from every grey of CT / MR / X-ray / ultrasound (a red mask over red vessels
was hard to see)."""
from __future__ import annotations

OKABE_ITO = {
    "black": (0.0, 0.0, 0.0),
    "orange": (230 / 255, 159 / 255, 0.0),
    "sky_blue": (86 / 255, 180 / 255, 233 / 255),
    "bluish_green": (0.0, 158 / 255, 115 / 255),
    "yellow": (240 / 255, 228 / 255, 66 / 255),
    "blue": (0.0, 114 / 255, 178 / 255),
    "vermillion": (213 / 255, 94 / 255, 0.0),
    "reddish_purple": (204 / 255, 121 / 255, 167 / 255),
}
# label value -> colour: first the four that keep their colour (chroma) for protan and deutan readers too
LABEL_ORDER = ("sky_blue", "orange", "yellow", "blue", "vermillion", "bluish_green", "reddish_purple")
LABEL_COLORS: dict[int, tuple[float, float, float]] = {i + 1: OKABE_ITO[n] for i, n in enumerate(LABEL_ORDER)}
LABEL_COLORS[8] = (0.6, 0.6, 0.6)
MASK = OKABE_ITO["sky_blue"]          # a backend's foreground mask
CENTERLINE = OKABE_ITO["yellow"]      # skeletons / graphs: thin lines, on red vessels and on a blue mask
SECOND = OKABE_ITO["orange"]          # a second structure (ultrasound: fetal head beside the symphysis)
