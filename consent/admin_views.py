"""Building admins' pages for purposes, notices, impact assessments and people.

Thin: each view finds the object within the admin's buildings (anything else is 404), checks
the form's shape, calls one service and renders or redirects. Admins see decisions and dates,
never face data.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent import access, rules, services
from consent.admin_forms import (
    LEFT_CONFIRM,
    RETIRE_CONFIRM,
    AssessmentForm,
    ConfirmForm,
    InviteForm,
    NoticeForm,
    PurposeForm,
    notice_initial,
    purpose_initial,
)
from consent.dashboard import CONSENT_COLUMNS, purpose_statuses
from consent.models import Consent, Purpose
from consent.overview import STATE_LABELS
from consent.services import ConsentError
from portal import clock
from portal import rules as portal_rules
from portal.models import Building, Membership, User
from portal.rules_query import current_member

PEOPLE_PAGE_SIZE = 50


def _buildings_or_404(user) -> list[int]:
    building_ids = access.admin_building_ids(user)
    if not building_ids:
        raise Http404
    return building_ids


def _admin_buildings(user):
    return Building.objects.filter(pk__in=_buildings_or_404(user)).order_by("name")


def _form_errors(form, error: ConsentError) -> None:
    """A service refusal on the form: per field where it names fields, else on top."""
    placed = False
    for name, problems in (error.details or {}).items():
        if name in form.fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name, str(problem))
            placed = True
    if not placed or error.code != "invalid":
        form.add_error(None, error.message)


# Purposes -----------------------------------------------------------------------------------


@never_cache
@login_required
def purpose_list(request):
    building_ids = _buildings_or_404(request.user)
    return render(
        request,
        "consent/admin/purposes.html",
        {"statuses": purpose_statuses(building_ids), "consent_columns": CONSENT_COLUMNS},
    )


@never_cache
@login_required
def purpose_create(request):
    buildings = _admin_buildings(request.user)
    form = PurposeForm(request.POST or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        building = access.admin_building_or_404(request.user, form.cleaned_data["building"])
        try:
            purpose = services.create_purpose(building, actor=request.user, **form.purpose_fields())
        except ConsentError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("Draft saved. Write its impact assessment and its notice, then activate it."),
            )
            return redirect("consent:admin-purpose", purpose.pk)
    return render(request, "consent/admin/purpose_form.html", {"form": form, "purpose": None})


@never_cache
@login_required
def purpose_detail(request, purpose_id):
    purpose = access.admin_purpose_or_404(request.user, purpose_id)
    (status,) = purpose_statuses([purpose.building_id], purpose_ids=[purpose.pk])
    return render(
        request,
        "consent/admin/purpose.html",
        {
            "purpose": purpose,
            "status": status,
            "notices": purpose.notices.select_related("published_by").order_by("-version"),
            "assessments": purpose.assessments.select_related("assessor", "approved_by"),
            "consent_columns": CONSENT_COLUMNS,
            "confirm": ConfirmForm(label=RETIRE_CONFIRM),
        },
    )


@never_cache
@login_required
def purpose_edit(request, purpose_id):
    purpose = access.admin_purpose_or_404(request.user, purpose_id)
    if purpose.status != rules.DRAFT:
        messages.error(
            request,
            _("Only a draft can be edited. Publish a new notice version to change its terms."),
        )
        return redirect("consent:admin-purpose", purpose.pk)
    form = PurposeForm(request.POST or None, initial=purpose_initial(purpose))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_purpose(purpose, actor=request.user, **form.purpose_fields())
        except ConsentError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("consent:admin-purpose", purpose.pk)
    return render(request, "consent/admin/purpose_form.html", {"form": form, "purpose": purpose})


@require_POST
@login_required
def purpose_delete(request, purpose_id):
    purpose = access.admin_purpose_or_404(request.user, purpose_id)
    try:
        services.delete_purpose(purpose, actor=request.user)
    except ConsentError as error:
        messages.error(request, error.message)
        return redirect("consent:admin-purpose", purpose.pk)
    messages.success(request, _("Draft deleted."))
    return redirect("consent:admin-purposes")


@require_POST
@login_required
def purpose_action(request, purpose_id, action):
    """Activate (refused without an approved assessment and a published notice) or retire."""
    if action not in ("activate", "retire"):
        raise Http404
    purpose = access.admin_purpose_or_404(request.user, purpose_id)
    try:
        if action == "activate":
            services.activate_purpose(purpose, actor=request.user)
            messages.success(request, _("Purpose activated."))
        else:
            if not ConfirmForm(request.POST).is_valid():
                messages.error(request, _("Tick the box to confirm the retirement."))
                return redirect("consent:admin-purpose", purpose.pk)
            services.retire_purpose(purpose, actor=request.user)
            messages.success(request, _("Purpose retired. Its face data has been deleted."))
    except ConsentError as error:
        messages.error(request, error.message)
    return redirect("consent:admin-purpose", purpose.pk)


# Notices ------------------------------------------------------------------------------------


@never_cache
@login_required
def notice_publish(request, purpose_id):
    purpose = access.admin_purpose_or_404(request.user, purpose_id)
    if purpose.status == rules.RETIRED:
        raise Http404
    form = NoticeForm(request.POST or None, initial=notice_initial(purpose.current_notice))
    terms = None
    if purpose.status == rules.ACTIVE:  # the terms change only with a new notice
        terms = PurposeForm(request.POST or None, initial=purpose_initial(purpose), prefix="terms")
    if request.method == "POST" and form.is_valid() and (terms is None or terms.is_valid()):
        changes = None
        if terms is not None:
            current = purpose_initial(purpose)
            changes = {
                k: v for k, v in terms.purpose_fields().items() if current.get(k) != v
            } or None
        try:
            notice = services.publish_notice(
                purpose,
                actor=request.user,
                texts=form.texts(),
                data_collected=form.cleaned_data["data_collected"],
                changes=changes,
            )
        except ConsentError as error:
            _form_errors(terms if error.code == "invalid" and terms else form, error)
        else:
            if notice.requires_renewal:
                messages.warning(
                    request,
                    _(
                        "Notice published. It changes what people agreed to: face use for this "
                        "purpose is paused for each person until they decide again."
                    ),
                )
            else:
                messages.success(request, _("Notice published."))
            return redirect("consent:admin-purpose", purpose.pk)
    return render(
        request,
        "consent/admin/notice_form.html",
        {"form": form, "terms": terms, "purpose": purpose},
    )


@login_required
def notice_detail(request, notice_id):
    notice = access.admin_notice_or_404(request.user, notice_id)
    return render(
        request,
        "consent/admin/notice.html",
        {"notice": notice, "purpose": notice.purpose, "language": get_language()},
    )


# Impact assessments -------------------------------------------------------------------------


def _assessment_initial(assessment) -> dict:
    return {name: getattr(assessment, name) for name in services.ASSESSMENT_FIELDS}


@never_cache
@login_required
def assessment_create(request, purpose_id):
    purpose = access.admin_purpose_or_404(request.user, purpose_id)
    latest = purpose.assessments.first()
    form = AssessmentForm(
        request.POST or None, initial=_assessment_initial(latest) if latest else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.create_assessment(
                purpose, actor=request.user, **form.cleaned_data
            )
        except ConsentError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Assessment saved. Approve it once it is complete."))
            return redirect("consent:admin-assessment", assessment.pk)
    return render(
        request,
        "consent/admin/assessment.html",
        {"form": form, "purpose": purpose, "assessment": None},
    )


@never_cache
@login_required
def assessment_detail(request, assessment_id):
    """An approved assessment is read only; one not yet approved can be changed here."""
    assessment = access.admin_assessment_or_404(request.user, assessment_id)
    form = None
    if not assessment.approved:
        form = AssessmentForm(request.POST or None, initial=_assessment_initial(assessment))
        if request.method == "POST" and form.is_valid():
            changes = {k: v for k, v in form.cleaned_data.items() if getattr(assessment, k) != v}
            try:
                services.update_assessment(assessment, actor=request.user, **changes)
            except ConsentError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Assessment saved."))
                return redirect("consent:admin-assessment", assessment.pk)
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "consent/admin/assessment.html",
        {"form": form, "purpose": assessment.purpose, "assessment": assessment},
    )


@require_POST
@login_required
def assessment_approve(request, assessment_id):
    assessment = access.admin_assessment_or_404(request.user, assessment_id)
    try:
        services.approve_assessment(assessment, actor=request.user)
    except ConsentError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Assessment approved. It is kept for at least three years."))
    return redirect("consent:admin-assessment", assessment.pk)


# People -------------------------------------------------------------------------------------


def _set_password_link(request, person: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    path = reverse("portal:set-password", kwargs={"uidb64": uid, "token": token})
    return request.build_absolute_uri(path)


@never_cache
@login_required
def people(request):
    """Current (or former) members of the admin's buildings, newest first, keyset-paged."""
    buildings = list(_admin_buildings(request.user))
    building_ids = [b.pk for b in buildings]
    memberships = (
        Membership.objects.filter(building_id__in=building_ids)
        .select_related("user", "building")
        .order_by("-id")
    )
    former = request.GET.get("former") == "1"
    memberships = memberships.filter(~current_member() if former else current_member())
    role = request.GET.get("role", "")
    if role in dict(Membership.ROLE_CHOICES):
        memberships = memberships.filter(role=role)
    query = request.GET.get("q", "").strip()
    if query:
        memberships = memberships.filter(
            Q(user__username__istartswith=query) | Q(user__last_name__istartswith=query)
        )
    before = request.GET.get("before", "")
    if before.isdigit():
        memberships = memberships.filter(id__lt=int(before))
    page = list(memberships[: PEOPLE_PAGE_SIZE + 1])
    next_before = page[PEOPLE_PAGE_SIZE - 1].pk if len(page) > PEOPLE_PAGE_SIZE else None
    return render(
        request,
        "consent/admin/people.html",
        {
            "memberships": page[:PEOPLE_PAGE_SIZE],
            "next_before": next_before,
            "former": former,
            "role": role,
            "q": query,
            "roles": Membership.ROLE_CHOICES,
        },
    )


