"""Building admins' pages for locations, devices, the compliance dashboard and the evidence
export. Scoped to the admin's buildings (anything else is 404); thin: each view checks the
form's shape, calls one service and renders. No page shows a template, an embedding or a
distance; a device key is shown once, in the response that issued it, and never again.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent import access
from consent import rules as consent_rules
from consent.models import Purpose
from portal import audit, clock
from portal.models import AuditCheck, Building
from recognition import policy
from recognition.admin_forms import DeviceForm, LocationForm, placement_refusal
from recognition.doors import devices, locations
from recognition.models import Device, Location
from recognition.reporting import dashboard, evidence, tally


def _buildings_or_404(user) -> list[int]:
    building_ids = access.admin_building_ids(user)
    if not building_ids:
        raise Http404
    return building_ids


def _location_or_404(user, location_id) -> Location:
    return get_object_or_404(
        Location.objects.select_related("building"),
        pk=location_id,
        building_id__in=access.admin_building_ids(user),
    )


def _device_or_404(user, device_id) -> Device:
    return get_object_or_404(
        Device.objects.select_related("building", "location", "purpose"),
        pk=device_id,
        building_id__in=access.admin_building_ids(user),
    )


# Locations ----------------------------------------------------------------------------------


@never_cache
@login_required
def location_list(request):
    building_ids = _buildings_or_404(request.user)
    rows = [
        {"location": location, "refusal": placement_refusal(location)}
        for location in Location.objects.filter(building_id__in=building_ids)
        .select_related("building")
        .annotate(in_service=Count("devices", filter=Q(devices__revoked_at__isnull=True)))
        .order_by("building__name", "name", "id")
    ]
    return render(
        request,
        "recognition/admin/locations.html",
        {"rows": rows, "prohibited": policy.PROHIBITED_LOCATION_TYPES},
    )


def _location_form_page(request, form, location):
    return render(
        request,
        "recognition/admin/location_form.html",
        {"form": form, "location": location, "rule": policy.PROHIBITION_RULE},
    )


@never_cache
@login_required
def location_create(request):
    buildings = Building.objects.filter(pk__in=_buildings_or_404(request.user)).order_by("name")
    form = LocationForm(request.POST or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        building = access.admin_building_or_404(request.user, form.cleaned_data["building"])
        try:
            locations.create_location(building, actor=request.user, **form.location_fields())
        except locations.LocationRefused as refused:
            form.add_error(refused.field, refused.message)
        else:
            messages.success(request, _("Location recorded."))
            return redirect("recognition:admin-locations")
    return _location_form_page(request, form, None)


@never_cache
@login_required
def location_edit(request, location_id):
    location = _location_or_404(request.user, location_id)
    initial = {name: getattr(location, name) for name in locations.FIELDS}
    initial["name"] = location.name_en
    form = LocationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            locations.update_location(location, actor=request.user, **form.location_fields())
        except locations.LocationRefused as refused:
            form.add_error(refused.field, refused.message)
        else:
            messages.success(request, _("Location saved."))
            return redirect("recognition:admin-locations")
    return _location_form_page(request, form, location)


# Devices ------------------------------------------------------------------------------------


def _device_form(request, building_ids):
    return DeviceForm(
        request.POST or None,
        locations=Location.objects.filter(building_id__in=building_ids)
        .select_related("building")
        .order_by("building__name", "name"),
        purposes=Purpose.objects.for_buildings(building_ids)
        .filter(kind=consent_rules.KIND_DOOR)
        .exclude(status=consent_rules.RETIRED)
        .select_related("building")
        .order_by("building__name", "name"),
    )


@never_cache
@login_required
def device_list(request):
    building_ids = _buildings_or_404(request.user)
    found = list(
        Device.objects.filter(building_id__in=building_ids)
        .select_related("building", "location", "purpose")
        .order_by("revoked_at", "building__name", "name", "id")
    )
    since = tally.window_start(clock.now(), dashboard.WINDOW_DAYS)
    counts = tally.device_counts([device.pk for device in found], since)
    device_rows = [{"device": device, "attempts": counts.get(device.pk, {})} for device in found]
    return render(
        request,
        "recognition/admin/devices.html",
        {"rows": device_rows, "window": dashboard.WINDOW_DAYS},
    )


def _key_page(request, device, key, registered: bool):
    response = render(
        request,
        "recognition/admin/device_key.html",
        {"device": device, "key": key, "registered": registered},
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
def device_register(request):
    building_ids = _buildings_or_404(request.user)
    form = _device_form(request, building_ids)
    if request.method == "POST" and form.is_valid():
        try:
            device, key = devices.register_device(
                form.cleaned_data["location"],
                form.cleaned_data["name"],
                form.cleaned_data["purpose"],
                actor=request.user,
                name_zh_hans=form.cleaned_data["name_zh_hans"],
            )
        except devices.DeviceRefused as refused:
            fields = {"location_not_allowed": "location", "wrong_building": "purpose"}
            form.add_error(fields.get(refused.code, "purpose"), refused.message)
        else:
            return _key_page(request, device, key, registered=True)
    return render(
        request,
        "recognition/admin/device_form.html",
        {"form": form, "rule": policy.PROHIBITION_RULE},
    )


@never_cache
@require_POST
@login_required
def device_rotate(request, device_id):
    device = _device_or_404(request.user, device_id)
    try:
        key = devices.rotate_device_key(device, actor=request.user)
    except devices.DeviceRefused as refused:
        messages.error(request, refused.message)
        return redirect("recognition:admin-devices")
    return _key_page(request, device, key, registered=False)


@require_POST
@login_required
def device_revoke(request, device_id):
    device = _device_or_404(request.user, device_id)
    devices.revoke_device(device, actor=request.user)
    messages.success(
        request,
        _("“%(name)s” is revoked: its key no longer works.") % {"name": device.name},
    )
    return redirect("recognition:admin-devices")


# The compliance dashboard and the evidence export -------------------------------------------


@never_cache
@login_required
def compliance_dashboard(request):
    building_ids = _buildings_or_404(request.user)
    figures = dashboard.build(building_ids)
    return render(
        request,
        "recognition/admin/dashboard.html",
        {"d": figures, "today": timezone.localdate(figures.now)},
    )


@require_POST
@login_required
def audit_check(request):
    _buildings_or_404(request.user)
    check = audit.check_chain(AuditCheck.PAGE)
    if check.intact:
        messages.success(
            request,
            _("The audit chain is intact: %(count)d entries checked.") % {"count": check.entries},
        )
    else:
        messages.error(
            request,
            _("The audit chain is broken at entry %(id)d: %(reason)s.")
            % {"id": check.break_entry_id, "reason": check.break_reason},
        )
    return redirect("recognition:dashboard")


@never_cache
@login_required
def evidence_export(request):
    building_ids = _buildings_or_404(request.user)
    now = clock.now()
    body = evidence.build_zip(building_ids, request.user, now)
    response = HttpResponse(body, content_type="application/zip")
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="evidence-{stamp}.zip"'
    return response
