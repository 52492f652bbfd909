import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Workers run one task per core (prefork); numpy's BLAS threads on top would only fight the
# other children for the same cores. Set before numpy loads (docs/benchmarks.md, door
# identification).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
