"""Import MuJoCo safely: the OpenGL backend chosen first, triton loaded before it.

Both :mod:`rmeval.envs.humanoid` (rendering) and :mod:`rmeval.envs.pose_predicates`
(kinematics) import MuJoCo through this module, so neither needs the other. Importing
it sets ``MUJOCO_GL=egl`` unless already set and imports MuJoCo -- what MuJoCo needs,
nothing more: it registers and builds nothing.

Without a display, MuJoCo renders with EGL and Mesa's software renderer (llvmpipe).
Debian/Ubuntu packages: ``libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri`` (or
``MUJOCO_GL=osmesa`` with ``libosmesa6``); Python: ``PyOpenGL``.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from rmeval.errors import RmevalError


def backend_help(exc: BaseException | None = None) -> str:
    """A message saying why MuJoCo could not render and how to fix it."""
    backend = os.environ.get("MUJOCO_GL", "")
    cause = f": {type(exc).__name__}: {exc}" if exc is not None else ""
    platform = os.environ.get("PYOPENGL_PLATFORM")
    pyopengl = (
        f" PYOPENGL_PLATFORM is set to {platform!r}; unset it or make it equal to MUJOCO_GL."
        if platform and platform.lower() != backend.lower()
        else ""
    )
    return (
        f"MuJoCo cannot render with MUJOCO_GL={backend!r}{cause}. On a machine without a "
        "display set MUJOCO_GL=egl (Mesa's software renderer; Debian/Ubuntu: apt-get install "
        "libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri) or MUJOCO_GL=osmesa (apt-get install libosmesa6); "
        "with a display, MUJOCO_GL=glfw. Python needs PyOpenGL (pip install PyOpenGL)." + pyopengl
    )


def _load_llvm_users_first() -> None:
    """Load triton (torch's compiler, bundled with CUDA builds of torch) before any EGL context.

    Mesa's llvmpipe (the software OpenGL behind MUJOCO_GL=egl on machines without a GPU)
    and triton each carry their own LLVM. When triton loads after an llvmpipe context
    exists -- torchvision imports it -- the process crashes (SIGSEGV in triton/knobs.py).
    Loaded in this order, both work; rendering and CLIP embedding share processes
    (training, landscapes), so this module takes care of it.
    """
    try:
        import triton  # noqa: F401
    except Exception:  # noqa: BLE001 - not installed (CPU-only torch), or broken: nothing to protect
        pass


_load_llvm_users_first()

try:
    import mujoco
except ImportError as _exc:
    raise RmevalError(f"the Humanoid needs MuJoCo ({_exc}): pip install 'gymnasium[mujoco]'.") from None
except Exception as _exc:  # noqa: BLE001
    # MuJoCo rejects an unknown MUJOCO_GL value at import (RuntimeError).
    raise RmevalError(backend_help(_exc)) from None

__all__ = ["backend_help", "mujoco"]
