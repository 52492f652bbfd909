"""The compliance dashboard as JSON under /api/v1/admin/dashboard/, for an admin's own tools:
the same figures as the page, scoped to the admin's buildings, counts only."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from consent import access
from consent.dashboard import CONSENT_COLUMNS
from portal.api import ErrorSerializer
from recognition.reporting import dashboard


class FilingSerializer(serializers.Serializer):
    people = serializers.IntegerField(
        help_text=_("Distinct people with stored face data across the whole portal.")
    )
    threshold = serializers.IntegerField()
    warning_from = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["below", "warning", "crossed"])
    reached_on = serializers.DateField(allow_null=True)
    deadline = serializers.DateField(allow_null=True)
    working_days_left = serializers.IntegerField(allow_null=True)
    overdue = serializers.BooleanField()


class PurposeFiguresSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    building = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    missing = serializers.ListField(child=serializers.ChoiceField(["assessment", "notice"]))
    review = serializers.CharField(allow_null=True)
    consents = serializers.DictField(child=serializers.IntegerField())


class ParitySerializer(serializers.Serializer):
    channel = serializers.CharField()
    method = serializers.CharField()
    accepted = serializers.IntegerField()
    refused = serializers.IntegerField()
    failure_rate = serializers.FloatField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    buildings = serializers.ListField(child=serializers.IntegerField())
    filing = FilingSerializer()
    purposes = PurposeFiguresSerializer(many=True)
    parity = ParitySerializer(many=True)
    purges = serializers.DictField()
    devices = serializers.DictField()
    audit = serializers.DictField()


def as_data(d: dashboard.Dashboard) -> dict:
    status = d.filing
    check = d.audit.check
    return {
        "since": d.since,
        "buildings": [b.pk for b in d.buildings],
        "filing": {
            "people": status.people,
            "threshold": status.threshold,
            "warning_from": status.warning_from,
            "state": status.state,
            "reached_on": status.reached_on,
            "deadline": status.deadline,
            "working_days_left": status.working_days_left,
            "overdue": status.overdue,
        },
        "purposes": [
            {
                "id": p.purpose.pk,
                "building": p.purpose.building_id,
                "name": p.purpose.name,
                "status": p.purpose.status,
                "missing": p.missing,
                "review": p.review if p.review_due else None,
                "consents": {key: p.consents.get(key, 0) for key, _label in CONSENT_COLUMNS},
            }
            for p in d.purposes
        ],
        "parity": [
            {
                "channel": r.channel,
                "method": r.method,
                "accepted": r.accepted,
                "refused": r.refused,
                "failure_rate": r.failure_rate,
            }
            for r in d.parity
        ],
        "purges": {
            "last_run": d.purges.last_run,
            "next_run": d.purges.next_run,
            "late": d.purges.late,
            "templates_per_reason": {r["reason"]: r["templates"] for r in d.purges.per_reason},
        },
        "devices": {
            "active": d.devices.active,
            "revoked": d.devices.revoked,
            "silent": d.devices.silent,
            "last_contact": d.devices.last_contact,
        },
        "audit": {
            "checked_at": timezone.localtime(check.finished_at) if check else None,
            "intact": check.intact if check else None,
            "entries": check.entries if check else 0,
            "unchecked_entries": d.audit.unchecked_entries,
        },
    }


class DashboardView(APIView):
    @extend_schema(
        summary="Compliance figures of the buildings I administer (counts only, no face data)",
        responses={200: DashboardSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
        tags=["admin"],
    )
    def get(self, request):
        building_ids = access.admin_building_ids(request.user)
        if not building_ids:
            raise NotFound()
        return Response(DashboardSerializer(as_data(dashboard.build(building_ids))).data)
