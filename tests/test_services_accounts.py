"""Accounts at the service: every rule of an e-mail, a role, a name and a password with its message; one-time
links (who made them, for whom, until when, once); logins and tokens that end."""
from datetime import UTC, datetime, timedelta, timezone
from trace.db import get_session
from trace.models import AccountLink, ApiToken, LoginSession, Organization, User, utcnow
from trace.services import accounts
from trace.services.errors import NotFound, ValidationError

import pytest
from sqlalchemy import update
from sqlmodel import select
from werkzeug.security import check_password_hash

SPENT = "This link has expired or was already used. Ask the ward administrator for a new one."
PASSWORD = "Lúa-thơm-2026"


@pytest.fixture
def ward(app):
    """(session, a cooperative, the ward office, its administrator)."""
    with app.app_context():
        session = get_session()
        cooperative = Organization(kind="cooperative", name="HTX Kiền Bái")
        office = accounts.organization_for_new_user(session, None, "admin")
        session.add(cooperative)
        session.flush()
        admin = accounts.create_user(session, office, " Ha@Ward.VN ", "mat-khau-dai-du", "admin")
        yield session, cooperative, office, admin


def _refused(function, *args, **kwargs) -> dict:
    with pytest.raises(ValidationError) as refused:
        function(*args, **kwargs)
    return refused.value.errors


def test_an_invitation_checks_the_address_the_role_and_the_name(ward):
    session, cooperative, office, admin = ward
    assert (admin.email, admin.name, office.name) == ("ha@ward.vn", "", "UBND phường Thủy Nguyên")
    invite = lambda **data: accounts.invite(session, admin, cooperative, data)  # noqa: E731
    assert _refused(invite, email="binh.kienbai.vn", role="producer") == {"email": "An e-mail address, like name@example.vn."}
    assert _refused(invite, email="a@" + "b" * 250 + ".vn", role="producer") == {"email": "At most 254 characters."}
    assert _refused(invite, email="ha@ward.vn", role="producer") == {"email": "There is already an account with this e-mail."}
    assert _refused(invite, email="binh@kienbai.vn", role="admin") == {"role": "Choose one of: producer."}
    assert _refused(invite, email="binh@kienbai.vn", role="producer", name="x" * 121) == {"name": "At most 120 characters."}
    link, token = invite(email="Binh@KienBai.vn", role="producer", name="Nguyễn Văn Bình")
    assert (link.purpose, link.email, link.role, link.name, link.organization_id, link.created_by_user_id, link.user_id) == (
        "invite", "binh@kienbai.vn", "producer", "Nguyễn Văn Bình", cooperative.id, admin.id, None)
    assert timedelta(days=7) - timedelta(minutes=1) < accounts._aware(link.expires_at) - utcnow() <= timedelta(days=7)
    assert accounts.open_link(session, token) is link and accounts.pending_links(session, cooperative.id) == [link]
    later, _ = invite(email="lan@kienbai.vn", role="producer")
    assert accounts.pending_links(session, cooperative.id) == [later, link]  # the newest first
    assert accounts.pending_links(session, admin.organization_id) == []


def test_an_invitation_opens_the_account_once_with_the_name_given(ward):
    session, cooperative, _office, admin = ward
    link, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer",
                                                                "name": "Bình"})
    assert _refused(accounts.use_link, session, token, {"password_again": PASSWORD}) == {
        "password": "At least 10 characters."}
    assert _refused(accounts.use_link, session, token, {"password": PASSWORD}) == {
        "password_again": "The two passwords differ."}
    user = accounts.use_link(session, token, {"password": PASSWORD, "password_again": PASSWORD,
                                              "name": "Nguyễn Văn Bình"})
    assert (user.email, user.role, user.name, user.organization_id) == (
        "binh@kienbai.vn", "producer", "Nguyễn Văn Bình", cooperative.id)
    assert accounts.authenticate(session, "BINH@kienbai.vn ", PASSWORD) is user
    with pytest.raises(NotFound) as spent:
        accounts.use_link(session, token, {"password": PASSWORD, "password_again": PASSWORD})
    assert str(spent.value) == SPENT
    assert accounts.open_link(session, token) is None and accounts.pending_links(session, cooperative.id) == []
    other, other_token = accounts.invite(session, admin, cooperative, {"email": "lan@kienbai.vn", "role": "producer"})
    assert accounts.use_link(session, other_token, {"password": PASSWORD, "password_again": PASSWORD}).name == ""


