"""Per-event jet selection, labelling and constituent extraction from a Pythia event.

This is the only per-event Python code of the generator. It touches the event record through
``pythia8mc`` bindings (~0.4 us per call), so it reads only the constituents of selected jets and walks
the decay chain only for displaced particles. Everything per particle that can wait is done later on
whole chunks with numpy (:mod:`jetgnn.generation.postprocess`).
"""

from __future__ import annotations

from jetgnn.generation import truth
from jetgnn.generation.recipes import HADRON_DR_MAX, HADRON_PT_MIN, PARTON_DR_MAX, Recipe, Source
from jetgnn.io.schema import Origin

#: Particle columns accumulated per stored constituent (flat over the chunk).
PARTICLE_COLUMNS = ("px", "py", "pz", "e", "charge", "pid", "vx", "vy", "vz", "vtx", "origin")
#: Jet columns accumulated per jet.
JET_COLUMNS = ("px", "py", "pz", "e", "label", "parton_pt", "parton_eta", "parton_phi", "parton_pid", "n",
               "invisible_px", "invisible_py")


class JetSink:
    """Columnar accumulator of selected jets (flat Python lists, turned into numpy once per chunk)."""

    def __init__(self):
        self.particles = {name: [] for name in PARTICLE_COLUMNS}
        self.jets = {name: [] for name in JET_COLUMNS}
        # all visible constituents (4-momenta only), for substructure of the full jet
        self.full = {"px": [], "py": [], "pz": [], "e": [], "n": []}

    def __len__(self):
        return len(self.jets["label"])


def _hard_partons(pythia) -> list[tuple[float, float, float, int]]:
    """(pT, eta, phi, pid) of the outgoing partons of the hard 2->2 process (process record 5, 6)."""
    out = []
    process = pythia.process
    for i in (5, 6):
        p = process[i]
        if p.isParton():
            out.append((p.pT(), p.eta(), p.phi(), p.id()))
    return out


#: PDG id of the Hidden Valley dark quark (Pythia's qv)
DARK_QUARK = 4900101


def _dark_quarks(pythia) -> list[tuple[float, float, float, int]]:
    """(pT, eta, phi, pid) of the dark quarks of the hard process."""
    process = pythia.process
    return [(process[i].pT(), process[i].eta(), process[i].phi(), process[i].id()) for i in range(process.size())
            if process[i].idAbs() == DARK_QUARK]


def _invisible(event) -> list[tuple[float, float, float, float]]:
    """(px, py, eta, phi) of the invisible final-state particles (neutrinos, stable dark hadrons)."""
    out = []
    for i in range(event.size()):
        particle = event[i]
        if particle.isFinal() and not particle.isVisible():
            out.append((particle.px(), particle.py(), particle.eta(), particle.phi()))
    return out


def _decay_quarks(event, boson) -> list[tuple[float, float]]:
    """(eta, phi) of the quarks (d ... b) among the daughters of ``boson`` (a W or Z: its last copy)."""
    return [(event[d].eta(), event[d].phi()) for d in (boson.daughter1(), boson.daughter2())
            if 0 < event[d].idAbs() <= 5]


def _hard_resonances(event, resonance: int):
    """The last copies of the hard-process particles (record 5, 6) of |PDG id| ``resonance``."""
    return [event[event[i].iBotCopyId()] for i in (5, 6) if event[i].idAbs() == resonance]


def _boson_systems(event, resonance: int) -> list[tuple[tuple[float, float, float, int], list[tuple[float, float]]]]:
    """For each hard-process boson of |PDG id| ``resonance`` decaying to quarks: its (pT, eta, phi, pid) and the
    (eta, phi) of the boson and its two decay quarks."""
    systems = []
    for boson in _hard_resonances(event, resonance):
        directions = [(boson.eta(), boson.phi()), *_decay_quarks(event, boson)]
        if len(directions) == 3:
            systems.append(((boson.pT(), boson.eta(), boson.phi(), boson.id()), directions))
    return systems


def _top_systems(event) -> list[tuple[tuple[float, float, float, int], list[tuple[float, float]]]]:
    """For each top quark: its (pT, eta, phi, pid) and the (eta, phi) of top, b and the two W-decay quarks."""
    systems = []
    for top in _hard_resonances(event, 6):
        directions = [(top.eta(), top.phi())]
        for d in (top.daughter1(), top.daughter2()):
            daughter = event[d]
            if daughter.idAbs() == 5:
                directions.append((daughter.eta(), daughter.phi()))
            elif daughter.idAbs() == 24:
                directions.extend(_decay_quarks(event, event[daughter.iBotCopyId()]))
        if len(directions) == 4:
            systems.append(((top.pT(), top.eta(), top.phi(), top.id()), directions))
    return systems


