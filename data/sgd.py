"""Schema-Guided Dialogue, read straight from its files: intents become tasks, active intents labels."""
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from itertools import zip_longest
from pathlib import Path

from data.datasets import DatasetStore
from router.catalog import Catalog, Info, Task
from router.conversation import Conversation, Turn
from router.errors import InputError

ROLES = {"USER": "user", "SYSTEM": "assistant"}
NO_INTENT = "NONE"
# How ends are labelled: "acts", a user turn whose dialogue acts only close the conversation
# (CLOSING) is none, as DESIGN.md defines an end; "state", SGD's own active intent, which often
# stays on the intent while the user says "thank you, that's all".
ENDS = ("acts", "state")
CLOSING = {"THANK_YOU", "GOODBYE", "NEGATE", "NEGATE_INTENT"}
SERVICES = ("mixed", "single", "multi", "all")  # which dialogues to take: see choose
Progress = Callable[[int, int], None]
Found = tuple[Path, int, dict]


class SgdError(InputError):
    """An SGD folder or file that cannot be read."""


def snake(name: str) -> str:
    """CamelCase or Service_1 as snake_case: FindRestaurants -> find_restaurants."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def read_json(path: Path) -> object:
    """A JSON file, or SgdError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise SgdError(f"cannot read the file ({e})", file=str(path)) from e
    except json.JSONDecodeError as e:
        raise SgdError(f"not valid JSON ({e.msg})", file=str(path), line=e.lineno) from e


def intent_task(service: dict, intent: dict, name: str) -> Task:
    """The task of one intent: its description and its required slots as information to collect."""
    slots = {s.get("name"): s.get("description", "") for s in service.get("slots", [])}
    description = intent.get("description") or f"{intent['name']} ({service['service_name']})"
    return Task(name, description, "",
                tuple(Info(s, slots.get(s, "")) for s in intent.get("required_slots", [])))


def read_schema(folder: Path) -> dict[tuple[str, str], Task]:
    """Every (service, intent) of schema.json as a task; names shared by services get the service prefix."""
    path = folder / "schema.json"
    schema = read_json(path)
    try:
        pairs = [(s, i) for s in schema for i in s["intents"]]
        counts = Counter(snake(i["name"]) for _, i in pairs)
        return {(s["service_name"], i["name"]): intent_task(
                    s, i, snake(i["name"]) if counts[snake(i["name"])] == 1
                    else f"{snake(s['service_name'])}_{snake(i['name'])}") for s, i in pairs}
    except (TypeError, KeyError) as e:
        raise SgdError(f"missing or malformed field {e}", file=str(path), field="intents") from e


def active_intent(turn: dict, previous: tuple | None) -> tuple | None:
    """(service, intent) active after a user turn: the frame whose intent changed, else any active one."""
    actives = [(f["service"], f["state"]["active_intent"]) for f in turn.get("frames", [])
               if "state" in f and f["state"]["active_intent"] != NO_INTENT]
    changed = [a for a in actives if a != previous]
    return (changed or actives or [None])[0]


def closes(turn: dict) -> bool:
    """A user turn that only thanks, says goodbye or declines more help: the user is done.

    A goodbye that also picks the offer just made ("that one looks good, that's all I need")
    closes too: SGD marks it SELECT + GOODBYE, and nothing follows it.
    """
    acts = {a.get("act") for f in turn.get("frames", []) for a in f.get("actions", [])}
    if "GOODBYE" in acts and acts <= CLOSING | {"SELECT"}:
        return True
    return bool(acts & {"THANK_YOU", "GOODBYE"}) and acts <= CLOSING


def catalog_for(services: list[str], tasks: dict[tuple[str, str], Task], size: int,
                rng: random.Random) -> Catalog:
    """The intents of `services` plus distractors of other services up to `size`, shuffled by `rng`."""
    own = [t for (s, _), t in tasks.items() if s in services]
    own_intents = {i for s, i in tasks if s in services}
    pool = [t for (s, i), t in tasks.items() if s not in services and i not in own_intents]
    chosen = own + rng.sample(pool, max(0, min(size - len(own), len(pool))))
    rng.shuffle(chosen)
    return Catalog(chosen)


