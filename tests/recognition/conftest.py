"""Fixtures for face tests: real photos, active face purposes, granted consents."""

import io
from pathlib import Path

import pytest
from PIL import Image

from consent import rules as consent_rules
from consent import services as consent_services
from consent.demo import DEMO_ASSESSMENT, DEMO_PURPOSES
from tests.conftest import REPO, make_person

SHARED_FACES = REPO.parent / "shared" / "faces"


def _packaged_photos() -> dict[str, bytes]:
    """Two different real people shipped by installed packages, for machines without ../shared."""
    import matplotlib.cbook
    import skimage.data

    hopper = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    hopper_bytes = hopper.read_bytes()
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="JPEG", quality=92)
    astronaut = buffer.getvalue()
    # A second photo of the same person: mirrored and slightly cropped.
    image = Image.open(io.BytesIO(hopper_bytes)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    width, height = image.size
    image = image.crop((width // 20, height // 20, width - width // 20, height - height // 20))
    second = io.BytesIO()
    image.save(second, format="JPEG", quality=92)
    return {"a1": hopper_bytes, "a2": second.getvalue(), "b1": astronaut}


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """a1, a2: the same person; b1, b2: someone else; two: two people; none: no face."""
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 160, 200)).save(blank, format="JPEG")
    if SHARED_FACES.is_dir():
        found = {
            "a1": (SHARED_FACES / "person_a_1.jpg").read_bytes(),
            "a2": (SHARED_FACES / "person_a_2.jpg").read_bytes(),
            "b1": (SHARED_FACES / "person_b_1.jpg").read_bytes(),
            "b2": (SHARED_FACES / "person_b_2.jpg").read_bytes(),
            "two": (SHARED_FACES / "two_faces.jpg").read_bytes(),
        }
    else:
        found = _packaged_photos()
        # A group photo: both faces of a similar size (her face fills less of her photo).
        import skimage.data

        people = [
            Image.open(io.BytesIO(found["a1"])).convert("RGB"),
            Image.fromarray(skimage.data.astronaut()).crop((110, 0, 370, 300)),
        ]
        people = [p.resize((round(p.width * 600 / p.height), 600)) for p in people]
        pair = Image.new("RGB", (sum(p.width for p in people), 600), (255, 255, 255))
        pair.paste(people[0], (0, 0))
        pair.paste(people[1], (people[0].width, 0))
        buffer = io.BytesIO()
        pair.save(buffer, format="JPEG", quality=92)
        found["two"] = buffer.getvalue()
    found.setdefault("b2", found["b1"])
    found["none"] = blank.getvalue()
    return found


def make_active_purpose(building, method=consent_rules.VERIFICATION, **overrides):
    from portal.models import Membership

    admin = Membership.objects.filter(building=building, role="admin").first()
    actor = admin.user if admin else make_person(f"admin-{building.pk}", building, "admin")
    spec = next(s for s in DEMO_PURPOSES if s["fields"]["method"] == method)
    # For residents and staff unless a test says otherwise: the fixtures' people are both.
    fields = {**spec["fields"], "audience": consent_rules.AUDIENCE_BOTH, **overrides}
    purpose = consent_services.create_purpose(building, actor=actor, **fields)
    assessment = consent_services.create_assessment(purpose, actor=actor, **DEMO_ASSESSMENT)
    consent_services.approve_assessment(assessment, actor=actor)
    consent_services.publish_notice(
        purpose,
        actor=actor,
        data_collected=spec["data"],
        texts={"en": spec["en"], "zh-hans": spec["zh-hans"]},
    )
    consent_services.activate_purpose(purpose, actor=actor)
    purpose.refresh_from_db()
    return purpose


def grant(person, purpose, storage_consent=True):
    """A grant with the separate consent to face data leaving the device, unless told not."""
    purpose.refresh_from_db()
    return consent_services.grant_consent(
        person,
        purpose,
        channel="web",
        ip="127.0.0.1",
        user_agent="pytest",
        notice_hash=purpose.current_notice.text_hash,
        storage_consent=storage_consent,
    )


def withdraw(person, purpose):
    return consent_services.withdraw_consent(
        person, purpose, actor=person, channel="web", ip="127.0.0.1", user_agent="pytest"
    )


@pytest.fixture
def sign_in_purpose(building_a):
    return make_active_purpose(building_a, consent_rules.VERIFICATION)


# Door devices ------------------------------------------------------------------------------


def make_door(building, purpose=None, kind="entrance", name="Front door", **location_fields):
    """A location of `kind` in the building and a device registered there: (device, key)."""
    from recognition import devices
    from recognition.models import Location

    location = Location.objects.create(
        building=building, name=f"{name} hall", kind=kind, **location_fields
    )
    return devices.register_device(location, name, purpose, actor=None)


def device_headers(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Device {key}"}


@pytest.fixture
def door_purpose(building_a):
    return make_active_purpose(building_a, consent_rules.IDENTIFICATION)


@pytest.fixture
def front_door(door_purpose):
    """(device, key) of building A's front door, identifying faces for `door_purpose`."""
    return make_door(door_purpose.building, door_purpose)
