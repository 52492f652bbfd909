"""Password + code sign-ins logged as attempts beside the face sign-ins, for the fallback
parity figures: portal announces each code step (`portal.signals.code_sign_in`), recognition
writes the row. Portal never imports recognition."""

from django.dispatch import receiver

from portal import signals
from recognition.lifecycle.services import log_attempt
from recognition.models import Attempt

RESULTS = {
    signals.SUCCEEDED: Attempt.MATCH,
    signals.FAILED: Attempt.NO_MATCH,
    signals.LOCKED: Attempt.THROTTLED,
}


@receiver(signals.code_sign_in, dispatch_uid="recognition.log_code_sign_in")
def log_code_sign_in(sender, person, result, **kwargs) -> None:
    log_attempt(
        channel=Attempt.SIGN_IN,
        method=Attempt.CODE,
        result=RESULTS[result],
        person=person,
    )


@receiver(signals.signed_in_without_code, dispatch_uid="recognition.log_sign_in_without_code")
def log_sign_in_without_code(sender, person, method, **kwargs) -> None:
    methods = {signals.PASSWORD: Attempt.PASSWORD, signals.PASSKEY: Attempt.PASSKEY}
    log_attempt(
        channel=Attempt.SIGN_IN, method=methods[method], result=Attempt.MATCH, person=person
    )
