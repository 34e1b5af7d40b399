"""The metric matrix's stars, the plain-words summary and the drill-down's message numbers."""
from router.comparison import conversation_table, matrix, summary, wrong_turns
from router.conversation import Conversation, Turn
from router.metrics import Judged, report

# a start, a continue, a switch and an end; the copy baseline gets only the continue right
GOLD = [(None, "a"), ("a", "a"), ("a", "b"), ("b", None)]


def run(*predicted) -> dict:
    """The metrics of a run predicting `predicted` on GOLD."""
    return report([Judged("c", 2 * k, "s", gold, previous, guess)
                   for k, ((previous, gold), guess) in enumerate(zip(GOLD, predicted))])


def column(headers, rows, name):
    """The cells of one column, runs then baseline."""
    return [r[headers.index(name)] for r in rows]


def test_stars_only_a_unique_best_above_the_baseline():
    good, tied, copy = run("a", "a", "b", None), run("a", "a", "b", None), run("a", "a", "a", "b")
    headers, rows = matrix([("good", good), ("worse", run("a", "a", "a", None))])
    assert column(headers, rows, "turn_accuracy") == ["1.000 ★", "0.750", "0.250"]
    headers, rows = matrix([("good", good), ("tied", tied)])
    assert not any("★" in str(c) for r in rows for c in r), "a tie marks neither"
    headers, rows = matrix([("copy", copy), ("worse", run(None, None, None, "b"))])
    assert column(headers, rows, "turn_accuracy") == ["0.500 ★", "0.000", "0.250"]
    headers, rows = matrix([("as copy", run("b", "b", "b", "b")), ("worse", run(None, None, None, "b"))])
    assert column(headers, rows, "turn_accuracy") == ["0.250", "0.000", "0.250"], "not above the baseline"
    assert column(headers, rows, "p50_s")[:2] == ["0.000", "0.000"], "tied latencies marked neither"


def test_summary_says_in_words_how_a_run_fares_against_the_copy_baseline():
    assert summary("#3 job3-lora", run("a", "a", "a", None)) == (
        "#3 job3-lora: turn accuracy 0.75 vs copy baseline 0.25 (+50 points); misses 100% of switches")
    assert summary("#4 x", run(None, None, "b", "b")).endswith("(+0 points); misses 0% of switches")
    no_switch = report([Judged("c", 0, "s", "a", None, "a")])
    assert summary("t", no_switch) == "t: turn accuracy 1.00 vs copy baseline 0.00 (+100 points)"


def test_the_drill_down_numbers_user_messages_from_one_as_the_chat_does():
    conv = Conversation("c", (Turn("user", "minutes please", "a", True), Turn("assistant", "sure"),
                              Turn("user", "now a post", "b", True)))
    labels = {"r": {("c", 0): "a", ("c", 2): "a"}}
    [wrong] = wrong_turns([conv], labels)
    assert wrong[1] == 2 and wrong[3:] == ["b", "a ✗"], "the wrong prediction marked, as in the conversation"
    assert [r[0] for r in conversation_table(conv, labels)] == [1, "", 2]


def test_cells_count_their_cases_say_n_a_without_one_and_dash_for_the_baselines_costs():
    headers, rows = matrix([("run", run("a", "a", "a", None))])
    assert column(headers, rows, "switch_r") == ["0.000 (0/1)", "0.000 (0/1)"]
    assert column(headers, rows, "switch_p") == ["n/a", "n/a"], "no switch predicted: precision undefined"
    assert column(headers, rows, "p50_s")[1] == "–" and column(headers, rows, "tokens")[1] == "–"
    assert column(headers, rows, "cost_1k") == ["–", "–"]
