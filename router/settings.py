"""Settings read once from the environment, with defaults that work out of the box."""
import os
from dataclasses import dataclass, field
from pathlib import Path

from router.assistant import REPLY_TOKENS
from router.catalog import MAX_TASKS
from router.embedded import SHIPPED_ADAPTER
from router.retrieval import ABOVE, K

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where things live, how the app listens, which served models it may call (keys never shown)."""

    data_dir: Path
    db_path: Path
    model_cache: Path
    prompts_dir: Path
    cache_budget_mb: int
    host: str
    port: int
    max_upload_mb: int = 20
    max_tasks: int = MAX_TASKS
    candidates_above: int = ABOVE
    candidates_k: int = K
    openai_base_url: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    tgi_url: str | None = field(default=None, repr=False)
    tgi_token: str | None = field(default=None, repr=False)
    backend_timeout: float = 30.0
    backend_tries: int = 4
    prices_path: Path | None = None
    default_adapter: str | None = None
    reply_tokens: int = REPLY_TOKENS

    def adapter_for(self, backend: str, model: str | None, given: str | None) -> str | None:
        """The adapter a router runs with: `given` ('none': the base model), else the default router's.

        The default adapter belongs to the embedded model on the local backend; any other model or
        backend runs without one unless told.
        """
        if given is not None and given.strip():
            return default_adapter(given)
        return self.default_adapter if backend == "local" and model is None else None

    @property
    def exports_dir(self) -> Path:
        """The only folder the app writes dataset exports to."""
        return self.data_dir / "exports"

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        """Read ROUTER_* variables; every one is optional."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("ROUTER_DATA_DIR") or ROOT / "var")
        return cls(
            data_dir=data_dir,
            db_path=Path(env.get("ROUTER_DB") or data_dir / "playground.db"),
            model_cache=Path(env.get("ROUTER_MODEL_CACHE")
                             or Path.home() / ".cache" / "router-playground"),
            prompts_dir=Path(env.get("ROUTER_PROMPTS_DIR") or ROOT / "router" / "prompts"),
            cache_budget_mb=int(env.get("ROUTER_CACHE_BUDGET_MB") or 512),
            host=env.get("ROUTER_HOST") or "127.0.0.1",
            port=int(env.get("ROUTER_PORT") or 7860),
            max_upload_mb=int(env.get("ROUTER_MAX_UPLOAD_MB") or 20),
            max_tasks=int(env.get("ROUTER_MAX_TASKS") or MAX_TASKS),
            candidates_above=int(env.get("ROUTER_CANDIDATES_ABOVE") or ABOVE),
            candidates_k=int(env.get("ROUTER_CANDIDATES_K") or K),
            openai_base_url=env.get("ROUTER_OPENAI_BASE_URL") or None,
            openai_api_key=env.get("ROUTER_OPENAI_API_KEY") or env.get("OPENAI_API_KEY") or None,
            tgi_url=env.get("ROUTER_TGI_URL") or None,
            tgi_token=env.get("HF_TOKEN") or None,
            backend_timeout=float(env.get("ROUTER_BACKEND_TIMEOUT") or 30),
            backend_tries=int(env.get("ROUTER_BACKEND_TRIES") or 4),
            prices_path=Path(env["ROUTER_PRICES"]) if env.get("ROUTER_PRICES") else None,
            default_adapter=default_adapter(env.get("ROUTER_ADAPTER")),
            reply_tokens=int(env.get("ROUTER_REPLY_TOKENS") or REPLY_TOKENS),
        )


def default_adapter(value: str | None) -> str | None:
    """The adapter folder of the default router: the shipped one unless ROUTER_ADAPTER says (none: the base)."""
    if value is None or not value.strip():
        return str(SHIPPED_ADAPTER)
    return None if value.strip().lower() == "none" else value.strip()
