"""Demo data for the embedded default: one building and one person per role."""

from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal

from portal import accounts, rules
from portal.models import Building

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
        member = accounts.create_member_with_authenticator(
            building, role=role, username=username, first_name=first, last_name=last
        )
        credentials.append(
            DemoCredential(
                username=username,
                role=role,
                password=member.password,
                totp_secret=member.totp_secret,
                totp_url=member.totp_url,
            )
        )
    demo_building_created.send(sender=load_demo, building=building)
    return credentials
