"""The original design's embedding drift figures with numpy + scikit-learn, timed.

    python3 bench/sklearn_baseline.py BASELINE.npy CURRENT.npy [--clusters 8] [--seed 42] [--silhouette-sample N]

Mirrors what the Python sketch computed, on the full windows: centroid distances
(Euclidean, cosine), total variance, KMeans + silhouette per window, PCA of the
baseline (10 components) + PSI on baseline deciles. --silhouette-sample N computes
each silhouette on N sampled rows (sklearn's sample_size), as a careful user would:
silhouette is quadratic in the rows. Prints one JSON object:
seconds per step, total, and the figures.
"""
import argparse
import json
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score


def psi(expected, actual, bins=10, floor=1e-4):
    edges = np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1])
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=bins) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=bins) / len(actual)
    e = np.maximum(e, floor)
    a = np.maximum(a, floor)
    return float(np.sum((a - e) * np.log(a / e)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline")
    ap.add_argument("current")
    ap.add_argument("--clusters", type=int, default=8)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--silhouette-sample", type=int, default=None)
    args = ap.parse_args()
    times = {}
    figures = {}
    t_all = time.perf_counter()

    t = time.perf_counter()
    b = np.load(args.baseline)
    c = np.load(args.current)
    times["load"] = time.perf_counter() - t

    t = time.perf_counter()
    mb, mc = b.mean(axis=0), c.mean(axis=0)
    figures["centroid_euclidean"] = float(np.linalg.norm(mb - mc))
    figures["centroid_cosine"] = float(1 - mb @ mc / (np.linalg.norm(mb) * np.linalg.norm(mc)))
    times["centroid_distance"] = time.perf_counter() - t

    t = time.perf_counter()
    figures["variance_baseline"] = float(b.var(axis=0, ddof=1).sum())
    figures["variance_current"] = float(c.var(axis=0, ddof=1).sum())
    times["variance"] = time.perf_counter() - t

    t = time.perf_counter()
    sil = {}
    for name, x in (("baseline", b), ("current", c)):
        km = KMeans(n_clusters=args.clusters, n_init=1, random_state=args.seed).fit(x)
        size = args.silhouette_sample if args.silhouette_sample and args.silhouette_sample < len(x) else None
        sil[name] = float(silhouette_score(x, km.labels_, sample_size=size, random_state=args.seed))
    figures["silhouette"] = sil
    times["kmeans_silhouette"] = time.perf_counter() - t

    t = time.perf_counter()
    pca = PCA(n_components=10, random_state=args.seed).fit(b)
    pb, pc = pca.transform(b), pca.transform(c)
    figures["psi_mean"] = float(np.mean([psi(pb[:, k], pc[:, k]) for k in range(pb.shape[1])]))
    times["pca_psi"] = time.perf_counter() - t

    times["total"] = time.perf_counter() - t_all
    print(json.dumps({"seconds": times, "figures": figures, "silhouette_sample": args.silhouette_sample, "shape": [list(b.shape), list(c.shape)]}))


if __name__ == "__main__":
    main()
