"""PDF with the report text, each sentence's status and evidence, and the key images (fpdf2; its
core fonts are Latin-1, so anything else is transliterated rather than dropped)."""
from __future__ import annotations

import io
from pathlib import Path

from app.report.keyimages import KeyImage
from app.report.model import Report

from .markdown import describe

_STATUS_COLOUR = {"supported": (20, 110, 40), "unsupported": (190, 20, 20), "unverifiable": (150, 100, 0)}


def _latin1(text: str) -> str:
    text = text.replace("−", "-").replace("–", "-").replace("—", "-").replace("’", "'").replace("²", "2")
    return text.encode("latin-1", "replace").decode("latin-1")


def write_pdf(rep: Report, path: str | Path, images: list[KeyImage] | None = None) -> Path:
    from fpdf import FPDF
    from PIL import Image

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, _latin1(f"Report: {rep.case}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    signed = (f"Signed by {rep.meta['signed_by']} at {rep.meta.get('signed_at', '?')}"
              if rep.meta.get("signed_by") else "Draft for human review: not signed")
    pdf.multi_cell(0, 5, _latin1(signed), new_x="LMARGIN", new_y="NEXT")
    for sec in rep.sections:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, _latin1(sec.title), new_x="LMARGIN", new_y="NEXT")
        for s in sec.sentences:
            pdf.set_font("Helvetica", "", 10)
            pdf.set_text_color(*_STATUS_COLOUR.get(s.status, (0, 0, 0)))
            pdf.multi_cell(0, 5, _latin1(f"{s.id} [{s.status}]  {s.text}"), new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(90, 90, 90)
            pdf.set_font("Helvetica", "", 7)
            for e in s.evidence:
                pdf.multi_cell(0, 3.5, _latin1("    " + describe(e)), new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
    for im in images or []:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(0, 6, _latin1(im.caption), new_x="LMARGIN", new_y="NEXT")
        buf = io.BytesIO()
        Image.fromarray(im.rgb).save(buf, format="PNG")
        h, w = im.rgb.shape[:2]
        width = min(180.0, 180.0 * w / max(h, w) * 1.2)
        pdf.image(buf, w=width)
    path = Path(path)
    pdf.output(str(path))
    return path
