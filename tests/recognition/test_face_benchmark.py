"""The operator benchmark command, on real photos with the production engine."""

import json

import pytest
from django.core.management import CommandError, call_command


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
