"""Where the tests find the repository, write their artefacts and read the shared photos."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
SHARED_FACES = REPO.parent / "shared" / "faces"
