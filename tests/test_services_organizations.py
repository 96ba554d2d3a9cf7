"""Registering organizations and the GTINs each may use: every field's rule with its message, prefixes that
overlap, GTINs assigned one by one, and the next free GTIN."""
from trace.db import get_session
from trace.models import AssignedGtin, Organization, Product, User, utcnow
from trace.services import organizations
from trace.services.errors import NotFound, ValidationError
from trace.services.gs1 import check_digit

import pytest

COOPERATIVE = {"kind": "cooperative", "name": "HTX Kiền Bái", "address": "Thôn 2, Kiền Bái", "phone": "+84 225 3.87(1)-234",
               "tax_code": "0201234567-001", "registration_number": "0207/HTX", "gln": "8936045000014",
               "prefixes": "893604512, 8936046;8936047\n"}


def gtin(body: str) -> str:
    return (body + str(check_digit(body))).zfill(14)


@pytest.fixture
def session(app):
    with app.app_context():
        yield get_session()


def _errors(session, data, organization=None) -> dict:
    with pytest.raises(ValidationError) as refused:
        organizations.update(session, organization, data) if organization else organizations.register(session, data)
    return refused.value.errors


def test_an_organization_is_registered_with_every_field_and_its_prefixes(session):
    made = organizations.register(session, COOPERATIVE)
    stored = session.get(Organization, made.id)
    assert (stored.kind, stored.name, stored.address, stored.phone, stored.tax_code, stored.registration_number,
            stored.gln, stored.name_en, stored.address_en) == (
        "cooperative", "HTX Kiền Bái", "Thôn 2, Kiền Bái", "+84 225 3.87(1)-234", "0201234567-001", "0207/HTX",
        "8936045000014", "", "")
    assert organizations.prefixes_of(session, made.id) == ["893604512", "8936046", "8936047"]  # in text order
    organizations.update(session, made, {**COOPERATIVE, "prefixes": "8936047 8936048", "gln": "", "name_en": "Kien Bai"})
    assert organizations.prefixes_of(session, made.id) == ["8936047", "8936048"]
    assert (stored.gln, stored.name_en) == (None, "Kien Bai")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phone", "call me", "A phone number: digits, spaces, dots, dashes, a leading +."),
    ("phone", "12345", "A phone number: digits, spaces, dots, dashes, a leading +."),  # too short
    ("tax_code", "020123456", "A tax code has 10 digits, or 10 digits, a dash and 3 more for a branch."),
    ("tax_code", "0201234567-01", "A tax code has 10 digits, or 10 digits, a dash and 3 more for a branch."),
    ("gln", "8936045000016", "A GLN has 13 digits, the last one its check digit."),
    ("gln", "893604500001", "A GLN has 13 digits, the last one its check digit."),
    ("gln", "８９３６０４５００００１４", "A GLN has 13 digits, the last one its check digit."),  # not ASCII digits
    ("prefixes", "89360 8936045", "A GS1 company prefix has 6 to 11 digits: 89360 does not."),
    ("prefixes", "893604512345", "A GS1 company prefix has 6 to 11 digits: 893604512345 does not."),
    ("prefixes", "８９３６０４５", "A GS1 company prefix has 6 to 11 digits: ８９３６０４５ does not."),
    ("prefixes", "8936045 89360451", "8936045 overlaps 89360451: one company prefix cannot begin another."),
    ("kind", "bank", "Choose one of: farm_household, cooperative, enterprise, retailer, tourist_outlet, authority."),
])
def test_each_field_is_checked_with_its_message_and_nothing_is_written(session, field, value, message):
    assert _errors(session, {**COOPERATIVE, field: value}) == {field: message}
    assert session.exec(Organization.__table__.select()).all() == []


def test_a_prefix_of_another_organization_or_overlapping_it_is_refused(session):
    first = organizations.register(session, {**COOPERATIVE, "prefixes": "8936045"})
    assert _errors(session, {**COOPERATIVE, "name": "HTX khác", "prefixes": "8936045"}) == {
        "prefixes": "8936045 is registered to another organization."}
    assert _errors(session, {**COOPERATIVE, "name": "HTX khác", "prefixes": "89360451"}) == {
        "prefixes": "89360451 overlaps 8936045: one company prefix cannot begin another."}
    assert _errors(session, {**COOPERATIVE, "name": "HTX khác", "prefixes": "893604"}) == {
        "prefixes": "893604 overlaps 8936045: one company prefix cannot begin another."}
    organizations.update(session, first, {**COOPERATIVE, "prefixes": "8936045 8936099"})  # keeping its own is fine
    assert organizations.prefixes_of(session, first.id) == ["8936045", "8936099"]


