"""Scheduled consent work: the daily walk over the audit chain (Celery beat)."""

from celery import shared_task


@shared_task(name="consent.tasks.check_audit_chain", acks_late=True)
def check_audit_chain() -> dict:
    from consent.audit import check_chain
    from consent.models import AuditCheck

    check = check_chain(AuditCheck.SCHEDULE)
    return {"intact": check.intact, "entries": check.entries, "break": check.break_entry_id}
