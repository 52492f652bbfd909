from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

PHOTO_HELP = _("A clear photo of your face alone, taken now. JPEG, PNG or WebP.")


class PhotoField(forms.FileField):
    """The raw bytes of one photo; checked for size here, decoded only by the face worker."""

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload is None:
            return None
        if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise forms.ValidationError(_("The photo is too large. Please send a smaller one."))
        content = upload.read()
        if not content:
            raise forms.ValidationError(_("The photo is empty."))
        return content


class FaceSignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    photo = PhotoField(
        label=_("Photo of your face"),
        help_text=PHOTO_HELP,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class EnrolForm(forms.Form):
    purpose = forms.ModelChoiceField(label=_("Purpose"), queryset=None, empty_label=None)
    photo = PhotoField(
        label=_("Photo of your face"),
        help_text=PHOTO_HELP,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    def __init__(self, *args, purposes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].queryset = purposes
