"""Printable labels at exact physical sizes: A4 sheets for common label stock and pages for thermal roll
printers, written as a PDF that streams to its file (memory stays flat however many labels), and a PNG of
any one label at any resolution (the same page, rasterised).

What is the same on every label of a run (product, lot, dates, producer, OCOP, certification marks, the
"scan to trace" line) is laid out once per run as a form the PDF draws on each label; only the QR code and
the GS1 human-readable line change from label to label.
"""
import io
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import zxingcpp
from fontTools import subset
from fontTools.ttLib import TTFont
from sqlmodel import Session

from ..models import LabelRun, Lot, Organization, Product
from . import certificates, claims
from .errors import _l
from .labels import Signer
from .lots import best_before, packing_date

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
PT_PER_MM = 72 / 25.4
QUIET_ZONE = 4  # modules of white around the QR code, inside the label (ISO/IEC 18004)
MIN_MODULE_MM = 0.33
TEXT_GAP = 0.4  # mm between the quiet zone and the text column
MARKS = {"vietgap": "VietGAP", "globalgap": "GlobalG.A.P.", "organic": "Hữu cơ/Organic", "halal": "Halal"}


@dataclass(frozen=True)
class Layout:
    name: str
    title: object  # a lazy translation
    page_w: float  # mm
    page_h: float
    label_w: float
    label_h: float
    columns: int
    rows: int
    left: float  # first label's top-left corner on the page
    top: float
    printer_dpi: int  # modules are whole printer dots, so every module prints the same width
    text_pt: float  # body text size; names a point larger, the GS1 line smaller
    margin: float = 1.0  # what die-cutting and printer registration may shave off each edge

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def cell(self, slot: int) -> tuple:
        """(x, y) of a label's top-left corner on its page, in mm from the page's top-left."""
        return self.left + (slot % self.columns) * self.label_w, self.top + (slot // self.columns) * self.label_h


LAYOUTS = {layout.name: layout for layout in (
    Layout("a4-3x8", _l("A4, 3 × 8 labels of 70 × 37 mm"), 210, 297, 70, 37, 3, 8, 0, 0.5, 600, 6),
    Layout("a4-3x9", _l("A4, 3 × 9 labels of 70 × 32 mm"), 210, 297, 70, 32, 3, 9, 0, 4.5, 600, 5.4),
    Layout("a4-4x10", _l("A4, 4 × 10 labels of 48.5 × 25.4 mm"), 210, 297, 48.5, 25.4, 4, 10, 8, 21.5, 600, 4.6),
    Layout("roll-50x30", _l("Thermal roll, one 50 × 30 mm label a page"), 50, 30, 50, 30, 1, 1, 0, 0, 203, 5.2, 0.8),
    Layout("roll-40x25", _l("Thermal roll, one 40 × 25 mm label a page"), 40, 25, 40, 25, 1, 1, 0, 0, 203, 4.4, 0.6),
)}
DEFAULT_LAYOUT = "a4-3x8"


@dataclass
class RunSheet:
    """What every label of a run shows, and how to sign each of its serials."""
    gtin: str
    lot_code: str
    product_name: str
    producer_name: str
    packed_on: date | None
    produced_on: date
    best_before: date | None
    ocop_stars: int | None
    marks: list
    signer: Signer = field(repr=False)
    widest_serial: str = "1"

    @classmethod
    def of(cls, session: Session, store, base_url: str, run: LabelRun, today: date) -> "RunSheet":
        """`today` in the service's time zone: the OCOP rating printed is the one valid that day."""
        lot = session.get(Lot, run.lot_id)
        product = session.get(Product, lot.product_id)
        rating = certificates.current_ocop(session, product.id, today)
        return cls(product.gtin, lot.code, product.name_vi, session.get(Organization, lot.organization_id).name,
                   packing_date(session, lot), lot.produced_on, best_before(session, lot, product),
                   rating.stars if rating else None, [MARKS[s] for s in claims.derive(session, lot).standards()
                                                       if s in MARKS],
                   Signer.of(session, store, base_url, run), str(run.last_serial))

    def url(self, serial: int) -> str:
        return self.signer.url(serial)

    def human_readable(self, serial) -> list:
        """The GS1 human-readable interpretation, one element string part per AI."""
        return [f"(01){self.gtin}", f"(10){self.lot_code}", f"(21){serial}"]

    def lines(self) -> list:
        """(text, bold, size factor, most lines) in order of importance: what does not fit is left out."""
        def day(d):
            return d.strftime("%d/%m/%Y")

        items = [(self.product_name, True, 1.2, 3), ("Lô/Lot: " + self.lot_code, False, 1, 1)]
        if self.packed_on:
            items.append(("NĐG/Packed: " + day(self.packed_on), False, 1, 2))
        else:
            items.append(("NSX/Produced: " + day(self.produced_on), False, 1, 2))
        if self.best_before:
            items.append(("HSD/Best before: " + day(self.best_before), True, 1, 2))
        items.append((self.producer_name, False, 0.9, 2))
        if self.ocop_stars:
            items.append(("OCOP " + "★" * self.ocop_stars, True, 1, 1))
        if self.marks:
            items.append((" · ".join(self.marks), True, 1, 2))
        items.append(("Quét mã để truy xuất · Scan to trace", False, 0.85, 2))
        items.append((urlsplit(self.signer.base_url).hostname or self.signer.base_url, False, 0.85, 1))
        return items


def qr_modules(url: str, ec_level: str = "M") -> tuple:
    """(side in modules, packed 1-bit rows, 1 = white) of the QR code for `url`."""
    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    side = image.shape[0]
    from PIL import Image
    return side, Image.frombytes("L", (side, side), bytes(image)).convert("1").tobytes()


def choose_symbol(layout: Layout, urls: list) -> tuple:
    """(error correction level, modules) for a run's codes: level M (15 % of the code may be lost) when its
    modules still print at least 0.33 mm on this label, else level L, which needs fewer modules."""
    for ec_level in ("M", "L"):
        side = max(qr_modules(url, ec_level)[0] for url in urls)
        if module_size(layout, side) >= MIN_MODULE_MM:
            return ec_level, side
    return ec_level, side


def module_size(layout: Layout, side: int) -> float:
    """The largest module, in whole printer dots, that fits the symbol and its quiet zone in the label's height."""
    dot = 25.4 / layout.printer_dpi
    room = min(layout.label_h - 2 * layout.margin, layout.label_w * 0.62)
    return int(room / (side + 2 * QUIET_ZONE) / dot) * dot


# ---------------------------------------------------------------- fonts


class EmbeddedFont:
    """A TrueType font written once at the end of the PDF, subset to the glyphs the labels used."""

    def __init__(self, path: Path, resource: str):
        self.path, self.resource = path, resource
        self.font, self.cmap, self.scale, self.advances = _metrics(path)
        self.used: dict = {}  # glyph id -> character
        self.glyphs: dict = {}  # character -> glyph id

    def glyph(self, char: str) -> int:
        gid = self.glyphs.get(char)
        if gid is None:
            gid = self.glyphs[char] = self.font.getGlyphID(self.cmap[ord(char)]) if ord(char) in self.cmap else 0
        return gid

    def width(self, text: str, size: float) -> float:
        """Advance width of `text` at `size` points, in points."""
        return sum(self.advances[self.glyph(c)] for c in text) * self.scale * size / 1000

    def encode(self, text: str) -> str:
        gids = []
        for char in text:
            gid = self.glyph(char)
            self.used.setdefault(gid, char)
            gids.append(f"{gid:04X}")
        return "<" + "".join(gids) + ">"

    def write(self, pdf: "PdfWriter", number: int) -> None:
        # Every digit goes in, so the labels of a run share one subset, cut once and kept (a PNG's page is cheap).
        for digit in "0123456789":
            self.encode(digit)
        data = _subset(self.path, frozenset(self.used))
        head, hhea = self.font["head"], self.font["hhea"]
        name = "TRACE+" + self.font["name"].getDebugName(6).replace(" ", "")
        file_number, descriptor, cid, unicode = (pdf.reserve() for _ in range(4))
        pdf.stream(file_number, f"/Length1 {len(data)}", data)
        pdf.object(descriptor, (
            f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{round(head.xMin * self.scale)} "
            f"{round(head.yMin * self.scale)} {round(head.xMax * self.scale)} {round(head.yMax * self.scale)}] "
            f"/ItalicAngle 0 /Ascent {round(hhea.ascent * self.scale)} /Descent {round(hhea.descent * self.scale)} "
            f"/CapHeight {round(hhea.ascent * self.scale)} /StemV 80 /FontFile2 {file_number} 0 R >>"))
        widths = " ".join(f"{gid} [{round(self.advances[gid] * self.scale)}]" for gid in sorted(self.used))
        pdf.object(cid, (
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) "
            f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /W [{widths}] "
            f"/CIDToGIDMap /Identity >>"))
        pdf.stream(unicode, "", _to_unicode(self.used))
        pdf.object(number, (f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                            f"/DescendantFonts [{cid} 0 R] /ToUnicode {unicode} 0 R >>"))


