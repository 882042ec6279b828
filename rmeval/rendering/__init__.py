"""The logic behind ``rmeval render``: datasets of rendered environment states.

* :mod:`rmeval.rendering.build`: a :class:`~rmeval.rendering.build.RenderJob` becomes a
  plan (index and metadata, no frames yet), then a dataset (format v1);
* :mod:`rmeval.rendering.sweep`: state sweeps (CartPole, MountainCar);
* :mod:`rmeval.rendering.rollouts`: episodes with random actions or a policy;
* :mod:`rmeval.rendering.poses`: Humanoid pose sets from perturbed constructed poses;
* :mod:`rmeval.rendering.renderers`: one renderer interface over the three environments;
* :mod:`rmeval.rendering.parallel`: rendering with several worker processes, in order;
* :mod:`rmeval.rendering.seeds`: per-frame random generators, so frames never depend
  on the number of workers.

Importing this package imports nothing heavy; gymnasium and MuJoCo load when used.
"""
