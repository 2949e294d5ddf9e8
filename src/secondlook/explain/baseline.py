"""Exact baseline Shapley values of every family against one reference row.

For a model ``f``, a row ``x`` and a reference ``r`` (the clean record, see
:mod:`secondlook.features.reference`), the baseline Shapley value of feature ``i`` is the
Shapley value of the game ``v(S) = f(x_S, r_rest)``: what changing the inputs from the
reference to the case did to the margin, shared out exactly. ``f(r) + sum_i phi_i = f(x)``.

How each family is computed (all exact, none sampled):

``logreg``
    ``coef_j / scale_j * (x_j - r_j)``.
``ebm`` and ``rules``
    Both are sums of terms of one or two features (EBM main effects and pairs; checklist items).
    A one-feature term gives ``g(x_i) - g(r_i)`` to its feature; a pair ``g(x_i, x_j)`` gives
    ``phi_i = [g(x_i, x_j) - g(r_i, x_j) + g(x_i, r_j) - g(r_i, r_j)] / 2`` and the symmetric
    share to ``j`` -- the Shapley values of a two-player game.
``tree`` and ``gbm``
    Interventional TreeSHAP with the single reference, computed here leaf by leaf rather than
    through SHAP (SHAP's interventional mode is wrong for HistGradientBoosting in our version).
    A leaf is reached in the game by coalition ``S`` iff every feature on its path whose
    reference value leaves the path is in ``S`` (set ``A``, which ``x`` must satisfy) and every
    feature whose case value leaves the path while the reference's stays is out of ``S`` (set
    ``B``). Such a leaf adds ``v (|A|-1)! |B|! / (|A|+|B|)!`` to each feature of ``A`` and
    subtracts ``v |A|! (|B|-1)! / (|A|+|B|)!`` from each of ``B``.

:func:`brute_force_shapley` enumerates every coalition for small models; tests hold the exact
values to it within 1e-9.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.models import EBMModel, GBMModel, LogRegModel, ModelFamily, RulesModel, TreeModel
from secondlook.models.rules import ITEM_COLUMNS
from secondlook.models.trees import LEAF_CLIP

__all__ = ["baseline_explanation", "baseline_shapley", "brute_force_shapley", "tree_leaves"]

Array = npt.NDArray[np.float64]
#: one leaf: value and path conditions (feature index, lower bound exclusive, upper inclusive)
Leaf = tuple[float, list[tuple[int, float, float]]]


def brute_force_shapley(f: Callable[[Array], Array], x: Array, r: Array) -> Array:
    """Shapley values of ``v(S) = f(x_S, r_rest)`` by enumerating every coalition.

    Parameters
    ----------
    f
        Maps an array of shape (m, d) to margins of shape (m,).
    x, r
        The case and the reference, shape (d,). Cost ``2^d`` evaluations: small ``d`` only.

    Returns
    -------
    numpy.ndarray
        Shape (d,).
    """
    d = len(x)
    masks = np.array(list(itertools.product([0, 1], repeat=d)), dtype=bool)
    rows = np.where(masks, x, r)
    value = dict(zip(map(tuple, masks.astype(int)), f(rows), strict=True))
    phi = np.zeros(d)
    for m, v in value.items():
        s = sum(m)
        for i in range(d):
            if m[i]:
                w = math.factorial(s - 1) * math.factorial(d - s) / math.factorial(d)
                phi[i] += w * (v - value[m[:i] + (0,) + m[i + 1 :]])
    return phi


def _terms_shapley(
    terms: Callable[[Array], Array],
    term_features: list[tuple[int, ...]],
    X: Array,
    r: Array,
) -> tuple[Array, Array]:
    """Baseline Shapley values of a sum of terms of one or two features each.

    ``terms`` maps rows, shape (m, d), to every term's value, shape (m, n_terms). Returns the
    values, shape (n, d), and every term at the reference ``r``, shape (n_terms,).
    """
    n, d = X.shape
    pair_features = sorted({j for feats in term_features if len(feats) == 2 for j in feats})
    # The terms with x_j from the case and every other input at the reference are a function of
    # x_j alone, so they are needed once per distinct value of x_j (few: counts, flags, days),
    # not once per row. Those rows and the reference go through the terms in the same call as
    # the cases: each call has a fixed cost of a few milliseconds, the extra rows almost none.
    blocks = [X, r[None, :]]
    where: dict[int, tuple[int, npt.NDArray[np.intp]]] = {}
    start = n + 1
    for j in pair_features:
        codes, distinct = pd.factorize(X[:, j])  # hashing: no sort, unlike np.unique
        G = np.tile(r, (len(distinct), 1))
        G[:, j] = distinct
        blocks.append(G)
        where[j] = (start, np.asarray(codes, dtype=np.intp))
        start += len(distinct)
    every = terms(np.vstack(blocks))
    tx, tr = every[:n], every[n]
    single = [t for t, feats in enumerate(term_features) if len(feats) == 1]
    owners = [term_features[t][0] for t in single]
    if single == owners == list(range(d)):  # the EBM's layout: main effect j is term j
        values = tx[:, :d] - tr[:d]
    else:
        values = np.zeros((n, d))
        for t, j in zip(single, owners, strict=True):
            values[:, j] += tx[:, t] - tr[t]
    for t, feats in enumerate(term_features):
        if len(feats) == 1:
            continue
        if len(feats) != 2:  # pragma: no cover - neither family makes higher-order terms
            raise ValueError(f"a term of {len(feats)} features has no closed form here")
        i, j = feats
        g_x, g_r = tx[:, t], tr[t]
        g_ri = every[where[j][0] + where[j][1], t]  # g(r_i, x_j)
        g_rj = every[where[i][0] + where[i][1], t]  # g(x_i, r_j)
        values[:, i] += 0.5 * ((g_x - g_ri) + (g_rj - g_r))
        values[:, j] += 0.5 * ((g_x - g_rj) + (g_ri - g_r))
    return values, np.asarray(tr, dtype=np.float64)


def _walk(
    left: Any, right: Any, feature: Any, threshold: Any, is_leaf: Any, value: Any
) -> list[Leaf]:
    leaves: list[Leaf] = []
    stack: list[tuple[int, dict[int, tuple[float, float]]]] = [(0, {})]
    while stack:
        node, box = stack.pop()
        if is_leaf(node):
            path = [(f, lo, hi) for f, (lo, hi) in sorted(box.items())]
            leaves.append((float(value(node)), path))
            continue
        f, t = int(feature[node]), float(threshold[node])
        lo, hi = box.get(f, (-np.inf, np.inf))
        stack.append((int(right[node]), box | {f: (max(lo, t), hi)}))
        stack.append((int(left[node]), box | {f: (lo, min(hi, t))}))
    return leaves


def tree_leaves(family: TreeModel | GBMModel) -> tuple[list[list[Leaf]], float]:
    """Every tree's leaves with their path boxes, and the constant added to the sum of leaves.

    Parameters
    ----------
    family
        A fitted ``tree`` (leaf log-odds, clipped as :meth:`TreeModel.margin`) or ``gbm``.

    Returns
    -------
    trees, offset
        ``margin(x) = offset + sum over trees of the value of the leaf x reaches``; a row goes
        left when ``x <= threshold`` (both libraries' rule for numeric features).
    """
    if isinstance(family, TreeModel):
        t = family.tree_.tree_
        counts = t.value[:, 0, :]
        p = np.clip(counts[:, 1] / counts.sum(axis=1), LEAF_CLIP, 1 - LEAF_CLIP)
        log_odds = np.log(p) - np.log1p(-p)
        leaves = _walk(
            t.children_left,
            t.children_right,
            t.feature,
            t.threshold,
            lambda n: t.children_left[n] == -1,
            lambda n: log_odds[n],
        )
        return [leaves], 0.0
    est = family.gbm_
    trees = []
    for (predictor,) in est._predictors:
        nodes = predictor.nodes
        if nodes["is_categorical"].any():  # pragma: no cover - the family never sets them
            raise ValueError("categorical splits are not supported")
        trees.append(
            _walk(
                nodes["left"],
                nodes["right"],
                nodes["feature_idx"],
                nodes["num_threshold"],
                lambda n, nodes=nodes: bool(nodes["is_leaf"][n]),
                lambda n, nodes=nodes: nodes["value"][n],
            )
        )
    return trees, float(np.ravel(est._baseline_prediction)[0])


@dataclasses.dataclass(frozen=True)
class _LeafTable:
    """Every leaf of a fitted tree model as arrays, built once per model.

    ``value[l]`` is leaf ``l``'s value; its path conditions are ``lo < x[feature] <= hi`` for
    the entries ``start[l]:start[l + 1]`` of ``feature``, ``lo`` and ``hi``.
    """

    value: Array
    start: npt.NDArray[np.intp]
    feature: npt.NDArray[np.intp]
    lo: Array
    hi: Array
    offset: float
    float32: bool  # scikit-learn's DecisionTree compares float32 inputs

    def leaf(self, k: int) -> tuple[float, npt.NDArray[np.intp], Array, Array]:
        a, b = self.start[k], self.start[k + 1]
        return float(self.value[k]), self.feature[a:b], self.lo[a:b], self.hi[a:b]


# a model is explained chunk after chunk when a cohort is scored: walk its trees once
_LEAF_TABLES: weakref.WeakKeyDictionary[Any, _LeafTable] = weakref.WeakKeyDictionary()


def _leaf_table(family: TreeModel | GBMModel) -> _LeafTable:
    est = family.tree_ if isinstance(family, TreeModel) else family.gbm_
    table = _LEAF_TABLES.get(est)
    if table is None:
        trees, offset = tree_leaves(family)
        leaves = [leaf for tree in trees for leaf in tree]
        sizes = [len(path) for _, path in leaves]
        paths = [cond for _, path in leaves for cond in path]
        table = _LeafTable(
            value=np.array([v for v, _ in leaves], dtype=np.float64),
            start=np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp),
            feature=np.array([f for f, _, _ in paths], dtype=np.intp),
            lo=np.array([a for _, a, _ in paths], dtype=np.float64),
            hi=np.array([b for _, _, b in paths], dtype=np.float64),
            offset=offset,
            float32=isinstance(family, TreeModel),
        )
        _LEAF_TABLES[est] = table
    return table


def _leaves_shapley(table: _LeafTable, X: Array, r: Array) -> tuple[Array, float]:
    """Interventional TreeSHAP against one reference, and the margin of the reference."""
    n, d = X.shape
    values = np.zeros((n, d))
    depth = int(np.diff(table.start).max(initial=0))
    fact = np.array([math.factorial(k) for k in range(depth + 2)], dtype=np.float64)
    # which path conditions the reference meets, all leaves at once
    r_meets = (r[table.feature] > table.lo) & (r[table.feature] <= table.hi)
    base = table.offset
    ones = np.ones(n, dtype=bool)
    for k in range(len(table.value)):
        v, feats, lo, hi = table.leaf(k)
        a0, b0 = table.start[k], table.start[k + 1]
        r_in = r_meets[a0:b0]
        if r_in.all():
            base += v  # the leaf the reference reaches
        if not len(feats):
            continue
        x_in = (X[:, feats] > lo) & (X[:, feats] <= hi)
        A = ~r_in  # must come from x
        reach = np.asarray(x_in[:, A].all(axis=1), dtype=bool) if A.any() else ones
        B = ~x_in[:, r_in] & reach[:, None]  # x leaves the path, the reference stays
        a = int(A.sum())
        b = B.sum(axis=1)
        total = a + b
        live = reach & (total > 0)
        if not live.any():
            continue
        if a:
            w_a = np.where(live, fact[a - 1] * fact[b] / fact[total], 0.0) * v
            values[:, feats[A]] += w_a[:, None]
        if r_in.any():
            bm1 = np.maximum(b - 1, 0)
            w_b = np.where(live & (b > 0), fact[a] * fact[bm1] / fact[total], 0.0) * v
            values[:, feats[r_in]] -= B * w_b[:, None]
    return values, float(base)


def baseline_explanation(
    family: ModelFamily, F: pd.DataFrame, reference: pd.Series
) -> tuple[Array, float]:
    """Exact baseline Shapley values of ``family``'s margin and the margin of ``reference``.

    Parameters
    ----------
    family
        A fitted family.
    F
        Its inputs as float64, shape (n_rows, n_inputs), columns ``family.inputs_``.
    reference
        One value per input (index ``family.inputs_``).

    Returns
    -------
    values : numpy.ndarray
        Shape (n_rows, n_inputs); each row sums to ``margin(x) - margin(reference)``.
    base : float
        ``margin(reference)``, computed from the same parts as the values (the intercept and
        the terms at the reference; the leaves the reference reaches), so that no second pass
        through the model is needed.

    Raises
    ------
    ValueError
        If the reference lacks an input.
    TypeError
        For a family with no exact baseline explainer.
    """
    r = reference.reindex(F.columns).astype(np.float64)
    if r.isna().any():
        raise ValueError(f"the reference lacks input(s): {list(r.index[r.isna()])}")
    ref_row: Array = np.asarray(r.to_numpy(), dtype=np.float64)
    if isinstance(family, LogRegModel):
        scaler = family.pipeline_.named_steps["scale"]
        lr = family.pipeline_.named_steps["logreg"]
        per_unit = lr.coef_[0] / scaler.scale_
        ref = ref_row
        values = np.asarray((F.to_numpy() - ref) * per_unit, dtype=np.float64)
        base = float(lr.intercept_[0] + ((ref - scaler.mean_) / scaler.scale_) @ lr.coef_[0])
        return values, base
    if isinstance(family, EBMModel):
        ebm = family.ebm_
        feats = [tuple(int(j) for j in t) for t in ebm.term_features_]
        # an array in the inputs' order: the same terms as a frame, in about 60% of the time
        values, tr = _terms_shapley(
            lambda G: np.asarray(ebm.eval_terms(G), dtype=np.float64),
            feats,
            F.to_numpy(dtype=np.float64),
            ref_row,
        )
        return values, float(np.ravel(ebm.intercept_)[0] + tr.sum())
    if isinstance(family, RulesModel):
        index = {c: j for j, c in enumerate(F.columns)}
        items = [k for k in ITEM_COLUMNS if family.points_.get(k, 0)]
        feats = [tuple(index[c] for c in ITEM_COLUMNS[k]) for k in items]
        values, tr = _terms_shapley(
            lambda G: family.contributions(pd.DataFrame(G, columns=F.columns))[items].to_numpy(
                dtype=np.float64
            ),
            feats,
            F.to_numpy(dtype=np.float64),
            ref_row,
        )
        return values, float(tr.sum())
    if isinstance(family, TreeModel | GBMModel):
        table = _leaf_table(family)
        X = F.to_numpy(dtype=np.float64)
        ref = ref_row
        if table.float32:  # scikit-learn's DecisionTree compares float32 inputs
            X = X.astype(np.float32).astype(np.float64)
            ref = np.asarray(ref.astype(np.float32), dtype=np.float64)
        return _leaves_shapley(table, X, ref)
    raise TypeError(f"no exact baseline explainer for the {type(family).__name__} family")


def baseline_shapley(family: ModelFamily, F: pd.DataFrame, reference: pd.Series) -> Array:
    """Exact baseline Shapley values of ``family``'s margin against ``reference``.

    Parameters
    ----------
    family
        A fitted family.
    F
        Its inputs as float64, shape (n_rows, n_inputs), columns ``family.inputs_``.
    reference
        One value per input (index ``family.inputs_``).

    Returns
    -------
    numpy.ndarray
        Shape (n_rows, n_inputs); each row sums to ``margin(x) - margin(reference)``.

    Raises
    ------
    TypeError
        For a family with no exact baseline explainer.
    """
    return baseline_explanation(family, F, reference)[0]
