import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_diagnostics_doc_is_generated_from_the_registry_and_examples() -> None:
    result = subprocess.run([sys.executable, "scripts/generate_diagnostics_doc.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
