"""Device and staff routes of the ways in without a face: a card read at a door
(`devices/card/`, device key) and a door opened by reception (`reception/open/`, staff session);
and the door kiosk's live face check: a challenge for its device (`devices/face/challenge/`)
answered by a burst of camera frames (`devices/identify/live/`), as at face sign-in.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import clock
from portal.api import ErrorSerializer
from recognition import serializers as s
from recognition import tasks
from recognition.api import ERRORS, DeviceAPIView, door_response, error
from recognition.doors import door
from recognition.engine import facework, jobs, live, liveness
from recognition.entry import cards, kiosk, reception
from recognition.entry.models import AssistedOpening
from recognition.forms import frames_from_data_urls
from recognition.models import Device


class CardSerializer(serializers.Serializer):
    card = serializers.CharField(
        max_length=64,
        trim_whitespace=True,
        help_text=_(
            "The card number the reader read (letters and digits; spaces, - and : ignored)."
        ),
    )


class ReceptionOpenSerializer(serializers.Serializer):
    device = serializers.IntegerField(min_value=1, help_text=_("The door to open."))
    person = serializers.IntegerField(min_value=1, help_text=_("The resident let in."))
    check = serializers.ChoiceField(
        choices=AssistedOpening.CHECK_CHOICES,
        help_text=_("How the staff member checked who the person is, in person."),
    )


class ChallengeStepSerializer(serializers.Serializer):
    pose = serializers.ChoiceField(choices=liveness.TURNS)
    prompt = serializers.CharField()


class ChallengeSerializer(serializers.Serializer):
    nonce = serializers.CharField()
    steps = ChallengeStepSerializer(many=True)
    front = serializers.CharField(help_text=_("The prompt to face the camera."))
    expires_in = serializers.IntegerField(help_text=_("Seconds within which to answer."))


class LiveBurstSerializer(serializers.Serializer):
    nonce = serializers.CharField(max_length=64, help_text=_("The challenge's nonce."))
    frames = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False),
        min_length=1,
        max_length=liveness.MAX_FRAMES,
        help_text=_("The camera frames, in order: JPEG data URLs."),
    )

    def validate_frames(self, values) -> list[bytes]:
        try:
            return frames_from_data_urls(values)
        except ValueError:
            raise serializers.ValidationError(liveness.door_message(liveness.FRAMES)) from None


class FaceChallengeView(DeviceAPIView):
    @extend_schema(
        summary="A live face challenge for this device's kiosk (head turns to prompt)",
        request=None,
        responses={200: ChallengeSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        if not door.face_offered(self.device, identification=True):
            return self.face_not_offered()
        wait = live.challenge_wait(f"device:{self.device.pk}")
        if wait:
            return error(
                "throttled",
                facework.door_busy_message(wait),
                status.HTTP_429_TOO_MANY_REQUESTS,
                {"retry_after": wait},
                Retry_After=wait,
            )
        challenge = kiosk.issue_challenge(self.device)
        return Response(ChallengeSerializer(live.challenge_payload(challenge)).data)


class IdentifyLiveView(DeviceAPIView):
    @extend_schema(
        summary="Identify a face (1:N) from a burst answering this device's face challenge",
        request=LiveBurstSerializer,
        responses={200: s.DoorAnswerSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        # Taken first, whatever the request holds: a challenge is answered at most once.
        challenge = kiosk.take_challenge(self.device)
        received_at = clock.now().timestamp()
        form = LiveBurstSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if not door.face_offered(self.device, identification=True):
            return self.face_not_offered()
        try:
            answer = jobs.run(
                tasks.identify_at_door_live,
                self.device.pk,
                challenge,
                form.validated_data["nonce"],
                received_at,
                image=form.validated_data["frames"],
                queue=self.door_queue(),
            )
        except jobs.FaceUnavailable:
            return self.face_unavailable()
        return door_response(answer)


class CardView(DeviceAPIView):
    @extend_schema(
        summary="Open with an access card issued by this building",
        request=CardSerializer,
        responses={200: s.DoorAnswerSerializer, **ERRORS},
        tags=["devices"],
    )
    def post(self, request):
        form = CardSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return door_response(cards.open_with_card(self.device, form.validated_data["card"]))


class ReceptionOpenView(APIView):
    @extend_schema(
        summary="Open a door for a resident whose identity a staff member checked in person",
        request=ReceptionOpenSerializer,
        responses={200: s.DoorAnswerSerializer, 404: ErrorSerializer, **ERRORS},
        tags=["reception"],
    )
    def post(self, request):
        buildings = reception.staff_building_ids(request.user)
        if not buildings:
            raise NotFound()
        form = ReceptionOpenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # Doors and people outside the staff member's buildings are "not found".
        device = get_object_or_404(
            Device.objects.select_related("building", "location"),
            pk=form.validated_data["device"],
            building_id__in=buildings,
        )
        person = get_object_or_404(
            reception.residents_for(request.user, [device.building_id]),
            pk=form.validated_data["person"],
        )
        try:
            answer = reception.open_for_person(
                device, person, form.validated_data["check"], actor=request.user
            )
        except reception.OpeningRefused as refused:
            return error(refused.code, refused.message, status.HTTP_409_CONFLICT)
        return Response(s.DoorAnswerSerializer(answer).data)
