"""The only writers of face data. Each function is one transaction and leaves an audit event
with no biometric content (ids, model name, counts; never an image, embedding or distance)."""

from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from consent import rules as consent_rules
from consent.models import Consent, Purpose
from portal import audit, clock
from portal.models import Building, Membership, User
from portal.refusals import Refused
from recognition import policy, policy_query
from recognition.doors import identify, snapshots
from recognition.lifecycle import crypto, datakeys
from recognition.models import Attempt, Device, FaceTemplate, PurgeRecord, ThresholdCrossing
from recognition.reporting import headcount
from recognition.signals import templates_deleted

if TYPE_CHECKING:  # the engine is imported where it runs, never at this module's import
    from recognition.engine import FaceEngine, ScannedPhoto


class FaceRefused(Refused):
    """A face action that the rules refuse; `message` is for the person."""


NO_CONSENT = _(
    "You have not agreed to face use for this purpose, so no face can be enrolled. "
    "You can agree on the My consents page, or keep using your password and code."
)


NO_STORAGE_CONSENT = _(
    "Your face data for this purpose would leave the device, and you have not separately "
    "agreed to that, so no face can be enrolled. You can agree on the My consents page, or "
    "keep using your other ways in."
)
DEVICE_ONLY = _(
    "Face data for this purpose is kept on the recognition device only, so it is enrolled "
    "there, never through this portal."
)

ENROLLED = _("Your face is enrolled.")


class FaceResult(TypedDict):
    """A face task's answer, as it crosses back from the worker."""

    ok: bool
    code: str
    message: str
    person_id: NotRequired[int | None]  # verification only: who matched, None if nobody


def _storage_allowed() -> Q:
    """Consents under which the portal may hold face data (SQL form of rules.storage_problem):
    the purpose's face data leaves the device and the person separately agreed to that."""
    return Q(storage_consented_at__isnull=False) & ~Q(purpose__storage=consent_rules.STORAGE_DEVICE)


def face_purposes_for(person: User) -> QuerySet[Purpose]:
    """Active purposes of the person's buildings, for one of their roles there, whose face
    data the portal may hold under the person's active consent."""
    consents = Consent.objects.active().filter(_storage_allowed(), person=person)
    # django-stubs types a manager made by `QuerySet.as_manager()` here as an unknown manager,
    # so the chain is named by its declared type.
    purposes: QuerySet[Purpose] = (
        Purpose.objects.active()
        .for_person(person)
        .filter(pk__in=consents.values("purpose_id"))
        .select_related("building")
        .order_by("name")
    )
    return purposes


def _storage_refusal(purpose: Purpose, consent: Consent) -> FaceRefused | None:
    problem = consent_rules.storage_problem(
        purpose.storage, consent.storage_consented_at is not None
    )
    if problem == "device_only":
        return FaceRefused("device_only", DEVICE_ONLY)
    if problem == "no_storage_consent":
        return FaceRefused("no_storage_consent", NO_STORAGE_CONSENT)
    return None


def check_can_enrol(person: User, purpose: Purpose) -> None:
    consent = Consent.objects.active_for(person, purpose)
    if (
        purpose.status != "active"
        or consent is None
        or not Purpose.objects.for_person(person).filter(pk=purpose.pk).exists()
    ):
        raise FaceRefused("no_consent", NO_CONSENT)
    refusal = _storage_refusal(purpose, consent)
    if refusal is not None:
        raise refusal


