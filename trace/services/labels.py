"""Issuing label runs, signing each serial, and rendering labels as PNG and as a printable PDF sheet."""
import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Optional

import zxingcpp
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session, func, select

from ..models import LabelRun, Lot, Organization, Product, SigningKey
from . import keys as keys_service
from . import safety
from .errors import ValidationError
from .gs1 import element_string, label_url
from .lots import best_before

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
MAX_LABELS_PER_RUN = 10_000


@dataclass
class Label:
    serial: str
    url: str
    gtin: str
    lot_code: str
    product_name: str
    producer_name: str
    best_before: Optional[date]


def validate_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        text = str(count).strip() if isinstance(count, str) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValidationError({"count": _l("Enter a whole number of labels.")})
        count = int(text)
    if not 1 <= count <= MAX_LABELS_PER_RUN:
        raise ValidationError({"count": _l("Issue between 1 and %(max)s labels at a time.", max=MAX_LABELS_PER_RUN)})
    return count


def issue_labels(session: Session, store: keys_service.KeyStore, lot: Lot, count, user_id: Optional[int] = None) -> LabelRun:
    """Reserve the next `count` serials of a lot under the current signing key, in one transaction."""
    count = validate_count(count)
    safety.ensure_labellable(session, lot)
    key = keys_service.ensure_signing_key(session, store)
    # Lock the lot row so two runs at once cannot take the same serials (PostgreSQL; SQLite serialises writers).
    session.exec(select(Lot).where(Lot.id == lot.id).with_for_update()).one()
    last = session.exec(select(func.max(LabelRun.last_serial)).where(LabelRun.lot_id == lot.id)).one() or 0
    run = LabelRun(lot_id=lot.id, signing_key_id=key.id, first_serial=last + 1, last_serial=last + count,
                   issued_by_user_id=user_id)
    session.add(run)
    session.flush()
    return run


def labels_for_run(session: Session, store: keys_service.KeyStore, base_url: str, run: LabelRun,
                   serials: Optional[range] = None) -> list:
    """The labels of a run, each signed now (Ed25519 is deterministic, so the URLs never change)."""
    lot = session.get(Lot, run.lot_id)
    product = session.get(Product, lot.product_id)
    producer = session.get(Organization, lot.organization_id)
    kid = session.get(SigningKey, run.signing_key_id).kid
    private = store.load(kid)
    expiry = best_before(session, lot, product)
    labels = []
    for number in serials or range(run.first_serial, run.last_serial + 1):
        serial = str(number)
        signature = keys_service.sign(store, kid, element_string(product.gtin, lot.code, serial).encode("ascii"), private)
        labels.append(Label(serial, label_url(base_url, product.gtin, lot.code, serial, signature), product.gtin,
                            lot.code, product.name_vi, producer.name, expiry))
    return labels


def qr_symbol(url: str) -> Image.Image:
    """The QR code (error correction M, no quiet zone) as a one-pixel-per-module image, black on white.

    zxing-cpp's C++ encoder: a tenth of the time of the pure-Python qrcode package (see scripts/bench).
    """
    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = memoryview(barcode.to_image(scale=1, add_quiet_zones=False))
    return Image.frombytes("L", (modules.shape[1], modules.shape[0]), modules.tobytes())


@lru_cache(maxsize=8)
def _font(bold: bool, size: int):
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _label_lines(label: Label) -> list:
    lines = [("Lô/Lot: " + label.lot_code, False), ("Số/No.: " + label.serial, False)]
    if label.best_before:
        lines.append(("HSD/Best before: " + label.best_before.strftime("%d/%m/%Y"), False))
    lines.append(("GTIN " + label.gtin, False))
    return lines


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, max_lines: int) -> list:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            line = trial
        else:
            lines.append(line)
            line = word
    lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip() + "…"
    return [item for item in lines if item]


def render_png(label: Label, dpi: int = 300) -> bytes:
    """One 60 × 30 mm label at `dpi`: QR code left, product, lot, serial and best-before right."""
    width, height = round(60 / 25.4 * dpi), round(30 / 25.4 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    symbol = qr_symbol(label.url)
    module = max(1, (height - 2) // (symbol.width + 8))  # at least 4 modules of quiet zone each side
    origin = (height - module * symbol.width) // 2
    image.paste(symbol.resize((module * symbol.width,) * 2, Image.Resampling.NEAREST), (origin, origin))
    left = height + dpi // 50
    text_width = width - left - dpi // 25
    scale = dpi / 300
    y = round(24 * scale)
    for line in _wrap(draw, label.product_name, _font(True, round(30 * scale)), text_width, 2):
        draw.text((left, y), line, font=_font(True, round(30 * scale)), fill=0)
        y += round(36 * scale)
    y += round(6 * scale)
    for text, bold in _label_lines(label):
        draw.text((left, y), text, font=_font(bold, round(22 * scale)), fill=0)
        y += round(29 * scale)
    for line in _wrap(draw, label.producer_name, _font(False, round(19 * scale)), text_width, 2):
        draw.text((left, y), line, font=_font(False, round(19 * scale)), fill=0)
        y += round(24 * scale)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def render_pdf(labels: list, title: str = "") -> bytes:
    """A4 sheets of 60 × 30 mm labels, 3 across and 9 down."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_title(title or "Labels")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    cols, rows, cell_w, cell_h = 3, 9, 63.5, 31.0
    margin_x, margin_y = (210 - cols * cell_w) / 2, (297 - rows * cell_h) / 2
    for index, label in enumerate(labels):
        if index % (cols * rows) == 0:
            pdf.add_page()
        slot = index % (cols * rows)
        x = margin_x + (slot % cols) * cell_w
        y = margin_y + (slot // cols) * cell_h
        _pdf_label(pdf, label, x, y, cell_w, cell_h)
    return bytes(pdf.output())


def _pdf_label(pdf: FPDF, label: Label, x: float, y: float, w: float, h: float) -> None:
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, w, h)
    size = h - 4
    # A 1-bit image, one pixel a module: sharp at any print resolution, and far cheaper than a rectangle a run.
    pdf.image(qr_symbol(label.url).convert("1"), x + 2, y + 2, w=size, h=size)
    left = x + size + 4
    text_w = x + w - left - 1.5
    pdf.set_xy(left, y + 2)
    pdf.set_font("DejaVu", "B", 7.5)
    pdf.multi_cell(text_w, 3.3, label.product_name, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 6)
    for text, _bold in _label_lines(label):
        pdf.set_x(left)
        pdf.cell(text_w, 2.9, text, new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 5.5)
    pdf.set_x(left)
    pdf.multi_cell(text_w, 2.6, label.producer_name, align="L", new_x="LEFT", new_y="NEXT")
