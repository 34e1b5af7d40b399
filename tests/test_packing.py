"""Packed training rows read the same tokens as one-turn examples: equal log-probabilities and loss."""
import pytest
import torch

from router.embedded import embedded_model_dir
from router.settings import Settings
from router.strategies import create_strategy
from router.metrics import Judged
from router.training.examples import ExampleBuilder, Perturbation, rolled_currents
from router.training.packing import IGNORE, BranchMask, PackedBuilder, PackedCollator, branch_mask
from tests.test_training import tiny_conversations

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model_and_tokenizer():
    """A fresh copy of the embedded model with the branch-mask hook (the shared backend stays untouched)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = str(embedded_model_dir(Settings.from_env().model_cache))
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa").eval()
    BranchMask().install(model)
    return model, AutoTokenizer.from_pretrained(path)


@pytest.fixture
def conversations(small_catalog):
    """Conversations with starts, switches and ends, and one longer conversation."""
    convs = tiny_conversations(small_catalog, 2)
    long = convs[1]
    return [*convs, type(long)("long", long.turns + long.turns + long.turns, "chat", small_catalog)]


def builders(settings, tokenizer, max_length: int, share: float = 0.5):
    """The packed and the one-turn builders with the same perturbation."""
    strategy, perturbation = create_strategy("constrained", settings.prompts_dir), Perturbation(share, 3)
    return (PackedBuilder(strategy, tokenizer, max_length, perturbation),
            ExampleBuilder(strategy, tokenizer, max_length, perturbation))


def packed_logps(model, tokenizer, rows) -> tuple[list[float], float]:
    """Log-probability of every answer token of the rows, in order, and the model's loss on the batch."""
    batch = PackedCollator(tokenizer.pad_token_id)([r.to_dict() for r in rows])
    with torch.no_grad():
        out = model(**batch)
    logp = torch.log_softmax(out.logits.float(), dim=-1)
    labels = batch["labels"]
    return [logp[b, t - 1, labels[b, t]].item() for b in range(len(rows))
            for t in range(1, labels.shape[1]) if labels[b, t] != IGNORE], out.loss.item()


def unpacked_logps(model, examples) -> list[float]:
    """Log-probability of every answer token of one-turn examples, each read on its own."""
    out = []
    with torch.no_grad():
        for e in examples:
            logits = model(input_ids=torch.tensor([[*e.prompt_ids, *e.completion_ids]])).logits[0]
            logp, n = torch.log_softmax(logits.float(), dim=-1), len(e.prompt_ids)
            out += [logp[n + k - 1, t].item() for k, t in enumerate(e.completion_ids)]
    return out


def assert_same_as_unpacked(model, tokenizer, settings, conversations, max_length: int):
    """Packed rows give the one-turn examples' answer log-probabilities and loss."""
    packed_builder, example_builder = builders(settings, tokenizer, max_length)
    rows, examples = packed_builder.build(conversations), example_builder.build(conversations)
    assert packed_builder.decisions == len(examples) > len(conversations)
    packed, loss = packed_logps(model, tokenizer, rows)
    unpacked = unpacked_logps(model, examples)
    assert len(packed) == len(unpacked)
    assert max(abs(a - b) for a, b in zip(packed, unpacked)) < TOLERANCE
    assert abs(loss + sum(unpacked) / len(unpacked)) < TOLERANCE
    return rows, examples


def test_packed_rows_equal_one_turn_examples(model_and_tokenizer, settings, conversations):
    model, tokenizer = model_and_tokenizer
    rows, examples = assert_same_as_unpacked(model, tokenizer, settings, conversations, 4096)
    assert len(rows) == len(conversations)
    assert sum(len(r) for r in rows) * 3 < sum(e.length for e in examples)


def test_a_long_conversation_is_split_into_rows_that_still_match(model_and_tokenizer, settings,
                                                                conversations):
    model, tokenizer = model_and_tokenizer
    longest = max(e.length for e in builders(settings, tokenizer, 4096)[1].build(conversations))
    rows, _ = assert_same_as_unpacked(model, tokenizer, settings, conversations, longest + 40)
    assert len(rows) > len(conversations) and max(len(r) for r in rows) <= longest + 40


