"""Domain errors: small named classes that say what is wrong and where."""


class RouterError(Exception):
    """Base class of every error the router raises on purpose."""


class InputError(RouterError):
    """Bad input, located by file, line and field where known."""

    def __init__(self, problem: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.problem, self.file, self.line, self.field = problem, file, line, field
        super().__init__(self.describe())

    def describe(self) -> str:
        """Render the error as 'file, line N, field F: problem'."""
        where = [str(self.file)] if self.file else []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.problem}" if where else self.problem


class CatalogError(InputError):
    """A task catalog that breaks a rule (names, descriptions, duplicates)."""


class ConversationError(InputError):
    """A conversation that cannot be read (JSON, roles, tasks)."""


class UnknownTaskError(RouterError):
    """A task name that is not in the catalog."""


class BackendError(RouterError):
    """A model backend that failed to answer (down, timeout, refused)."""


class UnknownBackendError(RouterError):
    """A backend name that no backend is registered under."""


class BackendUnavailable(BackendError):
    """A served model that cannot be reached: server down, timed out, refused the key, rate limited."""


class ConstraintUnsupported(BackendError):
    """A served model that cannot hold its answer to the candidate labels (no schema, no grammar)."""