def test_a_prefix_with_products_under_it_stays_and_a_kind_must_fit_the_users(session):
    farm = organizations.register(session, {**COOPERATIVE, "prefixes": "8936045 8936046"})
    session.add(Product(organization_id=farm.id, gtin=gtin("893604500001"), name_vi="Gạo"))
    session.add(User(organization_id=farm.id, email="a@b.vn", password_hash="x", role="producer"))
    session.flush()
    assert _errors(session, {**COOPERATIVE, "prefixes": "8936046"}, farm) == {
        "prefixes": "Products are registered under 8936045; it cannot be removed."}
    assert _errors(session, {**COOPERATIVE, "prefixes": "8936045 8936046", "kind": "retailer"}, farm) == {
        "kind": "Its users' roles do not fit this kind of organization."}
    organizations.update(session, farm, {**COOPERATIVE, "prefixes": "8936045", "kind": "enterprise"})
    assert (farm.kind, organizations.prefixes_of(session, farm.id)) == ("enterprise", ["8936045"])


def test_a_gtin_is_assigned_only_when_nobody_else_has_it(session):
    organizations.register(session, {**COOPERATIVE, "prefixes": "8936045"})
    shop = organizations.register(session, {**COOPERATIVE, "kind": "retailer", "name": "Siêu thị", "prefixes": ""})
    small = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Lan", "prefixes": ""})
    other = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Mai", "prefixes": ""})

    def refused(organization, raw):
        with pytest.raises(ValidationError) as error:
            organizations.assign_gtin(session, organization, raw)
        return error.value.errors
    free = gtin("893999900001")
    assert refused(shop, free) == {"gtin": "Only producers register products."}
    assert refused(small, gtin("893604500007")) == {
        "gtin": "This GTIN falls under the company prefix 8936045 of a registered organization."}
    assert organizations.assign_gtin(session, small, " " + free[1:] + " ") == free  # GTIN-13 typed, spaces around
    assert refused(other, free) == {"gtin": "This GTIN is already assigned."}
    taken = gtin("893999900002")
    session.add(Product(organization_id=other.id, gtin=taken, name_vi="Mật ong"))
    session.flush()
    assert refused(small, taken) == {"gtin": "Another organization's product has this GTIN."}
    assert organizations.assign_gtin(session, other, taken) == taken  # its own product's GTIN
    assert organizations.assigned_gtins_of(session, small.id) == [free]
    assert {row.gtin: row.organization_id for row in session.exec(AssignedGtin.__table__.select())} == {
        free: small.id, taken: other.id}


def test_who_may_register_a_product_with_a_gtin(session):
    farm = organizations.register(session, {**COOPERATIVE, "prefixes": "8936045 8936046"})
    small = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Lan", "prefixes": ""})
    new = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Mai", "prefixes": ""})
    mine = gtin("893604600011")
    assert organizations.ownership_problem(session, farm.id, mine) is None
    assert organizations.ownership_problem(session, farm.id, "1" + mine[1:-1] + str(check_digit("1" + mine[1:-1]))) is None
    assert organizations.ownership_problem(session, small.id, mine) == (
        "This GTIN is under another organization's GS1 company prefix (8936046).")
    assigned = organizations.assign_gtin(session, small, gtin("893999900001"))
    assert organizations.ownership_problem(session, small.id, assigned) is None
    assert organizations.ownership_problem(session, farm.id, assigned) == (
        "Your GTINs must begin with your GS1 company prefix (8936045, 8936046), or be assigned to you by the ward "
        "administrator.")
    assert organizations.ownership_problem(session, new.id, assigned) == (
        "Your organization has no GS1 company prefix or assigned GTIN yet: ask the ward administrator to register the "
        "ones GS1 Vietnam gave you.")


