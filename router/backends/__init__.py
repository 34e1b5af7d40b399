"""Backends registered by name behind one interface; the built-in ones are imported on first use."""
import importlib
from collections.abc import Callable

from router.backends.base import Backend
from router.errors import UnknownBackendError

REGISTRY: dict[str, Callable[..., Backend]] = {}
BUILTIN = {"local": "router.backends.local", "openai": "router.backends.openai", "tgi": "router.backends.tgi"}


def register(name: str):
    """Class decorator: make a backend available under `name`."""
    def wrap(cls):
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return wrap


def backend_names() -> list[str]:
    """Names of the backends, built-in and registered; imports none of them."""
    return sorted(BUILTIN.keys() | REGISTRY.keys())


def create_backend(name: str, **options) -> Backend:
    """Build the backend registered under `name` with its options (model, adapter, ...)."""
    if name not in REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])  # registers itself
    if name not in REGISTRY:
        raise UnknownBackendError(f"unknown backend '{name}' (known: {', '.join(backend_names())})")
    return REGISTRY[name](**options)


__all__ = ["Backend", "register", "backend_names", "create_backend"]
