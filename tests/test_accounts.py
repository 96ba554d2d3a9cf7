"""Onboarding a cooperative: the administrator registers it and invites its people with one-time links; people set
and change their own passwords; accounts can be disabled and reset; API tokens are named, listed and revoked."""
import functools
import re
import socket
import stat
import threading
from datetime import timedelta
from pathlib import Path
from trace.db import get_session
from trace.models import AccountLink, ApiToken, CompanyPrefix, Organization, Product, User, utcnow

import pytest
from sqlmodel import select

from .conftest import DEMO_PASSWORD, csrf_token, field_errors, login, post_form, table_rows

ADMIN = "quantri@demo.vn"
NEW_PASSWORD = "Lúa-thơm-2026"
COOPERATIVE = {"form": "details", "kind": "cooperative", "name": "HTX Dịch vụ Nông nghiệp Kiền Bái",
               "address": "Tổ dân phố Kiền Bái, phường Thủy Nguyên", "phone": "0225 3871 555",
               "tax_code": "0201234567", "registration_number": "HTX-0207-118", "prefixes": "8936051"}


def _admin(demo_app):
    client = demo_app.test_client()
    login(client, ADMIN)
    return client


def _register(admin, data=COOPERATIVE):
    return post_form(admin, "/admin/", data)


def _link_of(page: str) -> str:
    return re.search(r'<p class="secret" id="link">http://trace\.test(/welcome/[^<]+)</p>', page).group(1)


def _invite(admin, organization_id, email, role="producer"):
    page = post_form(admin, f"/admin/organizations/{organization_id}/invitations",
                     {"form": "invite", "email": email, "name": "Nguyễn Văn Bình", "role": role},
                     form_page=f"/admin/organizations/{organization_id}")
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    assert '<p class="muted">Chưa cài đặt máy chủ thư: hãy tự chuyển liên kết cho người đó.</p>' in page.get_data(
        as_text=True)
    return _link_of(page.get_data(as_text=True))


def _accept(client, link, password=NEW_PASSWORD, **extra):
    return post_form(client, link, {"password": password, "password_again": password, **extra})


def _onboarded(demo_app, email="binh@kienbai.vn"):
    """A cooperative registered and one producer invited and in: (their logged-in client, organization id)."""
    admin = _admin(demo_app)
    response = _register(admin)
    organization_id = int(response.headers["Location"].rsplit("/", 1)[1])
    link = _invite(admin, organization_id, email)
    producer = demo_app.test_client()
    assert _accept(producer, link).headers["Location"] == "/producer/"
    return producer, organization_id


def test_a_new_cooperative_is_onboarded_in_the_browser_and_records_its_first_product(demo_app):
    producer, organization_id = _onboarded(demo_app)
    with demo_app.app_context():
        session = get_session()
        organization = session.get(Organization, organization_id)
        assert (organization.kind, organization.tax_code, organization.registration_number) == (
            "cooperative", "0201234567", "HTX-0207-118")
        assert session.exec(select(CompanyPrefix.prefix).where(CompanyPrefix.organization_id == organization_id)
                            ).all() == ["8936051"]
        user = session.exec(select(User).where(User.email == "binh@kienbai.vn")).one()
        assert (user.role, user.name, user.organization_id) == ("producer", "Nguyễn Văn Bình", organization_id)
    home = producer.get("/producer/")
    assert home.status_code == 200
    created = post_form(producer, "/producer/products", {"name_vi": "Gạo nếp cái hoa vàng", "unit": "kg"})
    assert created.status_code == 302
    with demo_app.app_context():
        product = get_session().exec(select(Product).where(Product.organization_id == organization_id)).one()
        assert product.gtin == "08936051000015"  # the first GTIN-13 under its own prefix
    # and the new account logs in with the password it chose
    again = demo_app.test_client()
    login(again, "binh@kienbai.vn", NEW_PASSWORD)


