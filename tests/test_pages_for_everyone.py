"""What every page owes every reader: their language (error pages included; the API follows Accept-Language),
and tables a keyboard can scroll."""
import pytest

from .conftest import element_texts


@pytest.mark.parametrize("lang, path, status, title, text", [
    ("vi", "/khong-co-trang-nay", 404, "404 – Không tìm thấy", "Không có nội dung nào tại địa chỉ này."),
    ("en", "/khong-co-trang-nay", 404, "404 – Not found", "There is nothing at this address."),
    ("vi", "/logout", 405, "405 – Không dùng được cách này",
     "Không thể dùng địa chỉ này theo cách đó. Hãy quay lại và dùng các nút trên trang."),
    ("en", "/logout", 405, "405 – Method not allowed",
     "This address cannot be used that way. Go back and use the page's own buttons."),
])
def test_error_pages_are_in_the_readers_language(demo_client, lang, path, status, title, text):
    demo_client.set_cookie("lang", lang)
    response = demo_client.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert [t for _, t in element_texts(page, "title", "h1")] == [title, title]
    assert text in [t for _, t in element_texts(page, "p")]


def test_api_problems_follow_accept_language(demo_client):
    english = demo_client.get("/api/v1/no-such-thing").get_json()
    vietnamese = demo_client.get("/api/v1/no-such-thing", headers={"Accept-Language": "vi"}).get_json()
    assert (english["title"], vietnamese["title"]) == ("Not found", "Không tìm thấy")


def test_every_scrolling_table_can_be_reached_by_keyboard():
    """A table that scrolls sideways on a phone must take focus, or keyboard users cannot scroll it."""
    import re
    from pathlib import Path
    templates = Path(__file__).resolve().parent.parent / "templates"
    unreachable = []
    for template in sorted(templates.rglob("*.html")):
        for tag in re.findall(r"<(?:div|section)[^>]*class=\"[^\"]*\bscroll\b[^\"]*\"[^>]*>", template.read_text()):
            if 'tabindex="0"' not in tag:
                unreachable.append(f"{template.relative_to(templates)}: {tag}")
    assert unreachable == []


def test_no_page_repeats_an_id(demo_app, demo_client):
    """A repeated id sends a label or an error to the wrong field (the harvest's time once pointed at the
    input form's)."""
    import re
    from collections import Counter
    from trace.db import get_session
    from trace.models import Batch, Lot

    from sqlmodel import select

    from .conftest import login
    login(demo_client, "htx.lua@demo.vn")
    with demo_app.app_context():
        session = get_session()
        batch = session.exec(select(Batch).where(Batch.code == "LUA-VU-MUA-2026")).one()
        lot = session.exec(select(Lot).where(Lot.code == "GAO-BH-2610A")).one()
    pages = ["/producer/", "/producer/batches", "/producer/sites", "/producer/products", "/producer/certificates",
             "/producer/stock", "/producer/shipments", "/account", f"/producer/batches/{batch.id}",
             f"/producer/lots/{lot.id}"]
    repeated = {}
    for path in pages:
        response = demo_client.get(path)
        assert response.status_code == 200, path
        ids = Counter(re.findall(r'\sid="([^"]+)"', response.get_data(as_text=True)))
        repeated.update({f"{path} #{name}": count for name, count in ids.items() if count > 1})
    assert repeated == {}
