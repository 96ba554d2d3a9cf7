"""Logging in and out, and the language a user chose, kept with the user for the next login on any device."""
from trace.db import get_session
from trace.models import User

from sqlmodel import select

from .conftest import csrf_token, login

RICE = "htx.lua@demo.vn"


def page_language(client, path="/producer/") -> str:
    page = client.get(path).get_data(as_text=True)
    return page.split('<html lang="', 1)[1].split('"', 1)[0]


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/producer/")})


def test_logging_out_ends_the_login_and_its_cookie(demo_app):
    browser = demo_app.test_client()
    login(browser, RICE)
    cookie = browser.get_cookie("session").value
    assert browser.get("/producer/").status_code == 200
    assert browser.get("/logout").status_code == 405  # a link cannot log anyone out
    r = log_out(browser)
    assert (r.status_code, r.headers["Location"]) == (302, "/")
    r = browser.get("/producer/")
    assert (r.status_code, r.headers["Location"]) == (302, "/login?next=%2Fproducer%2F")
    copied = demo_app.test_client()
    copied.set_cookie("session", cookie)  # the cookie as it was before logging out, kept by someone
    r = copied.get("/producer/")
    assert (r.status_code, r.headers["Location"]) == (302, "/login?next=%2Fproducer%2F")


def test_the_chosen_language_is_kept_for_the_next_login_on_another_device(demo_app):
    phone = demo_app.test_client()
    login(phone, RICE)
    assert page_language(phone) == "vi"  # the default
    r = phone.get("/lang/en?next=/producer/")
    assert (r.status_code, r.headers["Location"]) == (302, "/producer/")
    assert page_language(phone) == "en"
    log_out(phone)
    with demo_app.app_context():
        assert get_session().exec(select(User.locale).where(User.email == RICE)).one() == "en"

    other = demo_app.test_client()
    login(other, "thuysan@demo.vn")
    assert page_language(other) == "vi"  # another user's pages keep their own language

    laptop = demo_app.test_client()  # no language cookie here
    assert page_language(laptop, "/login") == "vi"
    login(laptop, RICE)
    assert page_language(laptop) == "en"
    laptop.get("/lang/vi?next=/producer/")
    log_out(laptop)
    tablet = demo_app.test_client()
    login(tablet, RICE)
    assert page_language(tablet) == "vi"
