"""Device and staff routes of the ways in without a face: a card read at a door
(`devices/card/`, device key) and a door opened by reception (`reception/open/`, staff session).
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import ErrorSerializer
from recognition import serializers as s
from recognition.api import ERRORS, DeviceAPIView, door_response, error
from recognition.entry import cards, reception
from recognition.entry.models import AssistedOpening
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