def test_an_invitation_link_works_once(demo_app):
    admin = _admin(demo_app)
    organization_id = int(_register(admin).headers["Location"].rsplit("/", 1)[1])
    link = _invite(admin, organization_id, "lan@kienbai.vn")
    first, second = demo_app.test_client(), demo_app.test_client()
    second.set_cookie("lang", "en")
    csrf = csrf_token(second, link)
    assert _accept(first, link).status_code == 302
    gone = second.post(link, data={"password": "another-password", "password_again": "another-password",
                                   "csrf_token": csrf})
    assert gone.status_code == 410
    assert "<p>This link has expired or was already used. Ask the ward administrator for a new one.</p>" in \
        gone.get_data(as_text=True)
    assert second.get(link).status_code == 410
    login(demo_app.test_client(), "lan@kienbai.vn", NEW_PASSWORD)  # the first password stands


def test_two_uses_of_one_link_at_the_same_instant_open_one_account(demo_app):
    admin = _admin(demo_app)
    organization_id = int(_register(admin).headers["Location"].rsplit("/", 1)[1])
    link = _invite(admin, organization_id, "mai@kienbai.vn")
    clients = [demo_app.test_client() for _ in range(6)]
    tokens = [csrf_token(c, link) for c in clients]
    barrier, codes = threading.Barrier(len(clients)), []

    def use(client, token):
        barrier.wait()
        codes.append(client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
                                             "csrf_token": token}).status_code)
    threads = [threading.Thread(target=use, args=pair) for pair in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [302] + [410] * 5
    with demo_app.app_context():
        assert len(get_session().exec(select(User).where(User.email == "mai@kienbai.vn")).all()) == 1


def test_an_expired_link_is_refused(demo_app):
    admin = _admin(demo_app)
    organization_id = int(_register(admin).headers["Location"].rsplit("/", 1)[1])
    link = _invite(admin, organization_id, "hoa@kienbai.vn")
    with demo_app.app_context():
        session = get_session()
        row = session.exec(select(AccountLink).where(AccountLink.email == "hoa@kienbai.vn")).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)
        session.commit()
    assert demo_app.test_client().get(link).status_code == 410


@pytest.mark.parametrize("password, again, field, message", [
    ("short", "short", "password", "At least 10 characters."),
    ("a-long-password-1", "a-long-password-2", "password_again", "The two passwords differ."),
    ("tho@kienbai.vn", "tho@kienbai.vn", "password", "Not your e-mail address."),
])
def test_a_weak_or_mistyped_password_opens_nothing(demo_app, password, again, field, message):
    admin = _admin(demo_app)
    organization_id = int(_register(admin).headers["Location"].rsplit("/", 1)[1])
    link = _invite(admin, organization_id, "tho@kienbai.vn")
    client = demo_app.test_client()
    client.set_cookie("lang", "en")
    refused = post_form(client, link, {"password": password, "password_again": again})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {field: message}
    with demo_app.app_context():
        assert get_session().exec(select(User).where(User.email == "tho@kienbai.vn")).first() is None
    assert _accept(client, link).status_code == 302  # the link still works


@pytest.mark.parametrize("change, field, message", [
    ({"prefixes": "8936045"}, "prefixes", "8936045 is registered to another organization."),
    ({"prefixes": "89360451"}, "prefixes", "89360451 overlaps 8936045: one company prefix cannot begin another."),
    ({"prefixes": "893604"}, "prefixes", "893604 overlaps 8936045: one company prefix cannot begin another."),
    ({"prefixes": "89360"}, "prefixes", "A GS1 company prefix has 6 to 11 digits: 89360 does not."),
    ({"tax_code": "02012345"}, "tax_code",
     "A tax code has 10 digits, or 10 digits, a dash and 3 more for a branch."),
    ({"gln": "8936045000011"}, "gln", "A GLN has 13 digits, the last one its check digit."),
    ({"name": ""}, "name", "Required."),
    ({"kind": "bank"}, "kind", "Choose one of: farm_household, cooperative, enterprise, retailer, tourist_outlet, "
                               "authority."),
])
def test_a_registration_that_breaks_a_rule_writes_nothing(demo_app, change, field, message):
    admin = _admin(demo_app)
    admin.set_cookie("lang", "en")
    with demo_app.app_context():
        before = len(get_session().exec(select(Organization)).all())
    refused = _register(admin, {**COOPERATIVE, **change})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {field: message}
    with demo_app.app_context():
        assert len(get_session().exec(select(Organization)).all()) == before


