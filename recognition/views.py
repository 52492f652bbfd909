from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal import clock, signin
from portal.models import Building, User
from portal.refusals import error_body
from portal.views import _qr_svg
from recognition import tasks
from recognition.doors import doorcodes
from recognition.engine import facework, jobs, live, liveness
from recognition.forms import EnrolForm, FaceSignInForm
from recognition.lifecycle import services
from recognition.models import Attempt

UPCOMING_DAYS = 30
ENROL_UNAVAILABLE = _(
    "Face recognition is unavailable right now, so no face can be enrolled. Nothing has "
    "changed: please try again later. Everything else works with your password and code."
)
NOT_RECOGNISED = _(
    "Your face was not recognised. Try again in better light, or sign in with your password "
    "and code."
)


CHALLENGE_SESSION_KEY = "face_challenge"


def _issue_challenge(request, scope: str, client: str) -> JsonResponse:
    """A fresh challenge for this session, replacing any earlier one; the page prompts it.
    A client asking for too many in a minute is told to wait (429), with nothing changed."""
    wait = live.challenge_wait(client)
    if wait:
        response = JsonResponse(
            error_body("throttled", facework.busy_message(wait)),
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    challenge = liveness.new_challenge(clock.now().timestamp(), scope)
    request.session[CHALLENGE_SESSION_KEY] = challenge.as_dict()
    return JsonResponse(live.challenge_payload(challenge))


def _take_challenge(request) -> dict | None:
    """The session's challenge, removed: each challenge is answered at most once."""
    return request.session.pop(CHALLENGE_SESSION_KEY, None)


@never_cache
@require_POST
def login_face_challenge(request):
    return _issue_challenge(request, live.SCOPE_SIGN_IN, signin.face_client(request))


@never_cache
@require_POST
@login_required
def enrol_challenge(request):
    return _issue_challenge(request, live.SCOPE_ENROLMENT, f"person:{request.user.pk}")


def _after_face(request, person):
    """Signed in by face: a person who must use a second factor enters it next."""
    second_factor = person.second_factor_required()
    if second_factor and signin.has_second_factor(person):
        signin.start_pending(request, person, "")
        request.session["signed_in_with"] = "face"
        return redirect("portal:login-code")
    signin.finish(request, person)
    request.session["signed_in_with"] = "face"
    if second_factor:
        return redirect("portal:two-factor")
    return redirect("portal:home")


@never_cache
def login_face(request):
    form = FaceSignInForm(request.POST or None)
    if request.method == "POST":
        challenge = _take_challenge(request)
        received_at = clock.now().timestamp()
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        person = User.objects.filter(username=username, is_active=True).first()
        found = signin.counters(request, "face", person, username)
        wait = signin.seconds_to_wait(found)
        allowed = signin.face_allowed_here(request, person)
        busy = 0 if wait or not allowed else facework.take(signin.face_client(request))
        if not allowed:
            form.add_error(None, signin.FACE_NEEDS_TRUSTED_BROWSER)
        elif wait:
            form.add_error(None, signin.locked_message(wait))
        elif busy:
            form.add_error(None, facework.busy_message(busy))
        else:
            try:
                answer = jobs.run(
                    tasks.verify_face_live,
                    person.pk if person else None,
                    challenge,
                    form.cleaned_data["nonce"],
                    received_at,
                    image=form.cleaned_data["frames"],
                )
            except jobs.FaceUnavailable:
                form.add_error(None, jobs.UNAVAILABLE)
            else:
                if answer["ok"] and person is not None and answer["person_id"] == person.pk:
                    signin.clear(found)
                    return _after_face(request, person)
                signin.count_failure(found)
                form.add_error(None, answer["message"] or NOT_RECOGNISED)
    return render(request, "recognition/login_face.html", {"form": form})


@never_cache
@login_required
def enrol(request):
    purposes = services.face_purposes_for(request.user)
    form = EnrolForm(request.POST or None, purposes=purposes)
    if request.method == "POST":
        challenge = _take_challenge(request)
        received_at = clock.now().timestamp()
    if request.method == "POST" and form.is_valid():
        purpose = form.cleaned_data["purpose"]
        try:
            services.check_can_enrol(request.user, purpose)
            answer = jobs.run(
                tasks.enrol_face_live,
                request.user.pk,
                purpose.pk,
                challenge,
                form.cleaned_data["nonce"],
                received_at,
                image=form.cleaned_data["frames"],
            )
        except services.FaceRefused as refused:
            form.add_error(None, refused.message)
        except jobs.FaceUnavailable:
            form.add_error(None, ENROL_UNAVAILABLE)
        else:
            if answer["ok"]:
                messages.success(request, answer["message"])
                return redirect("recognition:enrol")
            form.add_error(None, answer["message"])
    templates = request.user.face_templates.select_related("purpose").order_by("purpose__name")
    return render(
        request,
        "recognition/enrol.html",
        {
            "form": form,
            "purposes": purposes,
            "templates": templates,
            "attempts": Attempt.objects.filter(person=request.user).order_by("-created_at")[:5],
        },
    )


@never_cache
@login_required
def door_code(request):
    """A fresh door code on request (POST): the way through the door without a face."""
    buildings = Building.objects.filter(pk__in=request.user.building_ids())
    issued = None
    if request.method == "POST" and buildings:
        door_code, code = doorcodes.issue_door_code(request.user)
        issued = {
            "code": doorcodes.display(code),
            "qr": _qr_svg(code),
            "expires_at": door_code.expires_at,
        }
    attempts = (
        Attempt.objects.filter(person=request.user, channel=Attempt.DOOR)
        .select_related("device__location")
        .order_by("-created_at")[:10]
    )
    return render(
        request,
        "recognition/door_code.html",
        {
            "issued": issued,
            "buildings": buildings,
            "attempts": attempts,
            "minutes": settings.DOOR_CODE_TTL_MINUTES,
        },
    )


@never_cache
@login_required
def purges(request):
    """Upcoming and past purges of the admin's buildings: counts and dates, no face data."""
    from django.utils import timezone

    from consent import access
    from portal import clock
    from recognition.lifecycle import purge

    building_ids = access.admin_building_ids(request.user)
    if not building_ids:
        raise Http404
    return render(
        request,
        "recognition/purges.html",
        {
            "upcoming": purge.upcoming_lapses(building_ids, days=UPCOMING_DAYS),
            "upcoming_days": UPCOMING_DAYS,
            "past": purge.recent_purges(building_ids, limit=100),
            "last_scheduled_run": purge.last_scheduled_run(),
            "today": timezone.localdate(clock.now()),
        },
    )
