"""What recognition announces about face data.

`templates_deleted` is sent inside the transaction that deleted face templates (once per
withdrawal, leaving or retirement, once per batch of a purge run) with `pairs`: the set of
(building_id, purpose_id) whose templates went, and `reasons`: a frozenset of lapse reasons.
Anything that keeps a copy or a derived form of templates (an in-memory identification cache
of door devices, a Redis key) listens and forgets that copy in the same transaction, so no
copy outlives the template.
"""

from django.dispatch import Signal

templates_deleted = Signal()
