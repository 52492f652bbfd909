from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from portal.audit import check_chain
from portal.models import AuditCheck


class Command(BaseCommand):
    help = (
        "Checks the hash chain of the whole audit log and keeps the result for the dashboard; "
        "exits non-zero at the first break."
    )

    def handle(self, *args, **options):
        check = check_chain(AuditCheck.MANUAL)
        if not check.intact:
            raise CommandError(
                _(
                    "Audit chain broken at entry %(id)d: %(reason)s "
                    "(%(checked)d entries before it are intact)."
                )
                % {
                    "id": check.break_entry_id,
                    "reason": check.break_reason,
                    "checked": check.entries,
                }
            )
        self.stdout.write(_("Audit chain intact: %(count)d entries.") % {"count": check.entries})
