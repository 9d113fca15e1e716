"""Generate one chunk of jets: the unit of work of a worker process and of resuming.

A chunk's content depends only on (recipe, base seed, chunk index, chunk size): each chunk initialises
its own Pythia instances with seeds derived from those, so output is identical whatever the number of
workers, and a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from jetgnn.generation.detector import DETECTORS, FastDetector, fill_event, visible_particles
from jetgnn.generation.postprocess import chunk_columns
from jetgnn.generation.recipes import COMMON_SETTINGS, RECIPES, Recipe
from jetgnn.generation.selection import EventSelector, JetSink
from jetgnn.generation.substructure import silence_stdout

#: Pythia's Random:seed accepts 1 .. 900,000,000.
_PYTHIA_SEED_MAX = 900_000_000
#: At detector level, the detector runs only on events with a hadron-level jet above this fraction of the recipe's
#: pT threshold (within |eta| cut + 0.5): the detector-level jet response is 0.9-1.0 with a spread of ~10%, so
#: no jet of the window is lost, and the ~70% of events without any candidate skip the particle loop.
DETECTOR_PREFILTER_PT = 0.7
#: Give up on a chunk if this many events in a row yield no selected jet (a broken recipe, not bad luck).
MAX_EMPTY_EVENTS = 200_000


@dataclass
class ChunkTiming:
    """Wall time (s) of a chunk, split by where it was spent. ``pythia_s`` covers init + event generation."""

    pythia_init_s: float = 0.0
    pythia_next_s: float = 0.0
    clustering_s: float = 0.0
    selection_s: float = 0.0
    postprocess_s: float = 0.0
    write_s: float = 0.0
    detector_s: float = 0.0
    events: int = 0
    jets: int = 0
    extra: dict = field(default_factory=dict)

    def add(self, other: ChunkTiming) -> None:
        for name in ("pythia_init_s", "pythia_next_s", "clustering_s", "selection_s", "postprocess_s", "write_s",
                     "detector_s", "events", "jets"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def total_s(self) -> float:
        return (self.pythia_init_s + self.pythia_next_s + self.clustering_s + self.selection_s
                + self.postprocess_s + self.write_s + self.detector_s)


def derived_seed(seed: int, *keys: int) -> int:
    """A seed in Pythia's range from the base seed and integer keys (chunk index, source index, ...)."""
    state = np.random.SeedSequence([seed, *keys]).generate_state(1, dtype=np.uint64)[0]
    return int(state % _PYTHIA_SEED_MAX) + 1


def _make_pythia(settings, seed: int):
    import pythia8mc

    with silence_stdout():
        pythia = pythia8mc.Pythia("", False)
        for line in (*COMMON_SETTINGS, *settings, "Random:setSeed = on", f"Random:seed = {seed}"):
            if not pythia.readString(line):
                raise RuntimeError(f"Pythia rejected the setting {line!r}")
        if not pythia.init():
            raise RuntimeError("Pythia initialisation failed")
    return pythia


def _make_slowjet(recipe: Recipe):
    import pythia8mc

    with silence_stdout():
        # anti-kT (power -1), all visible final-state particles (select=2: no neutrinos), own masses,
        # FastJet core. Particles beyond |eta| = jet cut + R + 0.5 cannot join an accepted jet, so they are
        # not clustered at all (the forward beam remnants are a large share of an event's particles).
        eta_max = recipe.abs_eta_max + recipe.radius + 0.5
        return pythia8mc.SlowJet(-1, recipe.radius, recipe.pt_min * 0.5, eta_max, 2, 2, None, True, True)


def _has_candidate_jet(slowjet, recipe: Recipe) -> bool:
    """Whether the hadron-level clustering has a jet that a detector-level jet of the recipe could come from."""
    pt_min = DETECTOR_PREFILTER_PT * recipe.pt_min
    eta_max = recipe.abs_eta_max + 0.5
    for j in range(min(slowjet.sizeJet(), recipe.max_jets_per_event + 1)):
        if slowjet.pT(j) < pt_min:
            return False
        if abs(slowjet.y(j)) < eta_max:
            return True
    return False


