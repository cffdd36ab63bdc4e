"""Seeing the graph: DOT text snapshots (deterministic ids, parameter names, saved tensors),
rendering (only where the ``dot`` program exists) and its clear error otherwise, and the
saved-tensor memory report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ember
from ember.autograd import viz
from ember.autograd.graph import memory_report, render, to_dot

_HEAD = ('digraph {\n'
         '\tgraph [rankdir=BT size="12,12"]\n'
         '\tnode [align=left fontname=monospace fontsize=10 height=0.2 shape=box style=filled]\n')


def _graph():
    w = ember.ones(2, 3, requires_grad=True)
    b = ember.zeros(3, requires_grad=True)
    x = ember.ones(2, 3)
    y = ((w * x + b) ** 2).sum()
    return w, b, y


def test_dot_snapshot_with_params():
    w, b, y = _graph()
    assert to_dot(y, params={"w": w, "b": b}) == _HEAD + (
        '\tout [label="output\\n() float32" fillcolor=darkolivegreen1]\n'
        '\tn0 [label="SumBackward0\\n() float32" fillcolor=lightgrey]\n'
        '\tn1 [label="PowBackward0\\n(2, 3) float32\\nsaved input (2, 3) float32" '
        'fillcolor=lightgrey]\n'
        '\tn2 [label="AddBackward0\\n(2, 3) float32" fillcolor=lightgrey]\n'
        '\tn3 [label="MulBackward0\\n(2, 3) float32\\nsaved input (2, 3) float32" '
        'fillcolor=lightgrey]\n'
        '\tn4 [label="w\\n(2, 3) float32" fillcolor=lightblue]\n'
        '\tn5 [label="b\\n(3,) float32" fillcolor=lightblue]\n'
        '\tn1 -> n0\n'
        '\tn2 -> n1\n'
        '\tn3 -> n2\n'
        '\tn5 -> n2\n'
        '\tn4 -> n3\n'
        '\tn0 -> out\n'
        '}\n')


def test_dot_is_deterministic_and_leaves_fall_back_to_shape():
    _, _, y1 = _graph()
    _, _, y2 = _graph()
    assert to_dot(y1) == to_dot(y2)
    assert '[label="(3,) float32" fillcolor=lightblue]' in to_dot(y1)


def test_show_saved_false_and_freed_after_backward():
    x = ember.ones(2, requires_grad=True)
    y = x.exp().sum()
    assert "saved result (2,) float32" in to_dot(y)
    assert "saved" not in to_dot(y, show_saved=False)
    y.backward()
    assert "saved" not in to_dot(y)  # a backward pass freed them
    assert "ExpBackward0" in to_dot(y)


def test_shared_node_appears_once_with_two_edges():
    x = ember.ones(2, requires_grad=True)
    h = x.exp()
    y = h * h
    dot = to_dot(y, show_saved=False)
    assert dot.count("ExpBackward0") == 1
    assert dot.count("\tn1 -> n0\n") == 2


def test_multi_output_node_lists_each_output():
    x = ember.ones(2, 4, requires_grad=True)
    a, b = x.split(2, dim=1)
    dot = to_dot(a, show_saved=False)
    assert "SplitBackward0\\n(2, 2) float32\\n(2, 2) float32" in dot


def test_no_graph_is_an_empty_digraph():
    assert to_dot(ember.ones(2)) == _HEAD + "}\n"


def test_deep_graph_has_no_recursion_limit():
    x = ember.ones(1, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert to_dot(y, show_saved=False).count("MulBackward0") == 3000


def test_render_without_graphviz_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    _, _, y = _graph()
    with pytest.raises(RuntimeError, match=r"pip install ember\[graphviz\].*`dot` program"):
        to_dot(y).render(tmp_path / "g.svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` program is not "
                    "installed")
def test_render_svg_and_png(tmp_path):
    w, _, y = _graph()
    dot = to_dot(y, params={"w": w})
    svg = render(dot, tmp_path / "g.svg")
    text = Path(svg).read_text()
    assert "<svg" in text and "PowBackward0" in text
    png = dot.render(tmp_path / "g.png", format="png")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_memory_report_sorted_with_table():
    x = ember.ones(1000, requires_grad=True)
    s = ember.ones(10, requires_grad=True)
    y = (x * x).exp().sum() + (s.sin()).sum()
    report = memory_report(y)
    # ties keep graph order: Exp is reached before Mul
    assert list(report) == [("ExpBackward0", 4000), ("MulBackward0", 4000),
                            ("SinBackward0", 40)]
    assert report.total == 8040
    text = str(report)
    assert "ExpBackward0" in text and "3.91 KB" in text and text.splitlines()[-1].startswith(
        "Total")
    y.backward()
    assert list(memory_report(y)) == []


def test_memory_report_counts_a_shared_array_once():
    x = ember.ones(250, dtype=ember.float64, requires_grad=True)
    report = memory_report(x * x)
    assert list(report) == [("MulBackward0", 2000)]


def test_docs_example_output(capsys):
    import pathlib
    import re

    doc = (pathlib.Path(__file__).parents[2] / "docs" / "graph-pictures.md").read_text()
    code, expected = re.findall(r"```(?:python)?\n(.*?)```", doc, re.S)[:2]
    exec(compile(code, "graph-pictures.md", "exec"), {})
    assert capsys.readouterr().out == expected


def test_several_outputs_share_one_graph():
    x = ember.ones(2, requires_grad=True)
    h = x.exp()
    a, b = h.sin(), h.cos()
    dot = to_dot((a, b), show_saved=False)
    assert dot.count("ExpBackward0") == 1
    assert '\tout0 [label="output\\n(2,) float32"' in dot and "\tn0 -> out0\n" in dot
    assert "\tn3 -> out1\n" in dot and "CosBackward0" in dot.split("\tn3 [")[1].split("\n")[0]
    assert [name for name, _ in memory_report([a, b])] == ["SinBackward0", "ExpBackward0",
                                                           "CosBackward0"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` program is not "
                    "installed")
def test_jupyter_svg():
    x = ember.ones(2, requires_grad=True)
    assert "<svg" in to_dot(x.exp())._repr_svg_()