def test_an_invitation_is_no_use_once_the_address_has_an_account_or_it_expired(ward):
    session, cooperative, office, admin = ward
    _link, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    assert accounts.open_link(session, token) is None
    link, token = accounts.invite(session, admin, cooperative, {"email": "lan@kienbai.vn", "role": "producer"})
    link.expires_at = utcnow() - timedelta(seconds=1)
    assert accounts.open_link(session, token) is None and accounts.pending_links(session, cooperative.id) == []
    assert accounts.open_link(session, "") is None and accounts.open_link(session, token + "x" * 100) is None
    naive = datetime(2026, 12, 1, 8, 0)
    assert accounts._aware(naive) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert accounts._aware(naive.replace(tzinfo=UTC)) == naive.replace(tzinfo=UTC)


def test_a_reset_link_sets_a_new_password_ends_every_login_and_dies_with_the_account(ward):
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", "mat-khau-cu-2026", "producer", "Bình")
    login = accounts.start_login(session, farmer, remember=True)
    token = accounts.reset_password(session, admin, farmer)
    link = session.exec(select(AccountLink).where(AccountLink.user_id == farmer.id)).one()
    assert (link.purpose, link.name, link.created_by_user_id, link.email) == ("reset", "Bình", admin.id, "binh@kienbai.vn")
    assert accounts.user_of_login(session, login) is None
    assert accounts.authenticate(session, "binh@kienbai.vn", "mat-khau-cu-2026") is None  # the old one stops at once
    user = accounts.use_link(session, token, {"password": PASSWORD, "password_again": PASSWORD, "name": "Khác"})
    assert (user, user.name) == (farmer, "Bình")  # a reset does not rename
    assert check_password_hash(user.password_hash, PASSWORD)
    again = accounts.reset_password(session, None, farmer)
    accounts.set_disabled(session, admin, farmer, True)
    assert accounts.open_link(session, again) is None


def test_passwords_have_a_length_and_are_not_the_address(ward):
    problem = accounts.password_problem
    assert problem("x" * 9, "x" * 9, "a@b.vn") == {"password": "At least 10 characters."}
    assert problem("x" * 10, "x" * 10, "a@b.vn") == {}
    assert problem("x" * 200, "x" * 200, "a@b.vn") == {}
    assert problem("x" * 201, "x" * 201, "a@b.vn") == {"password": "At most 200 characters."}
    assert problem(None, None, "a@b.vn") == {"password": "At least 10 characters."}
    assert problem(" Binh@KienBai.vn ", " Binh@KienBai.vn ", "binh@kienbai.vn") == {"password": "Not your e-mail address."}
    assert problem("binh@kienbai.vn", "binh@kienbai.vn", None) == {}
    assert problem(PASSWORD, PASSWORD + "!", "a@b.vn") == {"password_again": "The two passwords differ."}


def test_changing_a_password_ends_the_other_logins_and_keeps_this_one(ward):
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", "mat-khau-cu-2026", "producer")
    here, phone, tablet = (accounts.start_login(session, farmer, remember=False) for _ in range(3))
    assert _refused(accounts.change_password, session, farmer, "sai", PASSWORD, PASSWORD, here) == {
        "current_password": "This is not your current password."}
    assert _refused(accounts.change_password, session, farmer, "mat-khau-cu-2026", "binh@kienbai.vn",
                    "binh@kienbai.vn", here) == {"password": "Not your e-mail address."}
    assert accounts.change_password(session, farmer, "mat-khau-cu-2026", PASSWORD, PASSWORD, here) == 2
    assert [accounts.user_of_login(session, login) for login in (here, phone, tablet)] == [farmer, None, None]
    assert accounts.authenticate(session, "binh@kienbai.vn", PASSWORD) is farmer


