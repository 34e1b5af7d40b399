"""The Compare tab's actions on a real database and the real embedded model, on one tiny conversation."""
import json

import pandas as pd
import pytest

from router.comparison import matrix
from router.conversation import Conversation, Turn
from router.decision import Decision
from router.evaluation import RunConfig
from router.events import event_between
from router.metrics import row
from tests.test_comparison import run as judged
from tests.test_sgd import SCHEMA, multi, single
from ui import compare_actions as act
from ui.compare_figures import point_heatmaps, wrapped
from ui.errors import Refused
from ui.metric_names import METRICS

TINY = {"id": "tiny-1", "source": "ui-test", "turns": [
    {"role": "user", "content": "Please help me write the minutes of our team meeting", "task": "meeting_minutes"},
    {"role": "assistant", "content": "Sure, who attended?"},
    {"role": "user", "content": "That's fine, thanks for the help", "task": None}]}


def test_import_launch_compare_export_delete(services, tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(TINY) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(TINY) + "\n{not json\n")
    with pytest.raises(Exception, match="line 2"):
        act.import_file(services, str(bad), "bad")
    assert act.import_file(services, str(path), "tiny") == ("tiny", "Imported 1 conversations into 'tiny'.")
    assert services.datasets.names() == ["tiny"]
    sgd = tmp_path / "sgd"
    sgd.mkdir()
    (sgd / "schema.json").write_text(json.dumps(SCHEMA))
    (sgd / "dialogues_001.json").write_text(json.dumps([single(n) for n in range(3)] + [multi(n) for n in range(3)]))
    assert act.import_sgd_folder(services, str(sgd), "sgd-multi", 2, "multi", 3, 0)[0] == "sgd-multi"
    assert [len(c.meta["services"]) for c in services.datasets.conversations("sgd-multi")] == [2, 2]

    [run] = act.launch(services, "tiny", "", "local", "none", ["constrained"], "gold", 1)
    title = f"#{run} embedded model, plain scoring, given the right previous task"
    assert act.run_choices(services, "tiny") == [(title, run)]
    assert [row[1] for row in act.past_runs(services, "tiny")] == [run]
    assert act.past_runs(services, "tiny")[0][4] == "done"
    assert act.past_runs(services, "tiny")[0][-1] == f"#{run} local/embedded · constrained · gold", "details"

    shown = act.compare(services, [run], False)
    assert shown.runs == [run] and list(shown.table.columns) == ["metric", title, "copy baseline"]
    assert shown.table.iloc[0].tolist()[:2] == ["turns", 2] and "turn accuracy" in set(shown.table["metric"])
    assert all("_" not in metric for metric in shown.table["metric"]), "metrics named as a reader says them"
    assert shown.summary_md.startswith(f'<span title="#{run} local/embedded · constrained · gold">{title}: turn '
                                       'accuracy '), "the technical name on hover"
    assert shown.invalid.data[0].hovertext == (f"#{run} local/embedded · constrained · gold",)
    assert "vs copy baseline 0.00 (+" in shown.summary_md
    figures = shown.table.set_index("metric")  # TINY has a start and an end, no switch
    assert figures.loc["switch recall"].tolist() == ["n/a", "n/a"], "no gold switch: recall undefined, not 0"
    assert figures.loc["switch precision", "copy baseline"] == "n/a", "the baseline predicts no switch"
    assert figures.loc["start recall", "copy baseline"] == "0.000 (0/1)"
    assert figures.loc["median latency (s)", "copy baseline"] == "–" and figures.loc["tokens per decision",
                                                                                      "copy baseline"] == "–"
    assert not shown.table.map(lambda c: "0.000000" in str(c)).any().any()
    assert "0.000000" not in shown.invalid.to_json() and list(shown.invalid.data[0].y) == [wrapped(title)]
    assert act.rounded(1 / 6) == 0.167 and act.rounded(None) is None, "Past runs showed 0.16666666666666666"
    assert shown.points is not None and shown.labels is not None

    rows = act.conversation_view(services, shown.runs, "tiny-1").values.tolist()
    assert [r[3] for r in rows] == ["meeting_minutes", "", "none"]   # gold beside the prediction
    assert [r[0] for r in rows] == [1, "", 2], "user messages numbered from 1, as in the Chat"
    assert rows[0][2] == TINY["turns"][0]["content"] and rows[0][4] != ""

    [saved] = json.loads(open(act.export(services, [run], "json"), encoding="utf-8").read())
    assert saved["id"] == run and len(saved["turns"]) == 2 and saved["metrics"]["turns"] == 2
    assert "tiny-1" in open(act.export(services, [run], "csv"), encoding="utf-8").read()
    metrics = act.export(services, [run], "metrics")
    assert metrics.endswith(f"metrics-{run}.csv")
    header, line, *more = open(metrics, encoding="utf-8").read().splitlines()
    assert header.startswith("run,turns,turn accuracy,task selection,candidate recall") and "_" not in header
    assert line.startswith(f"\"{title}\",2,") and more == []  # one row per run
    picked, table, line = act.selection(services, "tiny", [])
    assert picked == [] and table.data.values.tolist() == act.past_runs(services, "tiny") and line == act.NONE_SELECTED

    assert act.delete(services, [run]) == f"Deleted {title}."
    assert act.run_choices(services, "tiny") == [] and act.past_runs(services, "tiny") == []


