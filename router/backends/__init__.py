"""Backends registered by name behind one interface."""
from collections.abc import Callable

from router.backends.base import Backend
from router.errors import UnknownBackendError

REGISTRY: dict[str, Callable[..., Backend]] = {}


def register(name: str):
    """Class decorator: make a backend available under `name`."""
    def wrap(cls):
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return wrap


def backend_names() -> list[str]:
    """Names of the registered backends."""
    load_builtin()
    return sorted(REGISTRY)


def create_backend(name: str, **options) -> Backend:
    """Build the backend registered under `name` with its options (model, adapter, ...)."""
    load_builtin()
    if name not in REGISTRY:
        raise UnknownBackendError(f"unknown backend '{name}' (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name](**options)


def load_builtin() -> None:
    """Import the built-in backends so that they register themselves."""
    import router.backends.local  # noqa: F401
    import router.backends.openai  # noqa: F401
    import router.backends.tgi  # noqa: F401


__all__ = ["Backend", "register", "backend_names", "create_backend"]