def test_the_next_free_gtin_fills_each_prefix_then_the_assigned_ones(session):
    farm = organizations.register(session, {**COOPERATIVE, "prefixes": "89360451234 89360452"})
    assert organizations.next_free_gtin(session, farm.id) == gtin("893604512341")
    session.add_all([Product(organization_id=farm.id, gtin=gtin(f"89360451234{n}"), name_vi=f"Sản phẩm {n}")
                     for n in range(1, 10)])  # the 11-digit prefix holds nine GTINs: all taken
    session.flush()
    assert organizations.next_free_gtin(session, farm.id) == gtin("893604520001")
    small = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Lan", "prefixes": ""})
    with pytest.raises(ValidationError) as none:
        organizations.next_free_gtin(session, small.id)
    assert none.value.errors == {"gtin": "No GTIN is free: ask the ward administrator to register your GS1 company "
                                         "prefix or assign GTINs to you."}
    first, second = (organizations.assign_gtin(session, small, gtin(f"89399990000{n}")) for n in (1, 2))
    session.add(Product(organization_id=small.id, gtin=first, name_vi="Mật ong"))
    session.flush()
    assert organizations.next_free_gtin(session, small.id) == second


def test_english_names_and_the_list_of_organizations(session):
    farm = organizations.register(session, {**COOPERATIVE, "prefixes": "8936046 8936045"})
    shop = organizations.register(session, {**COOPERATIVE, "kind": "retailer", "name": "Siêu thị A", "prefixes": ""})
    organizations.register(session, {**COOPERATIVE, "kind": "authority", "name": "UBND", "prefixes": ""})
    organizations.set_english_names(session, farm, {"name_en": "Kien Bai Cooperative", "address_en": ""})
    assert (farm.name_en, farm.address_en) == ("Kien Bai Cooperative", "")
    with pytest.raises(ValidationError):
        organizations.set_english_names(session, farm, {"name_en": "x" * 201})
    session.add_all([User(organization_id=farm.id, email="a@b.vn", password_hash="x", role="producer"),
                     User(organization_id=farm.id, email="c@b.vn", password_hash="x", role="producer"),
                     User(organization_id=farm.id, email="d@b.vn", password_hash="x", role="producer",
                          disabled_at=utcnow())])
    session.flush()
    assert [(o.name, prefixes, users) for o, prefixes, users in organizations.all_organizations(session)] == [
        ("UBND", [], 0), ("HTX Kiền Bái", ["8936045", "8936046"], 2), ("Siêu thị A", [], 0)]  # by kind, then name
    assert organizations.organization_or_404(session, shop.id) is shop
    with pytest.raises(NotFound):
        organizations.organization_or_404(session, 999)


def test_a_six_digit_prefix_holds_its_gtins_and_a_prefix_goes_when_only_others_products_fall_under_it(session):
    short = organizations.register(session, {**COOPERATIVE, "prefixes": "893604"})
    small = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Lan", "prefixes": ""})
    assert organizations.ownership_problem(session, small.id, gtin("893604123456")) == (
        "This GTIN is under another organization's GS1 company prefix (893604).")
    # a product registered on a GTIN assigned one by one, before a prefix over it was registered to someone else
    session.add(Product(organization_id=small.id, gtin=gtin("893999912345"), name_vi="Mật ong"))
    organizations.update(session, short, {**COOPERATIVE, "prefixes": "893604 8939999"})
    organizations.update(session, short, {**COOPERATIVE, "prefixes": "893604"})  # not its products: it may go
    assert organizations.prefixes_of(session, short.id) == ["893604"]


def test_english_names_may_be_left_out_and_are_bounded(session):
    farm = organizations.register(session, COOPERATIVE)
    organizations.set_english_names(session, farm, {"name_en": "Kien Bai", "address_en": "Hamlet 2"})
    organizations.set_english_names(session, farm, {})
    assert (farm.name_en, farm.address_en) == ("", "")
    organizations.set_english_names(session, farm, {"address_en": "x" * 300})
    assert len(farm.address_en) == 300
    with pytest.raises(ValidationError) as refused:
        organizations.set_english_names(session, farm, {"address_en": "x" * 301})
    assert refused.value.errors == {"address_en": "At most 300 characters."}


@pytest.mark.parametrize(("field", "most"), [("name", 200), ("address", 300), ("name_en", 200), ("address_en", 300),
                                             ("registration_number", 50), ("phone", 30), ("tax_code", 14)])
