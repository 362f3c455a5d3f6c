"""The command line and its validation, as a hostile user would use them: every bad value is refused
with a line naming its key, the defaults print as `python VI.py`, and command_line(s) parses back to s."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import VI

KNOWN = {name: (value, f) for name, value, f in VI.leaves(VI.Settings())}


def problems(values: dict) -> list[str]:
    """settings_from's problem lines ([] when it accepts the values)."""
    try:
        VI.settings_from(values)
    except ValueError as error:
        return str(error).splitlines()
    return []


def test_the_defaults_are_valid_and_print_as_the_bare_command():
    """command_line(defaults) is exactly "python VI.py"; every default round-trips through its text."""
    assert VI.settings_problems(VI.Settings()) == [] and VI.settings_from({}) == VI.Settings()
    assert VI.command_line(VI.Settings()) == "python VI.py"
    for name, (value, _) in KNOWN.items():
        assert VI.parse_value(VI.format_value(value), value) == value, name
    assert "ebm.learn_base_var" in KNOWN and "kl.x_num" in KNOWN and "seed" in KNOWN and len(KNOWN) == 40


@pytest.mark.parametrize("key,text", [
    ("ebm.lr", "nan"), ("ebm.lr", "NaN"), ("ebm.lr", "inf"), ("kde.sigma_max", "-inf"), ("kl.q_mean", "1e400"),
    ("data.n", "10.0"), ("data.n", "1e3"), ("data.n", "nan"), ("data.n", ""), ("seed", "0x10"), ("ebm.steps", "2.5"),
    ("data.R", ""), ("data.R", ",,"), ("data.R", "10,nan"), ("appendix.seeds", " , "), ("kl.p_weights", "0.5;0.5"),
    ("ebm.learn_base_var", "yes"), ("ebm.learn_base_var", "1"), ("ebm.learn_base_var", "tru"), ("ebm.learn_base_var", ""),
    ("ebm.activation", "ReLU"), ("ebm.activation", "elu"), ("ebm.optimizer", ""), ("ebm.optimizer", "Adam"),
    ("data.n", "-5"), ("data.n", "9"), ("data.K", "1"), ("ebm.lr", "0"), ("ebm.lr", "-0.0"), ("em.tol", "-1e-9"),
    ("ebm.weight_decay", "-0.01"), ("kl.q_sd", "0"), ("data.R", "-1,10"), ("data.R", "10,10.0"), ("seed", "-1"),
    ("appendix.seeds", "1,1"), ("appendix.seeds", "-2"), ("kl.p_weights", "0.5,0.6"), ("kl.p_weights", "0.0,1.0"),
    ("kl.p_sds", "1,-1"), ("kl.p_means", "3.0"), ("kl.x_num", "2"), ("ebm.quadrature_num", "0"),
])
def test_a_bad_value_is_refused_on_one_line_naming_its_key(key, text):
    lines = problems({key: text})
    assert lines and lines[0].startswith(f"{key} = "), lines


@pytest.mark.parametrize("values,message", [
    ({"kde.R": "5"}, "kde.R must be one of data.R"),
    ({"data.R": "1"}, "kde.R must be one of data.R"),
    ({"data.K": "50", "data.n": "40"}, "data.n must be at least data.K"),
    ({"kde.sigma_min": "20"}, "kde.sigma_max must exceed kde.sigma_min"),
    ({"kl.p_weights": "0.2,0.3,0.5"}, "kl.p_weights, kl.p_means and kl.p_sds need one entry per component"),
    ({"kl.x_min": "15", "kl.x_max": "15"}, "kl.x_max must exceed kl.x_min"),
    ({"sweep.K_min": "100", "sweep.K_max": "99"}, "sweep.K_max must be at least sweep.K_min"),
])
def test_inconsistent_settings_are_refused(values, message):
    assert message in problems(values)


def test_odd_but_meaningful_spellings_are_accepted():
    """Case and spaces of booleans, integers for numbers, spaces around list items, a leading +."""
    s = VI.settings_from({"ebm.learn_base_var": " TRUE ", "ebm.lr": "1", "data.R": " 2 , 10 ", "data.n": "+500",
                          "ebm.activation": " tanh"})
    assert s.ebm.learn_base_var is True and s.ebm.lr == 1.0 and isinstance(s.ebm.lr, float)
    assert s.data.R == (2.0, 10.0) and s.data.n == 500 and s.ebm.activation == "tanh"
    assert VI.settings_from({"ebm.learn_base_var": "False"}).ebm.learn_base_var is False


def test_unknown_keys_are_refused_by_name():
    lines = problems({"data.m": "5", "data": "5", "vi.kl.x_num": "5", "ebm.threads": "2"})
    assert [line.split(":")[0] for line in lines] == ["data.m", "data", "vi.kl.x_num", "ebm.threads"]
    assert all("no such setting" in line for line in lines)


def invalid(value):
    """A value that breaks a setting's test: -1 of its type (a 1-tuple of it for lists), or an unknown name."""
    if isinstance(value, tuple):
        return (type(value[0])(-1),)
    return "nope" if isinstance(value, str) else type(value)(-1)


