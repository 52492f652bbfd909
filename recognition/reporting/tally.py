"""Daily counts of sign-in and door attempts, for the fallback-parity figures.

`tally_attempts` (Celery beat, every ATTEMPT_TALLY_MINUTES) adds the attempts logged since its
last run to per-day rows and moves the mark, both in one transaction with the mark's row
locked, so two runs never count an attempt twice. `parity_counts` sums the rows of a window
and counts only the attempts logged since the mark live: a few minutes of rows, however
busy the doors. The sum is exact either way; without the beat the live part just grows.

Door attempts count for the door's building; portal sign-ins for no building (0): a sign-in
is to the portal, which serves every building.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal import clock
from recognition.models import Attempt, AttemptTally, AttemptTallyMark

# Attempts younger than this are left to the next run: a transaction that logged one may
# not have committed yet.
SETTLE = timedelta(minutes=2)
CHANNELS = (Attempt.SIGN_IN, Attempt.DOOR)
NO_BUILDING = 0
NO_DEVICE = 0

Counts = dict[tuple[str, str], dict[str, int]]


def _grouped(attempts) -> list[dict]:
    """(day, building, device, channel, method) -> accepted, refused; enrolments are not
    attempts to get in and are left out."""
    return list(
        attempts.filter(channel__in=CHANNELS)
        .annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
            tally_building=Case(
                When(channel=Attempt.DOOR, building_id__isnull=False, then=F("building_id")),
                default=Value(NO_BUILDING),
                output_field=IntegerField(),
            ),
            tally_device=Case(
                When(channel=Attempt.DOOR, device_id__isnull=False, then=F("device_id")),
                default=Value(NO_DEVICE),
                output_field=IntegerField(),
            ),
        )
        .values("day", "tally_building", "tally_device", "channel", "method")
        .annotate(
            accepted=Count("id", filter=Q(result=Attempt.MATCH)),
            refused=Count("id", filter=~Q(result=Attempt.MATCH)),
        )
        .order_by()
    )


@transaction.atomic
def tally_attempts(now: datetime | None = None) -> dict:
    """Adds the attempts logged since the last run (up to a settled moment) to the tallies."""
    upto = (now or clock.now()) - SETTLE
    mark, _created = AttemptTallyMark.objects.get_or_create(
        pk=1, defaults={"counted_until": datetime(2000, 1, 1, tzinfo=UTC)}
    )
    mark = AttemptTallyMark.objects.select_for_update().get(pk=1)
    if upto <= mark.counted_until:
        return {"rows": 0, "attempts": 0}
    rows = _grouped(Attempt.objects.filter(created_at__gte=mark.counted_until, created_at__lt=upto))

    def key(row) -> tuple:
        return (
            row["tally_building"],
            row["day"],
            row["tally_device"],
            row["channel"],
            row["method"],
        )

    keys = {key(row) for row in rows}
    existing = {
        (t.building_id, t.day, t.device_id, t.channel, t.method): t
        for t in AttemptTally.objects.filter(
            day__in={k[1] for k in keys}, building_id__in={k[0] for k in keys}
        )
    }
    merged = []
    for row in rows:
        k = key(row)
        tally = existing.get(k) or AttemptTally(
            building_id=k[0], day=k[1], device_id=k[2], channel=k[3], method=k[4]
        )
        tally.accepted += row["accepted"]
        tally.refused += row["refused"]
        merged.append(tally)
    AttemptTally.objects.bulk_create(
        merged,
        update_conflicts=True,
        unique_fields=["building_id", "day", "device_id", "channel", "method"],
        update_fields=["accepted", "refused"],
    )
    mark.counted_until = upto
    mark.save(update_fields=["counted_until"])
    return {"rows": len(merged), "attempts": sum(r["accepted"] + r["refused"] for r in rows)}


def counted_until() -> datetime | None:
    return AttemptTallyMark.objects.filter(pk=1).values_list("counted_until", flat=True).first()


def window_start(now: datetime, days: int) -> datetime:
    """Local midnight `days - 1` days ago: the window is whole local days, today included."""
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first_day, datetime.min.time()))


def parity_counts(building_ids, since: datetime, now: datetime | None = None) -> Counts:
    """{(channel, method): {"accepted", "refused"}} since `since` (a local midnight): door
    attempts of the buildings and every portal sign-in. Two small queries."""
    building_ids = list(building_ids)
    mark = counted_until()
    counts: Counts = defaultdict(lambda: {"accepted": 0, "refused": 0})
    if mark is not None and mark > since:
        tallied = (
            AttemptTally.objects.filter(day__gte=timezone.localdate(since))
            .filter(
                Q(channel=Attempt.DOOR, building_id__in=building_ids)
                | Q(channel=Attempt.SIGN_IN, building_id=NO_BUILDING)
            )
            .values("channel", "method")
            .annotate(accepted=Sum("accepted"), refused=Sum("refused"))
            .order_by()
        )
        for row in tallied:
            counts[(row["channel"], row["method"])]["accepted"] += row["accepted"]
            counts[(row["channel"], row["method"])]["refused"] += row["refused"]
    live_from = max(mark, since) if mark is not None else since
    live = (
        Attempt.objects.filter(created_at__gte=live_from)
        .filter(Q(channel=Attempt.DOOR, building_id__in=building_ids) | Q(channel=Attempt.SIGN_IN))
        .figures()
    )
    for channel, methods in live.items():
        for method, numbers in methods.items():
            counts[(channel, method)]["accepted"] += numbers["accepted"]
            counts[(channel, method)]["refused"] += numbers["refused"]
    return counts


def daily_rows(building_ids, since_day) -> list[AttemptTally]:
    """The tallied days themselves, for the evidence export."""
    return list(
        AttemptTally.objects.filter(day__gte=since_day)
        .filter(
            Q(channel=Attempt.DOOR, building_id__in=list(building_ids))
            | Q(channel=Attempt.SIGN_IN, building_id=NO_BUILDING)
        )
        .order_by("day", "channel", "building_id", "method")
    )


def device_counts(device_ids, since: datetime) -> dict[int, dict[str, int]]:
    """{device id: {"face", "code", "refused"}} since `since` (a local midnight): tallied days
    plus the attempts since the mark. Two small queries."""
    device_ids = list(device_ids)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"face": 0, "code": 0, "refused": 0})
    mark = counted_until()
    if mark is not None and mark > since:
        tallied = (
            AttemptTally.objects.filter(
                device_id__in=device_ids, day__gte=timezone.localdate(since)
            )
            .values("device_id", "method")
            .annotate(accepted=Sum("accepted"), refused=Sum("refused"))
            .order_by()
        )
        for row in tallied:
            numbers = counts[row["device_id"]]
            numbers[row["method"]] += row["accepted"] + row["refused"]
            numbers["refused"] += row["refused"]
    live_from = max(mark, since) if mark is not None else since
    live = (
        Attempt.objects.filter(created_at__gte=live_from, device_id__in=device_ids)
        .values("device_id", "method")
        .annotate(total=Count("id"), refused=Count("id", filter=~Q(result=Attempt.MATCH)))
        .order_by()
    )
    for row in live:
        numbers = counts[row["device_id"]]
        numbers[row["method"]] += row["total"]
        numbers["refused"] += row["refused"]
    return counts
