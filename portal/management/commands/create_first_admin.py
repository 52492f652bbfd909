from django.core.management.base import BaseCommand, CommandError

from portal.accounts import AccountRefused, create_first_admin


class Command(BaseCommand):
    help = (
        "Creates a building and its first admin with a password and an authenticator enrolled "
        "at once, and prints both once (use this, never createsuperuser)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--building", required=True, help="the building's name")
        parser.add_argument("--handler", required=True, help="the personal information handler")
        parser.add_argument("--handler-contact", required=True)
        parser.add_argument("--address", default="")

    def handle(self, *args, username, building, handler, handler_contact, address, **options):
        try:
            made = create_first_admin(
                username=username,
                building_name=building,
                handler_name=handler,
                handler_contact=handler_contact,
                address=address,
            )
        except AccountRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            "\n".join(
                [
                    f"Created {made.user.username}, admin of {made.building.name}.",
                    "Shown only now; keep them:",
                    f"  password: {made.password}",
                    f"  authenticator key: {made.totp_secret}",
                    f"  {made.totp_url}",
                    "Sign in at /accounts/login/ with the password and the app's 6-digit code.",
                ]
            )
        )
