"""Index kinds: recall against exact numpy on seeded clustered data, options, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from sqlvec.core import errors as E
from sqlvec.index import default_index_kinds, opclass, parse_options
from sqlvec.index.exact import exact_search
from sqlvec.index.hnsw import HnswOptions, HnswParams
from sqlvec.index.ivfflat import IvfflatOptions, IvfflatParams


def clustered(n: int, d: int, centres: int, seed: int = 7, latent: int = 8) -> np.ndarray:
    """Gaussian mixture whose clusters vary in a low-dimensional subspace (as embeddings do)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    proj = np.random.default_rng(99).standard_normal((latent, d)).astype(np.float32) / np.sqrt(latent)
    lab = rng.integers(0, centres, n)
    z = rng.standard_normal((n, latent)).astype(np.float32)
    return (c[lab] + z @ proj + 0.1 * rng.standard_normal((n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    x = clustered(12000, 32, 60)
    q = clustered(200, 32, 60, seed=8)
    keys = np.arange(len(x), dtype=np.int64) * 3 + 5
    return x, q, keys


def truth(x, keys, q, k, metric):
    return exact_search(np, x, keys, q, k, metric)


def recall(got: np.ndarray, want: np.ndarray) -> float:
    hits = sum(len(set(g) & set(w)) for g, w in zip(got.tolist(), want.tolist()))
    return hits / want.size


def brute(x, keys, q, k, metric):
    """An independent oracle: plain numpy distances, sort by (distance, key)."""
    if metric == "l2":
        d = np.sqrt(((x[None, :, :] - q[:, None, :]) ** 2).sum(-1, dtype=np.float64))
    elif metric == "ip":
        d = -(q.astype(np.float64) @ x.T.astype(np.float64))
    elif metric == "l1":
        d = np.abs(x[None, :, :].astype(np.float64) - q[:, None, :]).sum(-1)
    else:
        d = 1 - (q @ x.T) / np.linalg.norm(q, axis=1)[:, None] / np.linalg.norm(x, axis=1)[None, :]
    order = np.lexsort((np.broadcast_to(keys, d.shape), d), axis=-1)[:, :k]
    return keys[order], np.take_along_axis(d, order, 1)


@pytest.mark.parametrize("metric", ["l2", "ip", "cos", "l1"])
def test_exact_matches_independent_oracle(data, metric):
    x, q, keys = data
    x, q = x[:2000], q[:20]
    got_k, got_d = exact_search(np, x, keys[:2000], q, 10, metric)
    want_k, want_d = brute(x, keys[:2000], q, 10, metric)
    assert (got_k == want_k).mean() > 0.99
    np.testing.assert_allclose(got_d, want_d, rtol=1e-4, atol=1e-4)


def test_exact_ties_broken_by_key():
    x = np.ones((50, 4), np.float32)
    keys = np.arange(50)[::-1].copy()
    k, d = exact_search(np, x, keys, x[:1], 5, "l2")
    assert k.tolist() == [[0, 1, 2, 3, 4]]
    assert d.tolist() == [[0.0] * 5]


def test_exact_pads_when_fewer_rows():
    x = np.eye(3, dtype=np.float32)
    k, d = exact_search(np, x, np.array([1, 2, 3]), x[:1], 5, "l2")
    assert k.tolist() == [[1, 2, 3, -1, -1]]
    assert np.isinf(d[0, 3:]).all()


@pytest.mark.parametrize("metric", ["l2", "ip", "cos"])
def test_hnsw_recall_at_default_settings(data, metric):
    x, q, keys = data
    kind = default_index_kinds().get("hnsw")
    idx = kind.build(x, keys, HnswOptions(), metric=metric)
    got, dist = idx.search(q, 10, HnswParams())
    want, want_d = truth(x, keys, q, 10, metric)
    assert recall(got, want) >= 0.95
    same = got == want
    np.testing.assert_allclose(dist[same], want_d[same], rtol=1e-4, atol=1e-4)


def test_hnsw_l1_and_quantizer_rerank(data):
    x, q, keys = data
    x, keys = x[:5000], keys[:5000]
    kind = default_index_kinds().get("hnsw")
    for metric, opts in (("l1", HnswOptions()), ("l2", HnswOptions(quantizer="f16")),
                         ("cos", HnswOptions(quantizer="i8"))):
        idx = kind.build(x, keys, opts, metric=metric)
        got, dist = idx.search(q, 10, HnswParams(ef_search=100))
        want, want_d = truth(x, keys, q, 10, metric)
        assert recall(got, want) >= 0.9, (metric, opts)
        same = got == want
        np.testing.assert_allclose(dist[same], want_d[same], rtol=1e-5, atol=1e-5)


def test_hnsw_add_remove_and_halfvec(data):
    x, q, keys = data
    kind = default_index_kinds().get("hnsw")
    idx = kind.build(x[:6000].astype(np.float16), keys[:6000], HnswOptions(), metric="l2",
                     dtype="f16")
    idx.add(x[6000:].astype(np.float16), keys[6000:])
    want, _ = truth(x, keys, q, 10, "l2")
    got, _ = idx.search(q.astype(np.float16), 10)
    assert recall(got, want) >= 0.93
    idx.remove(want[:, 0])
    got2, _ = idx.search(q.astype(np.float16), 10)
    assert not np.isin(got2, want[:, 0]).any()


def test_hnsw_bits_hamming_and_jaccard():
    rng = np.random.default_rng(3)
    centres = rng.integers(0, 2, (20, 128)).astype(bool)
    lab = rng.integers(0, 20, 3000)
    flips = rng.random((3000, 128)) < 0.1
    bits = np.packbits(centres[lab] ^ flips, axis=1)
    keys = np.arange(3000)
    q = bits[:50]
    kind = default_index_kinds().get("hnsw")
    for metric in ("hamming", "jaccard"):
        idx = kind.build(bits, keys, HnswOptions(), metric=metric, dtype="b1")
        got, dist = idx.search(q, 10, HnswParams(ef_search=100))
        want, want_d = exact_search(np, bits, keys, q, 10, metric)
        # integer distances tie a lot: a hit is any row as close as the true 10th
        assert (dist <= want_d[:, -1:] + 1e-12).mean() >= 0.9
        found_self = got[:, 0] == np.arange(50)
        assert found_self.mean() >= 0.95  # single-threaded small build: deterministic
        assert (dist[found_self, 0] == 0).all()


@pytest.mark.parametrize("metric", ["l2", "cos", "ip"])
def test_ivfflat_recall(data, metric):
    x, q, keys = data
    kind = default_index_kinds().get("ivfflat")
    idx = kind.build(x, keys, IvfflatOptions(lists=50), metric=metric)
    want, want_d = truth(x, keys, q, 10, metric)
    got1, _ = idx.search(q, 10, IvfflatParams(probes=1))
    got, dist = idx.search(q, 10, IvfflatParams(probes=16))
    assert recall(got, want) >= 0.95
    assert recall(got, want) >= recall(got1, want)
    all_lists, _ = idx.search(q, 10, IvfflatParams(probes=50))
    assert (all_lists == want).all()  # every list probed: exactly the exact answer


def test_ivfflat_add_remove(data):
    x, q, keys = data
    kind = default_index_kinds().get("ivfflat")
    idx = kind.build(x[:8000], keys[:8000], IvfflatOptions(lists=20), metric="l2")
    idx.add(x[8000:], keys[8000:])
    want, _ = truth(x, keys, q, 10, "l2")
    got, _ = idx.search(q, 10, IvfflatParams(probes=20))
    assert (got == want).all()
    idx.remove(want[:, 0])
    got2, _ = idx.search(q, 10, IvfflatParams(probes=20))
    assert not np.isin(got2, want[:, 0]).any()


def test_sparse_index_exact(tmp_path):
    rng = np.random.default_rng(5)
    n, dim = 500, 1000
    dense = np.where(rng.random((n, dim)) < 0.01, rng.standard_normal((n, dim)), 0).astype(np.float32)
    rows, cols = np.nonzero(dense)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    keys = np.arange(n) + 100
    qd = dense[:5] + np.where(rng.random((5, dim)) < 0.01, 1, 0).astype(np.float32)
    qr, qc = np.nonzero(qd)
    qoff = np.concatenate([[0], np.cumsum(np.bincount(qr, minlength=5))])
    kind = default_index_kinds().get("sparse")
    for metric in ("ip", "cos", "l2"):
        idx = kind.build((offsets, cols, dense[rows, cols]), keys, metric=metric)
        got, dist = idx.search((qoff, qc, qd[qr, qc]), 10)
        want, want_d = exact_search(np, dense, keys, qd, 10, metric)
        np.testing.assert_allclose(dist, want_d, rtol=1e-5, atol=1e-5)
        assert recall(got, want) >= 0.99
    idx.save(str(tmp_path / "sp"))
    again = kind.load(str(tmp_path / "sp"))
    assert (again.search((qoff, qc, qd[qr, qc]), 10)[0] == got).all()


@pytest.mark.parametrize("name", ["hnsw", "ivfflat", "exact"])
def test_save_and_load_as_view(tmp_path, data, name):
    x, q, keys = data
    x, keys = x[:3000], keys[:3000]
    kind = default_index_kinds().get(name)
    opts = {"hnsw": HnswOptions(), "ivfflat": IvfflatOptions(lists=10), "exact": None}[name]
    idx = kind.build(x, keys, opts, metric="l2")
    before = idx.search(q[:20], 10)
    path = str(tmp_path / name)
    idx.save(path)
    for view in (True, False):
        loaded = kind.load(path, view=view)
        after = loaded.search(q[:20], 10)
        assert (after[0] == before[0]).all()
        np.testing.assert_allclose(after[1], before[1])
    with open(path + ".meta", "w") as f:
        f.write("not json")
    with pytest.raises(E.DataCorrupted):
        kind.load(path)


def test_options_parse_and_errors():
    assert parse_options(HnswOptions, {"M": "8", "ef_construction": 32}) == \
        HnswOptions(m=8, ef_construction=32)
    with pytest.raises(E.InvalidParameterValue, match='unrecognized parameter "foo"'):
        parse_options(HnswOptions, {"foo": 1})
    with pytest.raises(E.InvalidParameterValue, match='value 1 out of bounds for option "m"'):
        parse_options(HnswOptions, {"m": 1})
    with pytest.raises(E.InvalidParameterValue, match="greater than or equal to 2 \\* m"):
        parse_options(HnswOptions, {"m": 40, "ef_construction": 40})
    with pytest.raises(E.InvalidParameterValue):
        parse_options(HnswOptions, {"quantizer": "q3"})
    with pytest.raises(E.InvalidParameterValue):
        parse_options(IvfflatOptions, {"lists": 0})
    assert parse_options(IvfflatOptions, {"lists": "7"}).lists == 7
    assert opclass("vector_cosine_ops", "vector").metric == "cos"
    assert opclass(None, "bit").metric == "hamming"
    with pytest.raises(E.DatatypeMismatch):
        opclass("vector_cosine_ops", "halfvec")
    with pytest.raises(E.UndefinedObject):
        default_index_kinds().get("btreex")


def test_gpu_path_is_the_numpy_path_here():
    from sqlvec.index.xp import array_module, gpu_available, parse_gpu_setting
    assert parse_gpu_setting("on") is True and parse_gpu_setting("off") is False
    assert array_module(False) is np
    if not gpu_available():
        with pytest.raises(E.FeatureNotSupported):
            array_module(True)
        pytest.skip("no CuPy/GPU here: the CuPy path is exercised only on a GPU machine")
