from django import forms
from django.utils.translation import gettext_lazy as _


def name_fields() -> tuple[forms.CharField, forms.CharField]:
    """A name that admins type for residents to read: English, and Simplified Chinese."""
    return (
        forms.CharField(label=_("Name in English"), max_length=200),
        forms.CharField(
            label=_("Name in Simplified Chinese"),
            max_length=200,
            required=False,
            help_text=_(
                "Shown to people who read the portal in Chinese. Without it they see the "
                "English name, marked as not translated."
            ),
        ),
    )


class PasswordSignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("One-time code"),
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].replace(" ", "").strip()
