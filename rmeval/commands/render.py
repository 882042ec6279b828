"""``rmeval render``: build a dataset (format v1) by rendering environment states."""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING

from rmeval.commands.common import say
from rmeval.envs.catalogue import env_names
from rmeval.errors import InvalidInputError

if TYPE_CHECKING:
    from rmeval.rendering.build import RenderJob

HELP = "render a labelled dataset from an environment: state sweeps, rollouts, Humanoid pose sets"
EPILOG = """\
What to render (the mode follows from the options, or name it with --mode):

  sweep    --sweep NAME=RANGE (CartPole, MountainCar). Several sweeps form a grid: the
           first varies fastest within an "episode", the others index the episodes.
           Parameters not swept keep their default, or are drawn per frame with
           --randomise NAME=LOW:HIGH (add --repeats N to render the grid N times).
           Labels: the environment's goal predicate.
  rollout  --episodes N [--steps T] [--every K]: episodes with random actions, all
           environments (a trained policy: `rmeval rollout`). Labels: the goal predicate
           (Humanoid: the task's). Steps mean what they mean in `rmeval rollout`: step 0
           is the state right after reset, step t the state after t actions; --steps T
           records steps 0 .. T-1 (T-1 actions). env_reward at step t is the reward for
           the action that led to it (NaN at step 0).
  poses    --task TASK --poses N (Humanoid): perturbed constructed poses (standing,
           kneeling, arms raised, splits, lying, ... with joint noise, random heading and
           position), optionally followed by rollouts (--episodes). Labels: the task's pose
           predicate; every predicate is also stored as an auto_<task> column.

State parameters: CartPole x, x_dot, angle, angle_dot (goal |angle| <= 0.1 rad);
MountainCar x in [-1.2, 0.6], velocity (goal x >= 0.45). Looks: MountainCar textured |
standard; Humanoid textured | robot | original, camera fixed | tracking. Sizes: CartPole 600x400
(gymnasium's), MountainCar and Humanoid 224x224.

Random choices come from (--seed, frame or episode index), so --workers K renders exactly
the frames of one worker. The command that rebuilds the dataset is stored in its
metadata (render.command).

examples:
  rmeval render --env cartpole --sweep angle=-0.4:0.4:0.01 --out datasets/cartpole-sweep
  rmeval render --env cartpole --sweep angle=-0.4:0.4:0.01 --randomise x=-2:2 --repeats 3 --out cp
  rmeval render --env mountaincar --look standard --sweep x=-1.2:0.6:0.01 --out mc-standard
  rmeval render --env cartpole --episodes 10 --steps 200 --seed 1 --workers 2 --out cp-random
  rmeval render --env humanoid --task kneeling --poses 160 --episodes 2 --steps 100 --every 5 \\
      --workers 2 --out humanoid-kneeling
  # the bundled datasets: see each one's metadata.json, e.g.
  rmeval render --env cartpole --sweep angle=-0.6:0.6:0.02 --sweep x=-1:1:0.5 \\
      --out datasets/cartpole-angle --name cartpole-angle --overwrite
"""

