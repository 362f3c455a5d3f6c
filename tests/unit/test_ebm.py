"""Q1.4-1.7: the energy-based model's estimators against exact answers.

Importance sampling against an energy whose partition function has a closed form,
autograd's gradient of A_hat against the homework's estimator N_hat / D_hat (the build's
check in vi_extras, and the surrogate VI.train_ebm steps on), quadrature against importance
sampling, and training steps raising the objective.
"""

import math

import numpy as np
import pytest
import torch

import VI
import vi_extras
from vi_build import energy_from_dict, energy_to_dict, train_ebm_in_full

SEED = 11


def gaussian_energy(mean, var, offset):
    """E(x) = offset - |x - mean|^2 / (2 var): A = offset + log(2 pi var) exactly."""
    mean = torch.as_tensor(mean, dtype=torch.float64)

    def energy(x):
        return offset - torch.sum((x - mean) ** 2, dim=-1) / (2.0 * var)

    return energy, offset + math.log(2.0 * math.pi * var)


def proposal(gmm, M, *keys):
    """M points from a mixture and their log-densities, as tensors."""
    x = VI.sample_gmm(gmm, M, VI.rng_for(SEED, *keys))
    return VI.to_tensor(x), VI.to_tensor(VI.gmm_log_density(x, gmm))


def small_energy(width=6, base_var=2.0, learn_base_var=True, seed=0):
    torch.manual_seed(seed)
    return VI.ShallowEnergy(width, torch.nn.ReLU, base_var, input_scale=3.0, learn_base_var=learn_base_var)


WIDE_GAUSSIAN = VI.GMM(weights=np.ones(1), means=np.zeros((1, 2)), var=4.0)


def test_importance_sampling_matches_closed_form_partition_function():
    energy, exact = gaussian_energy(mean=[10.0, 0.5], var=1.2, offset=2.0)
    x_q, log_q = proposal(VI.ring_gmm(10, 10.0), 20000, "ebm-test", "closed-form")
    log_w = VI.importance_log_weights(energy, x_q, log_q)
    a_hat, se = float(VI.importance_log_partition(log_w)), VI.importance_log_partition_se(log_w)
    assert 0 < se < 0.05
    assert abs(a_hat - exact) < 4 * se
    # The self-normalised estimator of the first two moments of p = N(mean, var I).
    mean_hat = vi_extras.self_normalised_estimate(x_q, log_w)
    assert torch.allclose(mean_hat, torch.tensor([10.0, 0.5], dtype=torch.float64), atol=0.05)
    spread = vi_extras.self_normalised_estimate(torch.sum((x_q - mean_hat) ** 2, dim=1), log_w)
    assert abs(float(spread) - 2 * 1.2) < 0.1


def test_delta_method_standard_error_matches_spread_over_repeated_samples():
    energy, _ = gaussian_energy(mean=[0.0, 0.0], var=1.0, offset=0.0)
    estimates, ses = [], []
    for r in range(30):
        x_q, log_q = proposal(WIDE_GAUSSIAN, 1000, "ebm-test", "repeat", r)
        log_w = VI.importance_log_weights(energy, x_q, log_q)
        estimates.append(float(VI.importance_log_partition(log_w)))
        ses.append(VI.importance_log_partition_se(log_w))
    assert np.std(estimates, ddof=1) == pytest.approx(np.mean(ses), rel=0.35)


def test_effective_sample_size_bounds():
    assert VI.effective_sample_size(torch.zeros(50, dtype=torch.float64)) == pytest.approx(50.0)
    one_point = torch.full((50,), -1e3, dtype=torch.float64)
    one_point[7] = 0.0
    assert VI.effective_sample_size(one_point) == pytest.approx(1.0)


def test_autograd_through_a_hat_is_the_self_normalised_gradient_estimator():
    energy = small_energy()
    x_q, log_q = proposal(VI.ring_gmm(10, 3.0), 300, "ebm-test", "gradient")
    a_hat = VI.importance_log_partition(VI.importance_log_weights(energy, x_q, log_q))
    autograd = dict(zip([k for k, _ in energy.named_parameters()], torch.autograd.grad(a_hat, list(energy.parameters()))))
    estimator = vi_extras.importance_grad_log_partition(VI, energy, x_q, log_q)
    assert set(estimator) == set(autograd) and "log_beta" in estimator
    assert "log_beta" not in dict(small_energy(learn_base_var=False).named_parameters())
    for name, g in autograd.items():
        assert torch.allclose(estimator[name], g, rtol=1e-10, atol=1e-12), name
    # N_hat / D_hat written out for one coordinate, without any log-space trick.
    grads = vi_extras.per_point_energy_gradients(energy, x_q)["out.bias"][:, 0]  # dE/dc = 1 at every point
    with torch.no_grad():
        ratio = torch.exp(energy(x_q)) / torch.exp(log_q)
    assert float(torch.sum(grads * ratio) / torch.sum(ratio)) == pytest.approx(float(autograd["out.bias"][0]), rel=1e-12)


