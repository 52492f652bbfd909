from django import forms
from django.utils.translation import gettext_lazy as _

GRANT = "grant"
REFUSE = "refuse"
WITHDRAW = "withdraw"
WITHDRAW_STORAGE = "withdraw_storage"


class DecisionForm(forms.Form):
    """One decision about one purpose. A grant needs the unticked box ticked by the person."""

    action = forms.ChoiceField(
        choices=[
            (GRANT, GRANT),
            (REFUSE, REFUSE),
            (WITHDRAW, WITHDRAW),
            (WITHDRAW_STORAGE, WITHDRAW_STORAGE),
        ]
    )
    agree = forms.BooleanField(required=False)
    # The separate consent to face data leaving the device: its own box, never ticked for them.
    storage_consent = forms.BooleanField(required=False)
    notice_hash = forms.CharField(required=False, max_length=64)

    def clean(self):
        data = super().clean()
        if data.get("action") == GRANT and not data.get("agree"):
            raise forms.ValidationError(
                _("To give consent, tick the box saying you have read the notice and agree."),
                code="not_agreed",
            )
        if data.get("action") in (GRANT, REFUSE) and not data.get("notice_hash"):
            raise forms.ValidationError(_("The notice you read is missing."), code="no_notice")
        return data
