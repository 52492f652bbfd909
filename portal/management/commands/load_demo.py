from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from portal.demo import demo_loaded, load_demo


class Command(BaseCommand):
    help = "Loads the demo building and people once, printing their credentials that one time."

    def handle(self, *args, **options):
        if demo_loaded():
            self.stdout.write(
                _("Demo data already loaded (credentials were printed the first time).")
            )
            return
        lines = [_("Demo people (shown only now; keep them):")]
        for c in load_demo():
            lines.append(
                f"  {c.role:<9} username: {c.username:<9} password: {c.password}  "
                f"authenticator key: {c.totp_secret}"
            )
            lines.append(f"            {c.totp_url}")
        lines.append(
            _(
                "Add the key to an authenticator app (or open the otpauth:// link on a phone) "
                "to get the one-time codes."
            )
        )
        self.stdout.write("\n".join(lines))
