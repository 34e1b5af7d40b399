"""Fine-tuned router models: a base model and a LoRA adapter, registered by the job that trained them."""
from data.db import Store, now
from router.errors import InputError


class ModelError(InputError):
    """A model name that is unknown or taken."""


class ModelStore(Store):
    """Rows of the `models` table."""

    def register(self, name: str, base: str, adapter: str, job: int | None = None) -> str:
        """Register (or re-register) the adapter trained by `job` under `name`."""
        self.db["models"].insert({"name": name, "base": base, "adapter": adapter, "job_id": job,
                                  "created_at": now()}, replace=True)
        return name

    def listing(self) -> list[dict]:
        """Every registered model, newest first."""
        return list(self.db["models"].rows_where(order_by="created_at desc, rowid desc"))

    def get(self, name: str) -> dict:
        """The registered model called `name`."""
        row = next(self.db["models"].rows_where("name = ?", [name]), None)
        if row is None:
            raise ModelError(f"no registered model called '{name}'", field="model")
        return row

    def choices(self) -> list[tuple[str, str]]:
        """(label, name) of every registered model, for a dropdown."""
        return [(f"{m['name']} (LoRA on {m['base']})", m["name"]) for m in self.listing()]

    def resolve(self, name: str) -> tuple[str, str]:
        """The (base model, adapter folder) a registered model routes with."""
        row = self.get(name)
        return row["base"], row["adapter"]
