"""Metrics against confusion matrices worked out by hand on a fixture written here."""
import json

import pytest

from router.metrics import Judged, binary, copy_baseline, counts, metrics, report, row

A, B, C = "meeting_minutes", "follow_up_email", "linkedin_post"
# conversation x: gold a a none b, predicted a b a b (gold previous: none a a none)
# conversation y: gold none c b, predicted none none(invalid) b (gold previous: none none c)
TURNS = [
    Judged("x", 0, "x", A, None, A, True, 1.0),
    Judged("x", 2, "x", A, A, B, True, 2.0),
    Judged("x", 4, "x", None, A, A, True, 3.0),
    Judged("x", 6, "x", B, None, B, True, 4.0),
    Judged("y", 0, "y", None, None, None, True, 5.0),
    Judged("y", 2, "y", C, None, None, False, 6.0),
    Judged("y", 4, "y", B, C, B, True, 7.0),
]


def test_points_by_hand():
    m = metrics(TURNS)
    assert m["points"]["start"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 4, "accuracy": pytest.approx(6 / 7),
                                    "precision": 1.0, "recall": pytest.approx(2 / 3)}
    assert m["points"]["switch"] == {"tp": 1, "fp": 1, "fn": 0, "tn": 5, "accuracy": pytest.approx(6 / 7),
                                     "precision": 0.5, "recall": 1.0}
    # no predicted end: precision is 0/0, undefined (None), not 0
    assert m["points"]["end"] == {"tp": 0, "fp": 0, "fn": 1, "tn": 6, "accuracy": pytest.approx(6 / 7),
                                  "precision": None, "recall": 0.0}


def test_turns_labels_none_invalid_latency_by_hand():
    m = metrics(TURNS)
    assert m["turns"] == 7
    assert m["turn_accuracy"] == pytest.approx(4 / 7)
    assert m["task_selection"] == pytest.approx(3 / 4)
    assert m["none"] == {"tp": 1, "fp": 1, "fn": 1, "tn": 4, "accuracy": pytest.approx(5 / 7),
                         "precision": 0.5, "recall": 0.5}
    assert (m["invalid"], m["invalid_rate"]) == (1, pytest.approx(1 / 7))
    assert m["labels"] == ["none", B, C, A]
    assert m["label_confusion"] == [[1, 0, 0, 1],   # gold none: none, meeting_minutes
                                    [0, 2, 0, 0],   # gold follow_up_email: twice right
                                    [1, 0, 0, 0],   # gold linkedin_post: none
                                    [0, 1, 0, 1]]   # gold meeting_minutes: once follow_up_email
    assert m["latency"] == {"p50": 4.0, "p95": pytest.approx(6.7), "mean": 4.0, "max": 7.0}


def test_breakdowns_by_source_and_event():
    m = metrics(TURNS)
    assert set(m["by_source"]) == {"x", "y"}
    assert m["by_source"]["x"]["turns"] == 4 and m["by_source"]["x"]["turn_accuracy"] == 0.5
    assert m["by_source"]["y"]["points"]["switch"]["tp"] == 1
    assert "by_source" not in m["by_source"]["x"]
    events = m["by_event"]
    assert events["start"] == {"turns": 3, "turn_accuracy": pytest.approx(2 / 3)}
    assert events["continue"] == {"turns": 1, "turn_accuracy": 0.0}
    assert events["end"]["turns"] == 1 and events["none"]["turn_accuracy"] == 1.0


def test_copy_baseline_detects_no_event():
    base = metrics(copy_baseline(TURNS))
    assert base["turn_accuracy"] == pytest.approx(2 / 7)
    for point in ("start", "switch", "end"):
        assert base["points"][point]["tp"] == base["points"][point]["fp"] == 0
    assert base["points"]["start"]["fn"] == 3 and base["invalid"] == 0
    full = report(TURNS)
    assert full["baseline"]["turn_accuracy"] == base["turn_accuracy"]
    assert json.loads(json.dumps(full)) == full


def test_empty_run_is_all_zero():
    m = metrics([])
    assert m["turns"] == 0 and m["turn_accuracy"] == 0.0 and m["latency"]["max"] == 0.0


def test_a_point_metric_with_no_case_is_undefined_not_zero():
    assert binary([False, False], [False, False]) == {"tp": 0, "fp": 0, "fn": 0, "tn": 2, "accuracy": 1.0,
                                                      "precision": None, "recall": None}
    assert binary([], [])["accuracy"] is None
    base = row(metrics(copy_baseline(TURNS)))
    assert base["switch_p"] is None and base["switch_r"] == 0.0  # nothing predicted; one gold switch missed
    assert counts(metrics(TURNS))["switch_r"] == "1/1" and counts(metrics(TURNS))["end_p"] == "0/0"


def test_old_runs_stored_zero_for_undefined_and_no_counts_of_none():
    old = json.loads(json.dumps(metrics(TURNS)))
    old["points"]["end"]["precision"] = 0.0
    old["none"] = {"precision": 0.5, "recall": 0.5}
    flat = row(old)
    assert flat["end_p"] is None and flat["end_r"] == 0.0 and flat["none_p"] == 0.5
    assert "none_p" not in counts(old) and counts(old)["end_p"] == "0/0"
