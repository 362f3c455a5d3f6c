"""The first import of a job that runs only numpy code of VI.py (sampling, EM, the KDE, Part 2,
the robustness study's EM and KDE parts, tables): such a job does not import torch, which
would cost it about 1.5 s of CPU, more than most of these jobs compute.

VI.py imports torch at its top, as the course's code does, and at import time it uses torch
only to name things: nn.Module as the energy's base class, nn.ReLU and torch.optim.Adam as
settings' defaults, torch.float64 as a default dtype (vi_extras likewise names the variants'
classes). Importing this module puts a stand-in `torch` into sys.modules for the job's
process, so those names resolve without loading torch. The stand-in's objects can be named,
subclassed and compared, and keep torch's names (nn.ReLU.__name__ is "ReLU", as the
settings' JSON writes it); calling or instantiating any of them raises TorchNotLoaded, which
names the object. A job that imports this module and reaches torch code therefore stops with
that error instead of computing anything with a stand-in: remove the import from its script
(and `numpy_job` from its rule's code) to give it torch.
"""

import sys
import types


class TorchNotLoaded(RuntimeError):
    """A job that imported numpy_job (it runs without torch) used torch."""


class _TorchName(type):
    """The type of the stand-in's objects: classes named after torch's, whose attributes are
    more of them, and whose instantiation (a call) raises TorchNotLoaded."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _stand_in(f"{cls.torch_path}.{name}")

    def __call__(cls, *args, **kwargs):
        raise TorchNotLoaded(
            f"{cls.__name__} ({cls.torch_path}) needs torch, but this job runs VI.py's numpy code only: "
            f"its script imports numpy_job (workflow/scripts/numpy_job.py). Remove that import and "
            f"'numpy_job' from its rule's code(...) if the job is meant to use torch."
        )


_made: dict[str, type] = {}


def _stand_in(path: str) -> type:
    """The stand-in of torch's object at the dotted `path` ("torch.nn.ReLU"), the same object each time."""
    if path not in _made:
        module, _, name = path.rpartition(".")
        _made[path] = _TorchName(name, (), {"torch_path": path, "__module__": module})
    return _made[path]


def _module_attribute(name: str) -> type:
    if name.startswith("__"):
        raise AttributeError(name)
    return _stand_in(f"torch.{name}")


def _install() -> None:
    if "torch" in sys.modules and not getattr(sys.modules["torch"], "is_stand_in", False):
        raise RuntimeError("numpy_job must be imported before anything imports torch (it is the job's first import)")
    torch = types.ModuleType("torch", "Stand-in for torch in a job that runs numpy code only (numpy_job).")
    torch.is_stand_in = True
    torch.__getattr__ = _module_attribute  # a module's __getattr__ (PEP 562)
    sys.modules["torch"] = torch


_install()
