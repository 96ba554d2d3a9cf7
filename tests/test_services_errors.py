"""The two errors every caller turns into a message: what each says."""
from trace.services.errors import NotFound, ValidationError, _l


def test_a_validation_error_keeps_each_field_message_as_text_and_says_them_all():
    error = ValidationError({"quantity": _l("Required."), "unit": "Choose a unit."})
    assert error.errors == {"quantity": "Required.", "unit": "Choose a unit."}
    assert str(error) == "quantity: Required.; unit: Choose a unit."


def test_a_validation_error_in_the_request_language(app):
    with app.test_request_context("/", headers={"Cookie": "lang=vi"}):
        error = ValidationError({"quantity": _l("Required.")})
        assert error.errors == {"quantity": "Bắt buộc nhập."}


def test_not_found_says_so_unless_told_what():
    assert str(NotFound()) == "Not found."
    assert str(NotFound("No lot 'A' of GTIN 08936000000021.")) == "No lot 'A' of GTIN 08936000000021."


def test_lazy_messages_take_their_variables():
    assert str(_l("At most %(n)s characters.", n=20)) == "At most 20 characters."
