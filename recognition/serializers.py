from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from recognition.models import Attempt


class PhotoSerializer(serializers.Serializer):
    photo = serializers.FileField(
        help_text=_("One photo of the face in front of the door: JPEG, PNG or WebP.")
    )
    liveness = serializers.RegexField(
        r"^[\x20-\x7e]*$",
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Optional: the terminal's own liveness result for this photo (for example "
            '"vendor-model:live:0.97"), kept with the attempt as sent.'
        ),
    )

    def validate_photo(self, upload) -> bytes:
        if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise serializers.ValidationError(_("The photo is too large."))
        content = upload.read()
        if not content:
            raise serializers.ValidationError(_("The photo is empty."))
        return content


class VerifySerializer(PhotoSerializer):
    person = serializers.IntegerField(
        min_value=1, help_text=_("The person the card or QR code names (their user id).")
    )


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=64,
        trim_whitespace=True,
        help_text=_(
            "A door code from the person's door-code page (typed or read from its QR code), "
            "or the person's one-time code, which then needs `person`."
        ),
    )
    person = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text=_("The person the code belongs to; needed for a one-time code."),
    )


class DoorAnswerSerializer(serializers.Serializer):
    open = serializers.BooleanField(help_text=_("Open the door."))
    result = serializers.ChoiceField(choices=Attempt.RESULT_CHOICES)
    method = serializers.ChoiceField(choices=Attempt.METHOD_CHOICES)
    person_id = serializers.IntegerField(
        allow_null=True, help_text=_("Who was let in; empty unless the door opens.")
    )
    attempt_id = serializers.IntegerField()
    code = serializers.CharField(
        allow_blank=True,
        help_text=_(
            "Why the door did not open (for example no_face, not_recognised); never a distance "
            "or score."
        ),
    )
    message = serializers.CharField(allow_blank=True, help_text=_("What to show at the door."))
    retry_after = serializers.IntegerField()


class JobSerializer(serializers.Serializer):
    job = serializers.CharField(help_text=_("Poll /api/v1/devices/identify/jobs/{job}/ for it."))
    status_url = serializers.CharField()


class JobStatusSerializer(serializers.Serializer):
    PENDING = "pending"
    DONE = "done"
    UNAVAILABLE = "unavailable"
    status = serializers.ChoiceField(choices=[PENDING, DONE, UNAVAILABLE])
    answer = DoorAnswerSerializer(allow_null=True)
    message = serializers.CharField(allow_blank=True)


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DevicePurposeSerializer(NamedSerializer):
    method = serializers.CharField()
    kind = serializers.CharField()
    storage = serializers.CharField()
    status = serializers.CharField()


class DeviceLocationSerializer(NamedSerializer):
    kind = serializers.CharField()


class DeviceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    building = NamedSerializer()
    location = DeviceLocationSerializer()
    purpose = DevicePurposeSerializer(allow_null=True)
    identify = serializers.BooleanField(help_text=_("Face identification (1:N) is offered."))
    verify = serializers.BooleanField(help_text=_("Face verification (1:1) is offered."))
    code = serializers.BooleanField(
        help_text=_("The non-face code route: offered at every device, always.")
    )