def test_each_text_field_has_its_length(session, field, most):
    assert _errors(session, {**COOPERATIVE, field: "1" * (most + 1)}) == {field: f"At most {most} characters."}


def test_only_kind_and_name_are_required(session):
    made = organizations.register(session, {"kind": "farm_household", "name": "Hộ Lan"})
    assert (made.address, made.name_en, made.address_en, made.phone, made.tax_code, made.registration_number,
            made.gln) == ("", "", "", "", "", "", None)
    assert _errors(session, {"kind": "farm_household"}) == {"name": "Required."}
    longest = {**COOPERATIVE, "name": "N" * 200, "address": "A" * 300, "name_en": "E" * 200, "address_en": "F" * 300,
               "registration_number": "R" * 50}
    kept = organizations.register(session, longest)
    assert (len(kept.name), len(kept.address), len(kept.name_en), len(kept.address_en), len(kept.registration_number)) == (
        200, 300, 200, 300, 50)


def test_a_gln_of_the_wrong_length_is_refused_even_with_a_right_check_digit(session):
    assert _errors(session, {**COOPERATIVE, "gln": gtin("1234567890")[-11:]}) == {
        "gln": "A GLN has 13 digits, the last one its check digit."}
    assert _errors(session, {**COOPERATIVE, "gln": "1" * 14}) == {"gln": "At most 13 characters."}


def test_a_kind_is_checked_against_its_own_users_only(session):
    farm = organizations.register(session, {**COOPERATIVE, "prefixes": ""})
    shop = organizations.register(session, {**COOPERATIVE, "kind": "retailer", "name": "Siêu thị", "prefixes": ""})
    session.add(User(organization_id=shop.id, email="ban@sieuthi.vn", password_hash="x", role="retailer"))
    session.flush()
    organizations.update(session, farm, {**COOPERATIVE, "kind": "enterprise", "prefixes": ""})
    assert farm.kind == "enterprise"


def test_a_prefix_beginning_with_anothers_six_digit_prefix_is_refused(session):
    organizations.register(session, {**COOPERATIVE, "prefixes": "893604"})
    assert _errors(session, {**COOPERATIVE, "name": "HTX khác", "prefixes": "8936045"}) == {
        "prefixes": "8936045 overlaps 893604: one company prefix cannot begin another."}


def test_the_prefixes_field_takes_400_characters(session):
    made = organizations.register(session, {**COOPERATIVE, "prefixes": "8936099" + "," * 393})
    assert organizations.prefixes_of(session, made.id) == ["8936099"]
    assert _errors(session, {**COOPERATIVE, "name": "HTX khác", "prefixes": "8936098" + "," * 394}) == {
        "prefixes": "At most 400 characters."}


def test_organizations_of_one_kind_by_name_and_assigned_gtins_in_order(session):
    for name in ("HTX Thủy Đường", "HTX An Lư", "HTX Kiền Bái"):
        organizations.register(session, {**COOPERATIVE, "name": name, "prefixes": "", "gln": ""})
    assert [o.name for o, _prefixes, _users in organizations.all_organizations(session)] == [
        "HTX An Lư", "HTX Kiền Bái", "HTX Thủy Đường"]
    small = organizations.register(session, {**COOPERATIVE, "kind": "farm_household", "name": "Hộ Lan", "prefixes": ""})
    for n in (3, 1, 2):
        organizations.assign_gtin(session, small, gtin(f"89399990000{n}"))
    assert organizations.assigned_gtins_of(session, small.id) == [gtin(f"89399990000{n}") for n in (1, 2, 3)]
    assert organizations.next_free_gtin(session, small.id) == gtin("893999900001")


def test_the_list_of_organizations_shows_each_ones_prefixes_in_order_whenever_they_were_added(session):
    """The administrator reads the prefixes as a sorted list, not in the order they were registered."""
    farm = organizations.register(session, {**COOPERATIVE, "prefixes": "8936047"})
    organizations.update(session, farm, {**COOPERATIVE, "prefixes": "8936047 8936046"})
    organizations.update(session, farm, {**COOPERATIVE, "prefixes": "8936047 8936046 8936045"})
    assert [(o.name, prefixes) for o, prefixes, _users in organizations.all_organizations(session)] == [
        ("HTX Kiền Bái", ["8936045", "8936046", "8936047"])]
