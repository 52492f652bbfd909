from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from consent import access
from portal import signin, throttle
from portal.models import Building, Membership
from recognition.doors import devices
from recognition.entry import cards, kiosk, reception
from recognition.entry.forms import BackupCodesAtDoorForm, IssueCardForm, PairForm, ReceptionForm
from recognition.entry.models import AccessCard
from recognition.models import Attempt, Device


def _admin_buildings_or_404(user) -> list[int]:
    building_ids = access.admin_building_ids(user)
    if not building_ids:
        raise Http404
    return building_ids


@sensitive_post_parameters("number")
@never_cache
@login_required
def card_list(request):
    """Admins issue and revoke access cards for the people of their buildings."""
    building_ids = _admin_buildings_or_404(request.user)
    people = (
        Membership.objects.current()
        .filter(building_id__in=building_ids, user__is_active=True)
        .select_related("user", "building")
        .order_by("building__name", "user__username")
    )
    form = IssueCardForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        membership = next(m for m in people if m.pk == form.cleaned_data["person"])
        try:
            card = cards.issue_card(
                membership.user,
                membership.building,
                form.cleaned_data["number"],
                actor=request.user,
            )
        except cards.CardRefused as refused:
            form.add_error("number", refused.message)
        else:
            messages.success(
                request,
                _("Card ending %(digits)s issued to %(person)s.")
                % {"digits": card.last_digits, "person": card.person},
            )
            return redirect("entry:admin-cards")
    found = (
        AccessCard.objects.filter(building_id__in=building_ids)
        .select_related("person", "building")
        .order_by("revoked_at", "building__name", "person__username", "-issued_at")
    )
    buildings = Building.objects.filter(pk__in=building_ids).order_by("name")
    return render(
        request,
        "entry/admin/cards.html",
        {"form": form, "cards": found, "buildings": buildings},
    )


@require_POST
@login_required
def card_revoke(request, card_id):
    building_ids = _admin_buildings_or_404(request.user)
    card = get_object_or_404(AccessCard, pk=card_id, building_id__in=building_ids)
    cards.revoke_card(card, actor=request.user)
    messages.success(request, _("Card ending %(digits)s revoked.") % {"digits": card.last_digits})
    return redirect("entry:admin-cards")


@require_POST
@login_required
def building_backup_codes(request, building_id):
    building = access.admin_building_or_404(request.user, building_id)
    form = BackupCodesAtDoorForm(request.POST)
    if form.is_valid():
        cards.set_door_backup_codes(
            building, form.cleaned_data["door_backup_codes"], actor=request.user
        )
        messages.success(request, _("Saved."))
    return redirect("entry:admin-cards")


@never_cache
@login_required
def reception_page(request):
    """Staff open a door for a resident in front of them, after checking who they are."""
    doors = list(reception.doors_for(request.user))
    if not reception.staff_building_ids(request.user):
        raise Http404
    people = list(reception.residents_for(request.user))
    form = ReceptionForm(request.POST or None, doors=doors, people=people)
    if request.method == "POST" and form.is_valid():
        device = next(d for d in doors if d.pk == form.cleaned_data["device"])
        person = next(p for p in people if p.pk == form.cleaned_data["person"])
        try:
            reception.open_for_person(
                device, person, form.cleaned_data["check"], actor=request.user
            )
        except reception.OpeningRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("%(door)s opened for %(person)s.") % {"door": device.name, "person": person},
            )
            return redirect("entry:reception")
    recent = (
        Attempt.objects.filter(
            method=Attempt.STAFF, building_id__in=reception.staff_building_ids(request.user)
        )
        .select_related("person", "device", "assisted_opening__staff")
        .order_by("-created_at")[:20]
    )
    return render(request, "entry/reception.html", {"form": form, "recent": recent})


@require_POST
@login_required
def device_pair(request, device_id):
    """A short code to type on the door's tablet, shown once to an admin of its building."""
    building_ids = _admin_buildings_or_404(request.user)
    device = get_object_or_404(Device, pk=device_id, building_id__in=building_ids)
    try:
        code = kiosk.issue_pairing_code(device, actor=request.user)
    except devices.DeviceRefused as refused:
        messages.error(request, refused.message)
        return redirect("recognition:admin-devices")
    response = render(
        request,
        "entry/admin/pairing_code.html",
        {"device": device, "code": code, "minutes": kiosk.PAIRING_MINUTES},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@xframe_options_deny
def kiosk_page(request):
    """The door's tablet: camera, keypad and card field, all through the device API."""
    return render(request, "entry/kiosk.html", {"new_key": ""})


@sensitive_post_parameters("code")
@never_cache
def kiosk_pair(request):
    """The tablet's one-time pairing: the short code from the devices page."""
    form = PairForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = signin.client_ip(request)
        wait = throttle.seconds_locked(kiosk.PAIR_IP, ip)
        if wait:
            form.add_error("code", signin.locked_message(wait))
        else:
            paired = kiosk.pair_kiosk(form.cleaned_data["code"])
            if paired is None:
                throttle.record_failure(kiosk.PAIR_IP, ip)
                form.add_error("code", _("This code is not valid. Ask an admin for a new one."))
            else:
                throttle.reset(kiosk.PAIR_IP, ip)
                device, key = paired
                response = render(request, "entry/kiosk.html", {"new_key": key, "device": device})
                response["Cache-Control"] = "no-store"
                return response
    return render(request, "entry/kiosk_pair.html", {"form": form})
