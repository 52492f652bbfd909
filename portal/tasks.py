from celery import shared_task

from portal import worker  # noqa: F401 (connects the worker's metrics and readiness handlers)


@shared_task(name="portal.tasks.ping")
def ping(value: str) -> dict:
    """A round trip through the broker and a worker, for health checks and tests."""
    import os

    return {"echo": value, "worker_pid": os.getpid()}


# Registered under its name from before the audit log moved here: beat schedules and messages
# already queued name it so.
@shared_task(name="consent.tasks.check_audit_chain", acks_late=True)
def check_audit_chain() -> dict:
    """The scheduled walk over the whole audit chain (Celery beat)."""
    from portal.audit import check_chain
    from portal.models import AuditCheck

    check = check_chain(AuditCheck.SCHEDULE)
    return {"intact": check.intact, "entries": check.entries, "break": check.break_entry_id}
