"""Q2.2: the one-dimensional KL picture. A bimodal p and a unimodal q with both KL
divergences by quadrature, and the Gaussians that minimise each direction of the KL
to p (moment matching for KL(p||q), a refined grid search for KL(q||p)). Writes the
summary and the figure."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

from common import load_vi, logged, use_style, write_json  # noqa: E402
from vi_extras import kl_extras  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_style(snakemake.input.style)
    summary, curves = VI.kl_experiment(**snakemake.params.kl)
    summary = kl_extras(VI, summary, snakemake.params.kl)
    q, fwd = summary["q"], summary["forward_fit"]
    print(f"q: KL(p||q) = {q['kl_pq']:.4f}, KL(q||p) = {q['kl_qp']:.4f} (ratio {q['ratio']:.1f})")
    print(f"forward fit N({fwd['mean']:.4f}, {fwd['sd']:.4f}^2): KL(p||q) = {fwd['kl_pq']:.4f}, KL(q||p) = {fwd['kl_qp']:.4f}")
    for f in summary["reverse_fits"]:
        print(f"reverse fit N({f['mean']:.4f}, {f['sd']:.4f}^2): KL(p||q) = {f['kl_pq']:.4f}, KL(q||p) = {f['kl_qp']:.4f}")
    write_json(snakemake.output.summary, summary)
    VI.plot_kl_directions(summary, curves, snakemake.output.figure)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
