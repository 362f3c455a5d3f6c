"""The grader's check compares what the PDF's command wrote with the build's results, byte for byte,
and names each number that differs."""

import json

from check_submission import compare_results


def write(folder, name, obj):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(obj))


def test_equal_results_and_figures_pass_and_their_numbers_are_counted(tmp_path):
    for side in ("run", "build"):
        write(tmp_path / side, "em.json", {"10": {"mean_error_max": 0.294, "restarts": 10, "converged": True}})
        (tmp_path / side / "q1.pdf").write_bytes(b"%PDF-1.4 same")
    assert compare_results(tmp_path / "run", tmp_path / "build", ["em.json", "q1.pdf"]) == (2, [])


def test_a_changed_number_a_changed_figure_and_a_missing_file_are_each_named(tmp_path):
    write(tmp_path / "build", "em.json", {"10": {"mean_error_max": 0.294}})
    write(tmp_path / "run", "em.json", {"10": {"mean_error_max": 0.295}})
    (tmp_path / "build" / "q1.pdf").write_bytes(b"%PDF-1.4 one")
    (tmp_path / "run" / "q1.pdf").write_bytes(b"%PDF-1.4 two")
    write(tmp_path / "build", "kl.json", {"q": 1.0})
    _, differences = compare_results(tmp_path / "run", tmp_path / "build", ["em.json", "q1.pdf", "kl.json"])
    assert differences == ["em.json: 10.mean_error_max is 0.295 there, 0.294 here", "q1.pdf: another figure (bytes differ)",
                           "kl.json: not written by the command"]


def test_the_same_numbers_written_otherwise_are_still_a_difference(tmp_path):
    write(tmp_path / "build", "kl.json", {"q": 1.0})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kl.json").write_text('{"q": 1.0, "extra": 2}')
    assert compare_results(tmp_path / "run", tmp_path / "build", ["kl.json"])[1] == ["kl.json: other bytes"]
