from django.core.management.base import BaseCommand

from recognition.purge import purge_lapsed_templates


class Command(BaseCommand):
    help = "Deletes every face template whose purpose has lapsed, and old attempt logs."

    def handle(self, *args, **options):
        counts = purge_lapsed_templates(trigger="manual")
        attempts = counts.pop("attempt_logs")
        templates = sum(counts.values())
        per_reason = ", ".join(f"{reason} {n}" for reason, n in counts.items())
        self.stdout.write(
            f"Purged {templates} templates ({per_reason}) and {attempts} attempt log rows."
        )
