"""Responses carry security headers, pages cannot be framed, cookies stay on our site, a `next` with control
characters is not followed, and the SQLite file is private to its owner."""
import os
import re
import stat
from trace import create_app

import pytest

from .conftest import ON_POSTGRES, csrf_token, login


def test_every_response_carries_the_security_headers(demo_client):
    for path in ("/", "/login", "/.well-known/jwks.json", "/no/such/page"):
        headers = demo_client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'none'" in policy, path
        assert (headers["X-Content-Type-Options"], headers["X-Frame-Options"], headers["Referrer-Policy"]) == (
            "nosniff", "DENY", "same-origin"), path
        assert "Strict-Transport-Security" not in headers  # served over plain http here


def test_only_the_areas_form_may_run_script_and_only_our_own_files(demo_client):
    login(demo_client, "htx.lua@demo.vn")
    scripts = {path: next(part.strip() for part in demo_client.get(path).headers["Content-Security-Policy"].split(";")
                          if part.strip().startswith("script-src"))
               for path in ("/producer/sites", "/producer/", "/producer/batches", "/account")}
    assert scripts == {"/producer/sites": "script-src 'self'", "/producer/": "script-src 'none'",
                       "/producer/batches": "script-src 'none'", "/account": "script-src 'none'"}
    assert "<script>" not in demo_client.get("/producer/sites").get_data(as_text=True)  # never inline
    script = demo_client.get("/static/locate.js")
    assert (script.status_code, script.mimetype) == (200, "text/javascript")


def test_over_https_cookies_are_secure_and_transport_is_strict(databases, tmp_path):
    from .conftest import _make_app
    for app in _make_app(databases, tmp_path, "demo", TRACE_BASE_URL="https://truyxuat.example.vn"):
        client = app.test_client()
        response = client.get("/login", base_url="https://truyxuat.example.vn")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        login_page = client.post("/login", base_url="https://truyxuat.example.vn", data={
            "email": "htx.lua@demo.vn", "password": "demo1234",
            "csrf_token": csrf_token(client, "/login")})
        cookie = next(c for c in login_page.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize("target", ["/\\evil.example", "//evil.example", "https://evil.example/"])
def test_a_next_address_on_another_site_is_not_followed(demo_client, target):
    response = demo_client.post("/login", query_string={"next": target}, data={
        "email": "htx.lua@demo.vn", "password": "demo1234", "csrf_token": csrf_token(demo_client, "/login")})
    assert (response.status_code, response.headers["Location"]) == (302, "/producer/")


@pytest.mark.parametrize("target", ["/x\r\nSet-Cookie: a=b", "/x\tpath", "/x\x00", "/x\x7f"])
def test_a_next_address_with_a_control_character_is_a_bad_request(demo_client, target):
    response = demo_client.post("/login", query_string={"next": target}, data={
        "email": "htx.lua@demo.vn", "password": "demo1234", "csrf_token": csrf_token(demo_client, "/login")})
    assert response.status_code == 400
    assert demo_client.get("/lang/en", query_string={"next": target}).status_code == 400


def test_a_next_path_of_our_own_is_followed(demo_client):
    response = demo_client.post("/login?next=/producer/stock", data={
        "email": "htx.lua@demo.vn", "password": "demo1234", "csrf_token": csrf_token(demo_client, "/login")})
    assert response.headers["Location"] == "/producer/stock"


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite file only")
def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path):
    new = tmp_path / "new" / "trace.sqlite"
    create_app({"DATABASE_URL": f"sqlite:///{new}", "TRACE_KEYS_DIR": str(tmp_path / "keys"),
                "TRACE_QUEUE_FILE": str(tmp_path / "q.sqlite")})
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    old = tmp_path / "old.sqlite"
    old.touch(mode=0o644)
    os.chmod(old, 0o644)
    create_app({"DATABASE_URL": f"sqlite:///{old}", "TRACE_KEYS_DIR": str(tmp_path / "keys"),
                "TRACE_QUEUE_FILE": str(tmp_path / "q.sqlite")})
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_the_producer_forms_cannot_be_framed(demo_client):
    login(demo_client, "htx.lua@demo.vn")
    headers = demo_client.get("/producer/products").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"