ENVS = tuple(env_names())


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", required=True, choices=ENVS, help="environment")
    p.add_argument("--mode", choices=("sweep", "rollout", "poses"), default=None,
                   help="what to render (default: from --sweep / --poses / --episodes)")
    p.add_argument("--out", required=True, help="dataset directory to create")
    p.add_argument("--name", default=None, help="dataset name (default: the directory name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset at --out")
    p.add_argument("--workers", type=int, default=1, help="render with K worker processes (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")

    look = p.add_argument_group("appearance")
    look.add_argument("--look", default=None,
                      help="MountainCar: textured (default) | standard; Humanoid: textured (default) | robot | original")
    look.add_argument("--camera", default=None, help="Humanoid: fixed (default) | tracking")
    look.add_argument("--size", default=None, metavar="WxH",
                      help="frame size (default: CartPole 600x400, MountainCar and Humanoid 224x224)")
    look.add_argument("--quality", default=None,
                      help="Humanoid: fast | fine (shadows, multisampling) (default: fine for --poses sets, "
                      "which are for labelling and need shadows to judge contact; fast otherwise)")

    sw = p.add_argument_group("sweep")
    sw.add_argument("--sweep", action="append", default=[], metavar="NAME=RANGE",
                    help="state parameter and its values (start:stop:step or a,b,c); repeat for a grid")
    sw.add_argument("--randomise", "--randomize", action="append", default=[], metavar="NAME=LOW:HIGH",
                    help="draw this state parameter uniformly per frame (seeded); repeatable")
    sw.add_argument("--repeats", type=int, default=1, help="render the sweep grid N times (default: 1)")

    ro = p.add_argument_group("rollouts")
    ro.add_argument("--episodes", type=int, default=None, help="number of episodes")
    ro.add_argument("--steps", type=int, default=None,
                    help="timesteps recorded per episode: steps 0 (the state after reset) .. T-1, so T-1 actions "
                         "(default: the episode length: CartPole/MountainCar 200, Humanoid 100)")
    ro.add_argument("--every", type=int, default=1, help="keep every K-th timestep (default: 1)")
    ro.add_argument("--policy", default="random",
                    help="actions: random (default), or scripted policies, comma-separated, --episodes of each: "
                         "MountainCar energy / energy@S (push with strength S along the velocity); "
                         "for a trained policy see `rmeval rollout`")

    po = p.add_argument_group("humanoid poses")
    po.add_argument("--task", default=None,
                    help="task whose prompts and predicate label the frames (Humanoid: required), e.g. kneeling")
    po.add_argument("--poses", type=int, default=None, help="number of perturbed constructed poses")
    po.add_argument("--pose-mix", default=None, metavar="NAME=W,...",
                    help="variant weights, e.g. kneeling=2,standing=1 (default: balanced for --task)")
    po.add_argument("--joint-noise", type=float, default=None,
                    help="standard deviation of the noise on each joint angle, degrees (default: 8)")
    po.add_argument("--facing", default=None, choices=["three-quarter", "any"],
                    help="headings: three-quarter (25-65 degrees off facing the camera, so the limbs a label "
                    "depends on are in view) or any (default: three-quarter)")
    po.add_argument("--xy-radius", type=float, default=None,
                    help="bodies are placed within this distance of the spawn point, metres (default: 0.3)")
    p.set_defaults(run=run)


def _check_mode(args: argparse.Namespace) -> str:
    inferred = "sweep" if args.sweep else "poses" if args.poses is not None else "rollout" if args.episodes is not None else None
    mode = args.mode or inferred
    if mode is None:
        raise InvalidInputError(
            "say what to render: --sweep NAME=RANGE (CartPole, MountainCar), --episodes N "
            "(rollouts) or --task TASK --poses N (Humanoid pose sets)."
        )
    needs = {"sweep": ("--sweep", bool(args.sweep)), "poses": ("--poses N", args.poses is not None),
             "rollout": ("--episodes N", args.episodes is not None)}
    option, present = needs[mode]
    if not present:
        raise InvalidInputError(f"--mode {mode} needs {option}.")
    if mode != "sweep" and (args.sweep or args.randomise or args.repeats != 1):
        raise InvalidInputError("--sweep, --randomise and --repeats make a sweep; they cannot be combined with rollouts or poses.")
    if mode == "sweep" and (args.episodes is not None or args.poses is not None):
        raise InvalidInputError("a sweep cannot be combined with --episodes or --poses; render them as separate datasets.")
    if mode == "rollout" and args.poses is not None:
        raise InvalidInputError("--mode rollout renders no constructed poses; drop --poses or use --mode poses.")
    if args.episodes is None and (args.steps is not None or args.every != 1):
        raise InvalidInputError("--steps and --every apply to rollouts; add --episodes N.")
    if args.poses is None and (args.pose_mix or args.joint_noise is not None or args.xy_radius is not None):
        raise InvalidInputError("--pose-mix, --joint-noise and --xy-radius apply to pose sets; add --poses N.")
    return mode


