"""The API base: one error shape for every failure, and who am I."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Every API error is `{"error": {"code", "message", "details"}}`."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(getattr(exc, "detail", None), dict | list):
        codes = exc.get_codes() if hasattr(exc, "get_codes") else {}
        code = "invalid" if isinstance(codes, dict | list) else str(codes)
        message = str(exc.default_detail)
        details = data
    else:
        detail = getattr(exc, "detail", data)
        code = getattr(detail, "code", code) or code
        message = str(detail)
        details = {}
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    buildings = serializers.ListField(child=serializers.IntegerField())
    second_factor = serializers.BooleanField()


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="The signed-in person")
    def get(self, request):
        user = request.user
        return Response(
            MeSerializer(
                {
                    "id": user.pk,
                    "username": user.username,
                    "roles": sorted(user.roles()),
                    "buildings": user.building_ids(),
                    "second_factor": user.is_verified(),
                }
            ).data
        )