@lru_cache(maxsize=64)
def _subset(path: Path, gids: frozenset) -> bytes:
    """The font cut down to these glyphs, at their own glyph ids (so text needs no re-encoding). The tables for
    shaping (GSUB, GPOS...) are left out: Vietnamese is written with precomposed letters, one glyph each."""
    options = subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.layout_features = []
    options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF", "kern", "MATH"]
    font = TTFont(str(path))
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=sorted(gids))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@lru_cache(maxsize=4)
def _metrics(path: Path) -> tuple:
    """(font, character map, units to 1/1000 em, advance width of every glyph id), read once per font."""
    font = TTFont(str(path), lazy=False)
    advances = {gid: font["hmtx"].metrics[name][0] for gid, name in enumerate(font.getGlyphOrder())}
    return font, font.getBestCmap(), 1000 / font["head"].unitsPerEm, advances


def _to_unicode(used: dict) -> bytes:
    """The CMap that maps glyph ids back to text, so the PDF's text can be searched and read aloud."""
    entries = [f"<{gid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for gid, char in sorted(used.items())]
    chunks = [f"{len(entries[i:i + 100])} beginbfchar\n" + "\n".join(entries[i:i + 100]) + "\nendbfchar\n"
              for i in range(0, len(entries), 100)]
    return ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) "
            "/Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def "
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n" + "".join(chunks)
            + "endcmap CMapName currentdict /CMap defineresource pop end end").encode("ascii")


