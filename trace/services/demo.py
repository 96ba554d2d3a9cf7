"""The demo Thủy Nguyên ward, built through the same services producers use; dates are relative to today."""
import io
import math
import secrets
from datetime import date, datetime, time, timedelta

from PIL import Image, ImageDraw
from sqlmodel import Session, select

from ..clock import today as clock_today
from ..models import Batch, Lot, Organization, User
from . import accounts, labels, movements, organizations, recording, safety
from .keys import KeyStore, ensure_signing_key
from .ledger import record_one

ZONE = "Asia/Ho_Chi_Minh"
WARD = "phường Thủy Nguyên, TP. Hải Phòng"
WARD_EN = "Thuy Nguyen ward, Hai Phong city"


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


MEMBERS = (  # (e-mail, role, the organization's registration)
    ("htx.lua@demo.vn", "producer", dict(
        kind="cooperative", name="HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên", address=f"Tổ dân phố Phục Lễ, {WARD}",
        name_en="Thuy Nguyen High-Quality Rice Cooperative", address_en=f"Phuc Le residential group, {WARD_EN}",
        phone="0225 3874 112", tax_code="0207000123", prefixes="8936045")),
    ("rau.huuco@demo.vn", "producer", dict(
        kind="farm_household", name="Tổ hợp tác Rau hữu cơ Hoa Động", address=f"Tổ dân phố Hoa Động 3, {WARD}",
        phone="0912 406 318", registration_number="THT-0415", prefixes="8936046")),
    ("trangtrai.na@demo.vn", "producer", dict(
        kind="farm_household", name="Trang trại Na dai Lưu Kiếm", address=f"Tổ dân phố Lưu Kiếm 2, {WARD}",
        name_en="Luu Kiem Custard Apple Farm", address_en=f"Luu Kiem 2 residential group, {WARD_EN}",
        phone="0983 221 507", registration_number="TT-2024-017", prefixes="8936047")),
    ("thuysan@demo.vn", "producer", dict(
        kind="enterprise", name="Công ty TNHH Thủy sản nước lợ Bạch Đằng",
        address=f"Khu nuôi trồng thủy sản tập trung Lập Lễ, {WARD}", name_en="Bach Dang Brackish-Water Aquaculture Co., Ltd.",
        address_en=f"Lap Le aquaculture zone, {WARD_EN}", phone="0225 3770 886", tax_code="0201987654",
        prefixes="8936048")),
    ("chebien@demo.vn", "producer", dict(
        kind="enterprise", name="Công ty CP Chế biến Thực phẩm Minh Đức", address=f"Cụm công nghiệp Minh Đức, {WARD}",
        phone="0225 3875 020", tax_code="0202345678", prefixes="8936049")),
    ("sieuthi@demo.vn", "retailer", dict(
        kind="retailer", name="Siêu thị Nông sản sạch Thủy Nguyên", address=f"Đường Đà Nẵng, {WARD}",
        phone="0225 3666 999", tax_code="0203456789")),
    ("dulich@demo.vn", "retailer", dict(
        kind="tourist_outlet", name="Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh",
        address=f"Khu du lịch Tràng Kênh, {WARD}", phone="0936 118 226", registration_number="DL-TK-08")),
    ("kiemtra@demo.vn", "inspector", dict(
        kind="authority", name="UBND phường Thủy Nguyên – Phòng Kinh tế", address=f"Trụ sở UBND {WARD}",
        phone="0225 3874 001")),
    ("quantri@demo.vn", "admin", None),  # the ward's administrator, in the same office as the inspector
)


def new_password() -> str:
    """A password for the demo accounts, made at first start: easy to type, never published."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def create_demo(session: Session, store: KeyStore, base_url: str, password: str, today: date | None = None) -> tuple:
    """(created, [(email, role, organization)]); does nothing when the demo ward is already there."""
    already = session.exec(select(User).where(User.email == MEMBERS[0][0])).first() is not None
    users, logins = _members(session, password, already)
    if already:
        return False, logins
    ensure_signing_key(session, store)
    _Ward(session, store, today or clock_today(), users).build()
    session.flush()
    return True, logins


def _members(session: Session, password: str, already: bool) -> tuple:
    """The demo's organizations, each with one account ({e-mail: user}), and the logins to print."""
    users, logins, organization = {}, [], None
    for email, role, registration in MEMBERS:
        if already:
            user = session.exec(select(User).where(User.email == email)).first()
            if user is None:
                continue  # a ward made before this account was part of the demo
            organization = session.get(Organization, user.organization_id)
        else:
            if registration is not None:
                organization = organizations.register(session, registration)
            user = accounts.create_user(session, organization, email, password, role, name=organization.name)
        users[email] = user
        logins.append((email, role, organization.name))
    return users, logins


