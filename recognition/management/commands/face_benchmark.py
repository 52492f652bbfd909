import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognition.engine import WeightsMissing, get_engine
from recognition.engine.facebench import cross_check, run_benchmark


class Command(BaseCommand):
    help = (
        "Checks the face model on your own labelled photo pairs before deployment. "
        "PAIRS.csv has the columns img_a,img_b,same (1 or 0)."
    )

    def add_arguments(self, parser):
        parser.add_argument("pairs", type=Path, help="CSV file with img_a,img_b,same")
        parser.add_argument("--images", type=Path, required=True, help="folder of the photos")
        parser.add_argument("--json", action="store_true", help="print the full report as JSON")
        parser.add_argument(
            "--check",
            type=Path,
            help="a second CSV of other people: each set's threshold is checked on the other",
        )
        parser.add_argument("--check-images", type=Path, help="folder of the second set's photos")

    def handle(self, *args, pairs: Path, images: Path, json: bool = False, **options):
        pair_list = read_pairs(pairs, images)
        check, check_images = options.get("check"), options.get("check_images")
        if (check is None) != (check_images is None):
            raise CommandError("--check and --check-images go together")
        other_pairs = read_pairs(check, check_images) if check is not None else None
        try:
            engine = get_engine()
        except WeightsMissing as missing:
            raise CommandError(str(missing)) from missing
        report = run_benchmark(pair_list, images, engine)
        reports = [report]
        if other_pairs is not None:
            other = run_benchmark(other_pairs, check_images, engine)
            reports.append(other)
            report["checked_on_the_other_set"] = cross_check(report, other)
            other["checked_on_the_other_set"] = cross_check(other, report)
        for each in reports:
            each.pop("embed_seconds", None)
            each.pop("distances", None)
        if json:
            self.stdout.write(_dumps(report if len(reports) == 1 else reports))
            return
        self.stdout.write("\n\n".join(summary(each) for each in reports))


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2, default=str)


def read_pairs(path: Path, images: Path) -> list[tuple[str, str, bool]]:
    if not path.is_file():
        raise CommandError(f"No such file: {path}")
    if not images.is_dir():
        raise CommandError(f"No such folder: {images}")
    pairs = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"img_a", "img_b", "same"} <= set(reader.fieldnames):
            raise CommandError("The CSV needs the columns img_a,img_b,same")
        for line, row in enumerate(reader, start=2):
            if row["same"].strip() not in {"0", "1"}:
                raise CommandError(f"Line {line}: same must be 1 or 0, not {row['same']!r}")
            for name in (row["img_a"], row["img_b"]):
                if not (images / name).is_file():
                    raise CommandError(f"Line {line}: no photo {name} in {images}")
            pairs.append((row["img_a"].strip(), row["img_b"].strip(), row["same"].strip() == "1"))
    if not pairs:
        raise CommandError("The CSV holds no pairs")
    return pairs


def _pct(value) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _range(bounds) -> str:
    if bounds is None:
        return "n/a"
    low, high = bounds
    return f"[{_num(low)}, {_num(high)})" if high is not None else f"from {_num(low)}"


def summary(r: dict) -> str:
    lines = [
        f"model {r['model_id']}: {r['pairs']} pairs scored ({r['skipped_pairs']} skipped), "
        f"{r['embedded']}/{r['images']} photos embedded",
        f"at threshold {r['threshold']:.3f}: accuracy {_pct(r['accuracy'])}, "
        f"true accept {_pct(r['true_accept_rate'])}, false accept {_pct(r['false_accept_rate'])}",
        f"best threshold {_num(r['best_threshold'])}: accuracy {_pct(r['best_accuracy'])}",
        f"true accept at zero false accepts {_pct(r['tar_at_zero_far'])} "
        f"for thresholds {_range(r['zero_far_range'])}; "
        f"equal-error rate {_pct(r['equal_error_rate'])}",
        f"no face: {', '.join(r['no_face']) or 'none'}; "
        f"several faces: {', '.join(r['several_faces']) or 'none'}",
        f"embedding time p50 {_num(r['embed_p50'])} s, p95 {_num(r['embed_p95'])} s",
    ]
    crossed = r.get("checked_on_the_other_set")
    if crossed is not None:
        lines.append(
            f"threshold chosen here ({_num(crossed['threshold'])}) on the other set: true accept "
            f"{_pct(crossed['true_accept_rate'])}, false accepts {crossed['false_accepts']}"
        )
    return "\n".join(lines)