def store_template(
    person: User, purpose: Purpose, vector: np.ndarray, model_id: str, *, job_id: str = ""
) -> FaceTemplate:
    """Keeps an encrypted embedding, replacing the person's earlier one for this purpose.

    The consent row is locked first, so a withdrawal running at the same time either comes
    before (and this refuses) or after (and its signal deletes what this wrote).
    """
    now = clock.now()
    with transaction.atomic():
        consent = Consent.objects.active_for(person, purpose)
        if consent is None:
            raise FaceRefused("no_consent", NO_CONSENT)
        consent = Consent.objects.select_for_update().get(pk=consent.pk)
        if Consent.objects.active_for(person, purpose) is None:
            raise FaceRefused("no_consent", NO_CONSENT)
        refusal = _storage_refusal(purpose, consent)
        if refusal is not None:  # checked on the locked row: a withdrawal of it came first
            raise refusal
        granted_at = consent.granted_at
        if granted_at is None:  # an active consent was granted; refuse rather than guess
            raise FaceRefused("no_consent", NO_CONSENT)
        # The audit chain's lock before the template and gallery rows, the order every writer
        # of face data keeps (a withdrawal or a purge batch meanwhile would deadlock otherwise).
        audit._lock_chain()
        template, created = FaceTemplate.objects.update_or_create(
            person=person,
            purpose=purpose,
            defaults={
                "building_id": purpose.building_id,
                "model_id": model_id,
                "ciphertext": crypto.encrypt_embedding(vector, person.pk),
                "created_at": now,
                "lapses_at": consent_rules.expires_at(granted_at, purpose.retention_days),
            },
        )
        if created:  # a new person may be the one that reaches the filing threshold
            headcount.note_headcount(ThresholdCrossing.ENROLMENT)
        identify.bump([(purpose.building_id, purpose.pk)])  # door caches reload before use
        if not created:  # the replaced embedding leaves no copy in a gallery snapshot
            snapshots.discard([(purpose.building_id, purpose.pk)])
        log_attempt(
            person=person,
            purpose=purpose,
            channel=Attempt.ENROLMENT,
            method=Attempt.FACE,
            result=Attempt.ENROLLED,
            job_id=job_id or None,
        )
        audit.record(
            "face.enrolled",
            actor=person,
            person=person,
            building=purpose.building,
            data={"purpose": purpose.pk, "model": model_id},
        )
    return template


def verification_templates(person_id: int | None) -> QuerySet[FaceTemplate]:
    """The person's templates usable for face sign-in now: an active portal sign-in purpose
    (never a door's), active consent with the separate consent to its storage, the person
    still a member of the template's building in a role the purpose is for, and the template's
    own retention not over (`policy.retention_over`), whether or not the purge came by yet."""
    if person_id is None:
        return FaceTemplate.objects.none()
    member = Membership.objects.current().filter(
        user_id=OuterRef("person_id"), building_id=OuterRef("building_id")
    )
    role_allowed = Q()
    for audience in consent_rules.AUDIENCES:
        role_allowed |= Q(
            Exists(member.filter(role__in=consent_rules.audience_roles(audience))),
            purpose__audience=audience,
        )
    stored = Consent.objects.filter(
        _storage_allowed(), person_id=OuterRef("person_id"), purpose_id=OuterRef("purpose_id")
    )
    return (
        FaceTemplate.objects.for_active_consent()
        .filter(
            policy_query.retention_runs(clock.now()),
            person_id=person_id,
            purpose__status=consent_rules.ACTIVE,
            purpose__method=consent_rules.VERIFICATION,
            purpose__kind=consent_rules.KIND_SIGN_IN,
        )
        .filter(role_allowed, Exists(stored))
    )


def log_attempt(
    *,
    channel: str,
    method: str,
    result: str,
    person: User | None = None,
    person_id: int | None = None,
    purpose: Purpose | None = None,
    device: Device | None = None,
    building: Building | None = None,
    distance: float | None = None,
    detail: str = "",
    job_id: str | None = None,
    liveness: str = "",
) -> Attempt:
    return Attempt.objects.create(
        person_id=person.pk if person is not None else person_id,
        job_id=job_id,
        purpose=purpose,
        device=device,
        building=building or (purpose.building if purpose is not None else None),
        channel=channel,
        method=method,
        result=result,
        distance=distance,
        detail=detail,
        liveness=liveness,
        created_at=clock.now(),
    )