@never_cache
@login_required
def person_invite(request):
    buildings = _admin_buildings(request.user)
    form = InviteForm(request.POST or None, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        building = access.admin_building_or_404(request.user, data["building"])
        try:
            person = services.invite_person(
                building,
                actor=request.user,
                role=data["role"],
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                birth_date=data["birth_date"],
                guardian_username=data["guardian"],
                adult_attested=data["adult_attested"],
            )
        except ConsentError as error:
            _form_errors(form, error)
        else:
            link = None if person.has_usable_password() else _set_password_link(request, person)
            return render(
                request,
                "consent/admin/invited.html",
                {"person": person, "building": building, "link": link},
            )
    return render(request, "consent/admin/invite.html", {"form": form})


def _member_or_404(user, building_id, person_id) -> tuple[Building, User]:
    building = access.admin_building_or_404(user, building_id)
    member_here = Membership.objects.filter(user=OuterRef("pk"), building=building)
    person = get_object_or_404(User.objects.filter(Exists(member_here)), pk=person_id)
    return building, person


@never_cache
@login_required
def person_detail(request, building_id, person_id):
    """Memberships and consent status in this building; never face data."""
    building, person = _member_or_404(request.user, building_id, person_id)
    now = clock.now()
    today = timezone.localdate(now)
    guardian_needed = rules.guardian_required(person.birth_date, today)
    consents = {
        c.purpose_id: c
        for c in Consent.objects.filter(person=person, building=building).select_related("notice")
    }
    rows = []
    for purpose in Purpose.objects.filter(building=building).order_by("status", "name"):
        consent = consents.get(purpose.pk)
        if consent is None and purpose.status != rules.ACTIVE:
            continue
        state = rules.effective_state(
            consent.status if consent else None,
            now=now,
            renewal_needed_at=consent.renewal_needed_at if consent else None,
            expires_at=consent.expires_at if consent else None,
            purpose_status=purpose.status,
            guardian_needed=guardian_needed,
            granted_by_guardian=bool(consent and consent.granted_by_id),
        )
        rows.append(
            {
                "purpose": purpose,
                "consent": consent,
                "state": state,
                "state_label": STATE_LABELS.get(state, state),
            }
        )
    memberships = person.memberships.filter(building=building).order_by("-joined_at")
    return render(
        request,
        "consent/admin/person.html",
        {
            "building": building,
            "person": person,
            "memberships": memberships,
            "current": any(portal_rules.is_current_member(m.left_at) for m in memberships),
            "rows": rows,
            "confirm": ConfirmForm(label=LEFT_CONFIRM),
            "link_possible": not person.has_usable_password(),
        },
    )


@require_POST
@login_required
def person_left(request, building_id, person_id):
    """Moved out or gone: memberships and consents here end, face data here is deleted."""
    building, person = _member_or_404(request.user, building_id, person_id)
    if person.pk == request.user.pk:
        messages.error(request, _("You cannot record yourself as having left."))
        return redirect("consent:admin-person", building.pk, person.pk)
    if not ConfirmForm(request.POST).is_valid():
        messages.error(request, _("Tick the box to confirm that this person has left."))
        return redirect("consent:admin-person", building.pk, person.pk)
    if not person.memberships.current().filter(building=building).exists():
        messages.error(request, _("This person is no longer a member of this building."))
        return redirect("consent:admin-person", building.pk, person.pk)
    ended = services.mark_person_left(person, building, actor=request.user)
    messages.success(
        request,
        _(
            "Recorded as left. %(count)d consents ended; their face data in this building has "
            "been deleted."
        )
        % {"count": ended},
    )
    return redirect("consent:admin-person", building.pk, person.pk)


@never_cache
@require_POST
@login_required
def person_password_link(request, building_id, person_id):
    """A new set-password link, only while the person has never set a password."""
    building, person = _member_or_404(request.user, building_id, person_id)
    if person.has_usable_password():
        raise Http404
    return render(
        request,
        "consent/admin/invited.html",
        {"person": person, "building": building, "link": _set_password_link(request, person)},
    )
