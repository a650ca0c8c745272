"""``gripewatch model`` commands: train and evaluate the complaint model.

Training needs the
``train`` extra (scikit-learn); evaluating the shipped artifact does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

#: Rows of the metrics table: each tier, the cascade, the shipped decision and the baseline.
ROWS = {
    "model": "fast model",
    "encoder": "encoder (alone)",
    "cascade": "cascade",
    "model_with_rules": "fast + rules",
    "cascade_with_rules": "cascade + rules",
    "vader_baseline": "VADER only",
}


def _table(result: dict[str, Any]) -> str:
    if "scheme" not in result:  # {"cv": ..., "lodo": ...}
        return "\n\n".join(_table(r) for r in result.values())
    scheme = result["scheme"]
    if "coverage" in result:
        scheme += f" (encoder re-scored {result['coverage']:.1%} of rows)"
    lines = [f"scheme: {scheme}"]
    head = f"{'':18}{'precision':>10}{'recall':>8}{'F1':>8}{'macro-F1':>10}{'ROC AUC':>9}"
    head += "  confusion (tn fp fn tp)"
    lines.append(head)
    for name, label in ROWS.items():
        if name not in result:
            continue
        m = result[name]
        c = m["confusion"]
        lines.append(
            f"{label:18}{m['precision']:>10.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}{m['macro_f1']:>10.4f}"
            f"{m['roc_auc']:>9.4f}  {c['tn']} {c['fp']} {c['fn']} {c['tp']}"
        )
    return "\n".join(lines)


@click.group()
def model() -> None:
    """Train and evaluate the complaint model."""


@model.command()
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="Labelled CSV or JSONL with text,label[,domain].",
)
@click.option(
    "--include-feedback",
    is_flag=True,
    help="Add the staff corrections stored in the database of --config (Not a complaint, missed complaints).",
)
@click.option(
    "--feedback-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="More corrections from a CSV/JSONL file with text,label.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="GRIPEWATCH_CONFIG",
    help="Config whose database holds the corrections [default: ./config.yaml].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory for complaint_model.npz/.json (default: the shipped artifact).",
)
@click.option("--folds", default=10, show_default=True, help="Cross-validation folds.")
@click.option("--no-lodo", is_flag=True, help="Skip leave-one-domain-out evaluation.")
@click.option("--force", is_flag=True, help="Replace the artifacts even if a CV macro-F1 drops by over 0.01.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def train(
    data_path: str,
    include_feedback: bool,
    feedback_file: str | None,
    config_path: str | None,
    out_dir: str | None,
    folds: int,
    no_lodo: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Cross-validate, train and (if not worse) replace both tiers of the complaint model.

    The fast model and the encoder tier's head, blend weight and band are refitted; the new CV
    macro-F1 of the fast model and of the cascade are compared with the artifacts' (about a minute).

    Example: gripewatch model train --data ../shared/data/complaints_train.csv --include-feedback
    """
    try:
        from gripewatch.analysis.train import train as run_train
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(f"training needs the 'train' extra (scikit-learn): {exc}") from None
    from gripewatch.analysis.dataset import DataError

    corrections = _stored_feedback(config_path) if include_feedback else None
    if corrections is not None:
        click.echo(f"{len(corrections)} staff corrections from the database added to training", err=True)
    try:
        res = run_train(
            data_path,
            feedback_file,
            feedback=corrections,
            out_dir=out_dir,
            folds=folds,
            lodo=not no_lodo,
            force=force,
        )
    except (DataError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "replaced": res.replaced,
                    "message": res.message,
                    "cv": res.cv,
                    "lodo": res.lodo,
                    "previous_macro_f1": res.previous_macro_f1,
                    "previous_cascade_macro_f1": res.previous_cascade_macro_f1,
                },
                indent=2,
            )
        )
    else:
        click.echo(_table(res.cv))
        if res.lodo:
            click.echo(_table(res.lodo))
        click.echo(res.message)
    if not res.replaced:
        raise SystemExit(1)


def _stored_feedback(config_path: str | None) -> list[tuple[str, int]]:
    """The corrections in the configured database (the CLI's config and error handling)."""
    from gripewatch.cli.common import open_db, setup, translate_errors
    from gripewatch.feedback import training_rows

    return translate_errors(lambda: training_rows(open_db(setup(config_path))))()


@model.command(name="eval")
@click.option(
    "--data", "data_path", type=click.Path(exists=True, dir_okay=False), required=True, help="Labelled CSV or JSONL."
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--positive", default="1", show_default=True, help="Label value that means complaint.")
@click.option(
    "--cv",
    default=0,
    show_default=True,
    help="Cross-validate a fresh model with this many folds (use 10 for the training file); "
    "0 scores the shipped artifact.",
)
@click.option(
    "--lodo", is_flag=True, help="Leave-one-domain-out too (needs a domain column); with --cv both are reported."
)
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
def evaluate(
    data_path: str, text_column: str, label_column: str, positive: str, cv: int, lodo: bool, as_json: bool
) -> None:
    """Metrics of each tier (fast model, encoder), the cascade and VADER alone on the same labelled rows.

    With --cv/--lodo fresh tiers are fitted per fold (about 2 minutes for both on the training file);
    otherwise the shipped artifacts are scored.

    Example: gripewatch model eval --data ../shared/data/complaints_train.csv --cv 10 --lodo
    """
    from gripewatch.analysis.dataset import DataError, load_rows

    try:
        rows = load_rows(Path(data_path), text_column, label_column, positive)
    except (DataError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if cv == 1:
        raise click.BadParameter("use 0 (score the artifact) or 2 or more folds", param_hint="--cv")
    from gripewatch.analysis.train import evaluate as run_eval

    result = run_eval(rows, cv=cv, lodo=lodo)
    click.echo(json.dumps(result, indent=2) if as_json else _table(result))
