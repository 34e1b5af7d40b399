"""Building routers from names: backend, model, adapter, strategy."""
from collections import OrderedDict

from router.backends import Backend, create_backend
from router.retrieval import CandidateStage
from router.routing import Router
from router.settings import Settings
from router.strategies import create_strategy


class RouterFactory:
    """Builds routers, loading each backend and model once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.backends: dict[tuple, Backend] = {}
        self.shortlists: OrderedDict = OrderedDict()  # conversations' candidates, shared by its routers

    def backend(self, backend: str = "local", model: str | None = None,
                adapter: str | None = None) -> Backend:
        """The backend for (backend, model, adapter), loaded on first use."""
        key = (backend, model, adapter)
        if key not in self.backends:
            self.backends[key] = create_backend(backend, model=model, adapter=adapter,
                                                settings=self.settings)
        return self.backends[key]

    def router(self, strategy: str = "constrained", backend: str = "local",
               model: str | None = None, adapter: str | None = None) -> Router:
        """A router with that strategy on that backend and model, candidates as the settings say."""
        return Router(self.backend(backend, model, adapter),
                      create_strategy(strategy, self.settings.prompts_dir),
                      CandidateStage(self.settings.candidates_above, self.settings.candidates_k),
                      self.shortlists)