class _Ward:
    """The ward's farms, products, ratings, certificates and seasons, made as their members would make them."""

    def __init__(self, session: Session, store: KeyStore, today: date, users: dict):
        self.session, self.store, self.today, self.users = session, store, today, users

    def day(self, n: int) -> date:
        return self.today - timedelta(days=n)

    def site(self, user, **data):
        return recording.create_site(self.session, user.organization_id, data)

    def product(self, user, picture, **data):
        return recording.create_product(self.session, user.organization_id, data, image=picture)

    def certificate(self, user, **data):
        return recording.create_certificate(self.session, user.organization_id, data)

    def ocop(self, user, item, stars, number, issued):
        recording.add_ocop_rating(self.session, user.organization_id, item.id,
                                  {"stars": stars, "decision_number": number, "issued_on": issued.isoformat(),
                                   "issuing_level": "city"})

    def build(self) -> None:
        u = self.users
        rice, veg, fruit = u["htx.lua@demo.vn"], u["rau.huuco@demo.vn"], u["trangtrai.na@demo.vn"]
        shrimp, processor = u["thuysan@demo.vn"], u["chebien@demo.vn"]
        market, outlet, ward = u["sieuthi@demo.vn"], u["dulich@demo.vn"], u["kiemtra@demo.vn"]
        areas = self.areas(rice, veg, fruit, shrimp, processor, ward)
        items = self.products(rice, veg, fruit, shrimp, processor)
        self.credentials(areas, items)
        lots = self.seasons(areas, items)
        chain = Chain(self.session, self.store, self.day)
        chain.milled_rice(rice, areas["rice_field"], items["rice"], items["paddy"], self.site, self.certificate)
        chain.rice_to_shops(rice, lots["rice"], market, outlet)
        chain.shrimp_processing(shrimp, lots["pond7"], lots["pond3"], processor, areas["factory"], items["frozen"],
                                items["dried"])
        chain.cleared_harvest(fruit, lots["custard"], ward)

    def areas(self, rice, veg, fruit, shrimp, processor, ward) -> dict:
        """The programme's ≥ 5 ha (rice, vegetables) and ≥ 3 ha (fruit) models, brackish ponds, the forest."""
        site = self.site
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
        factory = site(processor, name="Xưởng chế biến Minh Đức", kind="processing_facility", address=f"Cụm công nghiệp Minh Đức, {WARD}",
             location="20.9550, 106.6200")
        site(ward, name="Rừng phòng hộ ven sông Bạch Đằng", kind="forest_plot", crop="Rừng ngập mặn (bần, đước)",
             area_ha="123.0700", address=f"Ven sông Bạch Đằng, {WARD}", location="20.8760, 106.7800")
        return {"rice_field": rice_field, "organic_plot": organic_plot, "veg_field": veg_field, "orchard": orchard,
                "pond_semi": pond_semi, "pond_intensive": pond_intensive, "factory": factory}

    def products(self, rice, veg, fruit, shrimp, processor) -> dict:
        product = self.product
        rice_product = product(rice, _picture((230, 200, 120), _grains), name_vi="Gạo Bắc Hương Thủy Nguyên",
                               name_en="Thuy Nguyen Bac Huong rice", category="Gạo", unit="kg", shelf_life_days="365")
        paddy = product(rice, _picture((200, 180, 110), _grains), name_vi="Thóc Bắc Hương tươi",
                        name_en="Bac Huong paddy", category="Lúa", unit="kg", shelf_life_days="30")
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
        frozen = product(processor, _picture((190, 210, 230), _shrimps), name_vi="Tôm thẻ nõn đông lạnh Minh Đức",
                         name_en="Minh Duc frozen peeled shrimp", category="Thủy sản chế biến", unit="kg",
                         shelf_life_days="365")
        dried = product(processor, _picture((200, 140, 90), _shrimps), name_vi="Tôm khô Minh Đức",
                        name_en="Minh Duc dried shrimp", category="Thủy sản chế biến", unit="kg", shelf_life_days="270")
        return {"rice": rice_product, "paddy": paddy, "greens": greens, "leafy": leafy, "custard": custard,
                "prawn": prawn, "frozen": frozen, "dried": dried}

    def credentials(self, areas: dict, items: dict) -> None:
        """OCOP ratings and certificates, one of them expired twelve days ago."""
        u, day, certificate, ocop = self.users, self.day, self.certificate, self.ocop
        rice, veg, fruit = u["htx.lua@demo.vn"], u["rau.huuco@demo.vn"], u["trangtrai.na@demo.vn"]
        shrimp, processor = u["thuysan@demo.vn"], u["chebien@demo.vn"]
        ocop(rice, items["rice"], 4, "1502/QĐ-UBND", day(300))
        ocop(fruit, items["custard"], 3, "2215/QĐ-UBND", day(400))

        certificate(rice, scheme="vietgap", standard="TCVN 11892-1:2017", certifier="Trung tâm Chứng nhận phù hợp (QUACERT)",
                    certifier_en="Vietnam Certification Centre (QUACERT)", number="VietGAP-TT-24-08-0231", valid_from=day(400).isoformat(), valid_to=(day(400) + timedelta(days=729)).isoformat(),
                    site_ids=[areas["rice_field"].id], product_ids=[items["rice"].id, items["paddy"].id])
        certificate(veg, scheme="organic", standard="TCVN 11041-2:2017", certifier="Công ty CP Chứng nhận và Giám định Vinacert",
                    number="HC-2025-0417", valid_from=day(200).isoformat(), valid_to=(day(200) + timedelta(days=1095)).isoformat(),
                    site_ids=[areas["organic_plot"].id], product_ids=[items["greens"].id])
        certificate(veg, scheme="vietgap", standard="TCVN 11892-1:2017", certifier="Chi cục Trồng trọt và BVTV Hải Phòng",
                    number="VietGAP-TT-24-11-0098", valid_from=day(700).isoformat(), valid_to=day(12).isoformat(),
                    site_ids=[areas["veg_field"].id], product_ids=[items["leafy"].id])  # the expired one
        certificate(fruit, scheme="vietgap", standard="TCVN 11892-1:2017", certifier="Trung tâm Chứng nhận phù hợp (QUACERT)",
                    certifier_en="Vietnam Certification Centre (QUACERT)", number="VietGAP-TT-25-03-0312", valid_from=day(250).isoformat(), valid_to=(day(250) + timedelta(days=729)).isoformat(),
                    site_ids=[areas["orchard"].id], product_ids=[items["custard"].id])
        certificate(shrimp, scheme="vietgap", standard="TCVN 13528:2022 (thủy sản)", certifier="Trung tâm Khảo nghiệm, kiểm nghiệm thủy sản",
                    number="VietGAP-TS-25-06-0044", valid_from=day(300).isoformat(), valid_to=(day(300) + timedelta(days=729)).isoformat(),
                    site_ids=[areas["pond_semi"].id, areas["pond_intensive"].id], product_ids=[items["prawn"].id])
        certificate(shrimp, scheme="globalgap", standard="GLOBALG.A.P. Aquaculture v6", certifier="Control Union Vietnam",
                    number="GGN-4063061987654", valid_from=day(150).isoformat(), valid_to=(day(150) + timedelta(days=364)).isoformat(),
                    site_ids=[areas["pond_intensive"].id], product_ids=[])
        certificate(processor, scheme="halal", standard="TCVN 12944:2020", certifier="Trung tâm Chứng nhận Halal Việt Nam (HALCERT)",
                    number="HALCERT-2025-1188", valid_from=day(180).isoformat(), valid_to=(day(180) + timedelta(days=1095)).isoformat(),
                    site_ids=[areas["factory"].id])

    def seasons(self, areas: dict, items: dict) -> dict:
        """Batches from sowing or stocking to harvest, packing and labels."""
        session, store, day, u = self.session, self.store, self.day, self.users
        rice, veg, fruit, shrimp = u["htx.lua@demo.vn"], u["rau.huuco@demo.vn"], u["trangtrai.na@demo.vn"], u["thuysan@demo.vn"]

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

        rice_lot = life(rice, areas["rice_field"], items["rice"], "LUA-VU-MUA-2026", 150, [
            {"variety": "Bắc Hương", "seed_quantity": "250", "seed_unit": "kg", "seed_source": "Công ty Giống cây trồng Hải Phòng"},
            (135, {"category": "fertiliser", "input_name": "Phân NPK 16-16-8", "dose": "25", "dose_unit": "kg/sào"}),
            (95, {"category": "pesticide", "input_name": "Validamycin 5SL (khô vằn)", "dose": "0.8", "dose_unit": "lít/ha",
                  "withholding_days": "14"}),
        ], (40, {"lot_code": "GAO-BH-2610A", "quantity": "18500", "unit": "kg"}),
            (30, {"package_count": "3700", "package_size": "5", "package_unit": "kg", "packaging": "Túi hút chân không 5 kg",
                  "packaging_en": "5 kg vacuum bag"}), 24)
        life(veg, areas["organic_plot"], items["greens"], "RAU-HC-L12", 35, [
            {"variety": "Cải ngọt Tosakan", "seed_quantity": "1.2", "seed_unit": "kg", "seed_source": "Hạt giống hữu cơ Phú Nông"},
            (30, {"category": "fertiliser", "input_name": "Phân hữu cơ vi sinh ủ tại chỗ", "dose": "2", "dose_unit": "tấn/ha"}),
            (18, {"category": "pesticide", "input_name": "Chế phẩm sinh học Bt (Bacillus thuringiensis)", "dose": "1",
                  "dose_unit": "kg/ha", "withholding_days": "3"}),
        ], (3, {"lot_code": "RHC-2611-03", "quantity": "640", "unit": "kg"}),
            (2, {"package_count": "1280", "package_size": "0.5", "package_unit": "kg", "packaging": "Túi giấy kraft 500 g"}), 12)
        life(veg, areas["veg_field"], items["leafy"], "RAU-AT-L08", 60, [
            {"variety": "Rau muống lá tre", "seed_quantity": "20", "seed_unit": "kg"},
            (50, {"category": "fertiliser", "input_name": "Đạm urê", "dose": "3", "dose_unit": "kg/sào"}),
        ], (25, {"lot_code": "RMA-2611-01", "quantity": "900", "unit": "kg"}), None, 6)
        custard_lot = life(fruit, areas["orchard"], items["custard"], "NA-MUA-2026", 160, [
            {"variety": "Na dai (na bở ghép)", "seed_quantity": "1450", "seed_unit": "cây", "seed_source": "Vườn sẵn có, vụ quả 2026"},
            (120, {"category": "fertiliser", "input_name": "Phân chuồng hoai mục", "dose": "10", "dose_unit": "kg/gốc"}),
            (70, {"category": "pesticide", "input_name": "Abamectin 3.6EC (rệp sáp)", "dose": "0.5", "dose_unit": "lít/ha",
                  "withholding_days": "7"}),
        ], (12, {"lot_code": "NA-2611-01", "quantity": "2200", "unit": "kg"}),
            (11, {"package_count": "440", "package_size": "5", "package_unit": "kg", "packaging": "Thùng carton 5 kg",
                  "packaging_en": "5 kg carton"}), 18)
        pond7_lot = life(shrimp, areas["pond_intensive"], items["prawn"], "AO7-V2-2026", 95, [
            {"variety": "Tôm thẻ chân trắng (Litopenaeus vannamei)", "seed_quantity": "450000", "seed_unit": "con",
             "seed_source": "Trại giống Việt–Úc, Ninh Thuận"},
            (80, {"category": "feed", "input_name": "Thức ăn Grobest 35% đạm", "dose": "120", "dose_unit": "kg/ngày"}),
            (50, {"category": "veterinary_drug", "input_name": "Vitamin C + khoáng (tăng sức đề kháng)", "dose": "3",
                  "dose_unit": "g/kg thức ăn", "withholding_days": "0"}),
            (40, {"category": "veterinary_drug", "input_name": "Oxytetracycline (điều trị hoại tử gan tụy)", "dose": "4",
                  "dose_unit": "g/kg thức ăn", "withholding_days": "28"}),
        ], (6, {"lot_code": "TOM-A7-2611", "quantity": "5400", "unit": "kg"}),
            (6, {"package_count": "5400", "package_size": "1", "package_unit": "kg", "packaging": "Túi hút chân không cấp đông 1 kg"}), 30)
        pond3_lot = life(shrimp, areas["pond_semi"], items["prawn"], "AO3-V1-2026", 210, [
            {"variety": "Tôm thẻ chân trắng", "seed_quantity": "600000", "seed_unit": "con"},
            (190, {"category": "feed", "input_name": "Thức ăn CP 9xx", "dose": "150", "dose_unit": "kg/ngày"}),
        ], (100, {"lot_code": "TOM-A3-2608", "quantity": "7800", "unit": "kg"}),
            (100, {"package_count": "780", "package_size": "10", "package_unit": "kg", "packaging": "Thùng đá 10 kg"}), 10)
        return {"rice": rice_lot, "custard": custard_lot, "pond7": pond7_lot, "pond3": pond3_lot}


