"""Printed labels, measured: every layout decodes with two independent decoders (zxing-cpp and zbar) at 300 dpi to
exactly the issued URLs; the quiet zone and the module size are measured on the raster; every character's box,
from the PDF's own text layer, lies inside its label and clear of the code; pages have the layout's exact size."""
import io
import re
import unicodedata
import zlib
from datetime import date, timedelta
from trace import key_store
from trace.db import get_session
from trace.models import Lot, Organization, Product
from trace.services import labels, layouts, lots
from trace.services.keys import sign

import pikepdf
import pypdfium2
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fontTools.ttLib import TTFont
from PIL import Image
from pyzbar import pyzbar
from sqlmodel import select

from .conftest import BASE_URL

DPI = 300
PX_PER_MM = DPI / 25.4
PT_PER_MM = 72 / 25.4


class FakeStore:
    """Signs with a key made for the test: for worst-case text no demo lot has."""

    def __init__(self):
        self.key = Ed25519PrivateKey.generate()

    def load(self, kid):
        return self.key


def worst_case_sheet(base_url="https://truyxuat-nongsan.thuynguyen.haiphong.gov.vn", key=None):
    """The longest values the service accepts: 200-character names, a 20-character lot code of the widest
    letters, a six-digit serial, a long domain, five OCOP stars and every certification mark."""
    signer = labels.Signer("08936045000014", "MWMWMWMWMWMWMWMWMWMW", base_url, 1, key or FakeStore().key)
    return layouts.RunSheet(
        gtin=signer.gtin, lot_code=signer.lot_code,
        product_name=("Gạo thơm Bắc Hương hữu cơ Thủy Nguyên loại đặc biệt đóng túi hút chân không " * 3)[:200],
        producer_name=("Hợp tác xã Dịch vụ Nông nghiệp Lưu Kiếm phường Thủy Nguyên thành phố Hải Phòng " * 3)[:200],
        packed_on=date(2026, 11, 28), produced_on=date(2026, 11, 20), best_before=date(2027, 11, 28), ocop_stars=5,
        marks=list(layouts.MARKS.values()), signer=signer, widest_serial="100000")


def demo_sheet(app, code):
    """A demo lot with a run of real serials, as the service prints it."""
    with app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == code)).one()
        run = labels.issue_labels(session, key_store(app), lot, 45, over_issue_reason="layout test")
        session.commit()
        return layouts.RunSheet.of(session, key_store(app), BASE_URL, run, date.today()), run


def longest_named_lot(app) -> str:
    """The demo lot whose product and producer names are longest together."""
    with app.app_context():
        rows = get_session().exec(select(Lot.code, Product.name_vi, Organization.name)
                                  .join(Product, Product.id == Lot.product_id)
                                  .join(Organization, Organization.id == Lot.organization_id)
                                  .where(Lot.serials_issued > 0)).all()
    return max(rows, key=lambda row: len(row[1]) + len(row[2]))[0]


def page_images(pdf: bytes):
    document = pypdfium2.PdfDocument(pdf)
    return document, [document[i].render(scale=DPI / 72, grayscale=True).to_pil() for i in range(len(document))]


def cell_box_px(layout, slot):
    x, y = layout.cell(slot)
    return (round(x * PX_PER_MM), round(y * PX_PER_MM), round((x + layout.label_w) * PX_PER_MM),
            round((y + layout.label_h) * PX_PER_MM))


