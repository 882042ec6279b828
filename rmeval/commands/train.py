"""``rmeval train``: train an agent on a VLM reward (the paper's Algorithm 1) or the ground truth."""

from __future__ import annotations

import argparse
import datetime as _dt
import shlex
import sys
from pathlib import Path
from typing import Any

from rmeval.commands.common import RANDOM_WEIGHTS_NOTE, say, warn
from rmeval.errors import InvalidInputError, RmevalError
from rmeval.fileio import slug

HELP = "train an RL agent (SAC/DQN) on a CLIP reward computed from rendered frames"
EPILOG = """\
Environments: cartpole (DQN), mountaincar (SAC), humanoid (SAC; --task kneeling,
standing_up, arms_raised, doing_splits, lotus_position, hands_on_hips, arms_crossed,
standing_on_one_leg). The agent sees the state; its reward is the CLIP reward of the frame
after each step (goal-baseline regularised with --alpha > 0), computed in batches of
--reward-batch frames and written into the replay buffer before the updates that use it.

Presets: paper (the paper's Appendix C hyperparameters: 10M steps for the humanoid, 3M for
cartpole and mountaincar; the humanoid with the authors' 32 environments, reward batch 3200
and SAC batch 512) and quick (small, minutes on a CPU; for smoke runs).

Update schedule (as the authors count it): the preset's gradient steps after every round of
its train_freq vectorised steps, whatever --envs is; a round is train_freq x envs frames
(humanoid paper: 100 updates every 100 steps of 32 envs = 3,200 frames, one update per 32
environment steps). Episode ends: --time-limit terminal stores an episode cut by the time
limit as terminal (no bootstrapping; the authors' choice, the paper presets' default),
truncate as a truncation (bootstraps; the quick presets' default).

The run folder (--out) gets config.json, checkpoints/ (every --checkpoint-every steps),
checkpoints.csv (step, mean VLM and environment return of the last episodes), the replay
buffer of the last checkpoint and TensorBoard logs (tensorboard --logdir runs/NAME/tb).

Reward-hacking monitor (VLM rewards): every --monitor-every steps and at each checkpoint,
on the last --monitor-window frames the policy produced: on-policy EPIC between the VLM
reward and the environment's ground-truth goal predicate (with a bootstrap interval), the
mean VLM reward and the true success (share of those frames in a goal state), to
monitor.csv and TensorBoard (plots: rmeval report --run DIR). Warning rule: the mean VLM
reward rose at each of the last 3 evaluations while the true success fell at each, by at
least 0.05 in all.
If the process stops, `rmeval train --resume --out runs/NAME` continues from the last
checkpoint (step count, replay buffer and optimiser state restored).

Checkpoints are stable-baselines3 archives, which contain pickled Python objects: never
load (rollout, evaluate, --resume) a run folder from a source you do not trust.

examples:
  rmeval train --env humanoid --task kneeling --model ViT-bigG-14 --out runs/kneeling-bigG
  rmeval train --env cartpole --model ViT-B-32 --alpha 0.5 --envs 4
  rmeval train --env mountaincar --reward ground-truth --preset quick
  rmeval train --env cartpole --model rmeval-tiny --preset quick --steps 2000   # smoke run
  rmeval train --resume --out runs/kneeling-bigG
"""

