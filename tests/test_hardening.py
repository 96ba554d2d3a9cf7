"""Responses carry security headers, pages cannot be framed, cookies stay on our site, a `next` with control
characters is not followed, and the SQLite file is private to its owner."""
import os
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


@pytest.mark.parametrize("target", ["/x\r\nSet-Cookie: a=b", "/x\tpath", "/\\evil.example",
                                    "//evil.example", "https://evil.example/"])
def test_a_next_address_with_control_characters_or_another_site_is_not_followed(demo_client, target):
    response = demo_client.post("/login", query_string={"next": target}, data={
        "email": "htx.lua@demo.vn", "password": "demo1234", "csrf_token": csrf_token(demo_client, "/login")})
    assert response.status_code == 302 and response.headers["Location"] == "/producer/"


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