def test_logging_out_ends_that_login_only_and_disabling_ends_them_all(ward):
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    first, second = accounts.start_login(session, farmer, False), accounts.start_login(session, farmer, True)
    accounts.end_login(session, first)
    ended = session.exec(select(LoginSession.ended_at).where(LoginSession.user_id == farmer.id)
                         .order_by(LoginSession.id)).all()
    assert ended[0] is not None and ended[1] is None
    accounts.end_login(session, first)  # again: the first time stays
    assert session.exec(select(LoginSession.ended_at).where(LoginSession.user_id == farmer.id)
                        .order_by(LoginSession.id)).all() == ended
    accounts.end_login(session, None)
    accounts.end_login(session, "not-a-login")
    assert accounts.user_of_login(session, second) is farmer
    assert _refused(accounts.set_disabled, session, admin, admin, True) == {"user": "You cannot disable your own account."}
    accounts.set_disabled(session, admin, farmer, True)
    assert accounts.user_of_login(session, second) is None
    assert session.exec(select(LoginSession).where(LoginSession.user_id == farmer.id,
                                                   LoginSession.ended_at.is_(None))).all() == []
    accounts.set_disabled(session, admin, farmer, False)
    assert farmer.disabled_at is None and accounts.user_of_login(session, second) is None  # enabling reopens nothing


def test_tokens_are_listed_by_owner_and_revoked_once(ward):
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    for owner, name in ((farmer, "kho"), (admin, "phường"), (farmer, "cân")):
        accounts.create_token(session, owner, name)
    assert [(token.name, user.email) for token, user in accounts.tokens(session)] == [
        ("kho", "binh@kienbai.vn"), ("phường", "ha@ward.vn"), ("cân", "binh@kienbai.vn")]
    mine = accounts.tokens(session, farmer.id)
    assert [token.name for token, _ in mine] == ["kho", "cân"]
    first = mine[0][0]
    for wrong in ("abc", str(2**31), "999999", -1):
        with pytest.raises(NotFound):
            accounts.revoke_token(session, wrong)
    with pytest.raises(NotFound):
        accounts.revoke_token(session, first.id, admin.id)  # not the admin's own
    revoked = accounts.revoke_token(session, str(first.id), farmer.id)
    when = revoked.revoked_at
    assert when is not None and accounts.revoke_token(session, first.id).revoked_at == when
    assert session.get(ApiToken, first.id).revoked_at == when


def test_the_ward_office_is_found_or_made_and_an_organization_must_exist(ward):
    session, cooperative, office, _admin = ward
    session.add(Organization(kind="authority", name="Sở Nông nghiệp"))
    session.flush()
    assert accounts.organization_for_new_user(session, None, "inspector") is office  # the first authority
    assert accounts.organization_for_new_user(session, cooperative.id, "producer") is cooperative
    for wrong in (0, -1, 2**31, 999):
        with pytest.raises(NotFound) as missing:
            accounts.organization_for_new_user(session, wrong, "producer")
        assert str(missing.value) == f"No organization {wrong}."
    assert _refused(accounts.organization_for_new_user, session, None, "retailer") == {
        "organization": "Give the organization a retailer belongs to."}
    user, token = accounts.open_account(session, cooperative, "lan@kienbai.vn", "producer", "Trần Thị Lan")
    assert (user.name, accounts.open_link(session, token).purpose) == ("Trần Thị Lan", "reset")
    assert session.exec(select(User).where(User.email == "lan@kienbai.vn")).one() is user