def test_packed_rows_equal_one_turn_examples_through_a_lora_adapter(model_and_tokenizer, settings,
                                                                   conversations):
    from peft import LoraConfig, get_peft_model

    model, tokenizer = model_and_tokenizer
    first = builders(settings, tokenizer, 4096)[0].build(conversations[:1])
    before = packed_logps(model, tokenizer, first)[0]
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM")
    tuned = get_peft_model(model, lora).eval()
    try:
        assert_same_as_unpacked(tuned, tokenizer, settings, conversations, 4096)
        after = packed_logps(tuned, tokenizer, first)[0]
        assert max(abs(a - b) for a, b in zip(before, after)) > 1e-3  # the adapter is really applied
    finally:
        tuned.unload()


def test_a_branch_cannot_see_another_branch(model_and_tokenizer, settings, conversations):
    model, tokenizer = model_and_tokenizer
    row = builders(settings, tokenizer, 4096, share=0.0)[0].conversation(conversations[1])
    (row,) = row
    assert row.branches == 2
    changed = row.to_dict()
    first = [k for k, s in enumerate(row.segment_ids) if s == 1]
    changed["input_ids"] = [tokenizer.eos_token_id if k in first else t for k, t in enumerate(row.input_ids)]
    collate = PackedCollator(tokenizer.pad_token_id)
    with torch.no_grad():
        logits = [model(**collate([r])).logits[0] for r in (row.to_dict(), changed)]
    others = [k for k, s in enumerate(row.segment_ids) if s != 1]
    assert torch.allclose(logits[0][others], logits[1][others], atol=1e-5)
    assert not torch.allclose(logits[0][first], logits[1][first], atol=1e-3)


def test_branch_mask_rules():
    segments = torch.tensor([[0, 0, 1, 1, 0, 2, -1]])
    allowed = branch_mask(segments)[0, 0]
    assert allowed[3].tolist() == [True, True, True, True, False, False, False]  # branch 1: trunk + itself
    assert allowed[4].tolist() == [True, True, False, False, True, False, False]  # trunk skips branch 1
    assert allowed[5].tolist() == [True, True, False, False, True, True, False]  # branch 2 skips branch 1
    assert allowed[6].tolist() == [False] * 6 + [True]  # padding sees itself only


def test_perturbed_decisions_keep_the_gold_answer(settings, small_catalog, model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    convs = tiny_conversations(small_catalog, 6)
    plain = builders(settings, tokenizer, 4096, share=0.0)[1].build(convs)
    perturbed = builders(settings, tokenizer, 4096, share=1.0)[1].build(convs)
    assert len(perturbed) == 2 * len(plain)
    for gold, wrong in zip(plain, perturbed[1::2]):
        assert (wrong.position, wrong.completion) == (gold.position, gold.completion)
        given = wrong.prompt.rsplit("Current task: ", 1)[1].split(".")[0]
        expected = gold.prompt.rsplit("Current task: ", 1)[1].split(".")[0]
        assert given != expected and given in [*small_catalog.names, "none"]


def test_a_rollout_adds_the_routers_own_wrong_current_task_with_the_gold_answer(settings, small_catalog,
                                                                                model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    conv = tiny_conversations(small_catalog, 2)[1]  # start meeting_minutes, then a LinkedIn post
    judged = [Judged(conv.id, 0, conv.source, "meeting_minutes", None, "follow_up_email"),
              Judged(conv.id, 2, conv.source, "linkedin_post", "meeting_minutes", "linkedin_post")]
    rolled = rolled_currents(judged)
    assert rolled == {(conv.id, 0): None, (conv.id, 2): "follow_up_email"}  # its wrong start
    strategy = create_strategy("constrained", settings.prompts_dir)
    plain = ExampleBuilder(strategy, tokenizer, 4096).conversation(conv)
    rolled_out = ExampleBuilder(strategy, tokenizer, 4096, Perturbation(0.0, 3, rolled)).conversation(conv)
    assert len(rolled_out) == len(plain) + 1  # position 0 had the gold current task (none): nothing added
    extra = rolled_out[-1]
    assert (extra.position, extra.completion) == (2, " linkedin_post")
    assert extra.prompt.rsplit("Current task: ", 1)[1].startswith("follow_up_email")
    packed = PackedBuilder(strategy, tokenizer, 4096, Perturbation(0.0, 3, rolled))
    assert sum(row.branches for row in packed.build([conv])) == len(rolled_out)
