"""Plain values shared by the rights tests (no fixtures here)."""

INCIDENT_FIELDS = {
    "title": "Door controller copied",
    "what_happened": "A door controller's disk was copied during a repair visit.",
    "data_involved": "Encrypted face templates of the lobby door.",
    "cause": "A contractor removed the disk without supervision.",
    "likely_harm": "Low: templates are encrypted and the key was not on the disk.",
    "measures_taken": "Keys rotated, templates re-encrypted, contractor barred.",
    "self_help": "Withdraw consent and use your card if you prefer.",
    "contact": "security@example.com",
}
