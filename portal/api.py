"""The API base: one error shape for every failure, and who am I."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from portal.refusals import Refused, error_body


def exception_handler(exc, context):
    """Every API error is `{"error": {"code", "message", "details"}}` (`error_body`); a refusal
    of the rules (`Refused`) answers with its own status."""
    if isinstance(exc, Refused):
        return Response(exc.body(), status=exc.status)
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
    response.data = error_body(code, message, details)
    return response


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorSerializer(serializers.Serializer):
    """The body of every API error: `{"error": {"code", "message", "details"}}`."""

    error = ErrorDetailSerializer()


# Answers any operation may give, whatever its own documentation lists: refused (not signed
# in, wrong role or second factor missing), not found (not yours, or not there), and the body
# over the upload limit.
COMMON_ERRORS = ("401", "403", "404", "413")


def document_errors(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation documents the common errors
    (and 400 when it takes parameters or a body), all in the portal's error shape."""
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = list(COMMON_ERRORS)
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append("400")
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "content": {"application/json": {"schema": reference}},
                        "description": "",
                    },
                )
    return result


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