def objective(energy, x, x_q, log_q):
    """L_hat = (1/n) sum_i E(x_i) - A_hat."""
    return energy(x).mean() - VI.importance_log_partition(VI.importance_log_weights(energy, x_q, log_q))


def test_objective_gradient_is_data_term_minus_importance_estimate():
    energy = small_energy(seed=1)
    x_q, log_q = proposal(VI.ring_gmm(10, 3.0), 200, "ebm-test", "objective")
    x = VI.to_tensor(VI.sample_gmm(VI.ring_gmm(10, 3.0), 50, VI.rng_for(SEED, "ebm-test", "data")))
    grads = torch.autograd.grad(objective(energy, x, x_q, log_q), list(energy.parameters()))
    data_term = {k: g.mean(dim=0) for k, g in vi_extras.per_point_energy_gradients(energy, x).items()}
    model_term = vi_extras.importance_grad_log_partition(VI, energy, x_q, log_q)
    for (name, _), g in zip(energy.named_parameters(), grads):
        assert torch.allclose(g, data_term[name] - model_term[name], atol=1e-12), name
    # The surrogate of VI.train_ebm, with the self-normalised weights held fixed, has the same gradient.
    log_w = VI.importance_log_weights(energy, x_q, log_q)
    w = torch.exp(log_w - torch.logsumexp(log_w, dim=0)).detach()
    surrogate = energy(x).mean() - torch.sum(w * energy(x_q))
    for g, s in zip(grads, torch.autograd.grad(surrogate, list(energy.parameters()))):
        assert torch.allclose(g, s, rtol=1e-12, atol=1e-14)


def test_quadrature_matches_closed_form():
    energy, exact = gaussian_energy(mean=[1.0, -2.0], var=0.7, offset=-3.0)
    assert VI.quadrature_log_partition(energy, 10.0, 401) == pytest.approx(exact, abs=1e-9)


def test_quadrature_and_importance_sampling_agree_on_a_random_network():
    energy = small_energy(width=16, base_var=1.0, seed=2)
    x_q, log_q = proposal(WIDE_GAUSSIAN, 20000, "ebm-test", "random-network")
    with torch.no_grad():
        log_w = VI.importance_log_weights(energy, x_q, log_q)
    a_hat, se = float(VI.importance_log_partition(log_w)), VI.importance_log_partition_se(log_w)
    a_quad = VI.quadrature_log_partition(energy, 12.0, 401)
    assert se < 0.02
    assert abs(a_hat - a_quad) < 4 * se
    assert VI.quadrature_log_partition(energy, 12.0, 201) == pytest.approx(a_quad, abs=1e-3)  # resolution
    assert VI.quadrature_log_partition(energy, 18.0, 601) == pytest.approx(a_quad, abs=1e-9)  # box holds the mass


def test_energy_is_confined_for_any_parameters():
    energy = small_energy(width=8, base_var=3.0, learn_base_var=False)
    with torch.no_grad():
        for p in energy.parameters():
            p.mul_(50.0)  # large weights: the network grows fast, but only linearly
    far = VI.energy_values(energy, np.array([[1e3, 0.0], [0.0, -1e3], [700.0, 700.0]]))
    assert np.all(far < -1e4)


def test_training_raises_the_objective_and_keeps_the_step_kept_step_chooses():
    gmm = VI.ring_gmm(10, 10.0)
    data = {s: VI.sample_gmm(gmm, 200, VI.rng_for(SEED, "ebm-test", s)) for s in ("train", "validation")}
    x_q, log_q = proposal(gmm, 500, "ebm-test", "training")
    cfg = VI.EBMSettings(width=16, steps=40)
    torch.manual_seed(3)
    energy = VI.ShallowEnergy(cfg.width, cfg.activation, cfg.base_var, 7.0, cfg.learn_base_var)
    train, validation = VI.to_tensor(data["train"]), VI.to_tensor(data["validation"])
    before = objective(energy, train, x_q, log_q).item()
    seen = []
    trace, best = VI.train_ebm(energy, train, validation, x_q, log_q, cfg, progress=lambda step, t: seen.append(step))
    assert seen == list(range(cfg.steps))
    assert trace["train_loglik"][0] == pytest.approx(before)
    assert trace["train_loglik"].max() > before + 1.0
    with torch.no_grad():
        a_hat = VI.importance_log_partition(VI.importance_log_weights(energy, x_q, log_q))
        kept = float(energy(validation).mean() - a_hat)
    assert best == VI.kept_step(trace["validation_loglik"])
    assert kept == pytest.approx(trace["validation_loglik"][best], abs=1e-10)
    assert kept >= trace["validation_loglik"].max() - 1e-3


