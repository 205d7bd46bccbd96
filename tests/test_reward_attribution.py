"""Line attributions of a trained reward model, and the ``rm`` assistant that comments with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.assistants import load_assistant
from oversight_ext.diffs import make_diff
from oversight_ext.records import ItemView
from oversight_ext.reward.attribution import faithfulness, occlusion
from oversight_ext.reward.model import score_texts
from oversight_ext.reward.train import train_reward_model

BEFORE = "alpha beta\n"
AFTER = "alpha beta\ngamma delta\nlist index\nvalue wrong\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny reward model that learnt that 'wrong' lowers the reward (texts read as programs: text_format 'after')."""
    out = tmp_path_factory.mktemp("rm") / "model"
    # Chosen: plain filler; rejected: the same filler with 'wrong' added, the one cue there is to learn.
    pairs = synthetic_pairs(96).with_columns(pl.col("chosen").str.replace(r" correct$", ""))
    train_reward_model(pairs, FAST.replace(text_format="after", max_steps=40), out_dir=out, progress=False)
    return out


def test_occlusion_ranks_the_line_the_model_holds_against_the_change(trained: Path) -> None:
    from oversight_ext.reward.model import load_reward_model

    model, tok, _ = load_reward_model(trained)
    diff = make_diff(BEFORE, AFTER, "x.py")
    attr = occlusion(lambda t: score_texts(model, tok, t), before=BEFORE, after=None, diff=diff, path="x.py", text_format="after")
    assert [a.line for a in attr][:1] == [4] and attr[0].text == "value wrong"  # the diff adds lines 2-4
    assert attr[0].delta > 0 and attr[0].delta > max(a.delta for a in attr[1:])
    full = score_texts(model, tok, [AFTER])[0]
    without = score_texts(model, tok, ["alpha beta\ngamma delta\nlist index\n"])[0]  # line 4 deleted
    assert attr[0].delta == pytest.approx(without - full, abs=1e-5)
    fa = faithfulness([attr])
    assert fa["n"] == 1 and fa["top_mean"] >= fa["random_mean"]
    with pytest.raises(ValueError, match="two or more changed lines"):
        faithfulness([attr[:1]])
    with pytest.raises(ValueError, match="needs the program after"):
        occlusion(lambda t: np.zeros(len(t)), before=None, after=None, diff=diff)


def test_rm_assistant_comments_on_the_lines_that_lower_the_reward(trained: Path, tmp_path: Path) -> None:
    spec = tmp_path / "rm.toml"
    spec.write_text(f'name = "rm-test"\nbackend = "rm"\nmodel = "{trained}"\n[params]\ntop = 1\n')
    critic = load_assistant(spec)
    view = ItemView(id="v1", diff=make_diff(BEFORE, AFTER, "x.py"), path="x.py", before=BEFORE, after=AFTER)
    crit = critic.critique(view)
    assert crit.status == "ok" and crit.verdict == "buggy", crit
    assert [(c.start_line, c.end_line) for c in crit.comments] == [(4, 4)] and "value wrong" in crit.comments[0].text
    clean = "alpha beta\ngamma delta\nlist index\nvalue total\n"
    ok = critic.critique(ItemView(id="v2", diff=make_diff(BEFORE, clean, "x.py"), path="x.py", before=BEFORE, after=clean))
    assert ok.status == "ok" and not any(c.start_line == 4 for c in ok.comments)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "rm-bad"\nbackend = "rm"\n')
    with pytest.raises(ValueError, match="model is empty"):
        load_assistant(bad)


def test_line_spans_cover_exactly_the_added_lines_in_program_and_diff_texts() -> None:
    from oversight_ext.reward.attribution import reward_text
    from oversight_ext.reward.gradients import line_spans

    before = "a = 1\nb = 2\nc = 3\nd = 4\n"
    after = "a = 1\nb = 20\nc = 3\nnew = 5\nd = 4\n"
    diff = make_diff(before, after, "m.py")
    lines = after.splitlines()
    for fmt in ("after", "spec+after", "diff", "spec+diff"):
        text = reward_text(after, text_format=fmt, spec="Add new.", diff=diff)
        spans = line_spans(text, after=after, diff=diff, text_format=fmt, spec="Add new.")
        for n in (2, 4):  # the lines the diff adds
            assert [text[a:b] for a, b in spans[n]] == [lines[n - 1]], (fmt, n)
        if fmt.endswith("diff"):
            assert 1 not in spans and 3 not in spans  # context lines are not added lines


def test_integrated_gradients_rank_the_cue_line_and_pass_the_deletion_check(trained: Path) -> None:
    from oversight_ext.reward.gradients import integrated_gradients
    from oversight_ext.reward.model import load_reward_model

    model, tok, _ = load_reward_model(trained)
    score = lambda t: score_texts(model, tok, t)  # noqa: E731
    fillers = ["gamma delta", "list index", "alpha gamma", "beta list", "index delta"]
    grads, measured = [], []
    for k in range(4):  # the cue line at a different place each time
        body = fillers[k : k + 3]
        body.insert(k % 3, "value wrong")
        after = BEFORE + "\n".join(body) + "\n"
        diff = make_diff(BEFORE, after, "x.py")
        attr, err = integrated_gradients(model, tok, before=BEFORE, after=None, diff=diff, path="x.py", text_format="after")
        cue = 2 + k % 3
        assert attr[0].line == cue and attr[0].text == "value wrong" and attr[0].delta > 0, attr
        # completeness: the token attributions sum to reward(text) - reward(baseline) within the 2% asked for
        assert err <= 0.02, (err, attr)
        grads.append(attr)
        measured.append(occlusion(score, before=BEFORE, after=after, diff=diff, text_format="after"))
    fa = faithfulness(grads, measured=measured)
    print(
        f"integrated gradients, deletion check on 4 items: top line moves the reward {fa['top_mean']:.3f}, a random line {fa['random_mean']:.3f}"
    )
    assert fa["n"] == 4 and fa["top_wins"] == 1.0 and fa["top_mean"] > 2 * fa["random_mean"]
    with pytest.raises(ValueError, match="one occlusion per item"):
        faithfulness(grads, measured=measured[:2])
    with pytest.raises(ValueError, match="steps = 1, max_steps"):
        integrated_gradients(model, tok, before=BEFORE, after=None, diff=diff, steps=1)


def test_rm_assistant_with_integrated_gradients(trained: Path, tmp_path: Path) -> None:
    spec = tmp_path / "rm-ig.toml"
    spec.write_text(f'name = "rm-ig"\nbackend = "rm"\nmodel = "{trained}"\n[params]\ntop = 1\nmethod = "integrated_gradients"\n')
    crit = load_assistant(spec).critique(ItemView(id="v1", diff=make_diff(BEFORE, AFTER, "x.py"), path="x.py", before=BEFORE, after=AFTER))
    assert crit.status == "ok" and crit.verdict == "buggy", crit
    assert [(c.start_line, c.end_line) for c in crit.comments] == [(4, 4)] and "integrated gradients" in crit.comments[0].text
    bad = tmp_path / "rm-bad-method.toml"
    bad.write_text(f'name = "rm-x"\nbackend = "rm"\nmodel = "{trained}"\n[params]\nmethod = "saliency"\n')
    with pytest.raises(ValueError, match=r"params\.method = 'saliency' is unknown"):
        load_assistant(bad)
