"""Passkeys (WebAuthn) through django-otp-webauthn: registered on the two-factor page, used
alone (passwordless) on the sign-in page, or as the second step after a password.

The library does the ceremonies and the cryptography. Here: the relying party is the portal's
own host (or `WEBAUTHN_RP_ID`), the accepted origin the page's own (or `WEBAUTHN_ORIGINS`); a
completed passkey sign-in ends any half-done password sign-in and is logged beside the other
ways in.
"""

from django.conf import settings
from django.http import HttpRequest
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.views import CompleteCredentialAuthenticationView

from portal import signals, signin


def relying_party_id(request: HttpRequest) -> str:
    """The domain passkeys are bound to: WEBAUTHN_RP_ID, else the host name being served
    (Django has already checked it against ALLOWED_HOSTS)."""
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


class PasskeyHelper(WebAuthnHelper):
    def get_relying_party_domain(self) -> str:
        return relying_party_id(self.request)

    def get_relying_party_name(self) -> str:
        return settings.OTP_TOTP_ISSUER

    def get_allowed_origins(self) -> list[str]:
        """WEBAUTHN_ORIGINS when set; else the origins of ALLOWED_HOSTS and the page's own
        (its host already passed ALLOWED_HOSTS; a page on another origin cannot sign for it)."""
        if settings.WEBAUTHN_ORIGINS:
            return list(settings.WEBAUTHN_ORIGINS)
        own = f"{self.request.scheme}://{self.request.get_host()}"
        return [*settings.OTP_WEBAUTHN_ALLOWED_ORIGINS, own]


class PasskeySignInView(CompleteCredentialAuthenticationView):
    """The library's last step of a passkey sign-in, logged as a passkey sign-in."""

    def complete_auth(self, device):
        signed_in_before = self.request.user.is_authenticated
        super().complete_auth(device)
        self.request.session.pop(signin.PENDING, None)
        if not signed_in_before:
            signals.signed_in_without_code.send(
                sender=type(device.user), person=device.user, method=signals.PASSKEY
            )