def measure_cell(image, layout, slot, expected_url):
    """Decode one label's cell with both decoders; measure its quiet zone and module; return the code's box (px)."""
    box = cell_box_px(layout, slot)
    cell = image.crop(box)
    found = [r for r in zxingcpp.read_barcodes(cell) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert [r.text for r in found] == [expected_url], f"zxing-cpp, {layout.name} slot {slot}"
    assert [d.data.decode() for d in pyzbar.decode(cell) if d.type == "QRCODE"] == [expected_url], \
        f"zbar, {layout.name} slot {slot}"
    side = 17 + 4 * int(found[0].extra["Version"])
    position = found[0].position
    left, top = position.top_left.x, position.top_left.y
    right, bottom = position.bottom_right.x, position.bottom_right.y
    module = (right - left) / side
    # Measured over the whole symbol, the raster's error is a pixel for all its modules together.
    assert (right - left + 1) / side / PX_PER_MM >= 0.33, f"module {module / PX_PER_MM:.3f} mm on {layout.name}"
    quiet = round(4 * module) - 1  # four modules, less a pixel for anti-aliasing at the edge
    ring = (left - quiet, top - quiet, right + quiet, bottom + quiet)
    assert ring[0] >= 0 and ring[1] >= 0 and ring[2] <= cell.width and ring[3] <= cell.height, \
        f"quiet zone leaves the cell: {layout.name} slot {slot}"
    zone = cell.crop(ring)
    dark_outside_code = [xy for xy in _dark_pixels(zone)
                         if not (quiet - 2 <= xy[0] <= quiet + right - left + 2
                                 and quiet - 2 <= xy[1] <= quiet + bottom - top + 2)]
    assert dark_outside_code == [], f"ink in the quiet zone: {layout.name} slot {slot}"
    return (box[0] + ring[0], box[1] + ring[1], box[0] + ring[2], box[1] + ring[3])


def _dark_pixels(image):
    width = image.width
    return [(i % width, i // width) for i, value in enumerate(image.convert("L").tobytes()) if value < 128]


def text_boxes_pt(document, page_index):
    """Every character's box on a page from the PDF's text layer, in points from the page's top-left."""
    page = document[page_index]
    height = page.get_height()
    textpage = page.get_textpage()
    boxes = []
    for index in range(textpage.count_chars()):
        text = textpage.get_text_range(index, 1)
        if text.strip():
            left, bottom, right, top = textpage.get_charbox(index)
            boxes.append((text, left, height - top, right, height - bottom))
    return boxes


def check_page(document, image, page_index, layout, urls):
    """Both decoders, quiet zone, module size for every label on a page; then every character's box."""
    code_boxes = [measure_cell(image, layout, slot, url) for slot, url in enumerate(urls)]
    for char, left, top, right, bottom in text_boxes_pt(document, page_index):
        slot = next((s for s in range(len(urls)) if _inside((left + right) / 2, (top + bottom) / 2,
                                                               _cell_pt(layout, s), 0)), None)
        assert slot is not None, f"{char!r} outside every label on {layout.name}"
        assert _inside_box((left, top, right, bottom), _cell_pt(layout, slot), 0.05), \
            f"{char!r} crosses the edge of its label on {layout.name}"
        code = [value * 72 / DPI for value in code_boxes[slot]]
        assert right <= code[0] or left >= code[2] or bottom <= code[1] or top >= code[3], \
            f"{char!r} inside the code's quiet zone on {layout.name}"


def _cell_pt(layout, slot):
    x, y = layout.cell(slot)
    return (x * PT_PER_MM, y * PT_PER_MM, (x + layout.label_w) * PT_PER_MM, (y + layout.label_h) * PT_PER_MM)


def _inside(x, y, box, tolerance):
    return box[0] - tolerance <= x <= box[2] + tolerance and box[1] - tolerance <= y <= box[3] + tolerance


def _inside_box(inner, outer, tolerance):
    return _inside(inner[0], inner[1], outer, tolerance) and _inside(inner[2], inner[3], outer, tolerance)


@pytest.mark.parametrize("name", list(layouts.LAYOUTS))
def test_worst_case_text_fits_and_both_decoders_read_every_label(name):
    layout = layouts.LAYOUTS[name]
    sheet = worst_case_sheet()
    serials = range(100_000 - layout.per_page - 1, 100_000 - 1) if layout.per_page > 1 else range(99_999, 100_001)
    document, images = page_images(layouts.render_pdf(sheet, serials, layout))
    urls = [sheet.url(serial) for serial in serials]
    for index, image in enumerate(images[:2]):
        check_page(document, image, index, layout, urls[index * layout.per_page:(index + 1) * layout.per_page])


def test_a_name_with_no_spaces_is_cut_to_fit_the_smallest_label():
    layout = layouts.LAYOUTS["roll-40x25"]
    sheet = worst_case_sheet()
    sheet.product_name = "GẠOTHƠMBẮCHƯƠNGTHỦYNGUYÊNLOẠIĐẶCBIỆTĐÓNGTÚIHÚTCHÂNKHÔNG"
    document, images = page_images(layouts.render_pdf(sheet, range(5, 6), layout))
    check_page(document, images[0], 0, layout, [sheet.url(5)])
    assert document[0].get_textpage().get_text_range().startswith("GẠOTHƠM")


@pytest.mark.parametrize("name", list(layouts.LAYOUTS))
def test_demo_labels_decode_to_the_issued_urls_on_every_layout(demo_app, name):
    layout = layouts.LAYOUTS[name]
    sheet, run = demo_sheet(demo_app, longest_named_lot(demo_app))
    serials = range(run.first_serial, run.first_serial + min(layout.per_page + 1, 45))
    pdf = layouts.render_pdf(sheet, serials, layout)
    document, images = page_images(pdf)
    with demo_app.app_context():
        issued = [label.url for label in labels.labels_for_run(get_session(), key_store(demo_app), BASE_URL, run,
                                                               serials)]
    assert len(document) == -(-len(serials) // layout.per_page)
    width, height = document[0].get_size()
    assert (round(width / PT_PER_MM, 2), round(height / PT_PER_MM, 2)) == (layout.page_w, layout.page_h)
    check_page(document, images[0], 0, layout, issued[:layout.per_page])
    text = document[0].get_textpage().get_text_range()
    assert sheet.product_name.split()[0] in text and f"(21){serials[0]}" in text.replace("\r\n", "")


def test_the_label_says_what_the_lot_really_holds(demo_app):
    """VietGAP rice shows its mark and its OCOP stars; the mixed rice with one uncertified field shows no mark."""
    certified, _run = demo_sheet(demo_app, "GAO-BH-2610A")
    mixed, _run = demo_sheet(demo_app, "GAO-XAT-2611")
    assert (certified.marks, certified.ocop_stars) == (["VietGAP"], 4)
    assert mixed.marks == []
    layout = layouts.LAYOUTS["a4-3x8"]
    document, _ = page_images(layouts.render_pdf(certified, range(1, 2), layout))
    text = " ".join(document[0].get_textpage().get_text_range().split())
    for line in ("Gạo Bắc Hương Thủy Nguyên", "Lô/Lot: GAO-BH-2610A", "OCOP ★★★★", "VietGAP",
                 "HSD/Best before:", "Quét mã để truy xuất", "trace.test", "(01)08936045000014"):
        assert line in text, line
    document, _ = page_images(layouts.render_pdf(mixed, range(1, 2), layout))
    assert "VietGAP" not in document[0].get_textpage().get_text_range()


def test_what_does_not_fit_a_small_label_is_left_out_least_important_first():
    sheet = worst_case_sheet()
    fonts = {"regular": layouts.EmbeddedFont(layouts.FONTS / "DejaVuSans.ttf", "F1"),
             "bold": layouts.EmbeddedFont(layouts.FONTS / "DejaVuSans-Bold.ttf", "F2")}
    small = layouts.plan_label(sheet, layouts.LAYOUTS["roll-40x25"], fonts, 53)
    order = [text for text, *_ in sheet.lines()]
    assert small.dropped == order[len(order) - len(small.dropped):] and small.dropped  # a tail of the list
    assert small.fixed[0].text.startswith("Gạo thơm") and small.fixed[2].text.endswith("…")  # 3 lines of name
    sheet.product_name, sheet.producer_name, sheet.marks = "Gạo Bắc Hương", "HTX Lưu Kiếm", ["VietGAP"]
    assert layouts.plan_label(sheet, layouts.LAYOUTS["a4-3x8"], fonts, 53).dropped == []


def test_the_run_text_is_laid_out_once_for_the_whole_file():
    sheet = worst_case_sheet()
    pdf = layouts.render_pdf(sheet, range(1, 80), layouts.LAYOUTS["a4-3x8"])  # four pages
    assert pdf.count(b"/Subtype /Form") == 1 and pdf.count(b"/FontFile2") == 2  # each font embedded once, subset
    document = pypdfium2.PdfDocument(pdf)
    drawn = [obj.type for page in document for obj in page.get_objects(max_depth=1)]
    assert drawn.count(pypdfium2.raw.FPDF_PAGEOBJ_FORM) == 79 and drawn.count(pypdfium2.raw.FPDF_PAGEOBJ_IMAGE) == 79


@pytest.mark.parametrize("dpi", [150, 300, 600])
def test_a_png_of_one_label_at_a_chosen_resolution(dpi):
    sheet = worst_case_sheet(BASE_URL)
    png = layouts.render_png(sheet, 12345, layouts.LAYOUTS["roll-50x30"], dpi)
    image = Image.open(io.BytesIO(png))
    assert abs(image.width - 50 / 25.4 * dpi) < 1 and abs(image.height - 30 / 25.4 * dpi) < 1
    assert image.info["dpi"][0] == pytest.approx(dpi, abs=1) and image.mode == "L"  # grayscale, for label printers
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [sheet.url(12345)]


def test_signing_matches_the_label_format():
    """The URL a sheet prints is the §5 format, signed over the GS1 element string."""
    sheet = worst_case_sheet(BASE_URL)
    key = sheet.signer.private
    expected = sign(None, 1, b"0108936045000014" + b"10MWMWMWMWMWMWMWMWMWMW\x1d21" + b"7", key)
    assert sheet.url(7) == f"{BASE_URL}/01/08936045000014/10/MWMWMWMWMWMWMWMWMWMW/21/7?8030={expected}"


def test_issued_files_from_the_worker_decode_too(demo_app):
    """The background worker's file for a run is the same PDF the command writes."""
    from trace.queue import run_pending
    from trace.services import label_files
    with demo_app.app_context():
        session = get_session()
        lot = lots.find_lot(session, "08936045000014", "GAO-BH-2610A")
        run = labels.issue_labels(session, key_store(demo_app), lot, 30)
        label_file = label_files.request_file(session, run, "a4-4x10", run.first_serial + 2, run.first_serial + 4)
        session.commit()
        demo_app.extensions["trace.render_label_file"](label_file.id)
        assert run_pending(demo_app) == 1
        session.refresh(label_file)
        assert (label_file.status, label_file.done, label_file.total) == ("ready", 3, 3)
        pdf = label_files.path_of(demo_app.config["TRACE_FILES_DIR"], label_file).read_bytes()
        urls = [label.url for label in labels.labels_for_run(session, key_store(demo_app), BASE_URL, run,
                                                             range(run.first_serial + 2, run.first_serial + 5))]
    document, images = page_images(pdf)
    check_page(document, images[0], 0, layouts.LAYOUTS["a4-4x10"], urls)


VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng


def vietnamese_letters(vowel: str) -> str:
    """The vowel with each of the six tones, small and capital, as precomposed letters (NFC), plus đ and Đ."""
    small = [unicodedata.normalize("NFC", vowel + tone) for tone in TONES]
    return " ".join(["".join(small), "".join(small).upper(), "đĐ"])


def glyph_ids_drawn(pdf: bytes) -> list:
    """Every glyph id the PDF's text operators show (the labels' text is Identity-H, four hex digits a glyph)."""
    ids = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(match.group(1))
        except zlib.error:
            continue
        for shown in re.findall(rb"<([0-9A-F]+)>\s*Tj", content):
            ids += [int(shown[i:i + 4], 16) for i in range(0, len(shown), 4)]
    return ids


def printed_text(sheet, layout_name="a4-3x8") -> tuple:
    """(the label's text as the PDF's text layer gives it, line breaks as spaces; the glyph ids drawn)."""
    pdf = layouts.render_pdf(sheet, range(7, 8), layouts.LAYOUTS[layout_name])
    return " ".join(pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range().split()), glyph_ids_drawn(pdf)


@pytest.mark.parametrize("vowel", list(VOWELS))
def test_vietnamese_text_on_labels_is_printed_with_every_diacritic(vowel):
    """Every Vietnamese letter comes out of the PDF exactly as it went in, and none is drawn as the font's
    missing-glyph box (.notdef, glyph 0)."""
    sheet = worst_case_sheet(BASE_URL)
    sheet.product_name = vietnamese_letters(vowel)
    sheet.producer_name = "Hợp tác xã Lưu Kiếm, phường Thủy Nguyên"
    sheet.lot_code, sheet.marks, sheet.ocop_stars = "NA-2611", ["Hữu cơ/Organic"], None
    text, glyphs = printed_text(sheet)
    words, _, human_readable = text.partition(" (01)")  # the GS1 line's parts are packed as they fit
    assert words == (f"{sheet.product_name} Lô/Lot: NA-2611 NĐG/Packed: 28/11/2026 HSD/Best before: 28/11/2027 "
                     "Hợp tác xã Lưu Kiếm, phường Thủy Nguyên Hữu cơ/Organic Quét mã để truy xuất · Scan to trace "
                     "trace.test")
    assert human_readable.replace(" ", "") == "08936045000014(10)NA-2611(21)7"
    assert glyphs and 0 not in glyphs


def test_a_character_the_font_lacks_is_caught_as_a_missing_glyph():
    """The check above can fail: a letter DejaVu Sans has no glyph for is drawn as glyph 0."""
    sheet = worst_case_sheet(BASE_URL)
    sheet.product_name = "Gạo 稻"
    assert 0 in printed_text(sheet)[1]


def test_a_part_or_word_wider_than_the_column_is_cut_between_any_two_characters():
    def one_character(text):
        return len(text) <= 1

    assert layouts._pack(["(21)12"], one_character) == ["(", "2", "1", ")", "1", "2"]
    assert layouts._wrap("Gạo 12", one_character, 10) == ["G", "ạ", "o", "1", "2"]


def test_the_fonts_text_map_lists_glyphs_in_blocks_of_at_most_100_in_capital_hex():
    """The ToUnicode CMap that makes the label's text searchable: PDF allows at most 100 entries a bfchar block."""
    text = layouts._to_unicode({gid: chr(0x1EA0 + gid) for gid in range(1, 102)}).decode("ascii")
    blocks = re.findall(r"(\d+) beginbfchar\n(.*?)\nendbfchar", text, re.S)
    assert [(count, len(entries.split("\n"))) for count, entries in blocks] == [("100", 100), ("1", 1)]
    assert blocks[0][1].split("\n")[:2] == ["<0001> <1EA1>", "<0002> <1EA2>"] and blocks[1][1] == "<0065> <1F05>"


def test_a_roll_labels_code_takes_its_height_less_the_margins_in_whole_printer_dots():
    """40 × 25 mm at 203 dpi with 0.6 mm margins: 23.8 mm for 21 modules and the quiet zone, 6 dots a module."""
    assert layouts.module_size(layouts.LAYOUTS["roll-40x25"], 21) == pytest.approx(6 * 25.4 / 203)


def test_a_code_larger_than_planned_gets_smaller_modules_centred_in_the_same_box():
    fonts = {"regular": layouts.EmbeddedFont(layouts.FONTS / "DejaVuSans.ttf", "F1"),
             "bold": layouts.EmbeddedFont(layouts.FONTS / "DejaVuSans-Bold.ttf", "F2")}
    plan = layouts.plan_label(worst_case_sheet(BASE_URL), layouts.LAYOUTS["a4-3x8"], fonts, 53)
    planned, larger = plan.symbol(53), plan.symbol(57)
    assert planned[2] == pytest.approx(53 * 13 * 25.4 / 600) and larger[2] == pytest.approx(57 * 12 * 25.4 / 600)
    assert [value + larger[2] / 2 for value in larger[:2]] == pytest.approx(
        [value + planned[2] / 2 for value in planned[:2]])


def test_a_qr_code_is_level_m_unless_another_level_is_asked_for():
    url = worst_case_sheet(BASE_URL).url(7)
    assert layouts.qr_modules(url) == layouts.qr_modules(url, "M") != layouts.qr_modules(url, "L")


@pytest.mark.parametrize("serial", [1, 99999])
def test_a_run_is_planned_for_its_own_urls(serial):
    """At this length of domain, the code of serial 1 or 99999 fits the smallest label at level M; a code a few
    characters longer would need level L there (serial 100000's does, signed with this key)."""
    sheet = worst_case_sheet("https://" + "t" * 38 + ".vn", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    image = Image.open(io.BytesIO(layouts.render_png(sheet, serial, layouts.LAYOUTS["roll-40x25"])))
    assert [(found.text, found.ec_level) for found in zxingcpp.read_barcodes(image)] == [(sheet.url(serial), "M")]


@pytest.mark.parametrize("layout", ["roll-50x30", "roll-40x25"])
def test_a_roll_labels_png_is_its_pdf_page_at_300_dpi_unless_told_otherwise(layout):
    """A label printed from the PNG looks the same as one printed from the PDF: same text size, same margins."""
    sheet = _demo_like_sheet()
    image = Image.open(io.BytesIO(layouts.render_png(sheet, 7, layouts.LAYOUTS[layout])))
    document = pypdfium2.PdfDocument(layouts.render_pdf(sheet, range(7, 8), layouts.LAYOUTS[layout]))
    page = document[0].render(scale=DPI / 72, grayscale=True).to_pil()
    document.close()
    assert (round(image.info["dpi"][0]), image.mode, image.size) == (300, "L", page.size)
    assert image.tobytes() == page.tobytes()


def _demo_like_sheet():
    sheet = worst_case_sheet(BASE_URL)
    sheet.product_name, sheet.producer_name, sheet.lot_code = "Gạo Bắc Hương Thủy Nguyên", "HTX Lưu Kiếm", "GAO-BH-2610A"
    sheet.marks, sheet.ocop_stars = ["VietGAP"], 4
    return sheet


def test_the_run_facts_are_laid_out_in_order_names_and_best_before_in_bold():
    sheet = _demo_like_sheet()
    assert sheet.lines() == [
        ("Gạo Bắc Hương Thủy Nguyên", True, 1.2, 3), ("Lô/Lot: GAO-BH-2610A", False, 1, 1),
        ("NĐG/Packed: 28/11/2026", False, 1, 2), ("HSD/Best before: 28/11/2027", True, 1, 2),
        ("HTX Lưu Kiếm", False, 0.9, 2), ("OCOP ★★★★", True, 1, 1), ("VietGAP", True, 1, 2),
        ("Quét mã để truy xuất · Scan to trace", False, 0.85, 2), ("trace.test", False, 0.85, 1)]
    fonts = {"regular": layouts.EmbeddedFont(layouts.FONTS / "DejaVuSans.ttf", "F1"),
             "bold": layouts.EmbeddedFont(layouts.FONTS / "DejaVuSans-Bold.ttf", "F2")}
    plan = layouts.plan_label(sheet, layouts.LAYOUTS["a4-3x8"], fonts, 53)
    # Each line's box is 1.18 of its size, from the top margin down; the baseline 0.22 of a box above its foot.
    assert [(p.text, p.bold, round(p.size, 2), round(p.x, 2), round(p.baseline, 2)) for p in plan.fixed] == [
        ("Gạo Bắc Hương Thủy", True, 7.2, 34.97, 3.34), ("Nguyên", True, 7.2, 34.97, 6.34),
        ("Lô/Lot: GAO-BH-2610A", False, 6, 34.97, 8.94), ("NĐG/Packed: 28/11/2026", False, 6, 34.97, 11.44),
        ("HSD/Best before:", True, 6, 34.97, 13.94), ("28/11/2027", True, 6, 34.97, 16.44),
        ("HTX Lưu Kiếm", False, 5.4, 34.97, 18.74), ("OCOP ★★★★", True, 6, 34.97, 21.18),
        ("VietGAP", True, 6, 34.97, 23.68), ("Quét mã để truy xuất · Scan to trace", False, 5.1, 34.97, 25.88),
        ("trace.test", False, 5.1, 34.97, 28.01)]
    assert plan.dropped == []


def test_the_gs1_line_of_the_runs_widest_serial_is_printed_whole():
    """A lot code that leaves the serial a line of its own on a 70 × 37 mm label."""
    sheet = worst_case_sheet(BASE_URL)
    sheet.lot_code = "GAO-88888888888888"
    document, _ = page_images(layouts.render_pdf(sheet, range(99_999, 100_001), layouts.LAYOUTS["a4-3x8"]))
    text = document[0].get_textpage().get_text_range().replace("\r\n", "\n")
    assert text.split("\n")[-3:] == ["(01)08936045000014", "(10)GAO-88888888888888", "(21)100000"]


def test_every_character_of_the_run_text_is_inked():
    """The run's text is a form drawn on each label: none of it may be clipped away."""
    layout = layouts.LAYOUTS["a4-3x8"]
    document, (image,) = page_images(layouts.render_pdf(_demo_like_sheet(), range(7, 8), layout))
    gray = image.convert("L")
    blank = []
    for char, left, top, right, bottom in text_boxes_pt(document, 0):
        box = [round(value * DPI / 72) for value in (left, top, right, bottom)]
        if gray.crop((box[0], box[1], box[2] + 1, box[3] + 1)).getextrema()[0] >= 128:
            blank.append(char)
    assert blank == []


def test_the_fonts_are_described_in_thousandths_of_an_em():
    pdf = layouts.render_pdf(_demo_like_sheet(), range(7, 8), layouts.LAYOUTS["a4-3x8"])
    assert re.findall(rb"/FontName (/[^ ]+) /Flags 4 /FontBBox (\[[^]]*\]) /ItalicAngle 0 "
                      rb"(/Ascent \d+ /Descent -\d+ /CapHeight \d+)", pdf) == [
        (b"/TRACE+DejaVuSans", b"[-1021 -463 1793 1232]", b"/Ascent 928 /Descent -236 /CapHeight 928"),
        (b"/TRACE+DejaVuSans-Bold", b"[-1069 -415 1975 1175]", b"/Ascent 928 /Descent -236 /CapHeight 928")]


def test_the_pdf_is_titled_with_the_product_and_lot():
    pdf = layouts.render_pdf(_demo_like_sheet(), range(7, 8), layouts.LAYOUTS["a4-3x8"])
    metadata = pypdfium2.PdfDocument(pdf).get_metadata_dict()
    assert (metadata["Title"], metadata["Producer"]) == ("Gạo Bắc Hương Thủy Nguyên – GAO-BH-2610A", "trace")


def test_a_run_sheet_gives_the_lots_packing_date_and_the_runs_last_serial_as_the_widest(demo_app):
    """The label prints the day the lot was packed, and room is made for the run's widest serial, its last."""
    sheet, run = demo_sheet(demo_app, "GAO-BH-2610A")
    with demo_app.app_context():
        rice = get_session().exec(select(Lot).where(Lot.code == "GAO-BH-2610A")).one()
    assert (sheet.packed_on - rice.produced_on, sheet.widest_serial) == (timedelta(days=10), str(run.first_serial + 44))



def strict_open(pdf: bytes) -> pikepdf.Pdf:
    """The PDF as a strict reader takes it: a broken cross-reference table or object is an error, not rebuilt
    silently as lenient readers do."""
    return pikepdf.open(io.BytesIO(pdf), attempt_recovery=False)


def test_a_strict_reader_opens_the_pdf_without_repairing_it():
    """Incremental updates and strict readers trust the cross-reference table and each object's syntax."""
    with strict_open(layouts.render_pdf(_demo_like_sheet(), range(7, 10), layouts.LAYOUTS["roll-50x30"])) as pdf:
        assert (pdf.check_pdf_syntax(), pdf.get_warnings(), len(pdf.pages)) == ([], [], 3)
        fonts = {str(name): font for page in pdf.pages for name, font in page.Resources.Font.items()}
        assert sorted(str(font.BaseFont) for font in fonts.values()) == ["/TRACE+DejaVuSans", "/TRACE+DejaVuSans-Bold"]
        assert [font.ToUnicode.read_bytes()[:8] for font in fonts.values()] == [b"/CIDInit"] * 2


def test_a_runs_font_holds_the_glyphs_its_labels_show_and_every_digit():
    """All ten digits go in, even when the labels' bold text has none, so the labels of a run share one subset;
    nothing else does."""
    sheet = _demo_like_sheet()
    sheet.product_name, sheet.best_before, sheet.ocop_stars, sheet.marks = "Gạo Bắc Hương", None, None, []
    with strict_open(layouts.render_pdf(sheet, range(7, 8), layouts.LAYOUTS["a4-3x8"])) as pdf:
        bold = next(font for font in pdf.pages[0].Resources.Font.values()
                    if font.BaseFont == "/TRACE+DejaVuSans-Bold")
        cmap = bold.ToUnicode.read_bytes().decode("ascii")
        subset = TTFont(io.BytesIO(bold.DescendantFonts[0].FontDescriptor.FontFile2.read_bytes()))
    entries = "".join(re.findall(r"beginbfchar\n(.*?)\nendbfchar", cmap, re.S))
    mapped = {int(gid, 16): chr(int(char, 16)) for gid, char in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})>", entries)}
    assert sorted(mapped.values()) == sorted(set("Gạo Bắc Hương0123456789"))
    order, glyphs = subset.getGlyphOrder(), subset["glyf"]
    drawn = {mapped[gid] for gid in mapped if glyphs[order[gid]].numberOfContours != 0}  # -1: a composite
    assert drawn == set("GạoBắcHương0123456789")


def test_the_fonts_text_map_is_the_identity_to_unicode_cmap_of_the_pdf_reference():
    """A CMap is a small PostScript program a reader runs rather than scans: its character collection
    (Adobe-UCS), name, type and code space are the ones the PDF reference gives, and a stray or misspelt word
    stops it before it maps anything."""
    text = layouts._to_unicode({3: "G", 4: "ạ"}).decode("ascii")
    assert text.split() == """/CIDInit /ProcSet findresource begin 12 dict begin begincmap
        /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
        /CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange
        2 beginbfchar <0003> <0047> <0004> <1EA1> endbfchar
        endcmap CMapName currentdict /CMap defineresource pop end end""".split()


def test_every_label_is_drawn_with_pdf_operators_only_each_text_object_closed():
    """Readers deal with an operator they do not know, or text drawn outside a text object, each in its own way
    (Ghostscript reports the file as broken): the pages and the run's text form use only these, in this order."""
    with strict_open(layouts.render_pdf(_demo_like_sheet(), range(7, 10), layouts.LAYOUTS["roll-50x30"])) as pdf:
        for page in pdf.pages:
            drawing = " ".join(str(op) for _, op in pikepdf.parse_content_stream(page))
            form = " ".join(str(op) for _, op in pikepdf.parse_content_stream(page.Resources.XObject.Run))
            assert re.fullmatch(r"q cm q cm Do Q Do( BT Tf Tm Tj ET)+ Q", drawing), drawing
            assert re.fullmatch(r"BT Tf Tm Tj ET( BT Tf Tm Tj ET)*", form), form