#: Options that define a run; with --resume they must be left out or equal the run's.
_RUN_OPTIONS = {
    "env": "env",
    "task": "task",
    "model": "model",
    "reward": "reward",
    "alpha": "alpha",
    "question": "judge_question",
    "preset": "preset",
    "envs": "n_envs",
    "reward_batch": "reward_batch",
    "episode_steps": "episode_steps",
    "checkpoint_every": "checkpoint_every",
    "learning_starts": "learning_starts",
    "batch_size": "embed_batch_size",
    "precision": "precision",
    "seed": "seed",
    "vec_env": "vec_env",
    "time_limit": "time_limit",
    "fit": "fit",
}
#: Options stored inside the run's environment arguments; with --resume they must match too.
_ENV_OPTIONS = {"look": "look"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default=None, help="cartpole, mountaincar or humanoid")
    p.add_argument("--task", default=None, help="task (required for humanoid; see `--help` above)")
    p.add_argument("--model", default=None,
                   help="reward model: NAME, NAME:TAG, NAME:random, NAME:/path (see `rmeval models`), or a "
                        "judge: judge:ORG/REPO, judge:/dir, judge:NAME:random (its own reward; no alpha)")
    p.add_argument("--reward", default=None, choices=["vlm", "ground-truth"],
                   help="vlm (default): the CLIP reward; ground-truth: the environment's own reward (baselines)")
    p.add_argument("--alpha", type=float, default=None, help="goal-baseline regularisation in [0, 1] (default: 0)")
    p.add_argument("--question", default=None, metavar="TEMPLATE",
                   help="question asked of a judge: reward model, with {goal} where the task's goal prompt goes "
                        "(default: 'Does this image show {goal}? Answer yes or no.'); stored in the run's config")
    p.add_argument("--preset", default=None, choices=["paper", "quick"], help="hyperparameters (default: paper)")
    p.add_argument("--steps", type=int, default=None, help="environment steps to train for (default: the preset's)")
    p.add_argument("--envs", type=int, default=None,
                   help="parallel environments, in worker processes when > 1 (default: the preset's: 32 for "
                   "humanoid paper, else 1)")
    p.add_argument("--time-limit", default=None, choices=["terminal", "truncate"],
                   help="how an episode cut by the time limit is stored: terminal (no bootstrapping, as the "
                   "authors) or truncate (bootstrap from the next state) (default: the preset's: terminal for "
                   "paper, truncate for quick)")
    p.add_argument("--reward-batch", type=int, default=None,
                   help="frames per reward computation (Algorithm 1's B); a multiple of --envs, at most the "
                   "frames of one update round (default: one round)")
    p.add_argument("--episode-steps", type=int, default=None, help="episode length (default: the preset's)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints (default: the preset's)")
    p.add_argument("--learning-starts", type=int, default=None, help="steps before the first update (default: the preset's)")
    p.add_argument("--seed", type=int, default=None, help="seed of the agent and environments (default: 0)")
    p.add_argument("--look", default=None,
                   help="how the environment is drawn: humanoid textured (default) | robot | original; "
                   "mountaincar textured (default) | standard")
    p.add_argument("--vec-env", default=None, choices=["auto", "dummy", "subproc"],
                   help="where environments run: auto (worker processes when --envs > 1), dummy (this process), subproc")
    g = p.add_argument_group("reward model")
    g.add_argument("--device", default=None, help="cpu, cuda or cuda:N for the reward model and the agent (default: cuda when available)")
    g.add_argument("--batch-size", type=int, default=None, help="frames per forward pass of the reward model (default: 64)")
    g.add_argument("--precision", default=None, choices=["fp32", "fp16", "bf16"], help="reward model precision (default: fp32)")
    g.add_argument("--fit", default=None, choices=["crop", "squash", "pad"],
                   help="how a frame reaches the model: crop (open_clip's centre crop), squash (the whole frame, "
                   "as the paper's authors), pad (aspect kept, padded) (default: squash)")
    g.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads of the reward model (default: half the usable cores, leaving the rest to the "
                   "environments and the agent; too many threads collapse under load)")
    g.add_argument("--weights-dir", default=None, help="where pretrained weights are looked up (default: the Hugging Face cache)")
    m = p.add_argument_group("reward-hacking monitor (VLM rewards; see rmeval.training.monitor)")
    m.add_argument("--monitor-every", type=int, default=None,
                   help="steps between monitor evaluations, also done at each checkpoint (default: a quarter of "
                   "--checkpoint-every; 0: off)")
    m.add_argument("--monitor-window", type=int, default=None,
                   help="recent frames the monitor scores against the ground-truth goal (default: 2000)")
    p.add_argument("--out", default=None, help="run folder (default: runs/ENV-TASK-MODEL-TIME)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.set_defaults(run=run)


def _default_out(cfg: Any) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    model = cfg.model.split(":")[0] + ("-random" if cfg.random_weights else "") if cfg.model else "ground-truth"
    return Path("runs") / slug(f"{cfg.env}-{cfg.task}-{model}-a{cfg.alpha:g}-{stamp}", "run", sep="-")


def _check_positive(args: argparse.Namespace) -> None:
    for name in ("steps", "envs", "reward_batch", "episode_steps", "checkpoint_every", "batch_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InvalidInputError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if args.monitor_every is not None and args.monitor_every < 0:
        raise InvalidInputError(f"--monitor-every must be >= 0 (0 turns the monitor off), got {args.monitor_every}")
    if args.monitor_window is not None and args.monitor_window < 2:
        raise InvalidInputError(f"--monitor-window must be at least 2 frames, got {args.monitor_window}")
    if args.learning_starts is not None and args.learning_starts < 0:
        raise InvalidInputError(f"--learning-starts must be >= 0, got {args.learning_starts}")


def _resume_config(args: argparse.Namespace) -> tuple[Any, Path]:
    from rmeval.registry import parse_model
    from rmeval.training.config import load_config

    if not args.out:
        raise InvalidInputError("--resume needs --out, the run folder to continue.")
    out = Path(args.out).expanduser()
    cfg = load_config(out)
    for opt, key in _RUN_OPTIONS.items():
        given = getattr(args, opt)
        if given is None:
            continue
        have = getattr(cfg, key)
        same = given == have
        if opt == "model" and have is not None:
            same = parse_model(given).id == have
        if opt == "env":
            from rmeval.envs.catalogue import get_env

            same = get_env(given).name == have
        if not same:
            raise InvalidInputError(
                f"--{opt.replace('_', '-')} {given} differs from the run's {have!r}; --resume continues the run "
                "as it was configured (leave the option out, or start a new run with another --out)."
            )
    for opt, key in _ENV_OPTIONS.items():
        given = getattr(args, opt)
        if given is not None and given != cfg.env_kwargs.get(key, given):
            raise InvalidInputError(
                f"--{opt} {given} differs from the run's {cfg.env_kwargs.get(key)!r}; --resume continues the run "
                "as it was configured (leave the option out, or start a new run with another --out)."
            )
    if args.steps is not None:
        if args.steps < cfg.total_steps:
            raise InvalidInputError(f"--steps {args.steps} is below the run's {cfg.total_steps}; --steps can only extend a run")
        cfg.total_steps = args.steps
    if args.device is not None:
        cfg.device = args.device
    if args.threads is not None:
        cfg.reward_threads = args.threads
    cfg.validate()
    return cfg, out


def run(args: argparse.Namespace) -> int:
    from rmeval.models import resolve_device
    from rmeval.training.config import new_config

    _check_positive(args)
    if args.device is not None:
        resolve_device(args.device)
    if args.resume:
        cfg, out = _resume_config(args)
    else:
        if not args.env:
            raise InvalidInputError("--env is required: cartpole, mountaincar or humanoid.")
        cfg = new_config(
            args.env,
            task=args.task,
            preset=args.preset or "paper",
            reward=args.reward or "vlm",
            model=args.model,
            alpha=args.alpha if args.alpha is not None else 0.0,
            n_envs=args.envs,
            reward_batch=args.reward_batch,
            time_limit=args.time_limit,
            reward_threads=args.threads or 0,
            fit=args.fit,
            look=args.look,
            total_steps=args.steps,
            episode_steps=args.episode_steps,
            checkpoint_every=args.checkpoint_every,
            learning_starts=args.learning_starts,
            embed_batch_size=args.batch_size or 64,
            precision=args.precision or "fp32",
            device=args.device or "auto",
            seed=args.seed if args.seed is not None else 0,
            vec_env=args.vec_env or "auto",
            question=args.question,
            command=shlex.join(["rmeval", *sys.argv[1:]]) if sys.argv and "rmeval" in sys.argv[0] else "",
        )
        out = Path(args.out).expanduser() if args.out else _default_out(cfg)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RmevalError(f"{out} already exists; pass --resume to continue that run, or choose another --out.")
    return _train(cfg, out, args)


def _train(cfg: Any, out: Path, args: argparse.Namespace) -> int:
    from rmeval.training.checkpoints import RunFolder
    from rmeval.training.trainer import build_reward_model, train

    state = RunFolder(out).read_resume() if args.resume else None
    sched = cfg.schedule
    reward = f"VLM {cfg.model} (alpha {cfg.alpha:g})" if cfg.uses_vlm else "ground truth (the environment's reward)"
    say(f"{'resuming' if args.resume else 'training'} {cfg.algo.upper()} on {cfg.env_id}, task {cfg.task}, reward {reward}")
    say(f"preset {cfg.preset}: {cfg.total_steps:,} steps, episodes of {cfg.episode_steps}, learning after "
        f"{cfg.learning_starts:,}, {sched.gradient_steps} updates every {sched.train_freq} vectorised steps "
        f"({cfg.n_envs} env{'s' if cfg.n_envs > 1 else ''}: {sched.steps_per_round} frames per round), "
        f"time limit {cfg.time_limit}, checkpoint every {cfg.checkpoint_every:,}")
    if cfg.uses_vlm:
        say(f"goal: {cfg.goal_prompts}   baseline: {cfg.baseline_prompts}   reward batch {cfg.reward_batch}, "
            f"fit {cfg.fit}")
    if args.resume:
        say(f"run folder {out}: " + (f"last checkpoint at step {state['step']:,}" if state else
                                     "no checkpoint yet, starting from step 0"))
    else:
        say(f"run folder {out}")
    reward_model = build_reward_model(cfg, weights_dir=args.weights_dir)  # a plug-in says if its weights are random
    if cfg.random_weights:
        warn(RANDOM_WEIGHTS_NOTE.format(models=cfg.model))
    if cfg.uses_vlm:
        _check_renders(cfg)
    if args.resume and reward_model.uses_frames:
        fp = _fingerprint(reward_model)
        if cfg.model_fingerprint and fp and fp != cfg.model_fingerprint:
            warn(f"warning: the reward model's weights differ from the run's ({cfg.model_fingerprint} vs {fp})")
    elif reward_model.uses_frames:
        cfg.model_fingerprint = _fingerprint(reward_model)
    if args.resume:
        cfg.save(out)  # --steps / --device may have changed
    try:
        result = train(cfg, out, reward_model=reward_model, resume=args.resume, log=say, weights_dir=args.weights_dir,
                       monitor_every=args.monitor_every, monitor_window=args.monitor_window)
    except KeyboardInterrupt:
        warn(f"interrupted; continue from the last checkpoint with: rmeval train --resume --out {shlex.quote(str(out))}")
        raise
    say(f"done: step {result.steps:,}; {len(result.checkpoints)} checkpoint(s) this session; "
        f"{result.wall_time_s:.1f} s; checkpoints listed in {out / 'checkpoints.csv'}")
    if cfg.uses_vlm and result.frames_scored:
        say(f"reward model: {result.frames_scored:,} frames in {result.reward_seconds:.1f} s "
            f"({result.frames_scored / max(result.reward_seconds, 1e-9):,.0f} frames/s)")
    if result.monitor_rows:
        last = result.monitor_rows[-1]
        epic = "undefined (one class only)" if last["onpolicy_epic"] != last["onpolicy_epic"] else (
            f"{last['onpolicy_epic']:.4f} [{last['epic_ci_low']:.4f}, {last['epic_ci_high']:.4f}]")
        say(f"monitor (last {last['frames']:,} frames at step {last['step']:,}): on-policy EPIC {epic}, mean VLM "
            f"reward {last['vlm_reward_mean']:.4f}, true success {last['true_success']:.3f}; "
            f"{sum(r['warning'] for r in result.monitor_rows)} warning(s); {out / 'monitor.csv'}")
    if cfg.random_weights:
        warn(RANDOM_WEIGHTS_NOTE.format(models=cfg.model))
    return 0


def _fingerprint(reward_model: Any) -> str | None:
    """Identity of the reward model's weights (an open_clip model's fingerprint, a plug-in's identity)."""
    return getattr(reward_model, "fingerprint", None) or getattr(getattr(reward_model, "model", None), "fingerprint", None)


def _check_renders(cfg: Any) -> None:
    """Render one frame here, so a missing renderer fails before the run starts."""
    from rmeval.training.vec_env import make_env

    try:
        env = make_env(cfg.env_id, cfg.env_kwargs, cfg.episode_steps, render_frames=True)
    except RmevalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any library error becomes a one-line user error
        raise RmevalError(f"cannot create {cfg.env_id}: {type(exc).__name__}: {exc}") from None
    try:
        env.reset(seed=0)
        env.step(env.action_space.sample())
    except RmevalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any library error becomes a one-line user error
        raise RmevalError(f"cannot render {cfg.env_id}: {type(exc).__name__}: {exc}") from None
    finally:
        env.close()