def _nearest(partons, eta, phi, dr_max):
    best, best_dr = None, dr_max
    for parton in partons:
        dr = truth.delta_r(eta, phi, parton[1], parton[2])
        if dr < best_dr:
            best, best_dr = parton, dr
    return best


_NO_PARTON = (0.0, 0.0, 0.0, 0)


class EventSelector:
    """Finds, labels and extracts the jets of one source's events.

    Call :meth:`process` after ``pythia.next()`` and ``slowjet.analyze(pythia.event)``.
    ``wanted[label_index]`` is the remaining quota; it is decremented for every jet stored.
    """

    def __init__(self, recipe: Recipe, source: Source):
        self.recipe = recipe
        self.source = source
        self.labels = recipe.labels
        self.single_label = self.labels.index(next(iter(source.quota))) if len(source.quota) == 1 else None
        self.track_pt2_min = None if recipe.track_pt_min is None else recipe.track_pt_min**2

    # -- jet candidates ----------------------------------------------------------------------------
    def _candidates(self, slowjet):
        r = self.recipe
        out = []
        for j in range(min(slowjet.sizeJet(), r.max_jets_per_event)):
            pt = slowjet.pT(j)
            if pt < r.pt_min:
                break  # jets are sorted by decreasing pT
            if pt > r.pt_max:
                continue
            p4 = slowjet.p(j)
            eta = p4.eta()
            if abs(slowjet.y(j) if r.use_rapidity else eta) < r.abs_eta_max:
                out.append((j, p4, eta, p4.phi()))
        return out

    # -- labelling ---------------------------------------------------------------------------------
    def _label_hard_parton(self, pythia, candidates):
        partons = _hard_partons(pythia)
        out = []
        for j, p4, eta, phi in candidates:
            parton = _nearest(partons, eta, phi, PARTON_DR_MAX)
            if parton is None:
                continue
            name = self.labels[self.single_label]
            is_gluon = parton[3] == 21
            if (name == "g" and not is_gluon) or (name == "q" and is_gluon):
                continue
            out.append((j, p4, eta, phi, self.single_label, parton))
        return out

    def _label_top(self, pythia, candidates):
        """Jets that contain every decay product of a top (or, for "boson" sources, of a W / Z) within R."""
        event = pythia.event
        systems = _top_systems(event) if self.source.kind == "top" else _boson_systems(event, self.source.resonance)
        out = []
        radius = self.recipe.radius
        for j, p4, eta, phi in candidates:
            for parton, directions in systems:
                if all(truth.delta_r(eta, phi, e, f) < radius for e, f in directions):
                    out.append((j, p4, eta, phi, self.single_label, parton))
                    break
        return out

    def _label_dark(self, pythia, candidates):
        quarks = _dark_quarks(pythia)
        return [(j, p4, eta, phi, self.single_label, quark) for j, p4, eta, phi in candidates
                if (quark := _nearest(quarks, eta, phi, self.recipe.radius)) is not None]

    def _label_flavour(self, pythia, slowjet, candidates, ancestry, detector=None):
        event = pythia.event
        partons = None
        out = []
        i_light, i_c, i_b = (self.labels.index(n) for n in ("light", "c", "b"))
        for j, p4, eta, phi in candidates:
            hadrons = set()
            for i in slowjet.constituents(j):
                if detector is not None:  # the generator particle behind a detector track (-1: a tower)
                    i = int(detector.truth[i - 1])
                    if i < 0:
                        continue
                particle = event[i]
                if particle.hasVertex():
                    if i not in ancestry:
                        ancestry[i] = truth.weak_heavy_ancestors(event, i)
                    hadrons.update(h for h in ancestry[i] if h >= 0)
            label = i_light
            for h in hadrons:
                hadron = event[h]
                if hadron.pT() > HADRON_PT_MIN and truth.delta_r(eta, phi, hadron.eta(), hadron.phi()) < HADRON_DR_MAX:
                    if truth.heavy_flavour(hadron.id()) == 5:
                        label = i_b
                        break
                    label = i_c
            if partons is None:
                partons = _hard_partons(pythia) + [s[0] for s in _top_systems(event)]
            out.append((j, p4, eta, phi, label, _nearest(partons, eta, phi, PARTON_DR_MAX) or _NO_PARTON))
        return out

    # -- extraction --------------------------------------------------------------------------------
    def _constituents(self, event, slowjet, j, candidates):
        """(px, py, pz, e, charge, pid, index of the generator particle or -1) of jet ``j``'s constituents: from
        the event record, or at detector level from the candidates (record index i is candidate i - 1)."""
        if candidates is None:
            for i in slowjet.constituents(j):
                particle = event[i]
                yield particle.px(), particle.py(), particle.pz(), particle.e(), particle.charge(), particle.id(), i
        else:
            c = candidates
            for i in slowjet.constituents(j):
                k = i - 1
                yield (float(c.px[k]), float(c.py[k]), float(c.pz[k]), float(c.e[k]), int(c.charge[k]),
                       int(c.pid[k]), int(c.truth[k]))

    def _store(self, sink: JetSink, event, slowjet, j, p4, label, parton, ancestry, invisible=(), candidates=None):
        """Append one jet: constituents sorted by decreasing pT, truth vertices and origins, and the transverse
        momentum of the ``invisible`` particles within R of its axis. ``event`` is the generator record (truth);
        with ``candidates`` (detector level) the jet was clustered from those."""
        rows = []
        full = sink.full
        n_full = 0
        for px, py, pz, e, charge, pid, i in self._constituents(event, slowjet, j, candidates):
            full["px"].append(px)
            full["py"].append(py)
            full["pz"].append(pz)
            full["e"].append(e)
            n_full += 1
            pt2 = px * px + py * py
            if self.track_pt2_min is not None and (charge == 0 or pt2 < self.track_pt2_min):
                continue
            if charge != 0 and i >= 0 and (particle := event[i]).hasVertex():
                position = (particle.xProd(), particle.yProd(), particle.zProd())
                if i not in ancestry:
                    ancestry[i] = truth.weak_heavy_ancestors(event, i)
                displaced = sum(v * v for v in position) >= truth.VERTEX_MERGE_DISTANCE_MM**2
                origin = truth.origin_from_ancestors(*ancestry[i], displaced=displaced)
            else:
                position, origin = None, int(Origin.PRIMARY if charge != 0 else Origin.NEUTRAL)
            rows.append((pt2, px, py, pz, e, charge, pid, position, origin))
        full["n"].append(n_full)
        rows.sort(key=lambda row: -row[0])
        charged = [row for row in rows if row[5] != 0]
        vertex_ids = iter(truth.group_vertices([row[7] for row in charged]))
        cols = sink.particles
        for _, px, py, pz, e, charge, pid, position, origin in rows:
            cols["px"].append(px)
            cols["py"].append(py)
            cols["pz"].append(pz)
            cols["e"].append(e)
            cols["charge"].append(charge)
            cols["pid"].append(pid)
            x, y, z = position if position is not None else (0.0, 0.0, 0.0)
            cols["vx"].append(x)
            cols["vy"].append(y)
            cols["vz"].append(z)
            cols["vtx"].append(next(vertex_ids) if charge != 0 else -1)
            cols["origin"].append(origin)
        jets = sink.jets
        jets["px"].append(p4.px())
        jets["py"].append(p4.py())
        jets["pz"].append(p4.pz())
        jets["e"].append(p4.e())
        jets["label"].append(label)
        jets["parton_pt"].append(parton[0])
        jets["parton_eta"].append(parton[1])
        jets["parton_phi"].append(parton[2])
        jets["parton_pid"].append(parton[3])
        jets["n"].append(len(rows))
        eta, phi, radius = p4.eta(), p4.phi(), self.recipe.radius
        inside = [(px, py) for px, py, e, f in invisible if truth.delta_r(eta, phi, e, f) < radius]
        jets["invisible_px"].append(sum(v[0] for v in inside))
        jets["invisible_py"].append(sum(v[1] for v in inside))

    def process(self, pythia, slowjet, sink: JetSink, wanted: dict[int, int], detector=None) -> int:
        """Select, label and store this event's jets while quotas last; return the number stored.

        detector : the event's detector-level :class:`~jetgnn.generation.detector.Candidates` when ``slowjet``
        clustered those (``--detector simple``); labels and truth still come from the generator record.
        """
        candidates = self._candidates(slowjet)
        if not candidates:
            return 0
        ancestry: dict[int, tuple[int, int]] = {}
        kind = self.source.kind
        if kind == "hard_parton":
            labelled = self._label_hard_parton(pythia, candidates)
        elif kind in ("top", "boson"):
            labelled = self._label_top(pythia, candidates)
        elif kind == "flavour":
            labelled = self._label_flavour(pythia, slowjet, candidates, ancestry, detector)
        elif kind == "dark":
            labelled = self._label_dark(pythia, candidates)
        else:  # pragma: no cover - recipes are fixed data
            raise ValueError(f"unknown source kind {kind!r}")
        stored = 0
        invisible = None
        for j, p4, _eta, _phi, label, parton in labelled:
            if wanted.get(label, 0) > 0:
                if invisible is None:
                    invisible = _invisible(pythia.event) if self.recipe.record_invisible else []
                self._store(sink, pythia.event, slowjet, j, p4, label, parton, ancestry, invisible, detector)
                wanted[label] -= 1
                stored += 1
        return stored

