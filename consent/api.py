"""The consent API under /api/v1/: residents act on their own records, admins on their buildings.

Views authenticate, validate the shape, call one service and answer; refusals keep the portal's
error shape `{"error": {"code", "message", "details"}}`.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from consent import access, mydata, receipts, services
from consent import serializers as s
from consent.models import Consent, Purpose
from consent.overview import consent_overview
from consent.views import evidence
from portal import clock
from portal.api import ErrorSerializer
from portal.models import User
from portal.rules_query import current_member

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class ConsentAPIMixin:
    def handle_exception(self, exc):
        # A refusal (ConsentError) is answered by portal.api.exception_handler.
        if isinstance(exc, Http404):
            exc = NotFound()  # so the error code reads "not_found"
        return super().handle_exception(exc)


# Residents ---------------------------------------------------------------------------------


class PersonQuery(serializers.Serializer):
    person = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class MyConsentsView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Every purpose of my buildings (or my ward's) with my decision and its history",
        parameters=[OpenApiParameter("person", int, description="A ward's user id (guardians)")],
        responses={200: s.OverviewSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        query = PersonQuery(data=request.query_params)
        query.is_valid(raise_exception=True)  # ?person=abc, 1.5 or %00: 400, not 500
        subject, _guardian = access.subject_or_404(request.user, query.validated_data.get("person"))
        rows = consent_overview(subject)
        return Response(s.OverviewSerializer(rows, many=True, context={"now": clock.now()}).data)


class ConsentDetailView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="One of my consents with its history",
        responses={200: s.ConsentDetailSerializer, **ERRORS},
    )
    def get(self, request, pk):
        consent = access.own_consent_or_404(request.user, pk)
        return Response(s.ConsentDetailSerializer(consent).data)


class ReceiptView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Kantara Consent Receipt v1.1 of one of my consents",
        responses={200: {"type": "object"}, **ERRORS},
    )
    def get(self, request, pk):
        consent = access.own_consent_or_404(request.user, pk)
        return Response(receipts.kantara_receipt(consent, request.build_absolute_uri("/")[:-1]))


class _DecisionView(ConsentAPIMixin, APIView):
    input_serializer: type[serializers.Serializer] = s.DecisionSerializer

    def decide(self, request, subject, guardian, purpose, data):
        raise NotImplementedError

    def post(self, request, pk):
        body = self.input_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        subject, guardian = access.subject_or_404(
            request.user, body.validated_data.get("on_behalf_of")
        )
        purpose = get_object_or_404(Purpose.objects.visible_to(subject), pk=pk)
        consent = self.decide(request, subject, guardian, purpose, body.validated_data)
        consent = Consent.objects.select_related("purpose", "person").get(pk=consent.pk)
        return Response(s.ConsentSerializer(consent).data)


class GrantView(_DecisionView):
    input_serializer = s.GrantSerializer

    @extend_schema(
        summary="Give separate, explicit consent to one purpose, on the notice version read",
        request=s.GrantSerializer,
        responses={200: s.ConsentSerializer, **ERRORS},
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def decide(self, request, subject, guardian, purpose, data):
        return services.grant_consent(
            subject,
            purpose,
            channel="api",
            notice_hash=data["notice_hash"],
            actor=request.user,
            storage_consent=data["storage_consent"],
            **evidence(request),
        )


class RefuseView(_DecisionView):
    @extend_schema(
        summary="Refuse a purpose; not asked again until its notice changes",
        request=s.DecisionSerializer,
        responses={200: s.ConsentSerializer, **ERRORS},
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def decide(self, request, subject, guardian, purpose, data):
        return services.refuse_consent(
            subject,
            purpose,
            channel="api",
            notice_hash=data["notice_hash"],
            actor=request.user,
            **evidence(request),
        )


class WithdrawView(_DecisionView):
    input_serializer = s.WithdrawSerializer

    @extend_schema(
        summary="Withdraw consent: one call, effective (face data deleted) before it returns",
        request=s.WithdrawSerializer,
        responses={200: s.ConsentSerializer, **ERRORS},
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def decide(self, request, subject, guardian, purpose, data):
        return services.withdraw_consent(
            subject, purpose, actor=request.user, channel="api", **evidence(request)
        )


class WithdrawStorageView(_DecisionView):
    input_serializer = s.WithdrawSerializer

    @extend_schema(
        summary="Withdraw only the separate consent to face data leaving the device; the face "
        "data held for the purpose is deleted before it returns",
        request=s.WithdrawSerializer,
        responses={200: s.ConsentSerializer, **ERRORS},
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def decide(self, request, subject, guardian, purpose, data):
        return services.withdraw_storage_consent(
            subject, purpose, actor=request.user, channel="api", **evidence(request)
        )


class MyDataView(ConsentAPIMixin, APIView):
    @extend_schema(summary="Everything held about me", responses={200: s.MyDataSerializer})
    def get(self, request):
        return Response(mydata.as_json(request.user))


# Building admins ---------------------------------------------------------------------------


class AdminPurposeListView(ConsentAPIMixin, generics.GenericAPIView):
    serializer_class = s.PurposeSerializer

    def get_queryset(self):
        return Purpose.objects.for_buildings(access.admin_building_ids(self.request.user))

    @extend_schema(
        summary="Purposes of the buildings I administer",
        operation_id="consent_admin_purposes_list",
        responses=s.PurposeSerializer(many=True),
    )
    def get(self, request):
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(summary="Create a draft purpose", responses={201: s.PurposeSerializer, **ERRORS})
    def post(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        building = access.admin_building_or_404(request.user, fields.pop("building").pk)
        purpose = services.create_purpose(building, actor=request.user, **fields)
        return Response(self.get_serializer(purpose).data, status=status.HTTP_201_CREATED)


class AdminPurposeDetailView(ConsentAPIMixin, generics.GenericAPIView):
    serializer_class = s.PurposeUpdateSerializer

    def get_object(self):
        return access.admin_purpose_or_404(self.request.user, self.kwargs["pk"])

    @extend_schema(summary="One purpose", responses={200: s.PurposeSerializer, **ERRORS})
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Change a draft purpose", responses={200: s.PurposeSerializer, **ERRORS})
    def patch(self, request, pk):
        purpose = self.get_object()
        body = self.get_serializer(purpose, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        purpose = services.update_purpose(purpose, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(purpose).data)

    @extend_schema(
        summary="Delete a draft without notices or assessments", responses={204: None, **ERRORS}
    )
    def delete(self, request, pk):
        services.delete_purpose(self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdminActivateView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Activate (needs an approved assessment and a published notice)",
        request=None,
        responses={200: s.PurposeSerializer, **ERRORS},
    )
    def post(self, request, pk):
        purpose = access.admin_purpose_or_404(request.user, pk)
        purpose = services.activate_purpose(purpose, actor=request.user)
        return Response(s.PurposeSerializer(purpose).data)


class AdminRetireView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Retire a purpose; its face data is deleted, its records are kept",
        request=None,
        responses={200: s.PurposeSerializer, **ERRORS},
    )
    def post(self, request, pk):
        purpose = access.admin_purpose_or_404(request.user, pk)
        purpose = services.retire_purpose(purpose, actor=request.user)
        return Response(s.PurposeSerializer(purpose).data)


class AdminNoticeListView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Notice versions of a purpose",
        responses={200: s.NoticeSerializer(many=True), **ERRORS},
    )
    def get(self, request, pk):
        purpose = access.admin_purpose_or_404(request.user, pk)
        return Response(s.NoticeSerializer(purpose.notices.all(), many=True).data)

    @extend_schema(
        summary="Publish the next immutable notice version (may require renewal)",
        request=s.PublishNoticeSerializer,
        responses={201: s.NoticeSerializer, **ERRORS},
    )
    def post(self, request, pk):
        purpose = access.admin_purpose_or_404(request.user, pk)
        body = s.PublishNoticeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notice = services.publish_notice(
            purpose,
            actor=request.user,
            texts=body.validated_data["texts"],
            data_collected=body.validated_data["data_collected"],
            changes=body.validated_data.get("changes"),
        )
        return Response(s.NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)


class AdminNoticeDetailView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="One notice version (published versions never change)",
        responses={200: s.NoticeSerializer, **ERRORS},
    )
    def get(self, request, pk):
        return Response(s.NoticeSerializer(access.admin_notice_or_404(request.user, pk)).data)


class AdminAssessmentListView(ConsentAPIMixin, generics.GenericAPIView):
    serializer_class = s.AssessmentSerializer

    @extend_schema(summary="Impact assessments of a purpose")
    def get(self, request, pk):
        purpose = access.admin_purpose_or_404(request.user, pk)
        return Response(self.get_serializer(purpose.assessments.all(), many=True).data)

    @extend_schema(
        summary="Write an impact assessment (PIPIA)",
        responses={201: s.AssessmentSerializer, **ERRORS},
    )
    def post(self, request, pk):
        purpose = access.admin_purpose_or_404(request.user, pk)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        assessment = services.create_assessment(purpose, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(assessment).data, status=status.HTTP_201_CREATED)


class AdminAssessmentDetailView(ConsentAPIMixin, generics.GenericAPIView):
    serializer_class = s.AssessmentSerializer

    @extend_schema(summary="One impact assessment")
    def get(self, request, pk):
        return Response(self.get_serializer(access.admin_assessment_or_404(request.user, pk)).data)

    @extend_schema(
        summary="Change an assessment not yet approved",
        responses={200: s.AssessmentSerializer, **ERRORS},
    )
    def patch(self, request, pk):
        assessment = access.admin_assessment_or_404(request.user, pk)
        body = self.get_serializer(assessment, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        assessment = services.update_assessment(
            assessment, actor=request.user, **body.validated_data
        )
        return Response(self.get_serializer(assessment).data)


class AdminApproveView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Approve an assessment (kept at least 3 years)",
        request=None,
        responses={200: s.AssessmentSerializer, **ERRORS},
    )
    def post(self, request, pk):
        assessment = access.admin_assessment_or_404(request.user, pk)
        assessment = services.approve_assessment(assessment, actor=request.user)
        return Response(s.AssessmentSerializer(assessment).data)


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50


class AdminConsentListView(ConsentAPIMixin, generics.ListAPIView):
    """Consents of one building, newest first, cursor-paginated (no COUNT, no OFFSET)."""

    serializer_class = s.AdminConsentSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        building = access.admin_building_or_404(self.request.user, self.kwargs["pk"])
        return Consent.objects.filter(building=building).select_related("person", "notice")

    @extend_schema(summary="Consents of a building I administer")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AdminPersonLeftView(ConsentAPIMixin, APIView):
    @extend_schema(
        summary="Record that a person left the building: memberships and consents there end",
        request=None,
        responses={200: s.PersonLeftSerializer, **ERRORS},
    )
    def post(self, request, pk, person_id):
        building = access.admin_building_or_404(request.user, pk)
        person = get_object_or_404(
            User, current_member("memberships__"), pk=person_id, memberships__building=building
        )
        ended = services.mark_person_left(person, building, actor=request.user)
        return Response({"consents_ended": ended})
