from celery import shared_task

from portal import worker  # noqa: F401 (connects the worker's metrics and readiness handlers)


@shared_task(name="portal.tasks.ping")
def ping(value: str) -> dict:
    """A round trip through the broker and a worker, for health checks and tests."""
    import os

    return {"echo": value, "worker_pid": os.getpid()}