def test_passwords_are_hashed_with_scrypt_at_the_cost_the_deployment_names(monkeypatch):
    monkeypatch.setenv("TRACE_PASSWORD_HASH", "scrypt:1024:8:1")
    assert accounts._password_hash(PASSWORD).startswith("scrypt:1024:8:1$")
    monkeypatch.delenv("TRACE_PASSWORD_HASH")
    assert accounts._password_hash(PASSWORD).startswith("scrypt:32768:8:1$")  # Werkzeug's own cost when served


def test_an_organizations_users_by_address(ward):
    session, cooperative, office, admin = ward
    for email in ("tam@kienbai.vn", "an@kienbai.vn"):
        accounts.create_user(session, cooperative, email, PASSWORD, "producer")
    assert [user.email for user in accounts.users_of(session, cooperative.id)] == ["an@kienbai.vn", "tam@kienbai.vn"]
    assert accounts.users_of(session, office.id) == [admin]


def test_a_link_ends_at_the_very_moment_it_expires(ward, monkeypatch):
    session, cooperative, _office, admin = ward
    link, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    deadline = accounts._aware(link.expires_at)
    monkeypatch.setattr(accounts, "utcnow", lambda: deadline - timedelta(microseconds=1))
    assert accounts.open_link(session, token) is link
    monkeypatch.setattr(accounts, "utcnow", lambda: deadline)
    assert accounts.open_link(session, token) is None
    # A zone other than UTC (PostgreSQL's session zone) is kept: the same instant, not the same clock reading.
    hanoi = datetime(2026, 12, 1, 15, 0, tzinfo=timezone(timedelta(hours=7)))
    assert accounts._aware(hanoi) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_token_of_up_to_100_characters_is_looked_up_and_a_longer_one_is_not(ward):
    session, cooperative, _office, admin = ward
    for length in (100, 101):
        session.add(AccountLink(purpose="invite", organization_id=cooperative.id, email=f"n{length}@kienbai.vn",
                                role="producer", token_hash=accounts._token_hash("t" * length),
                                created_by_user_id=admin.id, expires_at=utcnow() + timedelta(days=1)))
    session.flush()
    assert accounts.open_link(session, "t" * 100).email == "n100@kienbai.vn"
    assert accounts.open_link(session, "t" * 101) is None
    assert accounts.open_link(session, None) is None


def test_using_one_invitation_leaves_the_others_open(ward):
    session, cooperative, _office, admin = ward
    _first, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    second, second_token = accounts.invite(session, admin, cooperative, {"email": "lan@kienbai.vn", "role": "producer"})
    accounts.use_link(session, token, {"password": PASSWORD, "password_again": PASSWORD})
    assert accounts.open_link(session, second_token) is second and second.used_at is None
    assert accounts.use_link(session, second_token, {"password": PASSWORD, "password_again": PASSWORD}).email == (
        "lan@kienbai.vn")


def test_an_invitation_takes_a_name_of_up_to_120_characters_and_a_reset_ignores_the_name(ward):
    session, cooperative, _office, admin = ward
    _link, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    assert _refused(accounts.use_link, session, token, {"password": PASSWORD, "password_again": PASSWORD,
                                                        "name": "x" * 121}) == {"name": "At most 120 characters."}
    user = accounts.use_link(session, token, {"password": PASSWORD, "password_again": PASSWORD, "name": "x" * 120})
    assert user.name == "x" * 120
    reset = accounts.reset_password(session, admin, user)
    assert accounts.use_link(session, reset, {"password": PASSWORD, "password_again": PASSWORD,
                                              "name": "y" * 121}) is user
    assert user.name == "x" * 120


class _FormRead(dict):
    """A form that runs `meanwhile` the first time it is read: another request acting after the link was
    checked and before it is used."""

    def __init__(self, meanwhile, **fields):
        super().__init__(**fields)
        self.meanwhile = meanwhile

    def get(self, key, default=None):
        if self.meanwhile:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return super().get(key, default)


