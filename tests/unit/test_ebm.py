"""Q1.4-1.7: the energy-based model's estimators against exact answers.

Importance sampling and quadrature against an energy whose partition function has a closed form;
autograd's gradient of L_hat against the homework's estimator (1/n) sum_i grad E(x_i) - N_hat / D_hat
written with per-point gradients (torch.func); the quadrature's own error on a trained model; the
summaries' identities.
"""

import math

import numpy as np
import pytest
import torch

import VI

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


def small_energy(width=6, base_var=2.0, learn_base_var=True, seed=0, activation="relu"):
    torch.manual_seed(seed)
    return VI.ShallowEnergy(width, activation, base_var, 3.0, learn_base_var)


def per_point_gradients(energy, x):
    """grad_theta E_theta(x_m) for each row of x: parameter name -> (M, *shape), by torch.func."""
    params = {k: p.detach() for k, p in energy.named_parameters()}

    def energy_at(p, x_m):
        return torch.func.functional_call(energy, p, (x_m[None],))[0]

    return torch.func.vmap(torch.func.grad(energy_at), in_dims=(None, 0))(params, x)


WIDE_GAUSSIAN = VI.GMM(weights=np.ones(1), means=np.zeros((1, 2)), var=4.0)


def test_importance_sampling_matches_the_closed_form_partition_function():
    """A = 2 + log(2 pi 1.2) within 4 standard errors; the self-normalised mean of x is the energy's centre."""
    energy, exact = gaussian_energy(mean=[10.0, 0.5], var=1.2, offset=2.0)
    x_q, log_q = proposal(VI.ring_gmm(10, 10.0), 20000, "ebm-test", "closed-form")
    log_w = VI.importance_log_weights(energy, x_q, log_q)
    a_hat, se = float(VI.importance_log_partition(log_w)), VI.importance_log_partition_se(log_w)
    assert 0 < se < 0.05 and abs(a_hat - exact) < 4 * se
    assert torch.allclose(torch.softmax(log_w, 0) @ x_q, torch.tensor([10.0, 0.5], dtype=torch.float64), atol=0.05)


def test_delta_method_standard_error_matches_the_spread_over_repeated_samples():
    """The s.d. of A_hat over 30 independent samples against the mean delta-method s.e., within 35 %."""
    energy, _ = gaussian_energy(mean=[0.0, 0.0], var=1.0, offset=0.0)
    estimates, ses = [], []
    for r in range(30):
        log_w = VI.importance_log_weights(energy, *proposal(WIDE_GAUSSIAN, 1000, "ebm-test", "repeat", r))
        estimates.append(float(VI.importance_log_partition(log_w)))
        ses.append(VI.importance_log_partition_se(log_w))
    assert np.std(estimates, ddof=1) == pytest.approx(np.mean(ses), rel=0.35)


def test_effective_sample_size_is_m_for_equal_weights_and_1_for_one_point():
    assert VI.effective_sample_size(torch.zeros(50, dtype=torch.float64)) == pytest.approx(50.0)
    one_point = torch.full((50,), -1e3, dtype=torch.float64)
    one_point[7] = 0.0
    assert VI.effective_sample_size(one_point) == pytest.approx(1.0)


def test_autograd_of_l_hat_is_the_data_term_minus_n_hat_over_d_hat():
    """grad [mean E(x_i) - A_hat] = (1/n) sum_i grad E(x_i) - sum_m w_m grad E(x_m), w_m = e^{E(x_m)}/q(x_m)
    normalised, every parameter (log_beta learned) to 1e-12; N_hat / D_hat also without log space for dE/dc = 1."""
    energy = small_energy()
    x_q, log_q = proposal(VI.ring_gmm(10, 3.0), 300, "ebm-test", "gradient")
    x = VI.to_tensor(VI.sample_gmm(VI.ring_gmm(10, 3.0), 50, VI.rng_for(SEED, "ebm-test", "data")))
    names = [k for k, _ in energy.named_parameters()]
    assert "log_beta" in names and "log_beta" not in dict(small_energy(learn_base_var=False).named_parameters())
    l_hat = energy(x).mean() - VI.importance_log_partition(VI.importance_log_weights(energy, x_q, log_q))
    autograd = dict(zip(names, torch.autograd.grad(l_hat, list(energy.parameters()))))
    with torch.no_grad():
        w = torch.softmax(energy(x_q) - log_q, dim=0)
    data_term, model_points = per_point_gradients(energy, x), per_point_gradients(energy, x_q)
    for name in names:
        estimator = data_term[name].mean(dim=0) - torch.tensordot(w, model_points[name], dims=1)
        assert torch.allclose(autograd[name], estimator, rtol=1e-10, atol=1e-12), name
    with torch.no_grad():
        ratio = torch.exp(energy(x_q)) / torch.exp(log_q)  # e^{E} / q, no log-sum-exp
    n_hat_over_d_hat = float(torch.sum(model_points["out.bias"][:, 0] * ratio) / torch.sum(ratio))
    assert 1.0 - n_hat_over_d_hat == pytest.approx(float(autograd["out.bias"][0]), abs=1e-12)


