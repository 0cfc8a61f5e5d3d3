"""Item labels as SVG and PDF in the sizes labs print: the code in large type, type and name, a date, and a
QR code of the item's page URL (encoded by segno, drawn by reportlab or as SVG).

Sizes: 25 × 10 mm cryo-vial labels, 62 mm continuous tape (Brother QL, cut at 29 mm), and A4 sheets of
3 × 8 labels of 63.5 × 33.9 mm (the common L7159 layout: 7.25 mm side and 12.9 mm top margins, 2.5 mm gaps).
"""

import io
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

Layout = Literal["cryo", "tape62", "a4-3x8"]
LAYOUTS: tuple[str, ...] = ("cryo", "tape62", "a4-3x8")
FONT, BOLD = "Helvetica", "Helvetica-Bold"
PT = 25.4 / 72  # mm per typographic point


@dataclass(frozen=True)
class Label:
    code: str
    title: str  # type and name
    day: str  # ISO date
    url: str


@dataclass(frozen=True)
class Size:
    width: float  # mm
    height: float  # mm


SIZES: dict[str, Size] = {
    "cryo": Size(25, 10),
    "tape62": Size(62, 29),
    "a4-3x8": Size(63.5, 33.9),
}
# A4 sheet of 3 × 8: where the first label's top-left corner is and the pitch between labels, in mm.
SHEET_LEFT, SHEET_TOP, PITCH_X, PITCH_Y, COLUMNS, ROWS = 7.25, 12.9, 66.0, 33.9, 3, 8


def _qr(url: str) -> segno.QRCode:
    # Medium error correction: a smudged vial label still scans.
    return segno.make_qr(url, error="m")


@dataclass(frozen=True)
class _Box:
    """Where things go on one label, in mm from its top-left corner."""

    qr: float  # side of the QR square
    pad: float
    code_pt: float
    text_pt: float


def _box(size: Size) -> _Box:
    pad = 0.8 if size.height < 15 else 2.0
    side = size.height - 2 * pad
    return _Box(
        qr=side, pad=pad, code_pt=6.5 if size.height < 15 else 14, text_pt=4 if size.height < 15 else 7
    )


def _fit(text: str, font: str, points: float, width_mm: float) -> tuple[str, float]:
    """The largest size up to `points` at which `text` fits `width_mm` (down to 60 %), then cut with …."""
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        if stringWidth(text, font, points * scale) <= width_mm * mm:
            return text, points * scale
    small = points * 0.6
    while text and stringWidth(text + "…", font, small) > width_mm * mm:
        text = text[:-1]
    return text + "…", small


def _lines(label: Label, size: Size, box: _Box) -> list[tuple[str, str, float]]:
    """The text lines right of the QR code: (text, font, points)."""
    width = size.width - box.qr - 3 * box.pad
    code = _fit(label.code, BOLD, box.code_pt, width)
    lines = [(code[0], BOLD, code[1])]
    title = _fit(label.title, FONT, box.text_pt, width)
    lines.append((title[0], FONT, title[1]))
    lines.append((label.day, FONT, box.text_pt))
    return lines


def _draw(canvas: Canvas, label: Label, size: Size, left: float, top: float) -> None:
    """One label with its top-left corner at (left, top) mm from the page's top-left corner."""
    page_height = canvas._pagesize[1] / mm
    box = _box(size)
    qr = _qr(label.url)
    modules = qr.symbol_size(border=0)[0]
    cell = box.qr / modules
    x0, y_top = left + box.pad, page_height - top - box.pad
    canvas.setFillColorRGB(0, 0, 0)
    for row, values in enumerate(qr.matrix_iter(border=0)):
        for column, dark in enumerate(values):
            if dark:
                canvas.rect(
                    (x0 + column * cell) * mm, (y_top - (row + 1) * cell) * mm, cell * mm, cell * mm, 0, 1
                )
    text_x = left + box.qr + 2 * box.pad
    baseline = page_height - top - box.pad
    for text, font, points in _lines(label, size, box):
        baseline -= points * PT * 1.1
        canvas.setFont(font, points)
        canvas.drawString(text_x * mm, baseline * mm, text)
        baseline -= points * PT * 0.2


def pdf(labels: list[Label], layout: str) -> bytes:
    """A PDF of labels: one page per label on cryo and tape, 24 to an A4 sheet."""
    out = io.BytesIO()
    size = SIZES[layout]
    if layout == "a4-3x8":
        canvas = Canvas(out, pagesize=A4)
        for index, label in enumerate(labels):
            if index and index % (COLUMNS * ROWS) == 0:
                canvas.showPage()
            place = index % (COLUMNS * ROWS)
            row, column = divmod(place, COLUMNS)
            _draw(canvas, label, size, SHEET_LEFT + column * PITCH_X, SHEET_TOP + row * PITCH_Y)
    else:
        canvas = Canvas(out, pagesize=(size.width * mm, size.height * mm))
        for index, label in enumerate(labels):
            if index:
                canvas.showPage()
            _draw(canvas, label, size, 0, 0)
    canvas.setTitle("cellprov labels")
    canvas.save()
    return out.getvalue()


def svg(label: Label, layout: str) -> str:
    """One label as SVG, sized in mm, the QR code nested as segno draws it."""
    size = SIZES[layout]
    box = _box(size)
    buffer = io.BytesIO()
    _qr(label.url).save(buffer, kind="svg", xmldecl=False, border=0, omitsize=True, svgclass=None)
    qr = (
        buffer.getvalue()
        .decode()
        .replace("<svg ", f'<svg x="{box.pad}" y="{box.pad}" width="{box.qr}" height="{box.qr}" ', 1)
    )
    text_x = box.qr + 2 * box.pad
    y = box.pad
    texts = []
    for text, font, points in _lines(label, size, box):
        y += points * PT * 1.1
        weight = "bold" if font == BOLD else "normal"
        texts.append(
            f'<text x="{text_x:.2f}" y="{y:.2f}" font-family="Helvetica, Arial, sans-serif" '
            f'font-size="{points * PT:.2f}" font-weight="{weight}">{escape(text)}</text>'
        )
        y += points * PT * 0.2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size.width}mm" height="{size.height}mm" '
        f'viewBox="0 0 {size.width} {size.height}">'
        f'<title>{escape(label.code)}</title><rect width="100%" height="100%" fill="#fff"/>'
        f"{qr}{''.join(texts)}</svg>"
    )
