"""The device API under /api/v1/devices/: door terminals authenticate with their own key
(`Authorization: Device <key>`), never with a person's session.

Views check the device, validate the shape, hand the face work to a worker (or the code check
to `recognition.doors.door`) and answer; refusals keep the portal's error shape.
"""

import time

from celery.result import AsyncResult
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import ErrorSerializer
from portal.refusals import error_body
from recognition import serializers as s
from recognition import tasks
from recognition.doors import devices, door, shards
from recognition.engine import jobs
from recognition.models import Attempt, Device

ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    409: ErrorSerializer,
    429: ErrorSerializer,
    503: ErrorSerializer,
}
_JOB_SALT = "recognition.api.identify-job"

FACE_UNAVAILABLE = _(
    "Face recognition is unavailable right now. The door code and one-time code still work."
)


class DeviceKeyAuthentication(BaseAuthentication):
    """`Authorization: Device <prefix>.<secret>`: the key issued when the device was registered."""

    keyword = b"device"

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword:
            return None
        if len(words) != 2:
            raise AuthenticationFailed(_("Send the device key as: Authorization: Device <key>."))
        device = devices.device_for_key(words[1].decode("latin-1"))
        if device is None:
            raise AuthenticationFailed(_("This device key is not known."))
        if device.revoked_at is not None:
            raise AuthenticationFailed(_("This device key was revoked."), code="device_revoked")
        devices.note_contact(device)
        return AnonymousUser(), device

    def authenticate_header(self, request) -> str:
        return 'Device realm="api"'


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    target_class = DeviceKeyAuthentication
    name = "deviceKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <key>`, the key shown once when the device was registered.",
        }


class IsAllowedDevice(BasePermission):
    """A device with a valid key, standing where a face device may stand."""

    def has_permission(self, request, view) -> bool:
        device = request.auth
        if not isinstance(device, Device):
            return False
        placement = device.location.placement()
        if not placement.allowed:
            raise PermissionDenied(placement.reason, code="location_not_allowed")
        return True


def error(code: str, message, http_status: int, details: dict | None = None, **headers):
    response = Response(error_body(code, message, details or {}), status=http_status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = str(value)
    return response


def door_response(answer: dict):
    """A face or code answer; a throttled one is a 429 that points to the code route."""
    if answer["result"] == Attempt.THROTTLED:
        return error(
            "throttled",
            answer["message"],
            status.HTTP_429_TOO_MANY_REQUESTS,
            {"retry_after": answer["retry_after"], "attempt_id": answer["attempt_id"]},
            Retry_After=answer["retry_after"],
        )
    if answer["result"] == Attempt.UNAVAILABLE:
        return error(door.FACE_NOT_OFFERED, answer["message"], status.HTTP_409_CONFLICT)
    return Response(s.DoorAnswerSerializer(answer).data)


class DeviceAPIView(APIView):
    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsAllowedDevice]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @property
    def device(self) -> Device:
        return self.request.auth

    def face_not_offered(self):
        return error(door.FACE_NOT_OFFERED, door.NOT_OFFERED, status.HTTP_409_CONFLICT)

    def door_queue(self) -> str:
        """The queue of this building's door shard (DOOR_SHARDS)."""
        return shards.door_queue(self.device.building_id, settings.DOOR_SHARDS)

    def face_unavailable(self, person_id: int | None = None):
        attempt = door.log_unavailable(self.device, person_id)
        return error(
            "face_unavailable",
            FACE_UNAVAILABLE,
            status.HTTP_503_SERVICE_UNAVAILABLE,
            {"attempt_id": attempt.pk},
        )


def _purpose(device: Device):
    purpose = device.purpose
    if purpose is None:
        return None
    return {
        "id": purpose.pk,
        "name": purpose.name,
        "method": purpose.method,
        "kind": purpose.kind,
        "storage": purpose.storage,
        "status": purpose.status,
    }


class DeviceMeView(DeviceAPIView):
    @extend_schema(
        summary="This device: its building, location, purpose and the routes it offers",
        responses={200: s.DeviceSerializer, **ERRORS},
        tags=["devices"],
    )
    def get(self, request):
        device = self.device
        return Response(
            s.DeviceSerializer(
                {
                    "id": device.pk,
                    "name": device.name,
                    "building": {"id": device.building_id, "name": device.building.name},
                    "location": {
                        "id": device.location_id,
                        "name": device.location.name,
                        "kind": device.location.kind,
                    },
                    "purpose": _purpose(device),
                    "identify": door.face_offered(device, identification=True),
                    "verify": door.face_offered(device, identification=False),
                    "code": True,
                }
            ).data
        )


