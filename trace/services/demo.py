"""The demo Thủy Nguyên ward, built through the same services producers use; dates are relative to today."""
import io
import math
from datetime import date, datetime, time, timedelta, timezone

from PIL import Image, ImageDraw
from sqlmodel import Session, select

from ..models import Product, User
from . import accounts, labels, movements, recording
from .ledger import record_one
from .keys import KeyStore, ensure_signing_key

DEMO_PASSWORD = "demo1234"
ZONE = "Asia/Ho_Chi_Minh"
WARD = "phường Thủy Nguyên, TP. Hải Phòng"


def _at(day: date, hour: int = 7) -> str:
    return datetime.combine(day, time(hour, 0)).isoformat(timespec="minutes")


def _picture(colour: tuple, draw_shape) -> bytes:
    image = Image.new("RGB", (480, 360), colour)
    draw = ImageDraw.Draw(image)
    for y in range(360):  # soft light from the top
        shade = int(40 * (1 - y / 360))
        draw.line([(0, y), (480, y)], fill=tuple(min(255, c + shade) for c in colour))
    draw_shape(draw)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _grains(draw):
    for i in range(60):
        x, y = 60 + (i * 53) % 360, 70 + (i * 37) % 220
        draw.ellipse([x, y, x + 34, y + 16], fill=(250, 240, 200), outline=(200, 170, 90), width=2)


def _leaves(draw):
    for i, x in enumerate(range(70, 420, 70)):
        draw.ellipse([x - 40, 90 + (i % 2) * 30, x + 40, 300], fill=(60, 150 + i * 12, 60), outline=(30, 90, 30), width=3)
        draw.line([(x, 110 + (i % 2) * 30), (x, 300)], fill=(200, 230, 180), width=4)


def _custard_apples(draw):
    for cx, cy in ((150, 190), (300, 170), (230, 260)):
        draw.ellipse([cx - 70, cy - 75, cx + 70, cy + 75], fill=(140, 190, 110), outline=(70, 110, 60), width=3)
        for k in range(12):
            a = k * math.pi / 6
            px, py = cx + 40 * math.cos(a), cy + 42 * math.sin(a)
            draw.ellipse([px - 12, py - 12, px + 12, py + 12], outline=(90, 130, 70), width=2)


def _shrimps(draw):
    for cx, cy in ((150, 150), (320, 200), (200, 270)):
        draw.arc([cx - 80, cy - 60, cx + 80, cy + 60], 200, 520, fill=(240, 120, 70), width=28)
        draw.ellipse([cx + 50, cy - 20, cx + 80, cy + 10], fill=(240, 120, 70))


def _parcels(draw):
    for i in range(4):
        x = 60 + i * 95
        draw.rectangle([x, 130, x + 80, 280], fill=(235, 200, 150), outline=(150, 100, 60), width=3)
        draw.rectangle([x + 10, 160, x + 70, 200], fill=(250, 245, 235))