def test_a_click_on_a_past_run_selects_it_and_a_second_click_unselects_it(services, tmp_path):
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(TINY) + "\n")
    act.import_file(services, str(path), "two")
    first, second = (act.launch(services, "two", "", "local", "none", ["constrained"], "gold", 1)[0] for _ in range(2))
    picked, table, line = act.selection(services, "two", act.toggled(act.toggled([], second), first))
    assert picked == [second, first]
    assert table.data[["✓", "id"]].values.tolist() == [["✓", second], ["✓", first]]  # newest first, both marked
    assert act.SELECTED_STYLE.split(";")[0] in table.to_html()
    title = "embedded model, plain scoring, given the right previous task"
    assert line == f"Selected: #{second} {title}; #{first} {title}."
    picked, table, line = act.selection(services, "two", act.toggled(picked, second))
    assert picked == [first] and table.data[["✓", "id"]].values.tolist() == [["", second], ["✓", first]]
    assert line == f"Selected: #{first} {title}."
    assert act.export(services, picked, "metrics").endswith(f"metrics-{first}.csv")
    assert act.delete(services, picked) == f"Deleted #{first} {title}."
    assert [row[1] for row in act.past_runs(services, "two")] == [second]
    picked, table, line = act.selection(services, "two", act.toggled([first], first))
    assert line == act.NONE_SELECTED and act.SELECTED_STYLE.split(";")[0] not in table.to_html()


def test_the_metric_table_has_a_row_per_metric_and_a_column_per_run_then_the_baseline():
    good, worse = judged("a", "a", "b", None), judged("a", "a", "a", None)
    table = act.by_metric(*matrix([("#1 good", good), ("#2 worse", worse)]))
    assert list(table.columns) == ["metric", "#1 good", "#2 worse", "copy baseline"]
    assert len(table) == len(row(good)) and set(table["metric"]) == {name for name, _ in METRICS.values()}
    assert table.set_index("metric").loc["turn accuracy"].tolist() == ["1.000 ★", "0.750", "0.250"]
    tied = act.by_metric(*matrix([("#1 good", good), ("#3 tied", judged("a", "a", "b", None))]))
    assert not tied.drop(columns="metric").map(lambda c: "★" in str(c)).any().any(), "a tie marks neither"
    as_copy = act.by_metric(*matrix([("#4 as copy", judged("b", "b", "b", "b")), ("#2 worse", worse)]))
    assert as_copy.set_index("metric").loc["turn accuracy"].tolist() == ["0.250", "0.750 ★", "0.250"]
    level = act.by_metric(*matrix([("#4 as copy", judged("b", "b", "b", "b")),
                                   ("#5 worse", judged(None, None, None, "b"))]))
    assert level.set_index("metric").loc["turn accuracy"].tolist() == ["0.250", "0.000", "0.250"], \
        "no star when the best is not above the baseline"
    assert act.by_metric(*matrix([])).columns.tolist() == ["metric"]


def test_wrong_predictions_are_highlighted():
    styled = act.highlighted(pd.DataFrame([[1, "meeting_minutes", "none ✗"], [2, "none", "none"]]))
    html = styled.to_html()
    assert html.count(act.WRONG_STYLE.split(";")[0]) == 1  # the one wrong cell


