"""The only writers of consent data, one module per noun. Each function is one transaction that
writes its audit entry.

Views, the API, the demo loader and management commands call these; none writes models itself.
Refusals are raised as ConsentError(code, message) with a translated message; `actor`, the
person acting, is keyword-only everywhere.
"""

from consent.services.assessments import approve_assessment, create_assessment, update_assessment
from consent.services.common import (
    ASSESSMENT_FIELDS,
    CREATE_FIELDS,
    PURPOSE_FIELDS,
    USER_AGENT_MAX,
    ConsentError,
)
from consent.services.decisions import (
    grant_consent,
    refuse_consent,
    withdraw_consent,
    withdraw_storage_consent,
)
from consent.services.notices import notice_hash, publish_notice
from consent.services.people import (
    INVITABLE_ROLES,
    invite_person,
    mark_notifications_read,
    mark_person_left,
)
from consent.services.purposes import (
    activate_purpose,
    create_purpose,
    delete_purpose,
    has_current_assessment,
    retire_purpose,
    update_purpose,
)

__all__ = [
    "ASSESSMENT_FIELDS",
    "CREATE_FIELDS",
    "INVITABLE_ROLES",
    "PURPOSE_FIELDS",
    "USER_AGENT_MAX",
    "ConsentError",
    "activate_purpose",
    "approve_assessment",
    "create_assessment",
    "create_purpose",
    "delete_purpose",
    "grant_consent",
    "has_current_assessment",
    "invite_person",
    "mark_notifications_read",
    "mark_person_left",
    "notice_hash",
    "publish_notice",
    "refuse_consent",
    "retire_purpose",
    "update_assessment",
    "update_purpose",
    "withdraw_consent",
    "withdraw_storage_consent",
]
