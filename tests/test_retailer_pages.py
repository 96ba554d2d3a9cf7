"""What a shop sees of its suppliers."""
from .conftest import element_texts, login


def test_the_supplier_list_shows_each_certificate_with_its_status_today(demo_client):
    login(demo_client, "sieuthi@demo.vn")
    demo_client.set_cookie("lang", "en")
    page = demo_client.get("/retailer/?q=Hoa Động").get_data(as_text=True)
    badges = [text for _, text in element_texts(page.split("<main>", 1)[1], "span") if ": " in text]
    assert badges == ["Organic: valid", "VietGAP: expired"]


def test_a_suppliers_page_lists_what_the_shop_received_from_it(demo_client, demo_app):
    from trace.db import get_session
    from trace.models import Organization

    from sqlmodel import select
    with demo_app.app_context():
        rice = get_session().exec(select(Organization).where(Organization.name.startswith("HTX Nông nghiệp Lúa"))).one()
    login(demo_client, "dulich@demo.vn")
    demo_client.set_cookie("lang", "en")
    page = demo_client.get(f"/retailer/suppliers/{rice.id}").get_data(as_text=True)
    table = page.split("<h2>Received from this supplier</h2>", 1)[1].split("</table>", 1)[0]
    cells = [text for _, text in element_texts(table, "td")]
    assert cells[1:] == ["Gạo Bắc Hương Thủy Nguyên", "GAO-BH-2610A", "295 kg", "PXK-2611-016"]  # as counted on arrival
    other = demo_app.test_client()
    login(other, "sieuthi@demo.vn")
    other.set_cookie("lang", "en")
    cells = [t for _, t in element_texts(other.get(f"/retailer/suppliers/{rice.id}").get_data(as_text=True).split(
        "<h2>Received from this supplier</h2>", 1)[1].split("</table>", 1)[0], "td")]
    assert cells[1:] == ["Gạo Bắc Hương Thủy Nguyên", "GAO-BH-2610A", "1,000 kg", "PXK-2611-015"]  # its own only
