"""A production area's location as a phone's keyboard types it: decimal points or Vietnamese decimal commas."""
from trace.services.errors import ValidationError
from trace.services.parse import Reader

import pytest

POINT = {"type": "Point", "coordinates": [106.6842, 20.9361]}
POLYGON = {"type": "Polygon", "coordinates": [[[106.67, 20.93], [106.68, 20.94], [106.66, 20.95], [106.67, 20.93]]]}


@pytest.mark.parametrize("typed, geometry", [
    ("20.9361, 106.6842", POINT),
    ("20,9361; 106,6842", POINT),
    ("20,9361 106,6842", POINT),
    (" 20.9361;106.6842 ", POINT),
    ("20.93 106.67; 20.94 106.68; 20.95 106.66", POLYGON),
    ("20,93 106,67; 20,94 106,68; 20,95 106,66", POLYGON),
])
def test_a_location_is_read_with_decimal_points_or_commas(typed, geometry):
    reader = Reader({"location": typed})
    assert reader.location("location") == geometry
    reader.done()


@pytest.mark.parametrize("typed", ["20,9361,106,6842", "20,93, 106,68", "120,5; 106,6", "20,93; 106,68; 21,1"])
def test_an_ambiguous_or_impossible_location_is_refused(typed):
    reader = Reader({"location": typed})
    reader.location("location")
    with pytest.raises(ValidationError) as refused:
        reader.done()
    assert list(refused.value.errors) == ["location"]
