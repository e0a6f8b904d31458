"""The install instructions say how to get the CPU build of torch from a checkout (`pip install -e .`
alone brings PyPI's CUDA build on Linux, a 6.2 GB environment, while the packages are CPU-only by
default), with the same command as `packaging/build.py --cpu-note`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_TORCH = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"


def readme_section(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- section: {name} -->(.*?)<!-- /section: {name} -->", text, re.S)
    assert match, f"README.md has no '{name}' section"
    return match.group(1)


def test_readme_and_install_guide_say_how_to_get_the_cpu_build_from_a_checkout() -> None:
    install = readme_section("install")
    assert CPU_TORCH in install and "pip install -e ." in install
    assert install.index(CPU_TORCH) < install.rindex("pip install -e ."), "torch first, then the rest"
    guide = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    section = guide[guide.index("## From a checkout: the CPU build of torch"):]
    assert CPU_TORCH in section and section.index(CPU_TORCH) < section.index('pip install -e ".[test]"')
    assert "torch.version.cuda" in section
    anchor = "docs/install.md#from-a-checkout-the-cpu-build-of-torch"
    assert anchor in install, "the README links the guide's section"


def test_the_build_script_gives_the_same_cpu_command() -> None:
    note = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--cpu-note"], capture_output=True,
                          text=True, check=True).stdout
    assert CPU_TORCH in note
