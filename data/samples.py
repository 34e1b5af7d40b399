"""The demo dataset shipped with the project (data/demo/demo.jsonl, over the default catalog)."""
from pathlib import Path

from data.datasets import DatasetStore
from data.migrations import DEFAULT_CATALOG
from router.catalog import Catalog

DEMO = Path(__file__).with_name("demo") / "demo.jsonl"


def import_demo(store: DatasetStore, name: str = "demo") -> int:
    """Import the demo conversations into dataset `name` with the default catalog."""
    return store.import_jsonl(name, DEMO, Catalog.load(DEFAULT_CATALOG), source="demo")
