from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from consent.audit import Break, verify_chain


class Command(BaseCommand):
    help = "Checks the hash chain of the whole audit log; exits non-zero at the first break."

    def handle(self, *args, **options):
        checked = 0
        for result in verify_chain():
            if isinstance(result, Break):
                raise CommandError(
                    _(
                        "Audit chain broken at entry %(id)d: %(reason)s "
                        "(%(checked)d entries before it are intact)."
                    )
                    % {"id": result.entry_id, "reason": result.reason, "checked": checked}
                )
            checked += 1
        self.stdout.write(_("Audit chain intact: %(count)d entries.") % {"count": checked})