def test_a_link_spent_by_another_request_while_the_form_is_read_opens_nothing(ward):
    session, cooperative, _office, admin = ward
    link, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    spend = lambda: session.execute(update(AccountLink).where(AccountLink.id == link.id)  # noqa: E731
                                    .values(used_at=utcnow()))
    with pytest.raises(NotFound) as spent:
        accounts.use_link(session, token, _FormRead(spend, password=PASSWORD, password_again=PASSWORD))
    assert str(spent.value) == SPENT
    assert session.exec(select(User).where(User.email == "binh@kienbai.vn")).all() == []


def test_an_address_given_an_account_while_the_invitation_is_used_is_refused_on_the_email_field(ward):
    session, cooperative, _office, admin = ward
    _link, token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    opened = []
    meanwhile = lambda: opened.append(  # noqa: E731
        accounts.create_user(session, cooperative, "binh@kienbai.vn", "mat-khau-khac-2026", "producer"))
    assert _refused(accounts.use_link, session, token, _FormRead(meanwhile, password=PASSWORD,
                                                                 password_again=PASSWORD)) == {
        "email": "There is already an account with this e-mail."}
    assert session.exec(select(User).where(User.email == "binh@kienbai.vn")).all() == opened


def test_a_login_begun_as_a_reset_was_made_ends_when_the_new_password_is_set(ward):
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", "mat-khau-cu-2026", "producer")
    assert accounts.authenticate(session, "binh@kienbai.vn", "mat-khau-cu-2026") is farmer
    token = accounts.reset_password(session, admin, farmer)
    login = accounts.start_login(session, farmer, remember=False)  # the password was checked before the reset
    accounts.use_link(session, token, {"password": PASSWORD, "password_again": PASSWORD})
    assert accounts.user_of_login(session, login) is None


def test_ending_logins_counts_and_stamps_only_the_open_ones_and_needs_a_whole_login_id(ward):
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    gone, here, phone = (accounts.start_login(session, farmer, remember=False) for _ in range(3))
    accounts.end_login(session, gone)
    session.flush()
    row = session.exec(select(LoginSession).where(LoginSession.ended_at.is_not(None))).one()
    ended = row.ended_at
    bare_token = here.partition(".")[2]  # a login id is "user id.token": a bare token is none
    accounts.end_login(session, bare_token)
    assert accounts.user_of_login(session, here) is farmer
    assert accounts.end_logins(session, farmer.id, keep=here) == 1
    assert [accounts.user_of_login(session, login) for login in (here, phone)] == [farmer, None]
    session.refresh(row)
    assert row.ended_at == ended
    assert accounts.end_logins(session, farmer.id, keep=bare_token) == 1  # keeps nothing
    assert accounts.user_of_login(session, here) is None


def test_all_users_by_organization_then_address(ward):
    session, cooperative, _office, _admin = ward
    for email in ("tam@kienbai.vn", "an@kienbai.vn"):
        accounts.create_user(session, cooperative, email, PASSWORD, "producer")
    assert [(organization.name, user.email) for user, organization in accounts.all_users(session)] == [
        ("HTX Kiền Bái", "an@kienbai.vn"), ("HTX Kiền Bái", "tam@kienbai.vn"), ("UBND phường Thủy Nguyên", "ha@ward.vn")]


def test_an_account_opened_without_a_name_has_none_and_the_largest_ids_are_found(ward):
    session, cooperative, _office, _admin = ward
    user, _token = accounts.open_account(session, cooperative, "lan@kienbai.vn", "producer")
    assert user.name == ""
    largest = 2**31 - 1  # PostgreSQL's integer column
    session.add(Organization(id=largest, kind="farm_household", name="Hộ Nguyễn Văn An"))
    session.add(ApiToken(id=largest, user_id=user.id, token_hash=accounts._token_hash("trc_x"), prefix="trc_x"))
    session.flush()
    assert accounts.organization_for_new_user(session, largest, "producer").name == "Hộ Nguyễn Văn An"
    assert accounts.revoke_token(session, str(largest), user.id).revoked_at is not None