def test_a_producer_may_register_only_gtins_it_owns(demo_app):
    producer, organization_id = _onboarded(demo_app)
    producer.set_cookie("lang", "en")
    cases = {
        "08936045099995": "This GTIN is under another organization's GS1 company prefix (8936045).",
        "04006381333931": "Your GTINs must begin with your GS1 company prefix (8936051), or be assigned to you by the "
                          "ward administrator.",
    }
    for gtin, message in cases.items():
        refused = post_form(producer, "/producer/products", {"name_vi": "Gạo", "unit": "kg", "gtin": gtin})
        assert refused.status_code == 422
        assert field_errors(refused.get_data(as_text=True)) == {"gtin": message}
    # an assigned GTIN outside every prefix becomes usable once the administrator registers it
    admin = _admin(demo_app)
    assigned = post_form(admin, f"/admin/organizations/{organization_id}", {"form": "gtin", "gtin": "4006381333931"})
    assert assigned.status_code == 302
    ok = post_form(producer, "/producer/products", {"name_vi": "Gạo", "unit": "kg", "gtin": "04006381333931"})
    assert ok.status_code == 302
    with demo_app.app_context():
        gtins = get_session().exec(select(Product.gtin).where(Product.organization_id == organization_id)).all()
        assert gtins == ["04006381333931"]


def test_an_organization_without_a_prefix_or_assigned_gtin_gets_no_gtin(demo_app):
    admin = _admin(demo_app)
    organization_id = int(_register(admin, {**COOPERATIVE, "prefixes": ""}).headers["Location"].rsplit("/", 1)[1])
    producer = demo_app.test_client()
    _accept(producer, _invite(admin, organization_id, "an@kienbai.vn"))
    producer.set_cookie("lang", "en")
    refused = post_form(producer, "/producer/products", {"name_vi": "Gạo", "unit": "kg"})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {"gtin": (
        "No GTIN is free: ask the ward administrator to register your GS1 company prefix or assign GTINs to you.")}
    typed = post_form(producer, "/producer/products", {"name_vi": "Gạo", "unit": "kg", "gtin": "08936051000015"})
    assert field_errors(typed.get_data(as_text=True)) == {"gtin": (
        "Your organization has no GS1 company prefix or assigned GTIN yet: ask the ward administrator to register "
        "the ones GS1 Vietnam gave you.")}


def test_a_prefix_with_products_under_it_cannot_be_removed(demo_app):
    producer, organization_id = _onboarded(demo_app)
    assert post_form(producer, "/producer/products", {"name_vi": "Gạo", "unit": "kg"}).status_code == 302
    admin = _admin(demo_app)
    admin.set_cookie("lang", "en")
    refused = post_form(admin, f"/admin/organizations/{organization_id}", {**COOPERATIVE, "prefixes": "8936052"})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {
        "prefixes": "Products are registered under 8936051; it cannot be removed."}
    with demo_app.app_context():
        assert get_session().exec(select(CompanyPrefix.prefix).where(
            CompanyPrefix.organization_id == organization_id)).all() == ["8936051"]


