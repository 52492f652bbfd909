from django.core.management.base import BaseCommand

from recognition.lifecycle.purge import purge_lapsed_templates, summary_line
from recognition.models import PurgeRecord


class Command(BaseCommand):
    help = (
        "Deletes every face template whose purpose has lapsed, and attempt logs past their "
        "retention, now (Celery beat does the same on schedule). Prints one line of counts."
    )

    def handle(self, *args, **options):
        self.stdout.write(summary_line(purge_lapsed_templates(trigger=PurgeRecord.MANUAL)))
