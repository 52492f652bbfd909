"""Demo data for the embedded default: one building and one person per role."""

import base64
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal

from portal import clock, rules
from portal.models import Building, Membership, SealedTOTPDevice, User

DEMO_BUILDING = "Harbour View Residences"
DEMO_PEOPLE = [
    ("resident", rules.RESIDENT, "Lin", "Wei"),
    ("staff", rules.STAFF, "Zhang", "Min"),
    ("admin", rules.ADMIN, "Chen", "Jie"),
]

# Sent inside the demo transaction so other apps can add their own demo records.
demo_building_created = Signal()


@dataclass
class DemoCredential:
    username: str
    role: str
    password: str
    totp_secret: str
    totp_url: str


def demo_loaded() -> bool:
    return Building.objects.filter(name_en=DEMO_BUILDING).exists()


@transaction.atomic
def load_demo() -> list[DemoCredential]:
    """Creates the demo building and people; returns their credentials (shown only once)."""
    building = Building.objects.create(
        name=DEMO_BUILDING,
        address="1 Harbour Road",
        handler_name="Harbour View Property Management Co., Ltd.",
        name_zh_hans="\u6d77\u666f\u82d1",
        handler_name_zh_hans="\u6d77\u666f\u7269\u4e1a\u7ba1\u7406\u6709\u9650\u516c\u53f8",
        handler_contact="privacy@harbourview.example, +86 21 5555 0100",
    )
    credentials = []
    for username, role, last, first in DEMO_PEOPLE:
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=username,
            password=password,
            first_name=first,
            last_name=last,
            adult_attested_at=clock.now(),  # demo people are adults
        )
        Membership.objects.create(user=user, building=building, role=role)
        device = SealedTOTPDevice.create_for(user, "Authenticator app", confirmed=True)
        credentials.append(
            DemoCredential(
                username=username,
                role=role,
                password=password,
                totp_secret=base64.b32encode(device.bin_key).decode(),
                totp_url=device.config_url,
            )
        )
    demo_building_created.send(sender=load_demo, building=building)
    return credentials
