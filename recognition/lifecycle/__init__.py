"""The life of face data: enrolment and deletion (the only writers), per-person keys and encryption
at rest, and the purge of what has lapsed."""