def test_changing_the_password_ends_every_other_login(demo_app):
    here, phone = demo_app.test_client(), demo_app.test_client()
    login(here, "htx.lua@demo.vn")
    login(phone, "htx.lua@demo.vn")
    assert phone.get("/producer/").status_code == 200
    changed = post_form(here, "/account", {"form": "password", "current_password": DEMO_PASSWORD,
                                           "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert changed.status_code == 302
    assert here.get("/producer/").status_code == 200  # this login goes on
    assert phone.get("/producer/").headers["Location"].startswith("/login")  # the other one has ended
    old = demo_app.test_client()
    assert old.post("/login", data={"email": "htx.lua@demo.vn", "password": DEMO_PASSWORD,
                                    "csrf_token": csrf_token(old)}).status_code == 401
    login(old, "htx.lua@demo.vn", NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(demo_app):
    client = demo_app.test_client()
    login(client, "htx.lua@demo.vn")
    client.set_cookie("lang", "en")
    refused = post_form(client, "/account", {"form": "password", "current_password": "not-it-at-all",
                                             "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {"current_password": "This is not your current password."}
    login(demo_app.test_client(), "htx.lua@demo.vn", DEMO_PASSWORD)


def _token_of(demo_app, client, name):
    page = post_form(client, "/account", {"form": "token", "name": name}).get_data(as_text=True)
    return re.search(r'<p class="secret" id="new-token">(trc_[^<]+)</p>', page).group(1)


def test_disabling_an_account_ends_its_logins_and_tokens(demo_app):
    producer = demo_app.test_client()
    login(producer, "thuysan@demo.vn")
    token = _token_of(demo_app, producer, "cân điện tử")
    bearer = {"Authorization": f"Bearer {token}"}
    assert producer.get("/api/v1/lots", headers=bearer).status_code == 200
    admin = _admin(demo_app)
    with demo_app.app_context():
        user = get_session().exec(select(User).where(User.email == "thuysan@demo.vn")).one()
    assert post_form(admin, f"/admin/users/{user.id}/disable", {},
                     form_page=f"/admin/organizations/{user.organization_id}").status_code == 302
    assert producer.get("/producer/").headers["Location"].startswith("/login")
    assert demo_app.test_client().get("/api/v1/lots", headers=bearer).status_code == 401
    client = demo_app.test_client()
    client.set_cookie("lang", "en")
    refused = client.post("/login", data={"email": "thuysan@demo.vn", "password": DEMO_PASSWORD,
                                          "csrf_token": csrf_token(client)})
    assert refused.status_code == 403
    assert "This account is disabled. Ask the ward administrator." in refused.get_data(as_text=True)
    assert post_form(admin, f"/admin/users/{user.id}/enable", {},
                     form_page=f"/admin/organizations/{user.organization_id}").status_code == 302
    login(demo_app.test_client(), "thuysan@demo.vn")


def test_the_administrator_cannot_disable_itself(demo_app):
    admin = _admin(demo_app)
    with demo_app.app_context():
        me = get_session().exec(select(User).where(User.email == ADMIN)).one()
    post_form(admin, f"/admin/users/{me.id}/disable", {}, form_page="/admin/")
    with demo_app.app_context():
        assert get_session().get(User, me.id).disabled_at is None
    assert admin.get("/admin/").status_code == 200


def test_a_password_reset_stops_the_old_password_at_once_and_its_link_works_once(demo_app):
    victim = demo_app.test_client()
    login(victim, "chebien@demo.vn")
    admin = _admin(demo_app)
    with demo_app.app_context():
        user = get_session().exec(select(User).where(User.email == "chebien@demo.vn")).one()
    page = post_form(admin, f"/admin/users/{user.id}/reset", {}, form_page=f"/admin/organizations/{user.organization_id}")
    link = _link_of(page.get_data(as_text=True))
    assert victim.get("/producer/").headers["Location"].startswith("/login")
    old = demo_app.test_client()
    assert old.post("/login", data={"email": "chebien@demo.vn", "password": DEMO_PASSWORD,
                                    "csrf_token": csrf_token(old)}).status_code == 401
    assert _accept(demo_app.test_client(), link).headers["Location"] == "/producer/"
    assert demo_app.test_client().get(link).status_code == 410
    login(demo_app.test_client(), "chebien@demo.vn", NEW_PASSWORD)


def test_tokens_are_named_listed_with_last_use_and_revoked_by_their_owner_only(demo_app):
    owner, other = demo_app.test_client(), demo_app.test_client()
    login(owner, "sieuthi@demo.vn")
    login(other, "dulich@demo.vn")
    token = _token_of(demo_app, owner, "máy quét quầy 2")
    page = owner.get("/account").get_data(as_text=True)
    assert token not in page  # shown once, at creation
    assert re.search(r"<td>máy quét quầy 2<br><span class=\"code\">trc_[\w-]{4}…</span></td>"
                     r"<td>\d\d/\d\d/\d{4} \d\d:\d\d</td>\s*<td>chưa bao giờ</td>", page), page
    assert owner.get("/api/v1/shipments", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with demo_app.app_context():
        row = get_session().exec(select(ApiToken).where(ApiToken.name == "máy quét quầy 2")).one()
        assert row.last_used_at is not None
    assert post_form(other, f"/account/tokens/{row.id}/revoke", {}, form_page="/account").status_code == 404
    assert owner.get("/api/v1/shipments", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert post_form(owner, f"/account/tokens/{row.id}/revoke", {}, form_page="/account").status_code == 302
    assert owner.get("/api/v1/shipments", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_tokens_on_the_command_line(demo_app):
    runner = demo_app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "sieuthi@demo.vn", "--name", "kho lạnh"])
    assert made.exit_code == 0
    token = made.output.strip()
    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0
    (line,) = [line for line in listed.output.splitlines() if "\tkho lạnh\t" in line]
    token_id, email, name, prefix, _created, used, state = line.split("\t")
    assert (email, name, prefix, used, state) == ("sieuthi@demo.vn", "kho lạnh", token[:8] + "…", "never used",
                                                  "active")
    revoked = runner.invoke(args=["tokens", "revoke", token_id])
    assert (revoked.exit_code, revoked.output) == (0, f"Token {token_id} ({token[:8]}…) is revoked.\n")
    assert demo_app.test_client().get("/api/v1/shipments", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert runner.invoke(args=["tokens", "list"]).output.count(f"{token_id}\t") == 1
    unknown = runner.invoke(args=["tokens", "revoke", "999999"])
    assert unknown.exit_code == 1 and "Not found." in unknown.output


def test_the_first_administrator_is_created_on_the_command_line(app):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "Admin@Ward.vn", "--role", "admin", "--name", "Trần Thị Hà"])
    assert made.exit_code == 0, made.output
    lines = made.output.splitlines()
    assert lines[0] == "Account admin@ward.vn (admin) in UBND phường Thủy Nguyên."
    link = re.fullmatch(r"Set its password within 2 days at: http://trace\.test(/welcome/[\w-]+)", lines[1]).group(1)
    client = app.test_client()
    assert _accept(client, link).headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    again = runner.invoke(args=["users", "create", "admin@ward.vn", "--role", "admin"])
    assert again.exit_code == 1 and "There is already an account with this e-mail." in again.output
    producer = runner.invoke(args=["users", "create", "x@y.vn", "--role", "producer"])
    assert producer.exit_code == 1 and "Give the organization a producer belongs to." in producer.output


def test_accounts_opened_on_the_command_line_join_the_organization_named_or_the_ward_office(demo_app):
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        session = get_session()
        rice = session.exec(select(User).where(User.email == "htx.lua@demo.vn")).one().organization_id
        offices = session.exec(select(Organization.id).where(Organization.kind == "authority")).all()
    made = runner.invoke(args=["users", "create", "nam@htxlua.vn", "--role", "producer", "--organization", str(rice)])
    assert made.output.splitlines()[0] == "Account nam@htxlua.vn (producer) in HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên."
    inspector = runner.invoke(args=["users", "create", "thanhtra@ward.vn", "--role", "inspector"])
    assert inspector.output.splitlines()[0] == (
        "Account thanhtra@ward.vn (inspector) in UBND phường Thủy Nguyên – Phòng Kinh tế.")  # the existing office
    with demo_app.app_context():
        session = get_session()
        assert session.exec(select(Organization.id).where(Organization.kind == "authority")).all() == offices
        opened = {user.email: (user.organization_id, user.name, user.role)
                  for user in session.exec(select(User).where(User.email.in_(["nam@htxlua.vn", "thanhtra@ward.vn"])))}
    assert opened == {"nam@htxlua.vn": (rice, "", "producer"), "thanhtra@ward.vn": (offices[0], "", "inspector")}
    before = table_rows(demo_app)
    for given in ("999999", "0", "-3", "2147483648"):
        refused = runner.invoke(args=["users", "create", "ai@x.vn", "--role", "producer", "--organization", given])
        assert (refused.exit_code, refused.output.splitlines()[-1]) == (1, f"Error: No organization {given}.")
    assert table_rows(demo_app) == before


def test_accounts_are_listed_and_a_password_reset_on_the_command_line(demo_app):
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        session = get_session()
        shop = session.exec(select(User).where(User.email == "sieuthi@demo.vn")).one()
        shop.disabled_at = utcnow()
        session.add(shop)
        session.commit()
    listed = runner.invoke(args=["users", "list"])
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.output.splitlines()]
    assert [row[1] for row in rows] == [  # by organization, then e-mail
        "chebien@demo.vn", "thuysan@demo.vn", "htx.lua@demo.vn", "dulich@demo.vn", "sieuthi@demo.vn",
        "trangtrai.na@demo.vn", "rau.huuco@demo.vn", "kiemtra@demo.vn", "quantri@demo.vn"]
    assert rows[4] == [str(shop.id), "sieuthi@demo.vn", "retailer", "Siêu thị Nông sản sạch Thủy Nguyên", "disabled"]
    assert rows[3][2:] == ["retailer", "Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh", "active"]
    farmer = demo_app.test_client()
    login(farmer, "htx.lua@demo.vn")
    reset = runner.invoke(args=["users", "reset-password", " HTX.Lua@Demo.vn "])
    assert reset.exit_code == 0, reset.output
    link = re.fullmatch(r"Every login of htx\.lua@demo\.vn has ended\. New password within 2 days at: "
                        r"http://trace\.test(/welcome/[\w-]+)\n", reset.output).group(1)
    assert farmer.get("/producer/").headers["Location"].startswith("/login")
    assert _accept(demo_app.test_client(), link).status_code == 302
    login(demo_app.test_client(), "htx.lua@demo.vn", NEW_PASSWORD)
    unknown = runner.invoke(args=["users", "reset-password", "ai.do@demo.vn"])
    assert (unknown.exit_code, unknown.output.splitlines()[-1]) == (1, "Error: No account with this e-mail.")


@pytest.mark.parametrize("path", ["/admin/", "/admin/keys", "/admin/organizations/1"])
def test_only_the_administrator_opens_the_administration(demo_app, path):
    for email in ("htx.lua@demo.vn", "sieuthi@demo.vn", "kiemtra@demo.vn"):
        client = demo_app.test_client()
        login(client, email)
        assert client.get(path).status_code == 403, email
    assert demo_app.test_client().get(path).headers["Location"].startswith("/login")
    assert _admin(demo_app).get(path).status_code == 200


def test_an_invitation_is_e_mailed_when_a_server_is_set(databases, tmp_path):
    from aiosmtpd.controller import Controller

    from .conftest import _make_app

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for app in _make_app(databases, tmp_path, "demo", TRACE_SMTP_HOST="127.0.0.1",
                             TRACE_SMTP_PORT=port,
                             TRACE_MAIL_FROM="truyxuat@thuynguyen.gov.vn"):
            admin = _admin(app)
            admin.set_cookie("lang", "en")
            organization_id = int(_register(admin).headers["Location"].rsplit("/", 1)[1])
            page = post_form(admin, f"/admin/organizations/{organization_id}/invitations",
                             {"form": "invite", "email": "lien@kienbai.vn", "role": "producer"},
                             form_page=f"/admin/organizations/{organization_id}").get_data(as_text=True)
            link = _link_of(page)
            assert "It was also e-mailed to lien@kienbai.vn." in page
            assert "No mail server is set up" not in page
    finally:
        controller.stop()
    ((recipients, message),) = received
    assert recipients == ["lien@kienbai.vn"]
    assert "From: truyxuat@thuynguyen.gov.vn" in message and f"http://trace.test{link}" in message


def _login_from(client, email, password, address):
    return client.post("/login", environ_base={"REMOTE_ADDR": address}, data={
        "email": email, "password": password, "csrf_token": csrf_token(client)})


def test_failed_logins_are_throttled_per_account_whatever_the_address(databases, tmp_path):
    from .conftest import _make_app
    for app in _make_app(databases, tmp_path, "demo", RATELIMIT_ENABLED=True, TRACE_LOGIN_RATE="1000 per minute",
                         TRACE_LOGIN_ACCOUNT_RATE="3 per 15 minutes"):
        client = app.test_client()
        client.set_cookie("lang", "en")
        attempt = functools.partial(_login_from, client)
        for n in range(3):  # logging in and out does not count; failures do, from any address
            assert attempt("htx.lua@demo.vn", DEMO_PASSWORD, "10.9.0.1").status_code == 302
            client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
            assert attempt(" HTX.Lua@demo.vn", f"guess-{n}", f"10.9.1.{n}").status_code == 401
        locked = attempt("htx.lua@demo.vn", DEMO_PASSWORD, "10.9.2.1")
        assert locked.status_code == 429
        assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
        assert ('<p class="alert" role="alert">Too many failed logins for this account. Try again in 15 minutes, or '
                'ask the ward administrator to reset the password.</p>') in locked.get_data(as_text=True)
        assert attempt("thuysan@demo.vn", DEMO_PASSWORD, "10.9.1.0").status_code == 302  # other accounts go on


def test_the_demo_gets_a_random_password_kept_in_the_instance_folder(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    password = re.search(r"Demo logins \(password for all: ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})\):", first.output).group(1)
    assert "quantri@demo.vn" in first.output and "demo1234" not in first.output
    kept = Path(app.config["TRACE_DEMO_PASSWORD_FILE"])
    assert (kept.read_text(), stat.S_IMODE(kept.stat().st_mode)) == (password, 0o600)
    second = runner.invoke(args=["demo"])
    assert second.output.splitlines()[:2] == ["Demo ward already present; nothing changed.",
                                              f"Demo logins (password for all: {password}):"]
    login(app.test_client(), "quantri@demo.vn", password)


def test_a_real_deployment_turns_the_demo_off(databases, tmp_path):
    from .conftest import _make_app
    for app in _make_app(databases, tmp_path, "empty", TRACE_DEMO=False):
        result = app.test_cli_runner().invoke(args=["demo"])
        assert (result.exit_code, result.output) == (
            0, "The demo is turned off (TRACE_DEMO=0): no demo accounts are created.\n")
        with app.app_context():
            assert get_session().exec(select(User)).all() == []


def test_members_give_their_organizations_english_name_and_address(demo_app, demo_client):
    login(demo_client, "trangtrai.na@demo.vn")
    r = post_form(demo_client, "/account", {"form": "english", "name_en": "Luu Kiem Custard Apple Farm (VietGAP)",
                                            "address_en": "Luu Kiem 2, Thuy Nguyen, Hai Phong"})
    assert r.status_code == 302
    r = post_form(demo_client, "/account", {"form": "english", "name_en": "x" * 201, "address_en": ""})
    assert r.status_code == 422
    assert field_errors(r.get_data(as_text=True)) == {"name_en": "Tối đa 200 ký tự."}
    with demo_app.app_context():
        session = get_session()
        farm = session.get(Organization, session.exec(select(User).where(User.email == "trangtrai.na@demo.vn"))
                           .one().organization_id)
        assert (farm.name_en, farm.address_en) == ("Luu Kiem Custard Apple Farm (VietGAP)",
                                                   "Luu Kiem 2, Thuy Nguyen, Hai Phong")  # the refused one wrote nothing
    inspector = demo_app.test_client()
    login(inspector, "kiemtra@demo.vn")
    assert 'value="english"' not in inspector.get("/account").get_data(as_text=True)
    assert post_form(inspector, "/account", {"form": "english", "name_en": "Ward"}).status_code == 400