def delete_templates(
    queryset: QuerySet[FaceTemplate],
    *,
    reason: str,
    trigger: str,
    actor: User | None = None,
    building: Building | None = None,
) -> int:
    """Deletes templates in one statement and leaves a purge record and an audit event.

    Call inside the transaction of the change that ends them; `templates_deleted` is sent in
    it too, so cached copies are forgotten when, and only if, the deletion commits.
    """
    started = clock.now()
    pairs = set(queryset.order_by().values_list("building_id", "purpose_id").distinct())
    people = set(queryset.order_by().values_list("person_id", flat=True).distinct())
    deleted = queryset.delete()[0] if pairs else 0
    if deleted:
        datakeys.shred(people)  # the last template of a person takes their key with it
        PurgeRecord.objects.create(
            building_id=building.pk if building is not None else None,
            reason=reason,
            templates_deleted=deleted,
            started_at=started,
            finished_at=clock.now(),
            trigger=trigger,
        )
        templates_deleted.send(sender=FaceTemplate, pairs=pairs, reasons=frozenset({reason}))
        audit.record(
            "face.deleted",
            actor=actor,
            building=building,
            data={"reason": reason, "templates": deleted, "trigger": trigger},
        )
    return deleted


def _result(ok: bool, code: str = "", message: object = "", **extra: int | None) -> FaceResult:
    result: FaceResult = {"ok": ok, "code": code, "message": str(message)}
    if "person_id" in extra:  # a sign-in's answer: whom it matched, None if nobody
        result["person_id"] = extra["person_id"]
    return result


def enrol_face(
    person_id: int,
    purpose_id: int,
    image: "bytes | ScannedPhoto",
    engine: "FaceEngine",
    *,
    job_id: str = "",
) -> FaceResult:
    """Embeds the only face of the photo and stores it under the person's active consent.

    A redelivered task (its worker died after storing) answers as before and stores nothing
    twice: the enrolment attempt carries the task id and commits with the template."""
    from recognition.engine.imaging import ImageRejected

    if job_id:
        done = Attempt.objects.filter(job_id=job_id).first()
        if done is not None:  # a redelivered task: answer as before, do not store twice
            return _replayed_enrolment(done)
    person = User.objects.get(pk=person_id)
    purpose = Purpose.objects.select_related("building").get(pk=purpose_id)
    try:
        check_can_enrol(person, purpose)
        vector = engine.embed(image)
        store_template(person, purpose, vector, engine.model_id, job_id=job_id)
    except FaceRefused as refused:
        return _result(False, refused.code, refused.message)
    except ImageRejected as rejected:
        log_refused_face(rejected.code, Attempt.ENROLMENT, job_id, person=person, purpose=purpose)
        return _result(False, rejected.code, rejected.message)
    return _result(True, "enrolled", ENROLLED)


def log_refused_face(
    code: str,
    channel: str,
    job_id: str,
    *,
    person: User | None = None,
    person_id: int | None = None,
    purpose: Purpose | None = None,
) -> None:
    """A face refused before any comparison (a photo that does not decode, a burst that does
    not answer its challenge), in the attempt log."""
    log_attempt(
        channel=channel,
        method=Attempt.FACE,
        result=Attempt.REJECTED,
        detail=code,
        job_id=job_id or None,
        person=person,
        person_id=person_id,
        purpose=purpose,
    )


def _replayed_enrolment(done: Attempt) -> FaceResult:
    from recognition.engine import MESSAGES, FaceRejected
    from recognition.engine.imaging import ImageRejected

    if done.result == Attempt.ENROLLED:
        return _result(True, "enrolled", ENROLLED)
    kind = FaceRejected if done.detail in MESSAGES else ImageRejected
    rejected = kind(done.detail)
    return _result(False, rejected.code, rejected.message)