def generate_chunk(task: str, seed: int, chunk_index: int, chunk_size: int, n_total: int, report=None,
                   detector: str = "none"):
    """Generate chunk ``chunk_index`` (jets ``chunk_index * chunk_size`` onwards) of a run of ``n_total`` jets
    of recipe ``task``; its class quotas come from :meth:`Recipe.chunk_quotas`.

    report : optional callable(n_new_jets) for progress. detector : a name of ``DETECTORS`` ("none": hadron
    level; "simple": jets are clustered from :class:`~jetgnn.generation.detector.FastDetector` candidates).
    Returns (columns, ChunkTiming).
    """
    recipe = RECIPES[task]
    timing = ChunkTiming()
    recipe_key = list(RECIPES).index(task)
    t0 = time.perf_counter()
    pythias = [_make_pythia(src.settings, derived_seed(seed, recipe_key, chunk_index, k))
               for k, src in enumerate(recipe.sources)]
    timing.pythia_init_s = time.perf_counter() - t0
    slowjet = _make_slowjet(recipe)
    selectors = [EventSelector(recipe, src) for src in recipe.sources]
    card = DETECTORS[detector]
    fast_detector = None if card is None else FastDetector(card)
    if fast_detector is not None:
        import pythia8mc

        detector_rng = np.random.default_rng(derived_seed(seed, recipe_key, chunk_index, 2000))
        detector_event = pythia8mc.Event()
        detector_event.init("detector", pythias[0].particleData)
        detector_jets = _make_slowjet(recipe)
    wanted = recipe.chunk_quotas(n_total, chunk_size, chunk_index)
    sink = JetSink()
    active = [k for k in range(len(pythias)) if sum(wanted[k].values()) > 0]
    turn = 0
    empty_streak = 0
    pending_report = 0
    last_report = time.perf_counter()
    clock = time.perf_counter
    while active:
        k = active[turn % len(active)]
        turn += 1
        pythia = pythias[k]
        t_a = clock()
        ok = pythia.next()
        t_b = clock()
        timing.pythia_next_s += t_b - t_a
        timing.events += 1
        if not ok:
            continue
        if timing.events == 1:
            with silence_stdout():  # FastJet prints its banner on first use
                slowjet.analyze(pythia.event)
        else:
            slowjet.analyze(pythia.event)
        t_c = clock()
        timing.clustering_s += t_c - t_b
        if fast_detector is None:
            stored = selectors[k].process(pythia, slowjet, sink, wanted[k])
        elif _has_candidate_jet(slowjet, recipe):
            candidates = fast_detector.simulate(*visible_particles(pythia.event), rng=detector_rng)
            fill_event(detector_event, candidates)
            detector_jets.analyze(detector_event)
            t_d = clock()
            timing.detector_s += t_d - t_c
            t_c = t_d
            stored = selectors[k].process(pythia, detector_jets, sink, wanted[k], candidates)
        else:
            stored = 0
        timing.selection_s += clock() - t_c
        if stored:
            empty_streak = 0
            if sum(wanted[k].values()) == 0:
                active.remove(k)
            pending_report += stored
            if report is not None and (clock() - last_report > 0.2 or not active):
                report(pending_report)
                pending_report, last_report = 0, clock()
        else:
            empty_streak += 1
            if empty_streak > MAX_EMPTY_EVENTS:
                raise RuntimeError(f"{task}: {MAX_EMPTY_EVENTS} events in a row gave no jet passing the selection")
    if report is not None and pending_report:
        report(pending_report)
    t_d = clock()
    rng = np.random.default_rng(derived_seed(seed, recipe_key, chunk_index, 1000))
    columns = chunk_columns(sink, recipe, rng)
    timing.postprocess_s = clock() - t_d
    timing.jets = len(sink)
    return columns, timing