def test_a_token_is_made_for_a_user_named_by_e_mail_and_found_again_only_while_it_stands(ward):
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    token = accounts.create_token(session, "  Binh@KienBai.vn ", "c" * 80)
    assert token.startswith("trc_") and len(token) == 4 + 43
    row = session.exec(select(ApiToken).where(ApiToken.user_id == farmer.id)).one()
    assert (row.name, row.prefix, row.last_used_at) == ("c" * 80, token[:8], None)
    assert token not in row.token_hash
    assert accounts.user_for_token(session, token) is farmer and row.last_used_at is not None
    assert accounts.user_for_token(session, token[:-1]) is None
    with pytest.raises(LookupError) as unknown:
        accounts.create_token(session, "an@kienbai.vn")
    assert str(unknown.value) == "no user with e-mail an@kienbai.vn"
    for name in ("c" * 81, "kho\nlạnh", "kho\tlạnh", "kho\rlạnh", "kho\x07"):  # `tokens list` shows one a line, tabbed
        assert _refused(accounts.create_token, session, farmer, name) == {
            "name": "At most 80 characters, no control characters."}
    assert session.exec(select(ApiToken).where(ApiToken.user_id == farmer.id)).all() == [row]  # nothing written
    farmer.disabled_at = utcnow()
    assert accounts.user_for_token(session, token) is None
    farmer.disabled_at = None
    accounts.revoke_token(session, row.id)
    assert accounts.user_for_token(session, token) is None


def test_a_login_cookie_edited_by_hand_is_no_login_on_either_database(ward):
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    login = accounts.start_login(session, farmer, remember=False)
    user_id, _, token = login.partition(".")
    assert accounts.user_of_login(session, login) is farmer
    for edited in (f"1234567890.{token}", f"{2**31}.{token}", f"{'9' * 20}.{token}", f"٣.{token}", f"{user_id}.", f".{token}", user_id,
                   f"{user_id}.{token}x", f"-{user_id}.{token}", None, ""):
        assert accounts.user_of_login(session, edited) is None, edited  # ids past PostgreSQL's integer too


def test_invitation_and_reset_tokens_carry_32_random_bytes(ward):
    """The token is the whole secret of a link: 256 bits, 43 URL-safe characters in the e-mailed address."""
    session, cooperative, _office, admin = ward
    _link, invitation = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    farmer = accounts.create_user(session, cooperative, "lan@kienbai.vn", PASSWORD, "producer")
    reset = accounts.reset_password(session, admin, farmer)
    assert (len(invitation), len(reset)) == (43, 43)
    assert invitation != reset


def test_a_used_reset_link_is_no_longer_pending(ward):
    """The administrator's list shows only links that still work; a reset's account exists, so only its use ends it."""
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    token = accounts.reset_password(session, admin, farmer)
    link = session.exec(select(AccountLink).where(AccountLink.user_id == farmer.id)).one()
    assert accounts.pending_links(session, cooperative.id) == [link]
    accounts.use_link(session, token, {"password": "mat-khau-moi-2026", "password_again": "mat-khau-moi-2026"})
    assert accounts.pending_links(session, cooperative.id) == []


def test_a_link_leaves_the_pending_list_at_the_very_moment_it_expires(ward, monkeypatch):
    """The list agrees with `open_link`: a link shown as pending can still be used."""
    session, cooperative, _office, admin = ward
    link, _token = accounts.invite(session, admin, cooperative, {"email": "binh@kienbai.vn", "role": "producer"})
    deadline = accounts._aware(link.expires_at)
    monkeypatch.setattr(accounts, "utcnow", lambda: deadline - timedelta(microseconds=1))
    assert accounts.pending_links(session, cooperative.id) == [link]
    monkeypatch.setattr(accounts, "utcnow", lambda: deadline)
    assert accounts.pending_links(session, cooperative.id) == []


