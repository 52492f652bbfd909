"""A camera burst travels to the worker as one sealed parcel: packed, sealed, opened, unpacked
to exactly the frames sent; anything else is refused."""

import pytest

from recognition.engine import broker


def test_a_burst_unpacks_to_exactly_its_frames():
    frames = [b"\xff\xd8first", b"", b"x" * 70_000, b"\x00\x00\x00\x05"]
    assert broker.unpack_burst(broker.pack_burst(frames)) == frames
    assert broker.unpack_burst(broker.pack_burst([])) == []


@pytest.mark.parametrize(
    "broken",
    [
        b"",
        b"\x00\x00",
        broker.pack_burst([b"abc"])[:-1],  # cut short
        broker.pack_burst([b"abc"]) + b"more",  # trailing bytes
        (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + b"abc",  # a frame missing
    ],
)
def test_anything_but_a_packed_burst_is_refused(broken):
    with pytest.raises(ValueError):
        broker.unpack_burst(broken)


def test_a_sealed_burst_opens_only_under_its_own_reference(settings):
    packed = broker.pack_burst([b"one", b"two"])
    sealed = broker.seal(packed, broker.PARCEL_PREFIX + "here")
    assert broker.unpack_burst(broker.unseal(sealed, broker.PARCEL_PREFIX + "here")) == [
        b"one",
        b"two",
    ]
    with pytest.raises(broker.PhotoGone):
        broker.unseal(sealed, broker.PARCEL_PREFIX + "there")
