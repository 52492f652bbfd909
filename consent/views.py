"""Server-rendered consent pages: thin, each calls one service or one read model."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent import access, mydata, receipts, services
from consent.forms import GRANT, REFUSE, WITHDRAW_STORAGE, DecisionForm
from consent.models import Consent, Notice, Purpose
from consent.overview import consent_overview
from consent.services import ConsentError
from portal import clock

PAGE_SIZE = 50


def evidence(request) -> dict:
    return {
        "ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _consents_url(ward) -> str:
    if ward is None:
        return reverse("consent:mine")
    return reverse("consent:ward", args=[ward.pk])


def _int_or_none(value) -> int | None:
    return int(value) if value and value.isdigit() else None


def _render_overview(request, subject, guardian):
    rows = consent_overview(subject)
    notifications = []
    if guardian is None:
        notifications = list(
            subject.consent_notifications.unread().select_related("purpose", "ward")[:20]
        )
    return render(
        request,
        "consent/my_consents.html",
        {
            "rows": rows,
            "subject": subject,
            "acting_guardian": guardian,
            "notifications": notifications,
            "language": get_language(),
            "wards": [] if guardian else list(access.wards_of(request.user)),
            "reconsider": _int_or_none(request.GET.get("reconsider")),
        },
    )


@never_cache
@login_required
def my_consents(request):
    return _render_overview(request, request.user, None)


@never_cache
@login_required
def ward_consents(request, ward_id):
    ward, guardian = access.subject_or_404(request.user, ward_id)
    return _render_overview(request, ward, guardian)


@login_required
def wards(request):
    return render(request, "consent/wards.html", {"wards": access.wards_of(request.user)})


@require_POST
@login_required
def decide(request, purpose_id, ward_id=None):
    subject, guardian = access.subject_or_404(request.user, ward_id)
    purpose = get_object_or_404(Purpose.objects.visible_to(subject), pk=purpose_id)
    form = DecisionForm(request.POST)
    back = _consents_url(guardian and subject)
    if not form.is_valid():
        for error in form.non_field_errors() or [_("Choose what to do.")]:
            messages.error(request, error)
        return redirect(back)
    action = form.cleaned_data["action"]
    try:
        if action == GRANT:
            services.grant_consent(
                subject,
                purpose,
                channel="web",
                notice_hash=form.cleaned_data["notice_hash"],
                actor=request.user,
                storage_consent=form.cleaned_data["storage_consent"],
                **evidence(request),
            )
            messages.success(request, _("Consent given for “%(p)s”.") % {"p": purpose})
            if purpose.leaves_device() and not form.cleaned_data["storage_consent"]:
                messages.info(
                    request,
                    _(
                        "You did not agree to your face data leaving the device, so no face "
                        "data is kept for “%(p)s”. You can agree to that later here."
                    )
                    % {"p": purpose},
                )
        elif action == WITHDRAW_STORAGE:
            services.withdraw_storage_consent(
                subject, purpose, actor=request.user, channel="web", **evidence(request)
            )
            messages.success(
                request,
                _(
                    "Your consent to face data leaving the device is withdrawn for “%(p)s”. "
                    "Face data for it has been deleted; your other choices stay as they were."
                )
                % {"p": purpose},
            )
        elif action == REFUSE:
            services.refuse_consent(
                subject,
                purpose,
                channel="web",
                notice_hash=form.cleaned_data["notice_hash"],
                actor=request.user,
                **evidence(request),
            )
            messages.success(
                request,
                _(
                    "Your refusal is recorded. You will not be asked again unless the notice "
                    "changes."
                ),
            )
        else:
            services.withdraw_consent(
                subject, purpose, actor=request.user, channel="web", **evidence(request)
            )
            messages.success(
                request,
                _(
                    "Consent withdrawn for “%(p)s”. Face data for it has been deleted; "
                    "everything else works as before."
                )
                % {"p": purpose},
            )
    except ConsentError as error:
        messages.error(request, error.message)
    return redirect(back)


@require_POST
@login_required
def notifications_read(request):
    services.mark_notifications_read(request.user)
    return redirect("consent:mine")


@login_required
def notice(request, notice_id):
    """A notice version, readable by people of its building (the receipt's policy URL)."""
    shown = get_object_or_404(Notice.objects.select_related("purpose__building"), pk=notice_id)
    allowed = (
        shown.purpose.building_id in request.user.building_ids()
        or Consent.objects.filter(person=request.user, notice=shown).exists()
        or Consent.objects.filter(person__guardian=request.user, notice=shown).exists()
    )
    if not allowed:
        raise Http404
    return render(
        request,
        "consent/notice.html",
        {"notice": shown, "purpose": shown.purpose, "language": get_language()},
    )


@login_required
def receipt(request, consent_id):
    consent = access.own_consent_or_404(request.user, consent_id)
    data = receipts.kantara_receipt(consent, request.build_absolute_uri("/")[:-1])
    return render(
        request,
        "consent/receipt.html",
        {"consent": consent, "receipt": data, "pretty": json.dumps(data, indent=2)},
    )


@login_required
def receipt_json(request, consent_id):
    consent = access.own_consent_or_404(request.user, consent_id)
    data = receipts.kantara_receipt(consent, request.build_absolute_uri("/")[:-1])
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.pk}.json"'
    return response


@never_cache
@login_required
def my_data(request):
    sections = mydata.collect(request.user)
    summary = mydata.summary(sections, clock.now())
    return render(request, "consent/my_data.html", {"sections": sections, "summary": summary})


@never_cache
@login_required
def my_data_json(request):
    body = json.dumps(
        mydata.as_json(request.user), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


# Building admins ---------------------------------------------------------------------------


@login_required
def admin_consents(request, building_id):
    """Newest first, keyset-paginated on the (building, -id) index: no OFFSET, no COUNT(*)."""
    building = access.admin_building_or_404(request.user, building_id)
    consents = (
        Consent.objects.filter(building=building)
        .select_related("person", "purpose", "notice")
        .order_by("-id")
    )
    before = request.GET.get("before", "")
    if before.isdigit():
        consents = consents.filter(id__lt=int(before))
    page = list(consents[: PAGE_SIZE + 1])
    next_before = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return render(
        request,
        "consent/admin_consents.html",
        {
            "building": building,
            "consents": page[:PAGE_SIZE],
            "next_before": next_before,
        },
    )
