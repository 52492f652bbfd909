"""Forms of the building admins' location and device pages: shape only; services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import name_fields
from recognition import policy
from recognition.doors.devices import BINDING_REFUSALS, binding_problem


def placement_refusal(location) -> list[str]:
    """Why no device may be registered at `location`, and the rule it comes from (empty if
    one may)."""
    placement = location.placement()
    if placement.allowed:
        return []
    if location.kind in policy.PROHIBITED_LOCATION_TYPES:
        return [
            str(
                _(
                    "“%(location)s” is recorded as a %(kind)s, a private space: no device may "
                    "be placed there."
                )
                % {"location": location.name, "kind": location.get_kind_display()}
            ),
            str(policy.PROHIBITION_RULE),
        ]
    return [placement.reason]


class LocationForm(forms.Form):
    building = forms.TypedChoiceField(label=_("Building"), coerce=int)
    name, name_zh_hans = name_fields()
    kind = forms.ChoiceField(
        label=_("Type of place"),
        choices=policy.LOCATION_TYPES,
        help_text=_(
            "Hotel guest rooms, bathrooms, bathhouses, changing rooms, toilets and other private "
            "spaces can be recorded, but never host a face device."
        ),
    )
    security_justification = forms.CharField(
        label=_("Public-security justification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed for a public area: why face recognition is needed there for safety."),
    )
    sign_confirmed = forms.BooleanField(
        label=_("A prominent sign saying that face recognition is used is up"), required=False
    )

    def __init__(self, *args, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        if buildings is None:
            del self.fields["building"]
        else:
            self.fields["building"].choices = [(b.pk, b.name) for b in buildings]

    def clean(self):
        data = super().clean()
        for name in policy.public_area_missing(
            data.get("kind", ""),
            data.get("security_justification") or "",
            bool(data.get("sign_confirmed")),
        ):
            self.add_error(name, policy.PUBLIC_AREA_NEEDS)
        return data

    def location_fields(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "building"}


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.building.name} · {obj.name} ({obj.get_kind_display()})"


class PurposeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.building.name} · {obj.name} ({obj.get_status_display()})"


class DeviceForm(forms.Form):
    location = LocationChoiceField(label=_("Location"), queryset=None)
    name, name_zh_hans = name_fields()
    purpose = PurposeChoiceField(
        label=_("Face purpose"),
        queryset=None,
        required=False,
        empty_label=_("none: codes only, no camera"),
        help_text=_(
            "The purpose whose consents allow face use at this device. Every device also opens "
            "with a door code or one-time code, whatever its purpose."
        ),
    )

    def __init__(self, *args, locations, purposes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations
        self.fields["purpose"].queryset = purposes

    def clean_location(self):
        location = self.cleaned_data["location"]
        refusal = placement_refusal(location)
        if refusal:
            raise forms.ValidationError(refusal)
        return location

    def clean(self):
        data = super().clean()
        location, purpose = data.get("location"), data.get("purpose")
        if location and purpose:
            problem = binding_problem(purpose, location.building_id)
            if problem is not None:
                self.add_error("purpose", BINDING_REFUSALS[problem])
        return data