def build_job(args: argparse.Namespace) -> RenderJob:
    """The render job, with its canonical command line (``job.command``), from parsed arguments.

    The command holds every option that changes the frames or the index (resolved look,
    camera and size included) and leaves out --out, --name, --workers and --overwrite.
    """
    from rmeval.envs.catalogue import get_env
    from rmeval.rendering import poses as poses_mod
    from rmeval.rendering.build import RenderJob
    from rmeval.rendering.renderers import RenderSettings, parse_size, state_params
    from rmeval.rendering.rollouts import RolloutSpec
    from rmeval.rendering.sweep import SweepSpec, parse_randomise, parse_sweeps

    mode = _check_mode(args)
    env = args.env
    width, height = parse_size(args.size) if args.size else (None, None)
    # Pose sets are for labelling: a labeller judges contact with the floor (a knee down or
    # just above it) by the shadows, so they default to the fine quality (shadows).
    pose_quality = "fine" if env == "humanoid" and args.poses is not None else None
    quality = args.quality or pose_quality
    settings = RenderSettings(env, args.look, args.camera, width, height, quality).resolved()
    if args.seed < 0:
        raise InvalidInputError(f"--seed must be a non-negative integer, got {args.seed}.")
    if args.policy != "random":
        from rmeval.rendering.scripted import parse_policies

        if args.episodes is None:
            raise InvalidInputError("--policy applies to rollouts; add --episodes N.")
        args.policy = ",".join(parse_policies(env, args.policy))

    cmd = ["rmeval", "render", "--env", env]
    if env != "cartpole":
        cmd += ["--look", str(settings.look)]
    if env == "humanoid":
        cmd += ["--camera", str(settings.camera)]
        if settings.quality != (pose_quality or "fast"):
            cmd += ["--quality", str(settings.quality)]
    if (env != "cartpole" or args.size) and settings.width is not None:
        cmd += ["--size", f"{settings.width}x{settings.height}"]
    if args.task is not None:
        cmd += ["--task", args.task]

    job = RenderJob(settings=settings, task=args.task, seed=args.seed)
    random_used = False
    if mode == "sweep":
        known = state_params(env) if env != "humanoid" else {}
        sweeps = parse_sweeps(args.sweep, known) if env != "humanoid" else {}
        randomise = parse_randomise(args.randomise, known) if env != "humanoid" else {}
        job.sweep = SweepSpec(sweeps=sweeps, randomise=randomise, repeats=args.repeats, seed=args.seed)
        cmd += [a for s in args.sweep for a in ("--sweep", s)]
        cmd += [a for s in args.randomise for a in ("--randomise", s)]
        if args.repeats != 1:
            cmd += ["--repeats", str(args.repeats)]
        random_used = bool(randomise)
    if args.poses is not None:
        mix = poses_mod.parse_mix(args.pose_mix) if args.pose_mix else poses_mod.default_mix(args.task)
        job.poses = poses_mod.PoseSetSpec(
            count=args.poses,
            mix=mix,
            seed=args.seed,
            joint_noise_deg=poses_mod.DEFAULT_JOINT_NOISE_DEG if args.joint_noise is None else args.joint_noise,
            xy_radius=poses_mod.DEFAULT_XY_RADIUS if args.xy_radius is None else args.xy_radius,
            facing=args.facing or poses_mod.DEFAULT_FACING,
        )
        cmd += ["--poses", str(args.poses)]
        if args.pose_mix:
            cmd += ["--pose-mix", args.pose_mix]
        if args.joint_noise is not None:
            cmd += ["--joint-noise", f"{args.joint_noise:g}"]
        if args.xy_radius is not None:
            cmd += ["--xy-radius", f"{args.xy_radius:g}"]
        if args.facing is not None and args.facing != poses_mod.DEFAULT_FACING:
            cmd += ["--facing", args.facing]
        random_used = True
    if args.episodes is not None:
        steps = args.steps if args.steps is not None else get_env(env).episode_steps
        job.rollouts = RolloutSpec(episodes=args.episodes, steps=steps, every=args.every, seed=args.seed, policy=args.policy)
        cmd += ["--episodes", str(args.episodes), "--steps", str(steps)]
        if args.policy != "random":
            cmd += ["--policy", args.policy]
        if args.every != 1:
            cmd += ["--every", str(args.every)]
        random_used = True
    if random_used:
        cmd += ["--seed", str(args.seed)]
    job.command = " ".join(shlex.quote(c) for c in cmd)
    return job


def run(args: argparse.Namespace) -> int:
    from rmeval.rendering.build import plan_dataset, write_plan

    job = build_job(args)
    plan = plan_dataset(job)
    ds = write_plan(plan, args.out, name=args.name or "", workers=args.workers, overwrite=args.overwrite)
    counts = plan.label_counts()
    goal, labelled = counts["label"]
    if labelled:
        say(f"wrote {len(ds)} frames ({goal} goal) to {ds.root}")
    else:
        say(f"wrote {len(ds)} frames (unlabelled: task {plan.task!r} has no automatic predicate; "
            f"label them with `rmeval label`) to {ds.root}")
    autos = {k: v for k, v in counts.items() if k.startswith("auto_") and k != "auto_label"}
    if autos:
        say("automatic labels (goal / frames): " + ", ".join(f"{k[5:]} {g}/{n}" for k, (g, n) in autos.items()))
    return 0
