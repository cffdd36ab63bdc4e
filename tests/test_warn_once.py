"""Warnings PyTorch gives once per process (TORCH_WARN_ONCE): ember gives each once too.

Each case runs in a fresh interpreter (once-warnings depend on what ran before), calls the same
code twice under ``simplefilter("always")`` with either library and compares the warnings."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")

CASES = {
    "T_0d": "x = T.tensor(1.0); x.T",
    "T_3d": "x = T.ones(2, 2, 2); x.T",
    "mT_0d": "x = T.tensor(1.0); x.mT",
    "mH_0d": "x = T.tensor(1.0); x.mH",
    "H_0d": "x = T.tensor(1.0); x.H",
    "cross": "T.cross(T.ones(3, 3), T.ones(3, 3))",
    "index_reduce": "T.zeros(3).index_reduce(0, T.tensor([0, 1]), T.ones(2), 'prod')",
    "chain_matmul": "T.chain_matmul(T.eye(2), T.eye(2))",
    "cholesky": "T.cholesky(T.eye(2))",
    "qr": "T.qr(T.eye(2))",
    "nuclear_norm": "T.nuclear_norm(T.eye(2))",
    "lu": "T.lu(T.eye(2))",
    "lu_solve": "LU, p = T.linalg.lu_factor(T.eye(2)); T.lu_solve(T.ones(2, 1), LU, p)",
    "triangular_solve": "T.triangular_solve(T.ones(2, 1), T.eye(2))",
    "float_of_grad": "x = T.ones((), requires_grad=True) * 2; float(x); int(x); x.item()",
}

SCRIPT = """
import json, sys, warnings
T = __import__(sys.argv[1])
seen = []
for _ in range(2):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(sys.argv[2])
    seen.append([str(w.message).split(" (Triggered internally at")[0] for w in caught
                 if w.category is UserWarning])
print(json.dumps(seen))
"""


def _warnings(module, code):
    out = subprocess.run([sys.executable, "-c", SCRIPT, module, code], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("case", sorted(CASES))
def test_once_per_process(case):
    mine, ref = _warnings("ember", CASES[case]), _warnings("torch", CASES[case])
    assert ref[0] and not ref[1], f"PyTorch no longer warns once here: {ref}"
    assert mine == ref


USER_LOOP = """
import sys, warnings
T = __import__(sys.argv[1])
x = T.ones(3, 4)
for _ in range(3):
    warnings.warn("mine")
    {call}
"""


@pytest.mark.parametrize("call", ["x.mean()", "x.mean(0)", "x.var()", "x.std(1)",
                                  "T.var_mean(x)", "T.std_mean(x, 0)", "x[:0].mean()",
                                  "x[:1].var(0)", "x.sum(0)", "x.nanmean()"])
def test_user_warning_in_a_loop_prints_once(call):
    """An op must not reset Python's once-per-location registry (``catch_warnings`` does):
    under the default filters a user's own warning in a loop prints once, as with PyTorch."""
    def stderr(module):
        return subprocess.run([sys.executable, "-c", USER_LOOP.format(call=call), module],
                              capture_output=True, text=True, check=True).stderr
    mine, ref = stderr("ember"), stderr("torch")
    assert ref.count("UserWarning: mine") == 1
    assert mine.count("UserWarning: mine") == 1, mine