class Chain:
    """The demo's flows after harvest: milling, shipping to shops, processing shrimp, a flagged harvest cleared."""

    def __init__(self, session: Session, store: KeyStore, day):
        self.session, self.store, self.day = session, store, day

    def record(self, user, function, *args):
        return record_one(self.session, user.organization_id, user.id, ZONE, function, *args)

    def at(self, days_ago: int, hour: int) -> str:
        return _at(self.day(days_ago), hour)

    def harvest(self, user, area, item, code, start, harvest_day, lot_code, quantity, variety):
        batch = self.record(user, recording.start_batch, {"site_id": area.id, "product_id": item.id, "code": code,
                                                          "time": self.at(start, 7), "variety": variety})
        return self.record(user, recording.record_harvest, batch.id, {
            "lot_code": lot_code, "quantity": quantity, "unit": "kg", "time": self.at(harvest_day, 6)})

    def milled_rice(self, rice, phuc_le, rice_product, paddy, site, certificate):
        """Paddy from three fields, one of them uncertified, milled into one rice lot: it may not claim VietGAP."""
        pha_le = site(rice, name="Cánh đồng Phả Lễ", kind="rice_field", crop="Lúa Bắc Hương", area_ha="5.1000",
                      address=f"Xứ đồng Phả Lễ, {WARD}", location="20.9402, 106.6623")
        kien_bai = site(rice, name="Ruộng hộ thành viên Kiền Bái", kind="rice_field", crop="Lúa Bắc Hương",
                        area_ha="1.2000", address=f"Xứ đồng Kiền Bái, {WARD}", location="20.9655, 106.6490")
        mill = site(rice, name="Xưởng xay xát HTX Phục Lễ", kind="processing_facility",
                    address=f"Tổ dân phố Phục Lễ, {WARD}", location="20.9330, 106.6720")
        certificate(rice, scheme="vietgap", standard="TCVN 11892-1:2017",
                    certifier="Trung tâm Chứng nhận phù hợp (QUACERT)", number="VietGAP-TT-25-02-0117",
                    valid_from=self.day(320).isoformat(), valid_to=(self.day(320) + timedelta(days=729)).isoformat(),
                    site_ids=[pha_le.id], product_ids=[paddy.id])
        lots = [self.harvest(rice, area, paddy, code, 120, 20, lot_code, quantity, "Bắc Hương")
                for area, code, lot_code, quantity in (
                    (phuc_le, "THOC-PL-V2", "THOC-PL-2611", "9000"), (pha_le, "THOC-PA-V2", "THOC-PA-2611", "7000"),
                    (kien_bai, "THOC-KB-V2", "THOC-KB-2611", "6000"))]
        milled = self.record(rice, movements.record_transformation, {
            "process": "milling", "site_id": mill.id, "time": self.at(15, 9),
            "note": "Xay xát, đánh bóng; tỉ lệ gạo 65 %",
            "inputs": [{"lot_id": lot.id, "quantity": quantity} for lot, quantity in zip(lots, ("9000", "7000", "6000"))],
            "outputs": [{"product_id": rice_product.id, "lot": "GAO-XAT-2611", "quantity": "14300"}]})
        out = self.session.exec(select(Lot).where(Lot.code == "GAO-XAT-2611")).one()
        self.record(rice, movements.record_packing, out.id, {
            "time": self.at(14, 10), "package_count": "2860", "package_size": "5", "package_unit": "kg",
            "packaging": "Túi 5 kg", "site_id": mill.id})
        labels.issue_labels(self.session, self.store, out, 12, rice.id)
        return milled

    def rice_to_shops(self, rice, rice_lot, market, outlet):
        """Cartons of VietGAP rice to the supermarket and the tourist outlet, each received there."""
        for shop, sscc, quantity, received, reference, days in (
                (market, "089360450000000014", "1000", None, "PXK-2611-015", 8),
                (outlet, "089360450000000021", "300", "295", "PXK-2611-016", 6)):
            self.record(rice, movements.record_packing, rice_lot.id, {
                "time": self.at(days + 1, 15), "package_count": str(int(quantity) // 20), "package_size": "20",
                "package_unit": "kg", "packaging": "Thùng carton 4 túi × 5 kg", "sscc": sscc, "quantity": quantity})
            shipment = self.record(rice, movements.record_shipping, {
                "to_organization_id": shop.organization_id, "reference_type": "desadv", "reference": reference,
                "time": self.at(days, 7), "lines": [{"lot_id": rice_lot.id, "quantity": quantity}]}).shipment
            lines = [{"lot_id": rice_lot.id, "quantity": received}] if received else None
            self.record(shop, movements.record_receiving, shipment.id, {
                "time": self.at(days, 16), **({"lines": lines} if lines else {})})

    def shrimp_processing(self, farm, pond7_lot, pond3_lot, processor, factory, frozen, dried):
        """Shrimp of two ponds, cooled at harvest, shipped to the halal processor, made into frozen and dried shrimp."""
        self.record(farm, movements.record_storing, {"lot_id": pond7_lot.id, "site_id": self._site_of(pond7_lot),
                                                     "temperature_c": "2", "cooling": "1", "time": self.at(6, 7)})
        shipment = self.record(farm, movements.record_shipping, {
            "to_organization_id": processor.organization_id, "reference_type": "inv", "reference": "HĐ-0004521",
            "time": self.at(5, 8), "lines": [{"lot_id": pond7_lot.id, "quantity": "1200"},
                                             {"lot_id": pond3_lot.id, "quantity": "800"}]}).shipment
        self.record(processor, movements.record_receiving, shipment.id, {"time": self.at(5, 11), "site_id": factory.id})
        self.record(processor, movements.record_transformation, {
            "process": "freezing", "site_id": factory.id, "time": self.at(4, 8), "note": "Bóc vỏ, cấp đông IQF -18 °C",
            "inputs": [{"lot_id": pond7_lot.id, "quantity": "1200"}, {"lot_id": pond3_lot.id, "quantity": "500"}],
            "outputs": [{"product_id": frozen.id, "lot": "TND-2611-01", "quantity": "980"}]})
        self.record(processor, movements.record_transformation, {
            "process": "drying", "site_id": factory.id, "time": self.at(3, 8), "note": "Luộc, sấy khô",
            "inputs": [{"lot_id": pond3_lot.id, "quantity": "300"}],
            "outputs": [{"product_id": dried.id, "lot": "TK-2611-01", "quantity": "60"}]})
        frozen_lot = self.session.exec(select(Lot).where(Lot.code == "TND-2611-01")).one()
        self.record(processor, movements.record_storing, {"lot_id": frozen_lot.id, "site_id": factory.id,
                                                          "temperature_c": "-18", "time": self.at(4, 12)})
        labels.issue_labels(self.session, self.store, frozen_lot, 12, processor.id)

    def _site_of(self, lot):
        return self.session.get(Batch, lot.batch_id).site_id

    def cleared_harvest(self, fruit, custard_lot, inspector):
        """Custard apples picked inside Abamectin's pre-harvest interval: flagged, then cleared on a residue test."""
        batch_id = custard_lot.batch_id
        self.record(fruit, recording.record_input, batch_id, {
            "time": self.at(5, 8), "category": "pesticide", "input_name": "Abamectin 3.6EC (rệp sáp)", "dose": "0.5",
            "dose_unit": "lít/ha", "withholding_days": "7"})
        lot = self.record(fruit, recording.record_harvest, batch_id, {
            "lot_code": "NA-2611-02", "quantity": "650", "unit": "kg", "time": self.at(2, 6)})
        (flag,) = safety.flags_of(self.session, lot.id)
        safety.clear_flag(self.session, inspector, flag.id, {
            "reason": "Mẫu quả kiểm nghiệm dư lượng Abamectin dưới giới hạn tối đa (MRL 0,01 mg/kg).",
            "reference": "Phiếu KN-2611-047, Trung tâm Kiểm nghiệm Hải Phòng"})
        labels.issue_labels(self.session, self.store, lot, 6, fruit.id)