def test_an_organization_id_past_any_database_integer_is_no_organization(ward):
    """`users create --organization` takes any whole number: a huge one is unknown, not a crash of the database layer."""
    session, _cooperative, _office, _admin = ward
    with pytest.raises(NotFound) as missing:
        accounts.organization_for_new_user(session, 2**64, "producer")
    assert str(missing.value) == f"No organization {2**64}."


def test_a_token_id_not_written_in_plain_digits_names_no_token(ward):
    """`tokens revoke` takes the id as typed: "7.0" or " 7" is not token 7, and revokes nothing."""
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    accounts.create_token(session, farmer, "kho")
    row = session.exec(select(ApiToken).where(ApiToken.user_id == farmer.id)).one()
    for typed in (f"{row.id}.0", f" {row.id}", f"+{row.id}", f"{row.id}e0"):
        with pytest.raises(NotFound):
            accounts.revoke_token(session, typed)
    assert row.revoked_at is None


def test_a_token_made_without_a_name_has_an_empty_one_and_any_printable_name_is_kept(ward):
    """`tokens list` shows the name as given; only tabs and line breaks would break its one line."""
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    accounts.create_token(session, farmer)
    accounts.create_token(session, farmer, "XX Kho Xanh")
    assert [token.name for token, _owner in accounts.tokens(session, farmer.id)] == ["", "XX Kho Xanh"]


def test_a_login_carries_24_random_bytes_and_records_whether_it_is_remembered(ward):
    """The login id is "user id.token": 192 random bits in 32 URL-safe characters, of which only the hash is
    stored, with whether the user asked to be remembered on that device."""
    session, cooperative, _office, _admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    remembered, forgotten = accounts.start_login(session, farmer, True), accounts.start_login(session, farmer, False)
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == farmer.id).order_by(LoginSession.id)).all()
    tokens = []
    for login, row in zip((remembered, forgotten), rows, strict=True):
        user_id, dot, token = login.partition(".")
        assert (user_id, dot, len(token)) == (str(farmer.id), ".", 32)
        assert row.token_hash == accounts._token_hash(token) and token not in row.token_hash
        tokens.append(token)
    assert tokens[0] != tokens[1]
    assert [row.remember for row in rows] == [True, False]


def test_a_login_cookie_naming_another_user_with_a_real_token_is_no_login(ward):
    """A token logs in only the user it was given to, and only under that user's id."""
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    login = accounts.start_login(session, farmer, remember=False)
    token = login.partition(".")[2]
    assert accounts.user_of_login(session, login) is farmer
    assert accounts.user_of_login(session, f"{admin.id}.{token}") is None


def test_a_login_begun_as_the_account_is_disabled_is_no_login(ward):
    """The password was checked just before the administrator disabled the account: the login written after
    that still lets no one in."""
    session, cooperative, _office, admin = ward
    farmer = accounts.create_user(session, cooperative, "binh@kienbai.vn", PASSWORD, "producer")
    assert accounts.authenticate(session, "binh@kienbai.vn", PASSWORD) is farmer
    accounts.set_disabled(session, admin, farmer, True)
    login = accounts.start_login(session, farmer, remember=True)
    assert accounts.user_of_login(session, login) is None


def test_a_user_with_a_nine_digit_id_logs_in(ward):
    """Ids of up to nine digits are looked up; longer ones are refused before the database sees them."""
    session, cooperative, _office, _admin = ward
    farmer = User(id=999_999_999, organization_id=cooperative.id, email="binh@kienbai.vn",
                  password_hash=accounts._password_hash(PASSWORD), role="producer")
    session.add(farmer)
    session.flush()
    login = accounts.start_login(session, farmer, remember=False)
    assert login.startswith("999999999.")
    assert accounts.user_of_login(session, login) is farmer
