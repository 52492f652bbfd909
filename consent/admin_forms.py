"""Forms of the building admins' pages: shape only; the services decide and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from consent import rules
from consent.models import ALTERNATIVE_LABELS, NOTICE_SECTIONS, Purpose
from portal.forms import name_fields

LANGUAGE_LABELS = (("en", _("English")), ("zh-hans", _("Simplified Chinese")))
INVITABLE_ROLES = (("resident", _("resident")), ("staff", _("staff member")))


def building_choices(buildings) -> list[tuple[int, str]]:
    return [(b.pk, b.name) for b in buildings]


class PurposeForm(forms.Form):
    building = forms.TypedChoiceField(label=_("Building"), coerce=int)
    name, name_zh_hans = name_fields()
    specific_purpose = forms.CharField(
        label=_("Specific purpose"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the face is used for, specifically (one purpose per consent)."),
    )
    necessity_and_impact = forms.CharField(
        label=_("Necessity and impact"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why face processing is necessary for this purpose and its impact on people."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=Purpose.KIND_CHOICES,
        help_text=_(
            "Portal sign-in or door access. Fixed once the purpose is created: a door device "
            "serves only door-access purposes, and face sign-in uses only sign-in purposes."
        ),
    )
    method = forms.ChoiceField(label=_("Method"), choices=Purpose.METHOD_CHOICES)
    audience = forms.ChoiceField(
        label=_("For whom"),
        choices=Purpose.AUDIENCE_CHOICES,
        initial=rules.AUDIENCE_BOTH,
        help_text=_("Only people with this role in the building are asked about it."),
    )
    storage = forms.ChoiceField(
        label=_("Where face data is kept"),
        choices=Purpose.STORAGE_CHOICES,
        help_text=_(
            "Shown in the notice as its own section. When face data leaves the device, each "
            "person is asked for a separate consent to that, with its own box."
        ),
    )
    retention_days = forms.IntegerField(
        label=_("Retention in days"),
        required=False,
        min_value=1,
        help_text=_("Leave empty when face data is kept only until the person leaves."),
    )
    until_person_leaves = forms.BooleanField(
        label=_("Delete face data when the person leaves the building or job"), required=False
    )
    alternatives = forms.MultipleChoiceField(
        label=_("Ways in without the face"),
        choices=list(ALTERNATIVE_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("At least one: face is never the only way."),
    )
    public_security = forms.BooleanField(
        label=_("Serves public security"),
        required=False,
        help_text=_(
            "Only a purpose for public security may run on a face device in a public area "
            "(Measures art. 13, PIPL art. 26)."
        ),
    )

    def __init__(self, *args, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        if buildings is None:
            del self.fields["building"]
            del self.fields["kind"]  # chosen once, at creation
        else:
            self.fields["building"].choices = building_choices(buildings)

    def clean(self):
        data = super().clean()
        if (
            "retention_days" in data
            and rules.retention_problem(data.get("retention_days"), data.get("until_person_leaves"))
            is not None
        ):
            self.add_error(
                "retention_days",
                _(
                    "Say how long face data is kept: a number of days, until the person "
                    "leaves, or both."
                ),
            )
        return data

    def purpose_fields(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "building"}


def purpose_initial(purpose: Purpose) -> dict:
    return {
        "name": purpose.name_en,
        "name_zh_hans": purpose.name_zh_hans,
        "specific_purpose": purpose.specific_purpose,
        "necessity_and_impact": purpose.necessity_and_impact,
        "method": purpose.method,
        "audience": purpose.audience,
        "storage": purpose.storage,
        "retention_days": purpose.retention_days,
        "until_person_leaves": purpose.until_person_leaves,
        "alternatives": purpose.alternatives,
        "public_security": purpose.public_security,
    }


def section_field(language: str, key: str) -> str:
    return f"{language.replace('-', '_')}__{key}"


class NoticeForm(forms.Form):
    """The next notice version: every section in both languages, and the data collected.

    For an active purpose the terms can change here too (the only way to change them); a
    change of purpose, method, data or retention asks everyone to decide again.
    """

    data_collected = forms.CharField(
        label=_("Data collected"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: one encrypted face template (no photo is kept)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for language, language_label in LANGUAGE_LABELS:
            for key, label in NOTICE_SECTIONS:
                self.fields[section_field(language, key)] = forms.CharField(
                    label=_("%(section)s (%(language)s)")
                    % {"section": label, "language": language_label},
                    widget=forms.Textarea(attrs={"rows": 3}),
                )

    def texts(self) -> dict:
        return {
            language: {
                key: self.cleaned_data[section_field(language, key)] for key, _l in NOTICE_SECTIONS
            }
            for language, _label in LANGUAGE_LABELS
        }


def notice_initial(notice) -> dict:
    if notice is None:
        return {}
    initial = {"data_collected": notice.data_collected}
    for language, _label in LANGUAGE_LABELS:
        for key, _section in NOTICE_SECTIONS:
            initial[section_field(language, key)] = notice.texts.get(language, {}).get(key, "")
    return initial


class AssessmentForm(forms.Form):
    lawfulness_and_necessity = forms.CharField(
        label=_("Lawfulness, legitimacy and necessity of the purpose and method"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The legal basis (separate consent), why face and not another way."),
    )
    impact_and_mitigations = forms.CharField(
        label=_("Impact on people's rights and interests, and how it is reduced"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who is affected, what could go wrong for them, what limits it."),
    )
    security_risks = forms.CharField(
        label=_("Risks of leakage, tampering, loss or misuse"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Where face data is, who can reach it, what happens if it leaks."),
    )
    protection_adequacy = forms.CharField(
        label=_("Whether the protection measures are lawful, effective and proportionate"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Encryption, access control, deletion, audit: are they enough?"),
    )


class InviteForm(forms.Form):
    building = forms.TypedChoiceField(label=_("Building"), coerce=int)
    role = forms.ChoiceField(label=_("Role"), choices=INVITABLE_ROLES)
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        help_text=_("Letters, digits and @ . + - _ only. The person signs in with it."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "Required unless you confirm below that the person is an adult: under 14, a "
            "guardian decides on consent."
        ),
    )
    adult_attested = forms.BooleanField(
        label=_("I confirm that this person is an adult (14 or older)"),
        required=False,
        help_text=_("Recorded with your name, in place of a date of birth."),
    )
    guardian = forms.CharField(
        label=_("Guardian's username"),
        max_length=150,
        required=False,
        help_text=_("For a child under 14: a current member of the same building."),
    )

    def __init__(self, *args, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = building_choices(buildings)


RETIRE_CONFIRM = _("I understand that every face template of this purpose is deleted")
LEFT_CONFIRM = _("I confirm that this person has moved out or left")


class ConfirmForm(forms.Form):
    """A box to tick before an action that cannot be undone."""

    confirm = forms.BooleanField(label=_("I confirm"), required=True)

    def __init__(self, *args, label=None, **kwargs):
        super().__init__(*args, **kwargs)
        if label is not None:
            self.fields["confirm"].label = label