def test_point_matrices_leave_room_for_the_titles_below_the_tick_labels():
    point = {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    m = {"points": {e: point for e in ("start", "switch", "end")}}
    fig = point_heatmaps([("a", m), ("b", m), ("c", m)])
    upper, lower = fig.layout.yaxis.domain, fig.layout.yaxis4.domain
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert (upper[0] - lower[1]) * plot_px >= 70  # px between rows: tick labels (~20) and a title (~20)


def test_point_matrices_are_titled_by_run_number_so_that_a_third_of_the_width_holds_the_title():
    point = {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    m = {"points": {e: point for e in ("start", "switch", "end")}}
    fig = point_heatmaps([("#3 local/embedded+smollm2-router · constrained_lexical · free", m), ("copy baseline", m)])
    assert [a.text for a in fig.layout.annotations] == [
        "#3 · start", "#3 · switch", "#3 · end", "copy baseline · start", "copy baseline · switch",
        "copy baseline · end"]


def test_refusals_name_the_control_at_fault(services):
    with pytest.raises(Refused) as refused:
        act.launch(services, "", "", "local", "", ["constrained"], "gold", 1)
    assert refused.value.control == "dataset"
    with pytest.raises(Refused, match="at least one strategy"):
        act.launch(services, "tiny", "", "local", "", [], "gold", 1)
    for refused_action in (lambda: act.export(services, [], "csv"), lambda: act.delete(services, None),
                           lambda: act.to_compare([])):
        with pytest.raises(Refused, match="Select the runs to .*: click them in Past runs") as refused:
            refused_action()
        assert refused.value.control == "past_runs"
    assert act.to_compare([4, 2]) == [4, 2]
    with pytest.raises(Exception, match="no run with id 99"):
        act.compare(services, [99], False)


MEETING = (Turn("user", "Write the minutes of our meeting", "meeting_minutes", True), Turn("assistant", "Sure"),
           Turn("user", "Also <b>the attendees</b>", "meeting_minutes", True), Turn("assistant", "Done"),
           Turn("user", "Thanks, bye", None, True))


def errors_of(services, protocol: str, decisions: list[tuple]):
    """The error view of a run of `protocol` that made `decisions` (position, label, previous, scores) on MEETING."""
    services.datasets.add(protocol, [Conversation("e-1", MEETING)])
    run = services.runs.create(RunConfig(protocol, "constrained", protocol=protocol))
    [pk] = {c.meta["pk"] for c in services.datasets.conversations(protocol)}
    for position, label, previous, scores in decisions:
        services.runs.save(run, pk, position, Decision(label, previous, event_between(previous, label), True, 0.1,
                                                       "constrained", "", scores))
    return act.errors_table(services, services.runs.get(run))


def test_the_error_view_lists_a_wrong_switch_with_its_event_scores_and_margin(services):
    table = errors_of(services, "gold", [
        (0, "meeting_minutes", None, {"meeting_minutes": 0.9, "none": 0.1}),
        (2, "follow_up_email", "meeting_minutes", {"meeting_minutes": 0.3, "follow_up_email": 0.6, "none": 0.1}),
        (4, "meeting_minutes", "meeting_minutes", None)])  # an end missed by a strategy with no scores
    assert list(table.columns) == act.EVENT_HEADERS
    assert table.values.tolist() == [
        ["e-1", 2, "Also <b>the attendees</b>", "wrong switch", "meeting_minutes", "meeting_minutes",
         "follow_up_email", "this message", "0.300", "0.600", "0.100", "0.300"],
        ["e-1", 3, "Thanks, bye", "missed end", "none", "meeting_minutes", "meeting_minutes", "this message",
         "–", "–", "–", "–"]]
    assert act.causes_md(table).startswith("**0 of 2** event errors came while the router was already on a wrong")


def test_live_a_wrong_start_carried_on_is_an_earlier_error_not_one_at_the_message(services):
    scores = {"meeting_minutes": 0.2, "memo_from_ideas": 0.7, "linkedin_post": 0.05, "none": 0.05}
    table = errors_of(services, "free", [(0, "memo_from_ideas", None, scores),  # a wrong start, then kept
                                         (2, "memo_from_ideas", "memo_from_ideas", scores),
                                         (4, "memo_from_ideas", "memo_from_ideas", scores)])
    assert table[["message", "error", "router was on", "cause"]].values.tolist() == [
        [1, "wrong task", "none", "this message"],  # the start that went wrong, with none's and the start's scores
        [2, "wrong switch", "memo_from_ideas", "earlier error"],  # judged against gold's meeting_minutes
        [3, "missed end, wrong switch", "memo_from_ideas", "earlier error"]]
    assert table.iloc[0][["continue score", "switch score", "end score", "margin"]].tolist() == [
        "0.050", "0.700", "–", "0.650"]
    assert act.causes_md(table).startswith("**2 of 3** event errors came while the router was already on a wrong")


def test_the_error_view_lists_a_missed_start_and_a_start_out_of_the_catalog(services):
    services.datasets.add("starts", [Conversation("s-1", (
        Turn("user", "What's the weather like?", None, True), Turn("assistant", "No idea"),
        Turn("user", "Write the minutes of our meeting", "meeting_minutes", True)))])
    run = services.runs.create(RunConfig("starts", "constrained", protocol="gold"))
    [pk] = {c.meta["pk"] for c in services.datasets.conversations("starts")}
    for position, label in ((0, "meeting_minutes"), (2, None)):
        services.runs.save(run, pk, position, Decision(label, None, event_between(None, label), True, 0.1,
                                                       "constrained", "", {"meeting_minutes": 0.4, "none": 0.6}))
    table = act.errors_table(services, services.runs.get(run))
    assert table[["message", "error", "gold", "predicted", "margin"]].values.tolist() == [
        [1, "wrong start", "none", "meeting_minutes", "-0.200"],
        [2, "missed start", "meeting_minutes", "none", "-0.200"]]