def verify_face(
    person_id: int | None, image: "bytes | ScannedPhoto", engine: "FaceEngine", *, job_id: str = ""
) -> FaceResult:
    """1:1 verification for face sign-in. The same answer whether or not the person exists,
    has a template or has consented, so the answer reveals nothing about an account."""
    from recognition.engine.imaging import ImageRejected

    if job_id:
        done = Attempt.objects.filter(job_id=job_id).first()
        if done is not None:  # a redelivered task: answer as before, do not log twice
            return _result(done.result == Attempt.MATCH, done.result, "", person_id=person_id)
    try:
        probe = engine.embed(image)
    except ImageRejected as rejected:
        log_refused_face(rejected.code, Attempt.SIGN_IN, job_id, person_id=person_id)
        return _result(False, rejected.code, rejected.message)
    best, best_distance = None, None
    # Only templates of this engine's pipeline: another model's embeddings are not comparable
    # (after a model change each person enrols again; docs/face-engine.md).
    usable = verification_templates(person_id).filter(model_id=engine.model_id)
    for template in usable.select_related("purpose"):
        try:
            embedding = crypto.decrypt_embedding(template.ciphertext, template.person_id)
        except crypto.Unreadable:
            continue  # its key was shredded with a deletion that is committing now
        distance = engine.distance(probe, embedding)
        if best_distance is None or distance < best_distance:
            best, best_distance = template, distance
    matched = (
        best is not None
        and best_distance is not None
        and policy.is_match(best_distance, engine.threshold)
    )
    log_attempt(
        person_id=person_id,
        purpose=best.purpose if best else None,
        building=best.purpose.building if best else None,
        channel=Attempt.SIGN_IN,
        method=Attempt.FACE,
        result=Attempt.MATCH if matched else Attempt.NO_MATCH,
        distance=best_distance,
        job_id=job_id or None,
    )
    if person_id is not None:
        audit.record(
            "face.verified" if matched else "face.not_verified",
            person=person_id,
            data={"channel": Attempt.SIGN_IN},
        )
    return _result(
        matched,
        Attempt.MATCH if matched else Attempt.NO_MATCH,
        "",
        person_id=person_id if matched else None,
    )


def rotate_face_keys(batch_size: int = 1000) -> tuple[int, int]:
    """Puts every template under the newest key of FACE_ENCRYPTION_KEYS: each person's data
    key is wrapped again with it, and templates still encrypted with the ring itself (written
    before per-person keys) are re-encrypted under their person's data key. Every older key
    still decrypts meanwhile. Returns (templates, batches).

    Batches by id, each one short transaction: its rows are locked, re-encrypted in Python
    and written back with one UPDATE, so an enrolment or a deletion running at the same time
    waits for the batch and is never overwritten by an old ciphertext.
    """
    datakeys.rewrap_all(batch_size)
    datakeys.rewrap_gallery_keys()  # door gallery snapshots open after the old key goes
    done = batches = 0
    last_id = 0
    while True:
        with transaction.atomic():
            rows = list(
                FaceTemplate.objects.select_for_update()
                .filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", "person_id", "ciphertext")[:batch_size]
            )
            if not rows:
                break
            legacy = [(pk, person, token) for pk, person, token in rows if crypto.is_legacy(token)]
            if legacy:
                audit._lock_chain()  # as every writer of face data, before the key rows
                keys = datakeys.keys_for_writing(person for _pk, person, _token in legacy)
                FaceTemplate.objects.bulk_update(
                    [
                        FaceTemplate(
                            pk=pk, ciphertext=crypto.to_per_person(token, person, keys[person])
                        )
                        for pk, person, token in legacy
                    ],
                    ["ciphertext"],
                )
        last_id = rows[-1][0]
        done += len(rows)
        batches += 1
    if done:
        audit.record("face.keys_rotated", data={"templates": done, "batches": batches})
    return done, batches
