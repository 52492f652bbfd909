from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import checkpoints
from portal.models import AuditEntry


class Command(BaseCommand):
    help = (
        "After a change of AUDIT_CHECKPOINT_KEY: walks the hash chain, records the change in the "
        "audit log and signs its head with the new key. Refuses a broken chain."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reason", required=True, help="why the key changed (audited)")

    def handle(self, *args, reason, **options):
        if not checkpoints.configured_key():
            raise CommandError(_("AUDIT_CHECKPOINT_KEY is not set."))
        with transaction.atomic():
            for result in audit.verify_chain():
                if isinstance(result, audit.Break):
                    raise CommandError(
                        _("Audit chain broken at entry %(id)d: %(reason)s.")
                        % {"id": result.entry_id, "reason": result.reason}
                    )
            entry = audit.record(
                "audit.checkpoint_key_changed",
                data={
                    "reason": reason[:200],
                    "key": checkpoints.key_id(checkpoints.configured_key()),
                },
            )
            point = checkpoints.make_checkpoint(
                entry_id=entry.pk, entry_hash=entry.hash, entries=AuditEntry.objects.count()
            )
        self.stdout.write(
            _("Checkpoint signed at entry %(id)d with the new key.") % {"id": point.entry_id}
        )