def identification_photo(view, request):
    """The photo of a 1:N request (400 when invalid), or the answer that faces are not used."""
    form = s.PhotoSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    if not door.face_offered(view.device, identification=True):
        return view.face_not_offered()
    return form.validated_data


class IdentifyView(DeviceAPIView):
    @extend_schema(
        summary="Identify a face (1:N) among the people of this building, within the deadline",
        request={"multipart/form-data": s.PhotoSerializer},
        responses={200: s.DoorAnswerSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        photo = identification_photo(self, request)
        if isinstance(photo, Response):
            return photo
        try:
            answer = jobs.run(
                tasks.identify_at_door,
                self.device.pk,
                image=photo["photo"],
                liveness=photo["liveness"],
                queue=self.door_queue(),
            )
        except jobs.FaceUnavailable:
            return self.face_unavailable()
        return door_response(answer)


class IdentifyJobsView(DeviceAPIView):
    @extend_schema(
        summary="Start identifying a face (1:N); poll the job for the answer",
        request={"multipart/form-data": s.PhotoSerializer},
        responses={202: s.JobSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        photo = identification_photo(self, request)
        if isinstance(photo, Response):
            return photo
        try:
            result = jobs.submit(
                tasks.identify_at_door,
                self.device.pk,
                image=photo["photo"],
                liveness=photo["liveness"],
                queue=self.door_queue(),
            )
        except jobs.FaceUnavailable:
            return self.face_unavailable()
        job = signing.dumps(
            {"task": result.id, "device": self.device.pk, "at": time.time()}, salt=_JOB_SALT
        )
        url = reverse("api:device-identify-job", kwargs={"job": job})
        return Response(s.JobSerializer({"job": job, "status_url": url}).data, status=202)


class IdentifyJobView(DeviceAPIView):
    @extend_schema(
        summary="The answer of an identification job of this device, once there is one",
        responses={200: s.JobStatusSerializer, **ERRORS, 404: ErrorSerializer},
        tags=["devices"],
    )
    def get(self, request, job):
        try:
            ticket = signing.loads(job, salt=_JOB_SALT)
        except signing.BadSignature:
            raise NotFound() from None
        if ticket.get("device") != self.device.pk:
            raise NotFound()
        attempt = Attempt.objects.filter(job_id=ticket["task"], device=self.device).first()
        if attempt is not None:
            answer = door.answer(attempt)
            return Response(
                s.JobStatusSerializer(
                    {"status": s.JobStatusSerializer.DONE, "answer": answer, "message": ""}
                ).data
            )
        given_up = time.time() - ticket["at"] > (
            settings.FACE_VERIFY_DEADLINE + settings.CELERY_TASK_TIME_LIMIT
        )
        if given_up or _task_state(ticket["task"]) in ("FAILURE", "REVOKED", "UNREACHABLE"):
            state, message = s.JobStatusSerializer.UNAVAILABLE, FACE_UNAVAILABLE
        else:
            state, message = s.JobStatusSerializer.PENDING, ""
        return Response(
            s.JobStatusSerializer({"status": state, "answer": None, "message": message}).data
        )


def _task_state(task_id: str) -> str:
    """The task's state in the result backend, or UNREACHABLE while Redis cannot be reached
    (the door then offers the code route instead of polling a job that cannot finish)."""
    try:
        return AsyncResult(task_id).state
    except (*jobs.BROKER_ERRORS, RuntimeError):
        return "UNREACHABLE"


class VerifyView(DeviceAPIView):
    @extend_schema(
        summary="Verify a face (1:1) against the person a card or QR code names",
        request={"multipart/form-data": s.VerifySerializer},
        responses={200: s.DoorAnswerSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        form = s.VerifySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if not door.face_offered(self.device, identification=False):
            return self.face_not_offered()
        try:
            answer = jobs.run(
                tasks.verify_at_door,
                self.device.pk,
                form.validated_data["person"],
                image=form.validated_data["photo"],
                liveness=form.validated_data["liveness"],
                queue=self.door_queue(),
            )
        except jobs.FaceUnavailable:
            return self.face_unavailable(form.validated_data["person"])
        return door_response(answer)


class CodeView(DeviceAPIView):
    @extend_schema(
        summary="Open with a code, without a face: a door code, or a person's one-time code",
        request=s.CodeSerializer,
        responses={200: s.DoorAnswerSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        form = s.CodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        answer = door.open_with_code(
            self.device, form.validated_data["code"], form.validated_data.get("person")
        )
        return door_response(answer)
