"""API shapes. Serializers validate input shape only; services decide and write."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from consent import rules
from consent.models import Assessment, Consent, ConsentEvent, Notice, Purpose


class NoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = [
            "id",
            "purpose",
            "version",
            "handler_name",
            "handler_contact",
            "data_collected",
            "terms",
            "texts",
            "text_hash",
            "requires_renewal",
            "published_at",
        ]


class PurposeSerializer(serializers.ModelSerializer):
    alternatives = serializers.ListField(
        child=serializers.ChoiceField(choices=rules.ALTERNATIVES), allow_empty=True
    )

    class Meta:
        model = Purpose
        fields = [
            "id",
            "building",
            "name",
            "specific_purpose",
            "necessity_and_impact",
            "method",
            "kind",
            "audience",
            "storage",
            "retention_days",
            "until_person_leaves",
            "alternatives",
            "status",
            "current_notice",
            "created_at",
            "activated_at",
            "retired_at",
        ]
        read_only_fields = [
            "status",
            "current_notice",
            "created_at",
            "activated_at",
            "retired_at",
        ]


class PurposeUpdateSerializer(PurposeSerializer):
    class Meta(PurposeSerializer.Meta):
        # The kind is fixed at creation: sending it here is refused, not ignored.
        read_only_fields = [*PurposeSerializer.Meta.read_only_fields, "building"]

    def validate(self, attrs):
        if "kind" in self.initial_data:
            raise serializers.ValidationError(
                {"kind": [_("The kind of a purpose is fixed when it is created.")]}
            )
        return super().validate(attrs)


class NoticeTextSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    method = serializers.CharField()
    data = serializers.CharField()
    retention = serializers.CharField()
    necessity_and_impact = serializers.CharField()
    alternatives = serializers.CharField()
    rights = serializers.CharField()
    withdrawal = serializers.CharField()


class PurposeChangesSerializer(serializers.Serializer):
    specific_purpose = serializers.CharField(required=False)
    necessity_and_impact = serializers.CharField(required=False)
    method = serializers.ChoiceField(
        choices=[rules.VERIFICATION, rules.IDENTIFICATION], required=False
    )
    retention_days = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    until_person_leaves = serializers.BooleanField(required=False)
    alternatives = serializers.ListField(
        child=serializers.ChoiceField(choices=rules.ALTERNATIVES), required=False
    )
    audience = serializers.ChoiceField(choices=rules.AUDIENCES, required=False)
    storage = serializers.ChoiceField(choices=rules.STORAGES, required=False)


class PublishNoticeSerializer(serializers.Serializer):
    data_collected = serializers.CharField()
    texts = serializers.DictField(
        child=NoticeTextSerializer(),
        help_text=_('Every section in "en" and "zh-hans".'),
    )
    changes = PurposeChangesSerializer(required=False)


class AssessmentSerializer(serializers.ModelSerializer):
    approved = serializers.BooleanField(read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "purpose",
            "lawfulness_and_necessity",
            "impact_and_mitigations",
            "security_risks",
            "protection_adequacy",
            "assessor",
            "created_at",
            "approved",
            "approved_by",
            "approved_at",
            "keep_until",
        ]
        read_only_fields = [
            "purpose",
            "assessor",
            "created_at",
            "approved_by",
            "approved_at",
            "keep_until",
        ]


class ConsentEventSerializer(serializers.ModelSerializer):
    notice_version = serializers.IntegerField(source="notice.version")
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "kind",
            "at",
            "notice",
            "notice_version",
            "actor",
            "channel",
            "storage_consent",
        ]


class ConsentSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    granted_by = serializers.CharField(
        source="granted_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Consent
        fields = [
            "id",
            "person",
            "purpose",
            "notice",
            "notice_hash",
            "status",
            "state",
            "decided_at",
            "granted_at",
            "refused_at",
            "withdrawn_at",
            "ended_at",
            "renewal_needed_at",
            "expires_at",
            "granted_by",
            "channel",
            "receipt_id",
            "storage_consented_at",
        ]

    def get_state(self, consent) -> str:
        return consent.state(self.context.get("now"))


class ConsentDetailSerializer(ConsentSerializer):
    events = ConsentEventSerializer(many=True)

    class Meta(ConsentSerializer.Meta):
        fields = [*ConsentSerializer.Meta.fields, "events"]


class AdminConsentSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person.username")
    notice_version = serializers.IntegerField(source="notice.version")

    class Meta:
        model = Consent
        fields = [
            "id",
            "person",
            "purpose",
            "notice_version",
            "status",
            "decided_at",
            "renewal_needed_at",
            "expires_at",
        ]


class OverviewSerializer(serializers.Serializer):
    """One purpose of my buildings with my decision about it."""

    purpose = PurposeSerializer()
    notice = NoticeSerializer(allow_null=True)
    consent = ConsentSerializer(allow_null=True)
    events = ConsentEventSerializer(many=True)
    state = serializers.CharField()
    needs_decision = serializers.BooleanField()
    guardian_needed = serializers.BooleanField()


class DecisionSerializer(serializers.Serializer):
    notice_hash = serializers.CharField(
        max_length=64, help_text=_("The text_hash of the notice version the person read.")
    )
    on_behalf_of = serializers.IntegerField(
        required=False, help_text=_("A ward's user id, when a guardian decides for them.")
    )


class GrantSerializer(DecisionSerializer):
    agree = serializers.BooleanField(
        help_text=_("Must be true: the person ticked the box themselves.")
    )

    storage_consent = serializers.BooleanField(
        default=False,
        help_text=_(
            "The separate consent to face data leaving the device (its own unticked box), "
            "asked when the purpose keeps face data off the device. Without it no face data "
            "is kept; false after a true withdraws it."
        ),
    )

    def validate_agree(self, value):
        if value is not True:
            raise serializers.ValidationError(
                _("Consent is given only by an explicit agree: true.")
            )
        return value


class WithdrawSerializer(serializers.Serializer):
    on_behalf_of = serializers.IntegerField(required=False)


class PersonLeftSerializer(serializers.Serializer):
    consents_ended = serializers.IntegerField()


class MyDataSerializer(serializers.Serializer):
    person = serializers.CharField()
    generated_at = serializers.CharField()
    sections = serializers.DictField()
