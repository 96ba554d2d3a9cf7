"""What a shop sees of its suppliers."""
from .conftest import element_texts, login


def test_the_supplier_list_shows_each_certificate_with_its_status_today(demo_client):
    login(demo_client, "sieuthi@demo.vn")
    demo_client.set_cookie("lang", "en")
    page = demo_client.get("/retailer/?q=Hoa Động").get_data(as_text=True)
    badges = [text for _, text in element_texts(page.split("<main>", 1)[1], "span") if ": " in text]
    assert badges == ["Organic: valid", "VietGAP: expired"]
