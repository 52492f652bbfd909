"""What sign-in announces. `recognition` listens and logs each result as an attempt beside the
face sign-ins, so the non-face route's figures can be shown next to the face route's.

`code_sign_in` (kwargs: person, result) is sent once per one-time-code step of a password +
code sign-in, with `result` one of SUCCEEDED, FAILED or LOCKED (refused unchecked while the
person is locked out after failures).
"""

from django.dispatch import Signal

SUCCEEDED = "succeeded"
FAILED = "failed"
LOCKED = "locked"

code_sign_in = Signal()

# Sent once per sign-in that needs no one-time code (kwargs: person, method): "password" for
# a password alone (people who keep no second factor), "passkey" for a passkey.
PASSWORD = "password"  # noqa: S105 (a method name, not a secret)
PASSKEY = "passkey"
signed_in_without_code = Signal()

# kwargs: person, building, actor. The person left the building or job; their memberships there
# have ended. Sent by `consent.services.mark_person_left` inside its transaction; consent ends
# their consents there, recognition deletes their face data.
person_left = Signal()
