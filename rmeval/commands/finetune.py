"""``rmeval finetune``: adapt a CLIP model to a labelled dataset; a checkpoint plus a card."""

from __future__ import annotations

import argparse
import shlex
import sys

from rmeval.commands.common import say, warn
from rmeval.errors import InvalidInputError

HELP = "fine-tune a CLIP model on a labelled dataset (contrastive or triplet loss); writes a checkpoint and a card"
EPILOG = """\
The labelled frames are split by episode (seeded; a dataset with fewer than 3 episodes is
split by blocks of --group-size consecutive frames, and the card says so) into training,
validation and held-out test parts. Each epoch trains on the training part; EPIC (alpha 0)
on the validation part picks the best epoch and stops training after --patience epochs
without improvement.

Objectives: contrastive (CLIP's cross-entropy over the goal and baseline prompts) or
triplet (goal prompt as anchor, a goal frame closer than a non-goal frame by --margin).
What trains: all (every weight), last-k (the last --last-k blocks of each tower) or lora
(rank --lora-rank adapters on the MLP layers, merged into the weights on saving).

Writes OUT (e.g. runs/ft/cartpole.pt), loadable everywhere as ARCH:/path/OUT; next to it
OUT_STEM.json (the card: base model, data, split, objective, held-out EPIC before and after
with bootstrap intervals) and OUT_STEM.heldout/ (the held-out frames as a dataset, so
`rmeval epic --dataset OUT_STEM.heldout --models ARCH:/path/OUT` reproduces the card).
While training, OUT.resume.pt holds the last epoch's state: after an interruption, run
the same command with --resume.

examples:
  rmeval finetune --dataset datasets/cp-train --model rmeval-small --out runs/ft/cartpole.pt
  rmeval finetune --dataset humanoid-kneeling --model ViT-B-32 --train lora --lr 1e-4 --out ft/kneel.pt
  rmeval finetune --dataset datasets/cp-train --model rmeval-small --out runs/ft/cartpole.pt --resume
  rmeval train --env cartpole --model rmeval-small:$PWD/runs/ft/cartpole.pt --preset quick
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="labelled dataset directory")
    p.add_argument("--model", required=True, help="base model: NAME, NAME:TAG, NAME:random, NAME:/path (see `rmeval models`)")
    p.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    p.add_argument("--objective", default="contrastive", choices=["contrastive", "triplet"], help="loss (default: contrastive)")
    p.add_argument("--train", default="all", choices=["all", "last-k", "lora"], help="what trains (default: all)")
    p.add_argument("--last-k", type=int, default=1, help="blocks per tower for --train last-k (default: 1)")
    p.add_argument("--lora-rank", type=int, default=8, help="adapter rank for --train lora (default: 8)")
    p.add_argument("--epochs", type=int, default=20, help="most epochs (default: 20)")
    p.add_argument("--patience", type=int, default=5, help="stop after this many epochs without a better validation EPIC (default: 5)")
    p.add_argument("--batch-size", type=int, default=64, help="frames per update (default: 64)")
    p.add_argument("--lr", type=float, default=1e-4, help="AdamW learning rate (default: 1e-4)")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default: 0.01)")
    p.add_argument("--margin", type=float, default=0.2, help="triplet margin, cosine distance (default: 0.2)")
    p.add_argument("--split", default="0.7,0.15,0.15", help="shares of episodes: train,validation,test (default: 0.7,0.15,0.15)")
    p.add_argument("--group-size", type=int, default=16, help="frames per group when the dataset has < 3 episodes (default: 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the shuffles and new layers (default: 0)")
    p.add_argument("--goal", action="append", default=None, help="goal prompt (repeatable; default: the dataset's)")
    p.add_argument("--baseline", action="append", default=None, help="baseline prompt (repeatable; default: the dataset's)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bf16 mixed precision on a GPU, fp32 on a CPU (default: auto)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the held-out CI (default: 1000)")
    p.add_argument("--weights-dir", default=None, help="where pretrained weights are looked up")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.resume.pt")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT and its card")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rmeval.finetune.split import parse_fractions
    from rmeval.finetune.trainer import FinetuneSettings, finetune
    from rmeval.models import resolve_device

    if args.device is not None:
        resolve_device(args.device)
    if args.margin <= 0:
        raise InvalidInputError(f"--margin must be positive, got {args.margin}")
    settings = FinetuneSettings(
        base_model=args.model, objective=args.objective, train=args.train, last_k=args.last_k,
        lora_rank=args.lora_rank, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, margin=args.margin, patience=args.patience,
        fractions=parse_fractions(args.split), seed=args.seed, group_size=args.group_size, device=args.device,
        precision=args.precision, goal_prompts=list(args.goal or []), baseline_prompts=list(args.baseline or []),
        resamples=args.resamples,
    )
    result = finetune(
        args.dataset, args.out, settings, resume=args.resume, overwrite=args.overwrite,
        progress=False if args.no_progress else None, log=say, weights_dir=args.weights_dir,
        command=shlex.join(["rmeval", *sys.argv[1:]]) if sys.argv else "",
    )
    card = result.card
    say(f"wrote {result.checkpoint} (load it as {card['model']}), its card {result.card_path} "
        f"and the held-out dataset {result.heldout_dir}")
    if card["random_init"]:
        warn(f"note: the base model {card['base_model']} has RANDOM weights: its 'before' EPIC is a random "
             "model's; the fine-tuned weights learned only from this dataset.")
    return 0
