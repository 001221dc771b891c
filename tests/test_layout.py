"""The packages' layers (issue 10): model/ is the bottom, learning/ builds on it, service/ and cli/ on both.

Checked by importing every module of a package in a fresh interpreter and listing what came with it:
learning/retraining.py once imported the service's store, so training pulled in the HTTP service.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_IMPORTS = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(module.name)
print("\\n".join(sorted({".".join(name.split(".")[:2]) for name in sys.modules if name.startswith("moderation.")})))
"""


def _packages_loaded_by(package: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _IMPORTS, package], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("moderation.model", {"moderation.learning", "moderation.service", "moderation.cli"}),
        ("moderation.learning", {"moderation.service", "moderation.cli"}),
        ("moderation.formats", {"moderation.learning", "moderation.service", "moderation.cli"}),
    ],
    ids=["model", "learning", "formats"],
)
def test_a_package_never_imports_the_layers_above_it(package, forbidden):
    loaded = _packages_loaded_by(package)
    assert package in loaded
    assert not loaded & forbidden, f"{package} imports {sorted(loaded & forbidden)}"