# ---------------------------------------------------------------- the PDF file


class PdfWriter:
    """Objects go to the file as they are made; only their offsets stay in memory."""

    def __init__(self, out):
        self.out = out
        self.offsets = array("q", [0])
        self.position = 0
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def reserve(self) -> int:
        self.offsets.append(-1)
        return len(self.offsets) - 1

    def object(self, number: int, body: str) -> None:
        self.offsets[number] = self.position
        self._write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))

    def stream(self, number: int, entries: str, data: bytes, compress: bool = True) -> None:
        if compress:
            data, entries = zlib.compress(data, 6), entries + " /Filter /FlateDecode"
        self.offsets[number] = self.position
        self._write(f"{number} 0 obj\n<< {entries} /Length {len(data)} >>\nstream\n".encode("latin-1"))
        self._write(data)
        self._write(b"\nendstream\nendobj\n")

    def finish(self, root: int, info: int) -> None:
        start = self.position
        lines = [f"xref\n0 {len(self.offsets)}\n", "0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self.offsets[1:]]
        lines.append(f"trailer\n<< /Size {len(self.offsets)} /Root {root} 0 R /Info {info} 0 R >>\n"
                     f"startxref\n{start}\n%%EOF\n")
        self._write("".join(lines).encode("ascii"))


def _pdf_text(text: str) -> str:
    """A PDF text string in UTF-16 (for titles in the document information)."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


# ---------------------------------------------------------------- laying out one label


@dataclass
class Placed:
    text: str
    bold: bool
    size: float  # pt
    x: float  # mm from the label's left
    baseline: float  # mm from the label's top


@dataclass
class LabelPlan:
    """Where everything goes on a label of a run: computed once, used for every serial."""
    layout: Layout
    side: int  # QR modules
    module: float  # mm
    fixed: list  # Placed lines the same on every label
    hri_size: float
    hri_at: list  # (x, baseline) for each part of the human-readable line
    text_left: float
    dropped: list  # texts that did not fit, most important first
    sheet: RunSheet = field(repr=False, default=None)
    ec_level: str = "M"
    hri_fits: Callable = field(repr=False, default=None)

    def symbol(self, side: int) -> tuple:
        """(left, top, size) in mm of a symbol of `side` modules: the plan's module, or smaller if a serial's
        code came out larger than the one planned for, so the quiet zone stays inside the same box."""
        box = (self.side + 2 * QUIET_ZONE) * self.module
        module = self.module
        if side > self.side:
            dot = 25.4 / self.layout.printer_dpi
            module = int(box / (side + 2 * QUIET_ZONE) / dot) * dot
        size = side * module
        return self.layout.margin + (box - size) / 2, (self.layout.label_h - size) / 2, size

    def hri_lines(self, serial) -> list:
        return _pack(self.sheet.human_readable(serial), self.hri_fits)


def plan_label(sheet: RunSheet, layout: Layout, fonts: dict, side: int, ec_level: str = "M") -> LabelPlan:
    """Fit the text column beside the QR code: the human-readable line first (at the bottom), then the run's
    facts in order of importance while they fit; a name too long for its lines ends in an ellipsis."""
    module = module_size(layout, side)
    text_left = layout.margin + (side + 2 * QUIET_ZONE) * module + TEXT_GAP
    width = layout.label_w - layout.margin - text_left
    regular, bold = fonts["regular"], fonts["bold"]

    def fits(text, font, size):
        return font.width(text, size) / PT_PER_MM <= width

    hri_size = layout.text_pt * 0.85
    parts = sheet.human_readable(sheet.widest_serial)

    def hri_fits(text):
        return fits(text, regular, hri_size)

    joined = _pack(parts, hri_fits)
    leading = hri_size * 1.15 / PT_PER_MM
    bottom = layout.label_h - layout.margin
    hri_at, y = [], bottom - leading * (len(joined) - 1) - 0.2
    for _ in joined:
        hri_at.append((text_left, y))
        y += leading
    room_bottom = bottom - leading * len(joined)
    fixed, dropped, y = [], [], layout.margin
    for text, is_bold, factor, most in sheet.lines():
        size = layout.text_pt * factor
        font = bold if is_bold else regular
        lines = _wrap(text, lambda t, font=font, size=size: fits(t, font, size), most)
        step = size * 1.18 / PT_PER_MM
        if dropped or y + step * len(lines) > room_bottom:
            dropped.append(text)
            continue
        for line in lines:
            y += step
            fixed.append(Placed(line, is_bold, size, text_left, y - step * 0.22))
    return LabelPlan(layout, side, module, fixed, hri_size, hri_at, text_left, dropped, sheet, ec_level, hri_fits)


def _pack(parts: list, fits: Callable) -> list:
    """The GS1 line's parts, as many to a line as fit; a part too wide on its own is cut between characters."""
    lines = []
    for part in parts:
        if lines and fits(lines[-1] + part):
            lines[-1] += part
            continue
        while not fits(part) and len(part) > 1:
            cut = len(part) - 1
            while cut > 1 and not fits(part[:cut]):
                cut -= 1
            lines.append(part[:cut])
            part = part[cut:]
        lines.append(part)
    return lines


def _wrap(text: str, fits: Callable, most: int) -> list:
    """Lines of whole words that fit, at most `most`; the last ends in '…' when text is left over."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if fits(trial):
            line = trial
            continue
        if line:
            lines.append(line)
        line = word
        while not fits(line) and len(line) > 1:  # a word wider than the column is cut
            cut = len(line)
            while cut > 1 and not fits(line[:cut]):
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    if len(lines) > most:
        last = lines[most - 1]
        while last and not fits(last + "…"):
            last = last[:-1].rstrip()
        lines = lines[:most - 1] + [last + "…"]
    return lines


# ---------------------------------------------------------------- writing labels


def _text_ops(font: EmbeddedFont, size: float, x_mm: float, baseline_mm: float, label_h: float, text: str) -> str:
    return (f"BT /{font.resource} {size:.2f} Tf 1 0 0 1 {x_mm * PT_PER_MM:.2f} "
            f"{(label_h - baseline_mm) * PT_PER_MM:.2f} Tm {font.encode(text)} Tj ET\n")


def write_pdf(out, sheet: RunSheet, serials: range, layout: Layout, progress: Callable | None = None) -> int:
    """Write the labels of `serials` as PDF pages of `layout` to the binary file `out`; returns the page count."""
    pdf = PdfWriter(out)
    fonts = {"regular": EmbeddedFont(FONTS / "DejaVuSans.ttf", "F1"),
             "bold": EmbeddedFont(FONTS / "DejaVuSans-Bold.ttf", "F2")}
    font_numbers = {key: pdf.reserve() for key in fonts}
    pages_number, catalog, info, form = pdf.reserve(), pdf.reserve(), pdf.reserve(), pdf.reserve()
    font_resources = (f"/Font << /F1 {font_numbers['regular']} 0 R /F2 {font_numbers['bold']} 0 R >>")
    # Planned for the run's longest serial, whose code is the largest; every label of the run uses the plan.
    ec_level, side = choose_symbol(layout, [sheet.url(serials[0]), sheet.url(serials[-1])])
    plan = plan_label(sheet, layout, fonts, side, ec_level)
    fixed = "".join(_text_ops(fonts["bold" if p.bold else "regular"], p.size, p.x, p.baseline, layout.label_h, p.text)
                    for p in plan.fixed)
    pdf.stream(form, f"/Type /XObject /Subtype /Form /BBox [0 0 {layout.label_w * PT_PER_MM:.2f} "
                     f"{layout.label_h * PT_PER_MM:.2f}] /Resources << {font_resources} >>", fixed.encode("ascii"))
    kids = array("q")
    for start in range(0, len(serials), layout.per_page):
        page_serials = serials[start:start + layout.per_page]
        content, images = [], []
        for slot, serial in enumerate(page_serials):
            side, bits = qr_modules(sheet.url(serial), plan.ec_level)
            image = pdf.reserve()
            pdf.stream(image, f"/Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
                              f"/BitsPerComponent 1 /Interpolate false", bits)
            images.append(image)
            x, y_top = layout.cell(slot)
            left, top, size = plan.symbol(side)
            content.append(f"q 1 0 0 1 {x * PT_PER_MM:.3f} {(layout.page_h - y_top - layout.label_h) * PT_PER_MM:.3f} cm\n"
                           f"q {size * PT_PER_MM:.3f} 0 0 {size * PT_PER_MM:.3f} {left * PT_PER_MM:.3f} "
                           f"{(layout.label_h - top - size) * PT_PER_MM:.3f} cm /Q{slot} Do Q\n/Run Do\n")
            for text, (hx, baseline) in zip(plan.hri_lines(serial), plan.hri_at):
                content.append(_text_ops(fonts["regular"], plan.hri_size, hx, baseline, layout.label_h, text))
            content.append("Q\n")
        contents, page = pdf.reserve(), pdf.reserve()
        pdf.stream(contents, "", "".join(content).encode("ascii"))
        xobjects = " ".join(f"/Q{slot} {number} 0 R" for slot, number in enumerate(images))
        pdf.object(page, f"<< /Type /Page /Parent {pages_number} 0 R /MediaBox [0 0 {layout.page_w * PT_PER_MM:.3f} "
                         f"{layout.page_h * PT_PER_MM:.3f}] /Resources << {font_resources} /XObject << /Run {form} 0 R "
                         f"{xobjects} >> >> /Contents {contents} 0 R >>")
        kids.append(page)
        if progress is not None:
            progress(start + len(page_serials))
    for key, font in fonts.items():
        font.write(pdf, font_numbers[key])
    pdf.object(pages_number, f"<< /Type /Pages /Count {len(kids)} /Kids [{' '.join(f'{k} 0 R' for k in kids)}] >>")
    pdf.object(catalog, f"<< /Type /Catalog /Pages {pages_number} 0 R >>")
    pdf.object(info, f"<< /Title {_pdf_text(f'{sheet.product_name} – {sheet.lot_code}')} /Producer (trace) >>")
    pdf.finish(catalog, info)
    return len(kids)


def render_pdf(sheet: RunSheet, serials: range, layout: Layout) -> bytes:
    out = io.BytesIO()
    write_pdf(out, sheet, serials, layout)
    return out.getvalue()


def render_png(sheet: RunSheet, serial: int, layout: Layout, dpi: int = 300) -> bytes:
    """One label at `dpi`: its PDF page (a single-label page of the layout's size), rasterised."""
    import pypdfium2
    single = Layout(layout.name, layout.title, layout.label_w, layout.label_h, layout.label_w, layout.label_h,
                    1, 1, 0, 0, layout.printer_dpi, layout.text_pt, layout.margin)
    document = pypdfium2.PdfDocument(render_pdf(sheet, range(serial, serial + 1), single))
    try:
        image = document[0].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()
