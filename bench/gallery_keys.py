"""Door gallery loading with per-person data keys against the loading of today's main branch
(templates under the key ring itself, Fernet), on the same 100,000 templates in one run.

Needs the database that `bench/identify.py --keep` leaves (100,000 templates of one door
purpose). Alternates, each a cold load of the whole gallery as a worker does once:
1. per-person keys (AES-GCM, keys joined in), as stored by the services now;
2. the same embeddings under the key ring (Fernet), loaded the way main did (ids as query
   parameters in chunks of 2,000, one Fernet decryption per row);
then the templates are moved back under per-person keys by `rotate_face_keys`.

    .venv/bin/python bench/gallery_keys.py [--database portal_bench_identify] [--rounds 2]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the workers (portal/celery.py)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _stack  # noqa: E402
from bench.identify import DB, REDIS_DB  # noqa: E402


def main_branch_decrypt(template_ids):
    """recognition.doors.identify._decrypt as on main before per-person keys."""
    import numpy as np

    from recognition.lifecycle import crypto
    from recognition.models import FaceTemplate

    vectors = {}
    for start in range(0, len(template_ids), 2_000):
        chunk = template_ids[start : start + 2_000]
        for pk, token in FaceTemplate.objects.filter(pk__in=chunk).values_list("pk", "ciphertext"):
            vectors[pk] = np.frombuffer(crypto.fernet().decrypt(bytes(token)), dtype="<f4")
    return vectors


def cold_load(building_id, purpose_id, model_id) -> float:
    from recognition.doors import identify

    identify.forget_all()
    started = time.perf_counter()
    gallery = identify.gallery_for(building_id, purpose_id, model_id)
    took = time.perf_counter() - started
    assert len(gallery) >= 100_000, len(gallery)
    return took


def to_ring(purpose) -> None:
    """Every template of the purpose re-encrypted under the key ring, as main stored them."""
    from django.db import connection, transaction

    from recognition.doors import identify
    from recognition.lifecycle import crypto
    from recognition.models import FaceTemplate

    rows = list(
        FaceTemplate.objects.filter(purpose=purpose).values_list("pk", "person_id", "ciphertext")
    )
    plain = crypto.decrypt_many(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE ring (id bigint, token bytea) ON COMMIT DROP")
        with cursor.cursor.copy("COPY ring (id, token) FROM STDIN") as copy:
            for pk, vector in plain.items():
                copy.write_row((pk, crypto.fernet().encrypt(vector.tobytes())))
        cursor.execute(
            "UPDATE recognition_facetemplate t SET ciphertext = r.token FROM ring r "
            "WHERE t.id = r.id"
        )
        identify.bump([(purpose.building_id, purpose.pk)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DB)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    _stack.use_in_this_process(_stack.stack_env(args.database, REDIS_DB))
    import django

    django.setup()
    from consent.models import Purpose
    from recognition.doors import identify
    from recognition.engine import engine_from_settings
    from recognition.lifecycle import services

    model_id = engine_from_settings().model_id
    purpose = Purpose.objects.order_by("pk").last()
    now_loads, main_loads = [], []
    for _ in range(args.rounds):
        now_loads.append(cold_load(purpose.building_id, purpose.pk, model_id))
        to_ring(purpose)
        ours = identify._decrypt
        identify._decrypt = main_branch_decrypt
        try:
            main_loads.append(cold_load(purpose.building_id, purpose.pk, model_id))
        finally:
            identify._decrypt = ours
        services.rotate_face_keys(batch_size=5_000)  # back under per-person keys
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    now50, main50 = statistics.median(now_loads), statistics.median(main_loads)
    print(f"load average (1, 5, 15 min): {load}")
    print(f"per-person keys (AES-GCM)      cold load p50 {now50:5.1f} s  {now_loads}")
    print(f"main: key ring (Fernet)        cold load p50 {main50:5.1f} s  {main_loads}")
    print(f"per-person keys / main = {now50 / main50:.2f}x")


if __name__ == "__main__":
    main()