def create_demo(session: Session, store: KeyStore, base_url: str, today: date | None = None) -> tuple:
    """(created, [(email, role, organization)]); does nothing when the demo ward is already there."""
    today = today or datetime.now(timezone(timedelta(hours=7))).date()
    logins = []
    already = session.exec(select(User).where(User.email == "htx.lua@demo.vn")).first() is not None

    def org(email, role, **fields):
        if already:
            user = session.exec(select(User).where(User.email == email)).one()
            logins.append((email, role, fields["name"]))
            return user
        organization = accounts.create_organization(session, **fields)
        user = accounts.create_user(session, organization, email, DEMO_PASSWORD, role, name=fields["name"])
        logins.append((email, role, fields["name"]))
        return user

    rice = org("htx.lua@demo.vn", "producer", kind="cooperative", name="HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên",
               address=f"Tổ dân phố Phục Lễ, {WARD}", phone="0225 3874 112", registration_number="0207000123",
               gs1_company_prefix="8936045")
    veg = org("rau.huuco@demo.vn", "producer", kind="farm_household", name="Tổ hợp tác Rau hữu cơ Hoa Động",
              address=f"Tổ dân phố Hoa Động 3, {WARD}", phone="0912 406 318", registration_number="THT-0415",
              gs1_company_prefix="8936046")
    fruit = org("trangtrai.na@demo.vn", "producer", kind="farm_household", name="Trang trại Na dai Lưu Kiếm",
                address=f"Tổ dân phố Lưu Kiếm 2, {WARD}", phone="0983 221 507", registration_number="TT-2024-017",
                gs1_company_prefix="8936047")
    shrimp = org("thuysan@demo.vn", "producer", kind="enterprise", name="Công ty TNHH Thủy sản nước lợ Bạch Đằng",
                 address=f"Khu nuôi trồng thủy sản tập trung Lập Lễ, {WARD}", phone="0225 3770 886",
                 registration_number="0201987654", gs1_company_prefix="8936048")
    processor = org("chebien@demo.vn", "producer", kind="enterprise", name="Công ty CP Chế biến Thực phẩm Minh Đức",
                    address=f"Cụm công nghiệp Minh Đức, {WARD}", phone="0225 3875 020",
                    registration_number="0202345678", gs1_company_prefix="8936049")
    org("sieuthi@demo.vn", "retailer", kind="retailer", name="Siêu thị Nông sản sạch Thủy Nguyên",
        address=f"Đường Đà Nẵng, {WARD}", phone="0225 3666 999", registration_number="0203456789")
    org("dulich@demo.vn", "retailer", kind="tourist_outlet", name="Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh",
        address=f"Khu du lịch Tràng Kênh, {WARD}", phone="0936 118 226", registration_number="DL-TK-08")
    ward = org("kiemtra@demo.vn", "inspector", kind="authority", name="UBND phường Thủy Nguyên – Phòng Kinh tế",
               address=f"Trụ sở UBND {WARD}", phone="0225 3874 001")
    if already:
        return False, logins

    ensure_signing_key(session, store)
    day = lambda n: today - timedelta(days=n)  # noqa: E731

    def site(user, **data):
        return recording.create_site(session, user.organization_id, data)

    def product(user, picture, **data):
        return recording.create_product(session, user.organization_id, data, "8930000", image=picture)

    # Production areas: the programme's ≥ 5 ha (rice, vegetables) and ≥ 3 ha (fruit) models, brackish ponds.
    rice_field = site(rice, name="Cánh đồng mẫu lớn Phục Lễ", kind="rice_field", crop="Lúa Bắc Hương", area_ha="6.2500",
                      address=f"Xứ đồng Phục Lễ, {WARD}",
                      location="20.9312 106.6704; 20.9318 106.6741; 20.9289 106.6748; 20.9284 106.6710")
    organic_plot = site(veg, name="Ruộng rau hữu cơ Hoa Động", kind="vegetable_plot", crop="Cải ngọt, cải bẹ",
                        area_ha="1.8000", address=f"Xứ đồng Hoa Động, {WARD}", location="20.9105, 106.7012")
    veg_field = site(veg, name="Vùng rau an toàn Hoa Động", kind="vegetable_plot", crop="Rau ăn lá", area_ha="5.4000",
                     address=f"Xứ đồng Hoa Động, {WARD}", location="20.9121, 106.6985")
    orchard = site(fruit, name="Vườn na dai Lưu Kiếm", kind="orchard", crop="Na dai", area_ha="3.6000",
                   address=f"Tổ dân phố Lưu Kiếm 2, {WARD}", location="20.9747, 106.6391")
    pond_semi = site(shrimp, name="Ao nuôi số 3 (bán thâm canh)", kind="brackish_pond", crop="Tôm thẻ chân trắng",
                     area_ha="12.0000", farming_method="semi_intensive", address=f"Khu nuôi Lập Lễ, {WARD}",
                     location="20.8702, 106.7623")
    pond_intensive = site(shrimp, name="Ao lót bạt số 7 (thâm canh công nghệ cao)", kind="brackish_pond",
                          crop="Tôm thẻ chân trắng", area_ha="4.5000", farming_method="high_tech",
                          address=f"Khu nuôi Lập Lễ, {WARD}", location="20.8688, 106.7660")
    site(processor, name="Xưởng chế biến Minh Đức", kind="processing_facility", address=f"Cụm công nghiệp Minh Đức, {WARD}",
         location="20.9550, 106.6200")
    site(ward, name="Rừng phòng hộ ven sông Bạch Đằng", kind="forest_plot", crop="Rừng ngập mặn (bần, đước)",
         area_ha="123.0700", address=f"Ven sông Bạch Đằng, {WARD}", location="20.8760, 106.7800")

    rice_product = product(rice, _picture((230, 200, 120), _grains), name_vi="Gạo Bắc Hương Thủy Nguyên",
                           name_en="Thuy Nguyen Bac Huong rice", category="Gạo", unit="kg", shelf_life_days="365")
    greens = product(veg, _picture((120, 180, 100), _leaves), name_vi="Rau cải ngọt hữu cơ Hoa Động",
                     name_en="Hoa Dong organic choy sum", category="Rau", unit="kg", shelf_life_days="5")
    leafy = product(veg, _picture((110, 170, 90), _leaves), name_vi="Rau muống an toàn Hoa Động",
                    name_en="Hoa Dong water spinach", category="Rau", unit="kg", shelf_life_days="3")
    custard = product(fruit, _picture((170, 210, 140), _custard_apples), name_vi="Na dai Lưu Kiếm",
                      name_en="Luu Kiem custard apple", category="Quả", unit="kg", shelf_life_days="7")
    prawn = product(shrimp, _picture((120, 180, 210), _shrimps), name_vi="Tôm thẻ chân trắng Bạch Đằng",
                    name_en="Bach Dang whiteleg shrimp", category="Thủy sản", unit="kg", shelf_life_days="180")
    product(processor, _picture((210, 170, 120), _parcels), name_vi="Chả tôm Minh Đức", name_en="Minh Duc shrimp cake",
            category="Thực phẩm chế biến", unit="hộp", shelf_life_days="180")

    def ocop(user, item, stars, number, issued):
        recording.add_ocop_rating(session, user.organization_id, item.id,
                                  {"stars": stars, "decision_number": number, "issued_on": issued.isoformat(),
                                   "issuing_level": "city"})

    ocop(rice, rice_product, 4, "1502/QĐ-UBND", day(300))
    ocop(fruit, custard, 3, "2215/QĐ-UBND", day(400))

    def certificate(user, **data):
        return recording.create_certificate(session, user.organization_id, data)

    certificate(rice, scheme="vietgap", standard="TCVN 11892-1:2017", certifier="Trung tâm Chứng nhận phù hợp (QUACERT)",
                number="VietGAP-TT-24-08-0231", valid_from=day(400).isoformat(), valid_to=(day(400) + timedelta(days=729)).isoformat(),
                site_ids=[rice_field.id], product_ids=[rice_product.id])
    certificate(veg, scheme="organic", standard="TCVN 11041-2:2017", certifier="Công ty CP Chứng nhận và Giám định Vinacert",
                number="HC-2025-0417", valid_from=day(200).isoformat(), valid_to=(day(200) + timedelta(days=1095)).isoformat(),
                site_ids=[organic_plot.id], product_ids=[greens.id])
    certificate(veg, scheme="vietgap", standard="TCVN 11892-1:2017", certifier="Chi cục Trồng trọt và BVTV Hải Phòng",
                number="VietGAP-TT-24-11-0098", valid_from=day(700).isoformat(), valid_to=day(12).isoformat(),
                site_ids=[veg_field.id], product_ids=[leafy.id])  # the expired one
    certificate(fruit, scheme="vietgap", standard="TCVN 11892-1:2017", certifier="Trung tâm Chứng nhận phù hợp (QUACERT)",
                number="VietGAP-TT-25-03-0312", valid_from=day(250).isoformat(), valid_to=(day(250) + timedelta(days=729)).isoformat(),
                site_ids=[orchard.id], product_ids=[custard.id])
    certificate(shrimp, scheme="vietgap", standard="TCVN 13528:2022 (thủy sản)", certifier="Trung tâm Khảo nghiệm, kiểm nghiệm thủy sản",
                number="VietGAP-TS-25-06-0044", valid_from=day(300).isoformat(), valid_to=(day(300) + timedelta(days=729)).isoformat(),
                site_ids=[pond_semi.id, pond_intensive.id], product_ids=[prawn.id])
    certificate(shrimp, scheme="globalgap", standard="GLOBALG.A.P. Aquaculture v6", certifier="Control Union Vietnam",
                number="GGN-4063061987654", valid_from=day(150).isoformat(), valid_to=(day(150) + timedelta(days=364)).isoformat(),
                site_ids=[pond_intensive.id], product_ids=[])
    processor_product = session.exec(select(Product).where(
        Product.organization_id == processor.organization_id)).one()
    certificate(processor, scheme="halal", standard="TCVN 12944:2020", certifier="Trung tâm Chứng nhận Halal Việt Nam (HALCERT)",
                number="HALCERT-2025-1188", valid_from=day(180).isoformat(), valid_to=(day(180) + timedelta(days=1095)).isoformat(),
                product_ids=[processor_product.id])

    def life(user, area, item, code, start, steps, harvest, packing, label_count):
        def record(function, *args):
            return record_one(session, user.organization_id, user.id, ZONE, function, *args)

        batch = record(recording.start_batch, {"site_id": area.id, "product_id": item.id, "code": code,
                                               "time": _at(day(start)), **steps.pop(0)})
        for when, data in steps:
            record(recording.record_input, batch.id, {"time": _at(day(when), 8), **data})
        lot = record(recording.record_harvest, batch.id, {"time": _at(day(harvest[0]), 6), **harvest[1]})
        if packing:
            record(movements.record_packing, lot.id, {"time": _at(day(packing[0]), 14), **packing[1]})
        labels.issue_labels(session, store, lot, label_count, user.id)
        return lot

    life(rice, rice_field, rice_product, "LUA-VU-MUA-2026", 150, [
        {"variety": "Bắc Hương", "seed_quantity": "250", "seed_unit": "kg", "seed_source": "Công ty Giống cây trồng Hải Phòng"},
        (135, {"category": "fertiliser", "input_name": "Phân NPK 16-16-8", "dose": "25", "dose_unit": "kg/sào"}),
        (95, {"category": "pesticide", "input_name": "Validamycin 5SL (khô vằn)", "dose": "0.8", "dose_unit": "lít/ha",
              "withholding_days": "14"}),
    ], (40, {"lot_code": "GAO-BH-2610A", "quantity": "18500", "unit": "kg"}),
        (30, {"package_count": "3700", "package_size": "5", "package_unit": "kg", "packaging": "Túi hút chân không 5 kg"}), 24)
    life(veg, organic_plot, greens, "RAU-HC-L12", 35, [
        {"variety": "Cải ngọt Tosakan", "seed_quantity": "1.2", "seed_unit": "kg", "seed_source": "Hạt giống hữu cơ Phú Nông"},
        (30, {"category": "fertiliser", "input_name": "Phân hữu cơ vi sinh ủ tại chỗ", "dose": "2", "dose_unit": "tấn/ha"}),
        (18, {"category": "pesticide", "input_name": "Chế phẩm sinh học Bt (Bacillus thuringiensis)", "dose": "1",
              "dose_unit": "kg/ha", "withholding_days": "3"}),
    ], (3, {"lot_code": "RHC-2611-03", "quantity": "640", "unit": "kg"}),
        (2, {"package_count": "1280", "package_size": "0.5", "package_unit": "kg", "packaging": "Túi giấy kraft 500 g"}), 12)
    life(veg, veg_field, leafy, "RAU-AT-L08", 60, [
        {"variety": "Rau muống lá tre", "seed_quantity": "20", "seed_unit": "kg"},
        (50, {"category": "fertiliser", "input_name": "Đạm urê", "dose": "3", "dose_unit": "kg/sào"}),
    ], (25, {"lot_code": "RMA-2611-01", "quantity": "900", "unit": "kg"}), None, 6)
    life(fruit, orchard, custard, "NA-MUA-2026", 160, [
        {"variety": "Na dai (na bở ghép)", "seed_quantity": "1450", "seed_unit": "cây", "seed_source": "Vườn sẵn có, vụ quả 2026"},
        (120, {"category": "fertiliser", "input_name": "Phân chuồng hoai mục", "dose": "10", "dose_unit": "kg/gốc"}),
        (70, {"category": "pesticide", "input_name": "Abamectin 3.6EC (rệp sáp)", "dose": "0.5", "dose_unit": "lít/ha",
              "withholding_days": "7"}),
    ], (12, {"lot_code": "NA-2611-01", "quantity": "2200", "unit": "kg"}),
        (11, {"package_count": "440", "package_size": "5", "package_unit": "kg", "packaging": "Thùng carton 5 kg"}), 18)
    life(shrimp, pond_intensive, prawn, "AO7-V2-2026", 95, [
        {"variety": "Tôm thẻ chân trắng (Litopenaeus vannamei)", "seed_quantity": "450000", "seed_unit": "con",
         "seed_source": "Trại giống Việt–Úc, Ninh Thuận"},
        (80, {"category": "feed", "input_name": "Thức ăn Grobest 35% đạm", "dose": "120", "dose_unit": "kg/ngày"}),
        (50, {"category": "veterinary_drug", "input_name": "Vitamin C + khoáng (tăng sức đề kháng)", "dose": "3",
              "dose_unit": "g/kg thức ăn", "withholding_days": "0"}),
        (40, {"category": "veterinary_drug", "input_name": "Oxytetracycline (điều trị hoại tử gan tụy)", "dose": "4",
              "dose_unit": "g/kg thức ăn", "withholding_days": "28"}),
    ], (6, {"lot_code": "TOM-A7-2611", "quantity": "5400", "unit": "kg"}),
        (6, {"package_count": "5400", "package_size": "1", "package_unit": "kg", "packaging": "Túi hút chân không cấp đông 1 kg"}), 30)
    life(shrimp, pond_semi, prawn, "AO3-V1-2026", 210, [
        {"variety": "Tôm thẻ chân trắng", "seed_quantity": "600000", "seed_unit": "con"},
        (190, {"category": "feed", "input_name": "Thức ăn CP 9xx", "dose": "150", "dose_unit": "kg/ngày"}),
    ], (100, {"lot_code": "TOM-A3-2608", "quantity": "7800", "unit": "kg"}),
        (100, {"package_count": "780", "package_size": "10", "package_unit": "kg", "packaging": "Thùng đá 10 kg"}), 10)
    session.flush()
    return True, logins


