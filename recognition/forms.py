import base64
import binascii

from django import forms
from django.utils.translation import gettext_lazy as _

from recognition.engine import liveness

NO_BURST = _(
    "Start the camera and follow the prompts: a face is checked only from the live camera, "
    "never from a photo file. Or use your password and code."
)
DATA_URL_PREFIX = "data:image/jpeg;base64,"


def frames_from_data_urls(values: list[str]) -> list[bytes]:
    """The JPEG frames of a burst sent as data URLs (or bare base64); ValueError when one is
    not base64, is empty or is larger than a frame may be."""
    frames = []
    for value in values:
        if value.startswith(DATA_URL_PREFIX):
            value = value[len(DATA_URL_PREFIX) :]
        try:
            frame = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64") from None
        if not frame or len(frame) > liveness.MAX_FRAME_BYTES:
            raise ValueError("empty or too large")
        frames.append(frame)
    return frames


class LiveFaceForm(forms.Form):
    """The answer to a challenge: its nonce and the burst of camera frames (``frame`` fields,
    each a JPEG as a data URL). No file field: an uploaded photo is never looked at."""

    nonce = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        values = self.data.getlist("frame") if hasattr(self.data, "getlist") else []
        if not values or not cleaned.get("nonce"):
            raise forms.ValidationError(NO_BURST, code="no_burst")
        if len(values) > liveness.MAX_FRAMES:
            raise forms.ValidationError(liveness.message(liveness.FRAMES), code="frames")
        try:
            frames = frames_from_data_urls(values)
        except ValueError:
            raise forms.ValidationError(liveness.message(liveness.FRAMES), code="frames") from None
        cleaned["frames"] = frames
        return cleaned


class FaceSignInForm(LiveFaceForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    field_order = ["username", "nonce"]


class EnrolForm(LiveFaceForm):
    purpose = forms.ModelChoiceField(label=_("Purpose"), queryset=None, empty_label=None)
    field_order = ["purpose", "nonce"]

    def __init__(self, *args, purposes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].queryset = purposes
