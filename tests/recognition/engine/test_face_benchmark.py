"""The operator benchmark command, on real photos with the production engine."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def photo_dir(tmp_path, photos):
    for name in ["a1", "a2", "b1", "none"]:
        (tmp_path / f"{name}.jpg").write_bytes(photos[name])
    return tmp_path


def _csv(tmp_path, rows):
    path = tmp_path / "pairs.csv"
    path.write_text("img_a,img_b,same\n" + "\n".join(rows) + "\n")
    return path


def test_face_benchmark_reports_accuracy_and_refused_photos(photo_dir, capsys):
    pairs = _csv(
        photo_dir, ["a1.jpg,a2.jpg,1", "a1.jpg,b1.jpg,0", "a2.jpg,b1.jpg,0", "a1.jpg,none.jpg,0"]
    )
    call_command("face_benchmark", str(pairs), "--images", str(photo_dir), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["pairs"] == 3 and report["skipped_pairs"] == 1
    assert report["no_face"] == ["none.jpg"]
    assert report["accuracy"] == 1.0
    assert report["false_accept_rate"] == 0.0
    assert report["embed_p50"] > 0
    assert report["tar_at_zero_far"] == 1.0 and report["equal_error_rate"] == 0.0
    low, high = report["zero_far_range"]
    assert low == report["genuine_max_distance"] and high == report["impostor_min_distance"]
    assert low < report["threshold"] < high


def test_face_benchmark_prints_a_summary(photo_dir, capsys):
    pairs = _csv(photo_dir, ["a1.jpg,a2.jpg,1", "a1.jpg,b1.jpg,0"])
    call_command("face_benchmark", str(pairs), "--images", str(photo_dir))
    out = capsys.readouterr().out
    assert "accuracy 100.0%" in out and "p50" in out


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a1.jpg,missing.jpg,1"], "no photo missing.jpg"),
        (["a1.jpg,a2.jpg,yes"], "1 or 0"),
        ([], "no pairs"),
    ],
)
def test_face_benchmark_refuses_bad_csv(photo_dir, rows, message):
    with pytest.raises(CommandError, match=message):
        call_command("face_benchmark", str(_csv(photo_dir, rows)), "--images", str(photo_dir))


def _manage(*args, home: Path, **extra_env):
    """manage.py as an operator runs it: production settings, no secrets, DEBUG off."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "DEEPFACE_HOME": str(settings.DEEPFACE_HOME),
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_face_benchmark_runs_without_production_secrets(photo_dir, tmp_path):
    pairs = _csv(photo_dir, ["a1.jpg,a2.jpg,1", "a1.jpg,b1.jpg,0"])
    var = tmp_path / "var"
    done = _manage(
        "face_benchmark",
        str(pairs),
        "--images",
        str(photo_dir),
        home=tmp_path,
        PORTAL_VAR_DIR=str(var),
    )
    assert done.returncode == 0, done.stderr
    assert "true accept at zero false accepts 100.0%" in done.stdout
    assert "equal-error rate 0.0%" in done.stdout
    assert not (var / "dev-secrets.json").exists()  # no secrets written anywhere
    # Every other command still refuses to start without them.
    refused = _manage("check", home=tmp_path, PORTAL_VAR_DIR=str(var))
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr


def test_the_model_is_prepared_without_production_secrets(tmp_path):
    """A machine or an image is made ready (the weights in place) before its secrets exist."""
    home, var = tmp_path / "deepface", tmp_path / "var"
    done = _manage(
        "prepare_face_model", home=tmp_path, DEEPFACE_HOME=str(home), PORTAL_VAR_DIR=str(var)
    )
    assert done.returncode == 0, done.stderr
    weights = home / ".deepface" / "weights"
    assert (weights / "dlib_face_recognition_resnet_model_v1.dat").stat().st_size
    assert not (var / "dev-secrets.json").exists()


def test_face_benchmark_checks_each_sets_threshold_on_the_other(photo_dir, tmp_path, capsys):
    first = _csv(photo_dir, ["a1.jpg,a2.jpg,1", "a1.jpg,b1.jpg,0"])
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    for name in ["a2", "b1", "a1"]:
        (other_dir / f"{name}.jpg").write_bytes((photo_dir / f"{name}.jpg").read_bytes())
    second = other_dir / "pairs.csv"
    second.write_text("img_a,img_b,same\na2.jpg,a1.jpg,1\na2.jpg,b1.jpg,0\n")
    args = ["--images", str(photo_dir), "--check", str(second), "--check-images", str(other_dir)]
    call_command("face_benchmark", str(first), *args, "--json")
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 2
    for report in reports:
        crossed = report["checked_on_the_other_set"]
        low, high = report["zero_far_range"]
        assert crossed["threshold"] == pytest.approx((low + high) / 2)
        assert crossed["true_accept_rate"] == 1.0 and crossed["false_accepts"] == 0
        assert "distances" not in report
    call_command("face_benchmark", str(first), *args)
    assert capsys.readouterr().out.count("threshold chosen here") == 2
    with pytest.raises(CommandError, match="go together"):
        call_command("face_benchmark", str(first), "--images", str(photo_dir), "--check", "x")