def test_train_ebms_surrogate_has_the_gradient_of_l_hat():
    """mean E(x_i) - sum_m w_m E(x_m) with w detached (VI.train_ebm's step) has L_hat's gradient, to 1e-12."""
    energy = small_energy(seed=1, activation="softplus")
    x_q, log_q = proposal(VI.ring_gmm(10, 3.0), 200, "ebm-test", "objective")
    x = VI.to_tensor(VI.sample_gmm(VI.ring_gmm(10, 3.0), 50, VI.rng_for(SEED, "ebm-test", "data")))
    log_w = VI.importance_log_weights(energy, x_q, log_q)
    l_hat = energy(x).mean() - VI.importance_log_partition(log_w)
    surrogate = energy(x).mean() - torch.sum(torch.exp(log_w - torch.logsumexp(log_w, 0)).detach() * energy(x_q))
    grads = torch.autograd.grad(l_hat, list(energy.parameters()), retain_graph=True)
    for g, s in zip(grads, torch.autograd.grad(surrogate, list(energy.parameters()))):
        assert torch.allclose(g, s, rtol=1e-12, atol=1e-14)


def test_quadrature_matches_the_closed_form():
    """A = -3 + log(2 pi 0.7) to 1e-9 on [-10, 10]^2 with 401 nodes per axis."""
    energy, exact = gaussian_energy(mean=[1.0, -2.0], var=0.7, offset=-3.0)
    assert VI.quadrature_log_partition(energy, 10.0, 401) == pytest.approx(exact, abs=1e-9)


def test_quadrature_and_importance_sampling_agree_on_a_random_network():
    """|A_hat - A_quad| < 4 s.e. with M = 20000 from N(0, 4 I)."""
    energy = small_energy(width=16, base_var=1.0, seed=2, activation="tanh")
    with torch.no_grad():
        log_w = VI.importance_log_weights(energy, *proposal(WIDE_GAUSSIAN, 20000, "ebm-test", "random-network"))
    a_hat, se = float(VI.importance_log_partition(log_w)), VI.importance_log_partition_se(log_w)
    assert se < 0.02 and abs(a_hat - VI.quadrature_log_partition(energy, 12.0, 401)) < 4 * se


@pytest.fixture(scope="module")
def trained():
    """A default-sized EBM after 300 steps on 300 points of the R = 10 ring, and its evaluation."""
    cfg = VI.EBMSettings(steps=300, importance_M=1000)
    data = VI.make_datasets(SEED, 10, 300, 10.0)
    energy, trace, summary = VI.ebm_experiment(data, 10, 10.0, SEED, cfg)
    return cfg, data, energy, trace, summary


