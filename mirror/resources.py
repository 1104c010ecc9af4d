"""Find the JSON Schemas and the bundled sample space, installed or in a checkout."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path


@functools.cache
def data_dir(name: str) -> Path:
    """The folder `name` ("schemas" or "sample_space").

    A wheel carries them as `mirror/_data/<name>` (see pyproject.toml); a source
    checkout or an editable install has them at the top of the repository.
    """
    packaged = resources.files("mirror") / "_data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"mirror is installed without its {name}/ folder; reinstall it")


def schemas_dir() -> Path:
    return data_dir("schemas")


def sample_space_dir() -> Path:
    return data_dir("sample_space")
