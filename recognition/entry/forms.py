"""Forms of the cards, reception and kiosk pages: shape only; the services decide and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from recognition.entry.models import AssistedOpening


class IssueCardForm(forms.Form):
    person = forms.TypedChoiceField(label=_("Person"), coerce=int)
    number = forms.CharField(
        label=_("Card number"),
        max_length=64,
        help_text=_("As the card reader reads it. Only the last four characters are kept."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [
            (membership.pk, f"{membership.user} · {membership.building.name}")
            for membership in people
        ]


class BackupCodesAtDoorForm(forms.Form):
    door_backup_codes = forms.BooleanField(
        label=_("Doors accept backup codes"),
        required=False,
        help_text=_("A person may type one of their backup codes at this building's doors."),
    )


class ReceptionForm(forms.Form):
    device = forms.TypedChoiceField(label=_("Door"), coerce=int)
    person = forms.TypedChoiceField(label=_("Resident"), coerce=int)
    check = forms.ChoiceField(
        label=_("How did you check who they are?"),
        choices=AssistedOpening.CHECK_CHOICES,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, doors=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].choices = [(d.pk, f"{d.name} · {d.building.name}") for d in doors]
        self.fields["person"].choices = [
            (p.pk, f"{p.get_full_name() or p.username} ({p.username})") for p in people
        ]


class PairForm(forms.Form):
    code = forms.CharField(
        label=_("Pairing code"),
        max_length=16,
        help_text=_("The short code shown on the devices page, beside this door."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