def test_kept_step_is_the_earliest_within_the_tolerance_of_the_best():
    """On a curve that rises, then stays flat to 1e-4 nats: the first step within tol of the top,
    whichever flat step happens to be highest (last-bit noise must not move it)."""
    rise = np.linspace(-6.0, -5.0, 101)  # steps 0..100, 0.01 nats per step
    flat = -5.0 + 1e-4 * np.sin(np.arange(400))  # its argmax is far along the plateau
    curve = np.concatenate([rise, flat])
    assert int(np.argmax(curve)) > 150
    assert VI.kept_step(curve, tol=1e-3) == 100  # -5.0 - 1e-3 is first reached at the end of the rise
    assert VI.kept_step(curve, tol=0.0) == int(np.argmax(curve))  # tol 0: the best step itself
    assert VI.kept_step(curve, tol=0.1) == 91  # the top is -5 + 1e-4: step 90 (-5.1) is just outside
    noisy = curve + np.random.default_rng(0).normal(0, 1e-7, curve.size)  # last-bit changes
    assert VI.kept_step(noisy, tol=1e-3) == VI.kept_step(curve, tol=1e-3)


SECTION = {"width": 8, "activation": "relu", "base_var": 1.0, "learn_base_var": False, "optimizer": "adam", "lr": 0.03,
           "weight_decay": 0.0, "steps": 15, "importance_M": 300, "check_M": 500, "quadrature_margin": 8.0,
           "quadrature_num": 101, "init": 0, "threads": 1, "log_every": 0}  # a config ebm section, small


def quiet(line):
    pass


def test_model_round_trips_through_json_and_experiment_is_reproducible():
    gmm = VI.ring_gmm(10, 10.0)
    data = {s: VI.sample_gmm(gmm, 100, VI.rng_for(SEED, "ebm-test", "repro", s)) for s in VI.SPLITS}
    runs = [train_ebm_in_full(VI, data, 10, 10.0, SEED, SECTION, log=quiet) for _ in range(2)]
    assert runs[0][2] == runs[1][2]
    energy = runs[0][0]
    copy = energy_from_dict(VI, energy_to_dict(energy, SECTION))
    x = data["test"][:20]
    np.testing.assert_array_equal(VI.energy_values(copy, x), VI.energy_values(energy, x))


def test_kde_comparison_is_consistent_with_the_separate_log_likelihoods():
    gmm = VI.ring_gmm(10, 10.0)
    data = {s: VI.sample_gmm(gmm, 100, VI.rng_for(SEED, "ebm-test", "kde", s)) for s in VI.SPLITS}
    energy, _, summary = train_ebm_in_full(VI, data, 10, 10.0, SEED, SECTION, log=quiet)
    comparison = VI.ebm_kde_comparison(energy, summary, data, kde_sigma=0.3)
    comparison = vi_extras.ebm_kde_extras(VI, comparison, data, energy, summary, gmm, kde_sigma=0.3)
    assert comparison["test_loglik_kde"] == pytest.approx(VI.kde_log_likelihood(data["test"], data["train"], 0.3))
    for key in ("is", "check", "quad"):
        paired = summary[f"test_loglik_{key}"] - comparison["test_loglik_kde"]
        assert comparison[f"lead_over_kde_{key}"] == pytest.approx(paired, abs=1e-12)
    assert comparison["kde_gap_to_true"] == pytest.approx(summary["test_loglik_true"] - comparison["test_loglik_kde"])


def test_the_configs_names_are_torch_classes_with_the_documented_settings():
    params = [torch.zeros(3, requires_grad=True)]
    adam, adamw, sgd = (vi_extras.OPTIMIZERS[name](params, lr=0.05, weight_decay=0.01) for name in ("adam", "adamw", "sgd"))
    assert type(adam) is torch.optim.Adam and type(adamw) is torch.optim.AdamW and type(sgd) is torch.optim.SGD
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["lr"] == 0.05
    assert adamw.defaults["weight_decay"] == 0.01
    assert vi_extras.ebm_settings_values({"activation": "tanh", "threads": 2}) == {"activation": torch.nn.Tanh}
    assert all(issubclass(c, torch.nn.Module) for c in vi_extras.ACTIVATIONS.values())


def test_network_starts_as_nn_linear_does():
    """The same generator state gives the same first layer as a bare nn.Linear(2, width)."""
    torch.manual_seed(5)
    energy = VI.ShallowEnergy(16, torch.nn.ReLU, 1.0, input_scale=1.0)
    torch.manual_seed(5)
    reference = torch.nn.Linear(2, 16, dtype=torch.float64)
    assert torch.equal(energy.hidden.weight, reference.weight) and torch.equal(energy.hidden.bias, reference.bias)
    assert float(energy.hidden.weight.detach().abs().max()) <= 1 / math.sqrt(2)


def test_the_experiment_reports_the_gradient_estimators_agreement():
    gmm = VI.ring_gmm(10, 10.0)
    data = {s: VI.sample_gmm(gmm, 100, VI.rng_for(SEED, "ebm-test", "grad", s)) for s in VI.SPLITS}
    _, _, summary = train_ebm_in_full(VI, data, 10, 10.0, SEED, SECTION, log=quiet)
    assert summary["grad_max_abs"] > 1e-3
    assert summary["grad_estimator_max_abs_diff"] < 1e-10 * max(1.0, summary["grad_max_abs"])
