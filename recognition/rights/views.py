"""Pages for people's rights, incidents, filings and the public processing rules.

Thin: each view finds what it needs within the person's reach (anything else is 404), checks
the form's shape, calls one service and renders or redirects.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent import access
from consent.services import ConsentError
from portal import clock
from portal.models import Building, User
from recognition.rights import filing_materials, reports, services
from recognition.rights.forms import (
    AgeForm,
    AnswerForm,
    DeleteAccountForm,
    FilingForm,
    IncidentForm,
    ProfileForm,
    RequestForm,
)
from recognition.rights.models import AffectedPerson, Incident, RightsRequest


def _buildings_or_404(user) -> list[int]:
    building_ids = access.admin_building_ids(user)
    if not building_ids:
        raise Http404
    return building_ids


def _refused(request, form, error: ConsentError) -> None:
    form.add_error(None, error.message)


def _json_download(data, filename: str) -> HttpResponse:
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Public processing rules -------------------------------------------------------------------


def public_rules_index(request):
    buildings = Building.objects.filter(purposes__status="active").distinct().order_by("name")
    return render(request, "rights/public_rules_index.html", {"buildings": buildings})


def _public_rules_context(building_id):
    building = get_object_or_404(Building, pk=building_id)
    return {
        "building": building,
        "purposes": reports.public_purposes(building),
        "attempt_retention_days": settings.ATTEMPT_RETENTION_DAYS,
        "request_days": reports.rules.REQUEST_WORKING_DAYS,
        "updated": timezone.localtime(clock.now()),
    }


def public_rules(request, building_id):
    return render(request, "rights/public_rules.html", _public_rules_context(building_id))


def public_rules_download(request, building_id):
    context = _public_rules_context(building_id)
    response = render(request, "rights/public_rules_file.html", context)
    response["Content-Disposition"] = (
        f'attachment; filename="processing-rules-{context["building"].pk}.html"'
    )
    return response


# A person's own: requests, profile, account, incident notices --------------------------------


@never_cache
@login_required
def my_requests(request):
    buildings = Building.objects.filter(pk__in=request.user.building_ids()).order_by("name")
    form = RequestForm(request.POST or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        try:
            filed = services.file_request(
                request.user,
                building=form.cleaned_data["building"],
                kind=form.cleaned_data["kind"],
                details=form.cleaned_data["details"],
            )
        except ConsentError as error:
            _refused(request, form, error)
        else:
            messages.success(
                request,
                _("Your request was sent. It will be answered by %(day)s.")
                % {"day": filed.due_on.isoformat()},
            )
            return redirect("rights:my-requests")
    mine = RightsRequest.objects.filter(person=request.user).select_related("building")
    return render(
        request,
        "rights/my_requests.html",
        {"form": form, "requests": mine.order_by("-filed_at"), "has_buildings": buildings},
    )


@never_cache
@login_required
def profile(request):
    # The form works on a copy: a ModelForm writes into its instance while validating.
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        changed = services.correct_profile(request.user, **form.cleaned_data)
        if changed:
            messages.success(request, _("Your details were corrected."))
        return redirect("rights:profile")
    return render(request, "rights/profile.html", {"form": form})


@never_cache
@login_required
def delete_account(request):
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = request.user
        services.delete_account(person, actor=person)
        logout(request)
        return render(request, "rights/account_deleted.html")
    return render(request, "rights/delete_account.html", {"form": form})


@never_cache
@login_required
def my_incidents(request):
    if request.method == "POST":
        services.mark_incident_notices_read(request.user)
        return redirect("rights:my-incidents")
    notices = (
        AffectedPerson.objects.filter(person=request.user, notified_at__isnull=False)
        .select_related("incident", "incident__building")
        .order_by("-notified_at")
    )
    return render(request, "rights/my_incidents.html", {"notices": notices})


# Building admins: requests ----------------------------------------------------------------


@never_cache
@login_required
def admin_requests(request):
    building_ids = _buildings_or_404(request.user)
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "rights/admin_requests.html",
        {
            "queue": reports.request_queue(building_ids, open_only=not show_all),
            "show_all": show_all,
        },
    )


@never_cache
@login_required
def admin_request(request, request_id):
    item = get_object_or_404(
        RightsRequest.objects.select_related("person", "building"),
        pk=request_id,
        building_id__in=_buildings_or_404(request.user),
    )
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.answer_request(item, actor=request.user, **form.cleaned_data)
        except ConsentError as error:
            _refused(request, form, error)
        else:
            messages.success(request, _("The answer was recorded."))
            return redirect("rights:admin-requests")
    today = timezone.localdate(clock.now())
    return render(
        request,
        "rights/admin_request.html",
        {
            "item": item,
            "form": form,
            "clock": reports.rules.clock(item.due_on, today, *reports.holidays()),
        },
    )


@never_cache
@login_required
def admin_person_age(request, building_id, person_id):
    building = access.admin_building_or_404(request.user, building_id)
    person = get_object_or_404(
        User.objects.filter(memberships__building=building).distinct(), pk=person_id
    )
    form = AgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_age(person, actor=request.user, building=building, **form.cleaned_data)
        except ConsentError as error:
            _refused(request, form, error)
        else:
            messages.success(request, _("Recorded."))
            return redirect("consent:admin-person", building_id=building.pk, person_id=person.pk)
    return render(
        request,
        "rights/admin_person_age.html",
        {"form": form, "person": person, "building": building},
    )


# Building admins: incidents ---------------------------------------------------------------


def _incident_or_404(user, incident_id) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("building"),
        pk=incident_id,
        building_id__in=_buildings_or_404(user),
    )


@never_cache
@login_required
def admin_incidents(request):
    building_ids = _buildings_or_404(request.user)
    incidents = Incident.objects.filter(building_id__in=building_ids).select_related("building")
    buildings = Building.objects.filter(pk__in=building_ids).order_by("name")
    return render(
        request, "rights/admin_incidents.html", {"incidents": incidents, "buildings": buildings}
    )


@never_cache
@login_required
def admin_incident_new(request, building_id):
    building = access.admin_building_or_404(request.user, building_id)
    form = IncidentForm(request.POST or None, building=building)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        purposes = data.pop("purposes")
        try:
            incident = services.record_incident(
                building, actor=request.user, purposes=purposes, **data
            )
        except ConsentError as error:
            _refused(request, form, error)
        else:
            messages.success(
                request,
                _("The incident was recorded: %(count)d people affected.")
                % {"count": incident.people_affected},
            )
            return redirect("rights:admin-incident", incident_id=incident.pk)
    return render(request, "rights/admin_incident_form.html", {"form": form, "building": building})


@never_cache
@login_required
def admin_incident(request, incident_id):
    incident = _incident_or_404(request.user, incident_id)
    return render(
        request,
        "rights/admin_incident.html",
        {"incident": incident, "report": reports.incident_report(incident)},
    )


@require_POST
@login_required
def admin_incident_notify(request, incident_id):
    incident = _incident_or_404(request.user, incident_id)
    result = services.notify_incident(incident, actor=request.user)
    messages.success(
        request,
        _("%(portal)d people were told in the portal; %(emailed)d emails sent, %(failed)d failed.")
        % {"portal": result["in_portal"], "emailed": result["emailed"], "failed": result["failed"]},
    )
    return redirect("rights:admin-incident", incident_id=incident.pk)


@never_cache
@login_required
def admin_incident_report(request, incident_id):
    incident = _incident_or_404(request.user, incident_id)
    if incident.reported_at is None:
        incident = services.mark_incident_reported(incident, actor=request.user)
    return render(
        request,
        "rights/incident_report.html",
        {"incident": incident, "report": reports.incident_report(incident)},
    )


@never_cache
@login_required
def admin_incident_report_json(request, incident_id):
    incident = _incident_or_404(request.user, incident_id)
    if incident.reported_at is None:
        incident = services.mark_incident_reported(incident, actor=request.user)
    return _json_download(reports.incident_report(incident), f"incident-{incident.pk}.json")


# Building admins: filings and checkpoints -------------------------------------------------


@never_cache
@login_required
def admin_filings(request):
    _buildings_or_404(request.user)
    form = FilingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_filing(actor=request.user, **form.cleaned_data)
        except ConsentError as error:
            _refused(request, form, error)
        else:
            messages.success(request, _("The filing was recorded."))
            return redirect("rights:admin-filings")
    return render(
        request,
        "rights/admin_filings.html",
        {"form": form, "rows": reports.filing_rows(), "duty": reports.filing_duty()},
    )


@never_cache
@login_required
def filing_materials_download(request):
    building_ids = _buildings_or_404(request.user)
    now = clock.now()
    body = filing_materials.build_zip(building_ids, request.user, now)
    response = HttpResponse(body, content_type="application/zip")
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="filing-materials-{stamp}.zip"'
    return response


@never_cache
@login_required
def checkpoints_json(request):
    _buildings_or_404(request.user)
    return JsonResponse(
        {"checkpoints": filing_materials.checkpoints()},
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