def _token(app, email):
    from trace.db import get_session
    from trace.services import accounts
    with app.app_context():
        token = accounts.create_token(get_session(), email)
        get_session().commit()
    return {"Authorization": f"Bearer {token}"}


def test_lists_of_ids_are_bounded_and_looked_up_in_one_query(demo_app, demo_client):
    from trace.db import get_session
    from trace.models import Certificate

    from sqlalchemy import event
    from sqlmodel import func, select
    headers = _token(demo_app, "htx.lua@demo.vn")
    certificate = {"scheme": "vietgap", "certifier": "QUACERT", "number": "VG-BOUND-1", "valid_from": "2026-01-01",
                   "valid_to": "2027-06-30"}
    with demo_app.app_context():
        before = get_session().exec(select(func.count()).select_from(Certificate)).one()
    too_many = demo_client.post("/api/v1/certificates", json={**certificate, "site_ids": list(range(1, 1002))},
                                headers=headers)
    assert too_many.status_code == 422 and too_many.get_json()["errors"]["site_ids"] == "At most 1000 items."
    site_lookups = []

    def record(_connection, _cursor, statement, *_args):
        if re.search(r"\bFROM site\b", statement):
            site_lookups.append(statement)

    engine = demo_app.extensions["trace.engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        unknown = demo_client.post("/api/v1/certificates", json={**certificate, "site_ids": list(range(5000, 6000))},
                                   headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert unknown.status_code == 422 and len(site_lookups) == 1
    with demo_app.app_context():
        assert get_session().exec(select(func.count()).select_from(Certificate)).one() == before


def test_an_unknown_e_mail_is_checked_against_a_password_hash_like_a_known_one(demo_app, monkeypatch):
    """No timing in tests: the same work is done (a password hash checked) whether or not the e-mail exists."""
    from trace.db import get_session
    from trace.services import accounts
    checked = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda hashed, password: checked.append(hashed) or
                        real(hashed, password))
    with demo_app.app_context():
        session = get_session()
        assert accounts.authenticate(session, "nobody@demo.vn", "demo1234") is None
        assert accounts.authenticate(session, "htx.lua@demo.vn", "wrong") is None
        assert accounts.authenticate(session, "htx.lua@demo.vn", "demo1234").email == "htx.lua@demo.vn"
    assert len(checked) == 3 and checked[0].split("$")[0] == checked[1].split("$")[0]  # same method and cost


def test_a_served_password_is_hashed_with_scrypt_at_its_full_cost(monkeypatch):
    """The suite's cheaper hash (TRACE_PASSWORD_HASH) must not be what a deployment gets by default."""
    from trace.services import accounts

    from werkzeug.security import check_password_hash
    monkeypatch.delenv("TRACE_PASSWORD_HASH")
    hashed = accounts._password_hash("Lúa-thơm-2026")
    assert hashed.split("$")[0] == "scrypt:32768:8:1"
    assert check_password_hash(hashed, "Lúa-thơm-2026")


def test_remember_me_only_when_asked_and_logging_out_ends_that_login_everywhere(demo_app):
    def log_in(client, remember):
        data = {"email": "htx.lua@demo.vn", "password": "demo1234", "csrf_token": csrf_token(client, "/login")}
        if remember:
            data["remember"] = "1"
        response = client.post("/login", data=data)
        assert response.status_code == 302
        return response

    phone, laptop = demo_app.test_client(), demo_app.test_client()
    log_in(phone, remember=False)
    assert phone.get_cookie("remember_token") is None
    log_in(laptop, remember=True)
    remember = laptop.get_cookie("remember_token").value
    session = laptop.get_cookie("session").value
    assert laptop.get("/producer/").status_code == 200

    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/producer/")})
    for name, value in (("session", session), ("remember_token", remember)):
        replayed = demo_app.test_client()
        replayed.set_cookie(name, value)
        response = replayed.get("/producer/")
        assert response.status_code == 302 and "/login" in response.headers["Location"], name
    assert phone.get("/producer/").status_code == 200  # another login of the same user goes on


def test_a_forged_session_naming_only_a_user_id_is_not_a_login(demo_app):
    client = demo_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = "1", True
    assert client.get("/producer/").status_code == 302
