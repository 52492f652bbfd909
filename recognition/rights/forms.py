"""Shape checks for the rights pages; the services judge the rest."""

from django import forms
from django.utils.translation import gettext_lazy as _

from consent.models import Purpose
from portal.models import User
from recognition.rights.models import Filing, Incident, RightsRequest

FIELD_MAX = 4000


class IncidentForm(forms.ModelForm):
    purposes = forms.ModelMultipleChoiceField(
        queryset=Purpose.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label=_("Purposes whose face data is involved"),
        help_text=_("The people who held consent to these purposes are told."),
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "what_happened",
            "occurred_at",
            "found_at",
            "purposes",
            "data_involved",
            "cause",
            "likely_harm",
            "measures_taken",
            "self_help",
            "contact",
        ]
        widgets = {
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "found_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, building, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purposes"].queryset = Purpose.objects.filter(building=building)
        for name in ("what_happened", "data_involved", "cause", "likely_harm"):
            self.fields[name].max_length = FIELD_MAX
        for name in ("measures_taken", "self_help"):
            self.fields[name].max_length = FIELD_MAX


class RequestForm(forms.ModelForm):
    building = forms.ModelChoiceField(queryset=None, label=_("Building"), empty_label=None)

    class Meta:
        model = RightsRequest
        fields = ["building", "kind", "details"]
        widgets = {"details": forms.Textarea(attrs={"rows": 4, "maxlength": FIELD_MAX})}

    def __init__(self, *args, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings
        self.fields["details"].max_length = FIELD_MAX


class AnswerForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Outcome"),
        choices=[c for c in RightsRequest.STATUS_CHOICES if c[0] != RightsRequest.OPEN],
    )
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea, max_length=FIELD_MAX)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email"]


DELETE_CONFIRM = "DELETE"


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type DELETE to confirm"),
        help_text=_("Your account and everything held about you are erased at once."),
    )

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip() != DELETE_CONFIRM:
            raise forms.ValidationError(_("Type DELETE to confirm."))
        return DELETE_CONFIRM


class FilingForm(forms.ModelForm):
    class Meta:
        model = Filing
        fields = ["kind", "duty_arose_on", "filed_on", "reference", "authority", "note"]
        widgets = {
            "duty_arose_on": forms.DateInput(attrs={"type": "date"}),
            "filed_on": forms.DateInput(attrs={"type": "date"}),
            "note": forms.Textarea(attrs={"rows": 3}),
        }


class AgeForm(forms.Form):
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    adult_attested = forms.BooleanField(
        label=_("I confirm that this person is an adult (14 or older)"), required=False
    )

    def clean(self):
        data = super().clean()
        if not data.get("birth_date") and not data.get("adult_attested"):
            raise forms.ValidationError(
                _("Enter the date of birth, or confirm that this person is an adult.")
            )
        return data
