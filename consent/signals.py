"""What consent announces; `recognition` listens. Every signal is sent inside the writer's
transaction, so a receiver that deletes face data commits or fails together with the change.
"""

from django.dispatch import Signal

# kwargs: person, purpose, consent, actor. Sent when a granted consent stops (withdrawn, or
# refused on renewal): the person's templates for the purpose must go before the response returns.
consent_withdrawn = Signal()

# kwargs: person, purpose, consent. Sent after a grant (first grant or renewal).
consent_granted = Signal()

# kwargs: purpose, consent_ids. A new notice version changed what people agreed to; face use
# for these consents stops until each person decides again.
consent_renewal_needed = Signal()

# kwargs: purpose, actor. The purpose is retired; its face data is no longer needed.
purpose_retired = Signal()

# kwargs: person, purpose, consent, actor. The person withdrew (or did not renew) their separate
# consent to face data leaving the device while the consent to the purpose stays: the face
# data the portal holds for the purpose must go in the same transaction.
storage_consent_withdrawn = Signal()