def conversation(dialogue: dict, tasks: dict[tuple[str, str], Task], size: int,
                 seed: int, ends: str = "acts") -> Conversation:
    """One SGD dialogue as a labelled conversation with a catalog of its own (ends: see ENDS)."""
    turns, current = [], None
    for raw in dialogue["turns"]:
        role = ROLES[raw["speaker"]]
        if role == "user":
            current = active_intent(raw, current)
            if current is not None and current not in tasks:
                raise KeyError(f"intent {current[1]} of service {current[0]} is not in schema.json")
            done = ends == "acts" and closes(raw)
            turns.append(Turn(role, raw["utterance"], tasks[current].name if current and not done else None,
                              True))
        else:
            turns.append(Turn(role, raw["utterance"]))
    rng = random.Random(f"{seed}:{dialogue['dialogue_id']}")
    return Conversation(id=dialogue["dialogue_id"], turns=tuple(turns), source="sgd",
                        tasks=catalog_for(dialogue["services"], tasks, size, rng),
                        meta={"services": dialogue["services"]})


def dialogue_files(folder: Path) -> list[Path]:
    """The folder's dialogues_*.json files in order, or SgdError if there are none."""
    files = sorted(folder.glob("dialogues_*.json"))
    if not files:
        raise SgdError("no dialogues_*.json files in the folder", file=str(folder))
    return files


def malformed(path: Path, k: int, error: Exception) -> SgdError:
    """The error of dialogue `k` of a file."""
    return SgdError(f"missing or malformed field: {error}", file=str(path), field=f"[{k}]")


def in_file_order(folder: Path, limit: int | None) -> list[Found]:
    """The folder's first `limit` dialogues (all of them without a limit), reading no file more."""
    found = []
    for path in dialogue_files(folder):
        found += [(path, k, d) for k, d in enumerate(read_json(path))]
        if limit is not None and len(found) >= limit:
            break
    return found[:limit]


def kind_and_rank(path: Path, k: int, dialogue: dict, seed: int) -> tuple[str, str]:
    """'multi' (several services) or 'single', and the dialogue's place in a sample seeded by `seed`."""
    try:
        kind = "multi" if len(dialogue["services"]) > 1 else "single"
        return kind, hashlib.sha256(f"{seed}:{dialogue['dialogue_id']}".encode()).hexdigest()
    except (TypeError, KeyError) as e:
        raise malformed(path, k, e) from e


def samples(folder: Path, kinds: tuple[str, ...], limit: int | None, seed: int) -> list[list[Found]]:
    """Per kind, its dialogues in seeded order (the first `limit` of each): every file is read."""
    pools = {kind: [] for kind in kinds}
    for path in dialogue_files(folder):
        for k, dialogue in enumerate(read_json(path)):
            kind, rank = kind_and_rank(path, k, dialogue, seed)
            if kind in pools:
                pools[kind].append((rank, (path, k, dialogue)))
        pools = {kind: sorted(pool, key=lambda p: p[0])[:limit] for kind, pool in pools.items()}
    return [[found for _, found in pool] for pool in pools.values()]


def alternate(pools: list[list[Found]]) -> list[Found]:
    """One of each pool in turn; when one runs out, the rest of the others."""
    return [found for group in zip_longest(*pools) for found in group if found is not None]


def choose(folder: Path, services: str, limit: int | None, seed: int) -> list[Found]:
    """The dialogues to read, by number of services (SERVICES), at most `limit`."""
    if services not in SERVICES:
        raise SgdError(f"unknown services '{services}' ({', '.join(SERVICES)})")
    if services == "all":
        return in_file_order(folder, limit)
    kinds = ("single", "multi") if services == "mixed" else (services,)
    return alternate(samples(folder, kinds, limit, seed))[:limit]


def read_sgd(folder: str | Path, limit: int | None = None, catalog_size: int = 10, seed: int = 0,
             progress: Progress | None = None, services: str = "mixed",
             ends: str = "acts") -> list[Conversation]:
    """`limit` dialogues of an SGD folder, chosen by `services`, as labelled conversations."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SgdError("not a folder", file=str(folder))
    if ends not in ENDS:
        raise SgdError(f"unknown ends '{ends}' ({', '.join(ENDS)})")
    tasks = read_schema(folder)
    dialogues = choose(folder, services, limit, seed)
    conversations = []
    for path, k, dialogue in dialogues:
        try:
            conversations.append(conversation(dialogue, tasks, catalog_size, seed, ends))
        except (TypeError, KeyError) as e:
            raise malformed(path, k, e) from e
        if progress:
            progress(len(conversations), len(dialogues))
    return conversations


def import_sgd(store: DatasetStore, name: str, folder: str | Path, limit: int | None = None,
               catalog_size: int = 10, seed: int = 0, progress: Progress | None = None,
               services: str = "mixed", ends: str = "acts") -> int:
    """Import an SGD folder into dataset `name`, all of it or nothing."""
    return store.add(name, read_sgd(folder, limit, catalog_size, seed, progress, services, ends), source="sgd")
