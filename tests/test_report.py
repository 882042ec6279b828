"""`rmeval report`: a self-contained HTML page with every section."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_scaling import synthetic_results

from rmeval import report
from rmeval.scaling import frame_rewards_table


@pytest.fixture
def populated(tmp_path, small_dataset):
    """A dataset and a reports directory holding every kind of result, partly with random weights."""
    ds = small_dataset(tmp_path / "noise")
    out = tmp_path / "reports"
    out.mkdir()
    results = synthetic_results(
        {0.0: -0.04, 1.0: -0.02}, {"rmeval-tiny:random": 3.57, "ViT-L-14:laion2b_s32b_b82k": 428.0}
    )
    results["random_weights"] = results["model"].str.endswith(":random")
    results.to_csv(out / "epic_noise.csv", index=False)
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 4 == 0
    pd.concat([
        frame_rewards_table(rng.normal(0.2, 0.01, 40) + 0.01 * labels, labels.astype(int), model=m, alpha=0.0,
                            random_weights=m.endswith(":random"))
        for m in ("rmeval-tiny:random", "ViT-L-14:laion2b_s32b_b82k")
    ]).to_csv(out / "histograms_noise.csv", index=False)
    pd.DataFrame({"model": ["rmeval-tiny:random", "ViT-L-14:laion2b_s32b_b82k"], "n_trajectories": [10, 10],
                  "n_success": [0, 6], "success_rate": [0.0, 0.6], "ci_low": [0.0, 0.3], "ci_high": [0.0, 0.9],
                  "ci_level": [0.95, 0.95], "random_weights": [True, False], "params_m": [3.57, 428.0]}
                 ).to_csv(out / "success_noise.csv", index=False)
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 10, 10)).save(out / "landscape_noise_angle.png")
    pd.DataFrame({"rater": ["ann <admin>"], "frames": [40], "goal": [10]}).to_csv(out / "labeling_stats_noise.csv", index=False)
    pd.DataFrame({"raters": ["ann, bob"], "cohen_kappa": [0.8]}).to_csv(out / "labeling_agreement_noise.csv", index=False)
    return ds, out


SECTION_IDS = ("dataset", "epic", "scaling", "histograms", "landscapes", "success", "labeling")


def test_report_has_every_section_and_marks_random_weights(run, populated):
    ds, out = populated
    code, stdout, err = run("report", "--dataset", str(ds), "--results-dir", str(out), "--out", str(out))
    assert code == 0, err
    path = out / "noise" / "index.html"
    page = path.read_text(encoding="utf-8")
    assert f"wrote {path}" in stdout and "RANDOM weights" in stdout
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in page, sid
    # each section has its content, not the "make it with" note
    assert "No EPIC results yet" not in page and "No labels yet" not in page and "No landscape plots" not in page
    assert "ViT-L-14:laion2b_s32b_b82k" in page and "Log-linear fits" in page and "cohen_kappa" in page
    # self-contained: embedded images only, no external resources
    images = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(images) >= 4 + 4 + 6  # thumbnails, scaling/histogram/success plots, landscape
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<script" not in page and "<link" not in page
    # random weights: a banner, and each random row marked; the pretrained rows are not
    assert 'class="banner"' in page and "rmeval-tiny:random" in page.split('class="banner"')[1].split("</div>")[0]
    epic_rows = re.findall(r"<tr( class=\"[^\"]*\")?><td>([^<]*)", page.split('id="epic"')[1].split("</section>")[0])
    marks = {name.strip(): "random" in (cls or "") for cls, name in epic_rows}
    assert marks == {"rmeval-tiny:random": True, "ViT-L-14:laion2b_s32b_b82k": False}
    # text is escaped: the dataset's prompt and a rater's name hold HTML
    assert "a &lt;b&gt;goal&lt;/b&gt; &amp; frame" in page and "ann &lt;admin&gt;" in page
    assert "<b>goal</b>" not in page
    assert not list((out / "noise").glob(".*tmp*"))


def _epic_models(page: str) -> set[str]:
    section = page.split('id="epic"')[1].split("</section>")[0]
    return {name.strip() for name in re.findall(r"<tr(?: class=\"[^\"]*\")?><td>([^<]*)", section)}


def test_out_says_where_the_page_goes_not_where_results_are_read(run, populated, tmp_path, monkeypatch):
    ds, results = populated  # results in tmp_path/reports: the default results directory from tmp_path
    models = {"rmeval-tiny:random", "ViT-L-14:laion2b_s32b_b82k"}
    monkeypatch.chdir(tmp_path)
    fresh = tmp_path / "fresh"  # does not exist yet
    code, stdout, err = run("report", "--dataset", str(ds), "--out", str(fresh))
    assert code == 0, err
    page = (fresh / "noise" / "index.html").read_text(encoding="utf-8")
    assert "No EPIC results yet" not in page and _epic_models(page) == models  # read from ./reports
    assert "No landscape plots" not in page and "No labels yet" not in page
    assert "results from reports" in stdout
    assert sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*")) == ["noise", "noise/index.html"]
    assert not (results / "noise").exists()  # nothing written next to the results

    # --results-dir says where they are, from anywhere; --out still only places the page
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run("report", "--dataset", str(ds), "--results-dir", str(results), "--out", "pages")
    assert code == 0, err
    assert _epic_models((elsewhere / "pages" / "noise" / "index.html").read_text(encoding="utf-8")) == models
    assert not (elsewhere / "reports").exists()
    # where there is no ./reports, the page's notes say so and so does the command
    code, stdout, err = run("report", "--dataset", str(ds), "--out", "pages")
    assert code == 0, err
    assert "results from reports (no such directory: --results-dir DIR" in stdout
    assert "No EPIC results yet" in (elsewhere / "pages" / "noise" / "index.html").read_text(encoding="utf-8")

    # no flags: read ./reports, write ./reports/<dataset>/index.html, as before
    monkeypatch.chdir(tmp_path)
    code, _, err = run("report", "--dataset", str(ds))
    assert code == 0, err
    assert _epic_models((results / "noise" / "index.html").read_text(encoding="utf-8")) == models


def test_missing_results_dir_is_a_clear_error(run, tmp_path, small_dataset):
    ds = small_dataset(tmp_path / "noise")
    code, _, err = run("report", "--dataset", str(ds), "--results-dir", str(tmp_path / "nope"),
                       "--out", str(tmp_path / "r"))
    assert code == 2 and f"--results-dir {tmp_path / 'nope'} does not exist" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()  # failed before writing anything


def test_report_without_results_says_how_to_make_them(run, tmp_path, small_dataset):
    ds = small_dataset(tmp_path / "noise")
    (tmp_path / "results").mkdir()
    code, _, err = run("report", "--dataset", str(ds), "--results-dir", str(tmp_path / "results"),
                       "--out", str(tmp_path / "r"))
    assert code == 0, err
    page = (tmp_path / "r" / "noise" / "index.html").read_text()
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in page
    assert "No EPIC results yet" in page and "rmeval epic --dataset" in page
    assert "No labels yet" in page and "No trajectory scores yet" in page
    assert 'class="banner"' not in page  # nothing computed, nothing random
    assert page.count("data:image/png;base64,") == 8  # the dataset's example frames only


def test_report_one_model_and_missing_dataset(run, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    results = synthetic_results({0.0: -0.04}, {"rmeval-tiny:random": 3.57}, random=True, dataset="gone")
    results.to_csv(out / "epic_gone.csv", index=False)
    code, _, err = run("report", "--dataset", str(tmp_path / "gone"), "--results-dir", str(out), "--out", str(out))
    assert code == 0, err
    page = (out / "gone" / "index.html").read_text()
    assert "could not be loaded" in page  # the dataset section says why
    assert "rmeval-tiny:random" in page and 'class="banner"' in page  # the EPIC table is still there
    assert "need EPIC results for two or more models" in page.replace("Scaling plots need", "need")


def test_sections_are_pluggable(tmp_path, small_dataset):
    ds = small_dataset(tmp_path / "noise")

    def extra_section(ctx: report.ReportContext) -> report.Section:
        return report.Section("extra", "Extra <stuff>", report.note_html(f"{ctx.name} & more"))

    report.register_section(extra_section, before="labeling_section")
    try:
        ctx = report.make_context(ds, tmp_path)
        page, sections = report.build_report(ctx)
    finally:
        report.SECTION_BUILDERS.remove(extra_section)
    ids = [s.id for s in sections]
    assert ids.index("extra") == ids.index("labeling") - 1
    assert "Extra &lt;stuff&gt;" in page and "noise &amp; more" in page


def test_labelling_section_reads_the_labels_database(run, tmp_path, small_dataset):
    storage = pytest.importorskip("rmeval.labeling.storage")
    ds = small_dataset(tmp_path / "noise")
    db = tmp_path / "labels.sqlite"
    store = storage.LabelStore.open(db)
    frames = [f"frames/{i:06d}.png" for i in range(8)]
    store.add_labels("noise", [(f, "ann", i % 2) for i, f in enumerate(frames)], source="test")
    store.add_labels("noise", [(f, "bob", int(i % 4 == 0)) for i, f in enumerate(frames)], source="test")
    store.add_score("noise", 0, "ann", 60, 100, policy="ViT-bigG-14")
    del store
    code, _, err = run("report", "--dataset", str(ds), "--out", str(tmp_path / "r"), "--labels-db", str(db))
    assert code == 0, err
    section = (tmp_path / "r" / "noise" / "index.html").read_text().split('id="labeling"')[1].split("</section>")[0]
    assert "No labels yet" not in section and "could not read" not in section
    assert "Frames labelled per rater" in section and "Cohen" in section and "Fleiss" in section
    assert "ann" in section and "bob" in section and "ViT-bigG-14" in section
    code, _, err = run("report", "--dataset", str(ds), "--out", str(tmp_path / "r"), "--labels-db", str(tmp_path / "no.sqlite"))
    assert code == 2 and "does not exist" in err