def test_every_problem_line_names_its_key_and_what_it_accepts():
    """All settings wrong at once: one line per setting with a test, naming it and its `accepts`; the
    lines after them name the inconsistent pairs."""
    s = VI.Settings()
    for name, (value, f) in KNOWN.items():
        section, _, key = name.rpartition(".")
        if section:
            s = replace(s, **{section: replace(getattr(s, section), **{key: invalid(value)})})
        else:
            s = replace(s, **{key: invalid(value)})
    lines = VI.settings_problems(s)
    tested = [name for name, (value, f) in KNOWN.items() if not f.metadata["valid"](invalid(value))]
    assert set(KNOWN) - set(tested) == {"kl.q_mean", "kl.x_min", "kl.x_max", "ebm.learn_base_var"}  # any number, any bool
    for name, line in zip(tested, lines):
        assert line.startswith(f"{name} = ") and line.endswith(f"expected {KNOWN[name][1].metadata['accepts']}")
    assert all(line.split()[0].rstrip(",") in KNOWN for line in lines[len(tested):])


def test_settings_from_lists_every_problem_at_once():
    """A value that does not parse and another out of range: both lines (the docstring's 'every problem')."""
    assert [line.split()[0] for line in problems({"data.n": "abc", "em.restarts": "0"})] == ["data.n", "em.restarts"]


def test_main_exits_with_argparses_error_naming_the_setting(capsys):
    """SystemExit(2) before any stage runs, the message on stderr; unknown options and stages likewise."""
    for argv, named in ((["--data.n=abc"], "data.n = abc"), (["--data.nn=5"], "--data.nn=5"),
                        (["--kde.R=3"], "kde.R must be one of data.R"), (["--only", "q1"], "unknown stage q1"),
                        (["--only", "seed_7"], "unknown stage seed_7")):
        with pytest.raises(SystemExit) as exit_:
            VI.main(argv)
        assert exit_.value.code == 2 and named in capsys.readouterr().err, argv


def test_help_lists_every_setting_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        VI.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert exit_.value.code == 0
    for name, (value, _) in KNOWN.items():
        assert f"--{name}" in text and f"(default {VI.format_value(value)})" in text, name


# ---------------------------------------------------------------- command_line(s) parses back to s

POSITIVE = st.floats(min_value=0.125, max_value=8.0)


@st.composite
def valid_settings(draw):
    """Random valid Settings: each setting the default or another accepted value (ints at or above the
    default, floats the default times a factor), the lists and kde.R consistent."""
    values = {}
    for name, (default, _) in KNOWN.items():
        if not draw(st.booleans()):
            continue
        if isinstance(default, bool):
            values[name] = draw(st.booleans())
        elif isinstance(default, int):
            values[name] = draw(st.integers(default, 3 * default + 5))
        elif isinstance(default, float):
            values[name] = default * draw(POSITIVE) if default else draw(st.floats(0.0, 10.0))
        elif isinstance(default, str):
            values[name] = draw(st.sampled_from(sorted(VI.ACTIVATIONS if "activation" in name else VI.OPTIMIZERS)))
    R = tuple(draw(st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=3, unique_by=lambda r: f"{r:g}")))
    values.update({"data.R": R, "kde.R": draw(st.sampled_from(R))})
    values["appendix.seeds"] = tuple(draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True)))
    m = draw(st.integers(2, 3))
    w = draw(st.lists(POSITIVE, min_size=m, max_size=m))
    values.update({"kl.p_weights": tuple(v / sum(w) for v in w), "kl.p_sds": tuple(draw(st.lists(POSITIVE, min_size=m, max_size=m))),
                   "kl.p_means": tuple(draw(st.lists(st.floats(-10, 10), min_size=m, max_size=m)))})
    # the grid holds p and q with 5 standard deviations to spare
    centres = values["kl.p_means"] + (values.get("kl.q_mean", 3.0),)
    margin = 5 * max(values["kl.p_sds"] + (values.get("kl.q_sd", 0.5),)) + 1
    values.update({"kl.x_min": min(centres) - margin, "kl.x_max": max(centres) + margin})
    s = VI.Settings()
    for name, value in values.items():
        section, _, key = name.rpartition(".")
        s = replace(s, **{section: replace(getattr(s, section), **{key: value})}) if section else replace(s, **{key: value})
    return s


@settings(max_examples=150, deadline=None)
@given(valid_settings())
def test_command_line_parses_back_to_the_same_settings(s):
    assert VI.settings_problems(s) == []
    words = VI.command_line(s).split(" ")
    assert words[:2] == ["python", "VI.py"] and all(w.startswith("--") and "=" in w for w in words[2:])
    parsed = dict(w[2:].split("=", 1) for w in words[2:])
    assert VI.settings_from(parsed) == s
    assert len(parsed) == sum(value != KNOWN[name][0] for name, value, _ in VI.leaves(s))  # only what differs


# ---------------------------------------------------------------- accepted settings that VI.py cannot run


def test_radii_that_differ_after_six_digits_are_refused_or_each_gets_its_result(tmp_path):
    try:
        s = VI.settings_from({"data.R": "1,1.0000001", "kde.R": "1", "data.n": "20", "elbo.random_q": "1"})
    except ValueError as error:
        assert "data.R" in str(error)
        return
    assert len(VI.run_stage(s, tmp_path, "elbo")["by_R"]) == 2


@pytest.mark.parametrize("values", [{"kl.p_sds": "5,5"}, {"kl.q_mean": "1000"},
                                    {"kl.p_sds": "5,5", "kl.x_min": "-40", "kl.x_max": "40"}])
def test_accepted_kl_settings_are_refused_or_run(values, tmp_path):
    try:
        s = VI.settings_from(values)
    except ValueError as error:
        assert any(key in str(error) for key in values), error
        return
    VI.run_stage(s, tmp_path, "kl")
