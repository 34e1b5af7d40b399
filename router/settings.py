"""Settings read once from the environment, with defaults that work out of the box."""
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where things live and how the app listens."""

    data_dir: Path
    db_path: Path
    model_cache: Path
    prompts_dir: Path
    cache_budget_mb: int
    host: str
    port: int
    max_upload_mb: int = 20

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
        )
