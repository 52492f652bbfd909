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