def test_quadrature_of_a_trained_model_is_converged(trained):
    """Halving the resolution (801 -> 401 nodes) and widening the box 1.5x (801 -> 1201 nodes) change A by < 1e-6."""
    cfg, _, energy, _, summary = trained
    lim, num = 10.0 + cfg.quadrature_margin, cfg.quadrature_num
    assert summary["A_quad"] == VI.quadrature_log_partition(energy, lim, num)
    assert abs(VI.quadrature_log_partition(energy, lim, (num - 1) // 2 + 1) - summary["A_quad"]) < 1e-6
    assert abs(VI.quadrature_log_partition(energy, 1.5 * lim, int(1.5 * (num - 1)) + 1) - summary["A_quad"]) < 1e-6


def test_training_raised_the_objective_and_kept_the_step_kept_step_chooses(trained):
    """The kept model's validation value is the trace's at kept_step, and within 1e-3 of the best."""
    _, data, energy, trace, summary = trained
    assert trace["train_loglik"].max() > trace["train_loglik"][0] + 1.0
    assert summary["best_step"] == VI.kept_step(trace["validation_loglik"])
    assert summary["validation_loglik"] == pytest.approx(trace["validation_loglik"][summary["best_step"]], abs=1e-10)
    assert summary["validation_loglik"] >= trace["validation_loglik"].max() - 1e-3
    assert summary["ess_min_during_training"] == trace["ess"].min()


def test_evaluation_is_mean_energy_minus_a_and_its_gaps(trained):
    """test log-lik = mean E(test) - A (A_hat or quadrature); gap = true - model; 4 width + 1 parameters."""
    _, data, energy, _, e = trained
    mean_e = np.mean(VI.energy_values(energy, data["test"]))
    assert e["test_loglik_is"] == pytest.approx(mean_e - e["A_is"], abs=1e-10)
    assert e["test_loglik_quad"] == pytest.approx(mean_e - e["A_quad"], abs=1e-10)
    assert e["gap_to_true_quad"] == pytest.approx(e["test_loglik_true"] - e["test_loglik_quad"], abs=1e-10)
    assert e["gap_to_true_is"] == pytest.approx(e["test_loglik_true"] - e["test_loglik_is"], abs=1e-10)
    assert e["A_is_minus_quad"] == pytest.approx(e["A_is"] - e["A_quad"], abs=1e-14)
    assert e["n_parameters"] == 4 * 32 + 1 and e["base_var_final"] == 1.0
    assert e["input_scale"] == pytest.approx(math.sqrt(np.mean(data["train"] ** 2)), rel=1e-14)


def test_kde_comparison_is_the_difference_of_the_separate_log_likelihoods(trained):
    """lead over the KDE = test log-lik of the EBM - of the KDE (each A); the KDE's gap = true - KDE."""
    _, data, energy, _, e = trained
    c = VI.ebm_kde_comparison(energy, e, data, 0.3, VI.ring_gmm(10, 10.0))
    assert c["test_loglik_kde"] == pytest.approx(VI.kde_log_likelihood(data["test"], data["train"], 0.3), rel=1e-14)
    for key in ("is", "quad"):
        assert c[f"lead_over_kde_{key}"] == pytest.approx(e[f"test_loglik_{key}"] - c["test_loglik_kde"], abs=1e-10)
    assert c["kde_gap_to_true"] == pytest.approx(e["test_loglik_true"] - c["test_loglik_kde"], abs=1e-10)


def test_the_model_round_trips_through_json_and_the_experiment_repeats(trained):
    """energy_from_json(energy_to_json(E)) gives bit-identical energies; the same run gives the same summary."""
    cfg, data, energy, _, summary = trained
    copy = VI.energy_from_json(VI.json.loads(VI.json.dumps(VI.energy_to_json(energy))), cfg)
    np.testing.assert_array_equal(VI.energy_values(copy, data["test"]), VI.energy_values(energy, data["test"]))
    small = VI.EBMSettings(width=4, steps=5, importance_M=100, quadrature_num=41)
    assert VI.ebm_experiment(data, 10, 10.0, SEED, small)[2] == VI.ebm_experiment(data, 10, 10.0, SEED, small)[2]


def test_a_learned_base_variance_moves_and_a_fixed_one_does_not():
    data = VI.make_datasets(SEED, 10, 60, 10.0)
    for learn in (True, False):
        cfg = VI.EBMSettings(width=4, steps=5, importance_M=100, quadrature_num=41, learn_base_var=learn, base_var=4.0)
        assert (VI.ebm_experiment(data, 10, 10.0, SEED, cfg)[2]["base_var_final"] != 4.0) == learn


def test_energy_is_confined_for_any_parameters():
    """Weights x 50: the network grows linearly, -|x|^2 / (2 base_var) wins: E < -1e4 at |x| ~ 1000."""
    energy = small_energy(width=8, base_var=3.0, learn_base_var=False)
    with torch.no_grad():
        for p in energy.parameters():
            p.mul_(50.0)
    assert np.all(VI.energy_values(energy, np.array([[1e3, 0.0], [0.0, -1e3], [700.0, 700.0]])) < -1e4)


def test_kept_step_is_the_earliest_within_the_tolerance_of_the_best():
    """A rise to -5 then a plateau wobbling by 1e-4: step 100 (the end of the rise) for tol 1e-3."""
    curve = np.concatenate([np.linspace(-6.0, -5.0, 101), -5.0 + 1e-4 * np.sin(np.arange(400))])
    assert int(np.argmax(curve)) > 150
    assert VI.kept_step(curve, tol=1e-3) == 100
    assert VI.kept_step(curve, tol=0.0) == int(np.argmax(curve))
    assert VI.kept_step(curve, tol=0.1) == 91  # the top is -5 + 1e-4: step 90 (-5.1) is just outside
    noisy = curve + np.random.default_rng(0).normal(0, 1e-7, curve.size)
    assert VI.kept_step(noisy, tol=1e-3) == 100


def test_the_settings_names_are_the_documented_torch_classes():
    """adam, adamw: torch's; sgd: SGD with momentum 0.9; activations are nn.Modules."""
    params = [torch.zeros(3, requires_grad=True)]
    adam, adamw, sgd = (VI.OPTIMIZERS[name](params, lr=0.05, weight_decay=0.01) for name in ("adam", "adamw", "sgd"))
    assert type(adam) is torch.optim.Adam and type(adamw) is torch.optim.AdamW and type(sgd) is torch.optim.SGD
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["lr"] == 0.05 and adamw.defaults["weight_decay"] == 0.01
    assert {type(small_energy(activation=a).act) for a in VI.ACTIVATIONS} == {torch.nn.ReLU, torch.nn.Softplus, torch.nn.Tanh}
