"""In-process transformers backend: the embedded model, a model folder or hub id, an optional adapter."""
import importlib.util
import threading
from collections.abc import Iterator
from functools import lru_cache

import torch

from router.backends import register
from router.backends.base import Backend, cut_at_stop
from router.backends.kvcache import Entry, PrefixCache, clone_prefix, common_prefix, crop
from router.backends.tree import Layout, layout
from router.backends.trie import TokenTrie
from router.embedded import EMBEDDED, embedded_model_dir
from router.errors import BackendError
from router.prompting import Prompt
from router.settings import Settings
from router.usage import count_tokens

MARK = "\x00PARTS\x00"
MIN_SHARED = 16  # tokens another conversation must share before its cache is copied


def device_options() -> dict:
    """How to load a model here: 4-bit NF4 on CUDA with bitsandbytes, bf16 on CUDA without it, else CPU."""
    if not torch.cuda.is_available():
        return {}
    if importlib.util.find_spec("bitsandbytes") is None:
        return {"device_map": "auto", "dtype": torch.bfloat16}
    from transformers import BitsAndBytesConfig

    return {"device_map": "auto", "quantization_config": BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)}


def load_model(path: str, adapter: str | None):
    """Load tokenizer and model (see device_options) and the adapter, if any.

    An adapter is merged into the weights unless they are 4-bit: routing then costs what the base costs.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options = device_options()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, **options)
        if adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter)
            if "quantization_config" not in options:
                model = model.merge_and_unload()
    except (OSError, ValueError) as e:
        raise BackendError(f"cannot load model '{path}'" + (f" with adapter '{adapter}'" if adapter
                                                           else "") + f": {e}") from e
    return tokenizer, model.eval()


def chat_frame(tokenizer, system: str) -> tuple[str, str]:
    """Chat-template text before and after the user message."""
    if not tokenizer.chat_template:
        return system + "\n\n", "\n\n"
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": system}, {"role": "user", "content": MARK}],
        tokenize=False, add_generation_prompt=True)
    before, after = text.split(MARK)
    return before, after


def part_encoder(tokenizer):
    """A cached text -> token ids function without special tokens: prompts are tokenized part by part."""
    return lru_cache(maxsize=8192)(lambda text: tuple(tokenizer.encode(text, add_special_tokens=False)))


def answer_end(tokenizer) -> list[int]:
    """The token that closes an answer (none when the tokenizer has no end-of-sequence token)."""
    return [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []


def prompt_texts(tokenizer, prompt: Prompt) -> tuple[str, ...]:
    """The texts a prompt is tokenized from, each on its own: framing, parts, closing and answer prefix."""
    before, after = chat_frame(tokenizer, prompt.system)
    return (before, *prompt.parts, after + prompt.answer_prefix)


@register("local")
class LocalBackend(Backend):
    """Transformers in this process, reusing each conversation's key/value cache."""

    reads_ahead = True

    def __init__(self, model: str | None = None, adapter: str | None = None,
                 settings: Settings | None = None, reuse: bool = True,
                 cache_budget_mb: int | None = None, **_ignored):
        settings = settings or Settings.from_env()
        self.model = model or EMBEDDED
        self.adapter = adapter
        path = str(embedded_model_dir(settings.model_cache)) if self.model == EMBEDDED else self.model
        self.tokenizer, self.net = load_model(path, adapter)
        self.device = next(self.net.parameters()).device
        self.reuse = reuse
        self.cache = PrefixCache((cache_budget_mb or settings.cache_budget_mb) * 2**20)
        self.lock = threading.Lock()
        self.last_read = 0  # tokens the last forward pass read (prompt suffixes and candidates)
        self.encode_part = part_encoder(self.tokenizer)

    def encode(self, prompt: Prompt) -> list[int]:
        """Token ids of a prompt, part by part, so that a longer conversation extends a shorter one."""
        ids: list[int] = []
        for text in prompt_texts(self.tokenizer, prompt):
            ids.extend(self.encode_part(text))
        return ids

    def header_length(self, prompt: Prompt) -> int:
        """Tokens of the fixed part: the framing, the system text and the first part (catalog)."""
        framing = chat_frame(self.tokenizer, prompt.system)[0]
        return len(self.encode_part(framing)) + len(self.encode_part(prompt.parts[0]))

    def end_ids(self) -> list[int]:
        """Token that closes an answer."""
        return answer_end(self.tokenizer)

    def reusable(self, ids: list[int], session: str | None):
        """A cache to extend to `ids`, how many of its positions are kept, and scores read ahead.

        The session's own cache, else a copy of the longest prefix another conversation
        shares with `ids` (the instructions and the catalog), else a new cache.
        """
        from transformers import DynamicCache

        if not (session and self.reuse):
            return DynamicCache(config=self.net.config), 0, {}
        entry = self.cache.take(session)
        if entry is not None:
            keep = min(common_prefix(entry.ids, ids), len(ids) - 1)
            crop(entry.kv, keep)
            return entry.kv, keep, entry.scored
        other, shared = self.cache.longest_prefix(ids)
        keep = min(shared, len(ids) - 1)
        if other is None or keep < MIN_SHARED:
            return DynamicCache(config=self.net.config), 0, {}
        return clone_prefix(other.kv, keep, self.net.config), keep, {}

    def forward(self, kv, tokens: list[int], plan: Layout | None = None) -> torch.Tensor:
        """Read `tokens` after the cache, laid out by `plan` if given, else in a row.

        Returns log-probabilities: after each of the plan's read rows (in their order), else after the last token.
        """
        self.last_read = len(tokens)
        options: dict = {"logits_to_keep": 1}
        if plan:
            dtype = self.net.dtype if self.net.dtype.is_floating_point else torch.float32
            bias = torch.zeros(plan.allowed.shape, dtype=dtype).masked_fill(~plan.allowed, torch.finfo(dtype).min)
            options = {"attention_mask": bias[None, None].to(self.device),
                       "position_ids": plan.positions[None].to(self.device),
                       "logits_to_keep": torch.tensor([r for rows in plan.read for r in rows], device=self.device)}
        out = self.net(input_ids=torch.tensor([tokens], device=self.device), past_key_values=kv,
                       use_cache=True, **options)
        return torch.log_softmax(out.logits[0].float(), dim=-1)

    def keep(self, session: str | None, prompt: Prompt, ids: list[int], kv, scored: dict | None = None) -> None:
        """Store the cache of `ids` (and scores read after them) for the session's next decision."""
        crop(kv, len(ids))
        if session and self.reuse:
            self.cache.put(session, Entry(list(ids), kv, self.header_length(prompt), scored or {}))

    def score(self, prompt: Prompt, candidates: list[str], session: str | None = None) -> list[float]:
        """Score every candidate in one pass: the new prompt tokens, then the candidates' trie."""
        return self.score_many([prompt], candidates, session)[0]

    def score_many(self, prompts: list[Prompt], candidates: list[str],
                   session: str | None = None) -> list[list[float]]:
        """Score the candidates after every prompt in one pass over the session's cache (see `layout`).

        The first prompt is the session's: its cache is kept for the next decision, with its scores
        (a decision that reads it again as a branch takes them: see `Router.prepare`); the others
        are read as branches forked where they part from it, and leave nothing behind.
        """
        ids = [self.encode(p) for p in prompts]
        labels = [list(self.encode_part(c)) for c in candidates]
        trie = TokenTrie.build(labels, self.end_ids())
        keys = [(tuple(i), tuple(map(tuple, labels))) for i in ids]
        with self.lock, torch.inference_mode():
            kv, keep, ahead = self.reusable(ids[0], session)
            read = [0] + [k for k in range(1, len(ids)) if keys[k] not in ahead]
            plan = layout([ids[k] for k in read], keep, trie)
            logp = self.forward(kv, plan.tokens, plan)
            rows = len(trie.tokens) + 1
            scores = dict(zip(read, (trie.scores(logp[n * rows: (n + 1) * rows]) for n in range(len(read)))))
            self.keep(session, prompts[0], ids[0], kv, {keys[0]: scores[0]})
        count_tokens(len(plan.tokens), 0)  # what was read: the cache's tokens cost nothing
        return [scores[k] if k in scores else ahead[keys[k]] for k in range(len(ids))]

    def generate(self, prompt: Prompt, max_tokens: int, stop: tuple[str, ...] = (),
                 session: str | None = None) -> str:
        """Greedy decoding on top of the session's cache."""
        ids = self.encode(prompt)
        out: list[int] = []
        with self.lock, torch.inference_mode():
            kv, keep, _ = self.reusable(ids, session)
            logits = self.forward(kv, ids[keep:])[-1]
            text = ""
            for _ in range(max_tokens):
                token = int(logits.argmax())
                if token in self.end_ids():
                    break
                out.append(token)
                text = self.tokenizer.decode(out, skip_special_tokens=True)
                if any(s in text for s in stop):
                    break
                logits = self.forward(kv, out[-1:])[-1]
            self.keep(session, prompt, ids, kv)
        count_tokens(len(ids) - keep, len(out))
        return cut_at_stop(text, stop)

    def chat(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        """Stream a greedy reply through the tokenizer's chat template, generated in a thread."""
        from transformers import TextIteratorStreamer

        inputs = self.chat_inputs(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failed: list[Exception] = []

        def run() -> None:
            try:
                with self.lock, torch.inference_mode():
                    self.net.generate(**inputs, max_new_tokens=max_tokens, do_sample=False,
                                      streamer=streamer, pad_token_id=self.tokenizer.eos_token_id)
            except Exception as e:  # handed to the reader below
                failed.append(e)
                streamer.end()

        threading.Thread(target=run, daemon=True).start()
        yield from (piece for piece in streamer if piece)
        if failed:
            raise BackendError(f"the local model failed while replying: {failed[0]}") from failed[0]

    def chat_inputs(self, messages: list[dict]) -> dict:
        """Token ids (and attention mask) of chat messages ready for the reply."""
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                      return_dict=True, return_tensors="pt").to(self.device)
        text = "".join(f"{m['role']}: {m['content']}\n\n" for m in messages) + "assistant:"
        return self.tokenizer(text, return_tensors="pt").to(self.device)

    def forget(self, session: str) -> None:
        """Drop the session's cache but for its fixed part, which later conversations may share."""
        self.cache.drop(session)

