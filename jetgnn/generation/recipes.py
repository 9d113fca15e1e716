"""Physics recipes of ``jetgnn generate`` (SPEC §3): Pythia8 settings, jet definitions and labelling.

A recipe is a list of *sources* (one Pythia instance each, e.g. ttbar and QCD dijets) and a jet
definition. Each source fills fixed per-class quotas of every chunk, so classes come out balanced (or in
the documented fractions) whatever the cross sections. Labelling happens per event in
:mod:`jetgnn.generation.selection`; this module holds only data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jetgnn.io.schema import LABELS

#: Settings shared by every source: 14 TeV pp, quiet, and the usual LHC definition of stable
#: particles (c*tau0 > 10 mm: K0S, Lambda, Sigma, Xi, Omega stay undecayed; b, c hadrons and taus decay).
COMMON_SETTINGS = (
    "Beams:idA = 2212",
    "Beams:idB = 2212",
    "Beams:eCM = 14000.",
    "Print:quiet = on",
    "Next:numberCount = 0",
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10.",
)


@dataclass(frozen=True)
class Source:
    """One Pythia process feeding a recipe.

    name : short name used in seeds and reports.
    settings : Pythia ``readString`` lines (added to COMMON_SETTINGS).
    quota : fraction of each chunk's jets per class name that this source provides.
    kind : how jets of this source are labelled ("hard_parton", "top", "flavour", "dark": a dark quark of the
    hard process within R, "boson": a W or Z of the hard process and both its decay quarks within R).
    resonance : |PDG id| of the boson of a "boson" source (24 W, 23 Z).
    """

    name: str
    settings: tuple[str, ...]
    quota: dict[str, float]
    kind: str
    resonance: int = 0


@dataclass(frozen=True)
class Recipe:
    """Jet definition and sources of one ``jetgnn generate`` process.

    radius : anti-kT R. pt_min/pt_max : jet pT window (GeV). abs_eta_max : jet |eta| (or |y|) cut.
    use_rapidity : cut on rapidity y instead of pseudorapidity. max_jets_per_event : take up to this many
    of the hardest jets (1 = leading jet only). track_pt_min : if set, store only charged particles above
    this pT (GeV) as constituents (the flavour recipe's tracks); jet kinematics and substructure still
    come from all visible constituents. record_invisible : also write ``aux_invisible_pt_fraction`` (the
    missing-pT fraction of each jet from the invisible final-state particles within R of its axis).
    hls4ml_features : also write the 16 jet-level features of the hls4ml jet dataset
    (:data:`jetgnn.generation.substructure.HLS4ML_FEATURES`).
    """

    task: str
    radius: float
    pt_min: float
    pt_max: float
    abs_eta_max: float
    sources: tuple[Source, ...]
    use_rapidity: bool = False
    max_jets_per_event: int = 1
    track_pt_min: float | None = None
    record_invisible: bool = False
    hls4ml_features: bool = False
    description: str = ""
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "labels", LABELS[self.task])

    def quotas(self, n_jets: int) -> list[dict[int, int]]:
        """Per-source, per-class-index jet counts for a chunk of ``n_jets`` (they sum to n_jets exactly).

        Largest-remainder rounding, deterministic, so the chunk plan depends only on ``n_jets``.
        """
        cells = [(s, c) for s, src in enumerate(self.sources) for c in src.quota]
        exact = [n_jets * self.sources[s].quota[c] for s, c in cells]
        counts = [int(x) for x in exact]
        order = sorted(range(len(cells)), key=lambda k: (-(exact[k] - counts[k]), k))
        for k in order[: n_jets - sum(counts)]:
            counts[k] += 1
        out: list[dict[int, int]] = [{} for _ in self.sources]
        for (s, c), n in zip(cells, counts, strict=True):
            out[s][self.labels.index(c)] = n
        return out

    def chunk_quotas(self, n_jets: int, chunk_size: int, chunk_index: int) -> list[dict[int, int]]:
        """Quotas of one chunk of a run of ``n_jets``: the difference of the apportionments at the chunk's
        end and start, so the run as a whole gets exactly ``quotas(n_jets)`` (no per-chunk rounding drift)."""
        start = chunk_index * chunk_size
        end = min(n_jets, start + chunk_size)
        before, after = self.quotas(start), self.quotas(end)
        out = [{c: after[s][c] - before[s].get(c, 0) for c in after[s]} for s in range(len(after))]
        if any(v < 0 for q in out for v in q.values()):  # pragma: no cover - impossible for chunks >= 6 jets
            raise ValueError(f"chunk {chunk_index} of {n_jets} jets got a negative quota: {out}")
        return out


_TTBAR = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on")
#: Z -> neutrinos recoiling against a 500-550 GeV jet (hard-process pT window a little wider than the jet's)
_Z_TO_NUNU_500 = ("WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 12 14 16",
                  "PhaseSpace:pTHatMin = 450.", "PhaseSpace:pTHatMax = 650.")
#: no multiparton interactions, hard-process pT window around the 550-650 GeV jets
_NO_MPI_600 = ("PartonLevel:MPI = off", "PhaseSpace:pTHatMin = 500.", "PhaseSpace:pTHatMax = 700.")

_QG = Recipe(
    task="qg",
    radius=0.4,
    pt_min=500.0,
    pt_max=550.0,
    abs_eta_max=1.7,
    use_rapidity=True,
    max_jets_per_event=1,
    description="EnergyFlow-like quark/gluon jets: Z(->nu nu)+q and Z(->nu nu)+g, MPI on, R=0.4, "
    "leading jet pT 500-550 GeV, |y|<1.7",
    sources=(
        Source("zq", ("WeakBosonAndParton:qg2gmZq = on", *_Z_TO_NUNU_500), {"q": 0.5}, kind="hard_parton"),
        Source("zg", ("WeakBosonAndParton:qqbar2gmZg = on", *_Z_TO_NUNU_500), {"g": 0.5}, kind="hard_parton"),
    ),
)

_TOP = Recipe(
    task="top",
    radius=0.8,
    pt_min=550.0,
    pt_max=650.0,
    abs_eta_max=2.0,
    max_jets_per_event=2,
    description="Top-tagging-reference-like jets at hadron level: hadronic ttbar vs QCD dijets, MPI off, "
    "R=0.8, pT 550-650 GeV, |eta|<2; a top jet contains the top and its three decay quarks within dR<0.8",
    sources=(
        Source("ttbar", (*_TTBAR, "24:onMode = off", "24:onIfAny = 1 2 3 4 5", *_NO_MPI_600), {"Tbqq": 0.5},
               kind="top"),
        Source("qcd", ("HardQCD:all = on", *_NO_MPI_600), {"QCD": 0.5}, kind="hard_parton"),
    ),
)

_FLAVOUR = Recipe(
    task="flavour",
    radius=0.4,
    pt_min=20.0,
    pt_max=250.0,
    abs_eta_max=2.5,
    max_jets_per_event=100,
    track_pt_min=1.0,
    description="b/c/light jets from ttbar (inclusive decays) and QCD dijets, MPI on, R=0.4, pT 20-250 GeV, "
    "|eta|<2.5; constituents are charged tracks with pT>1 GeV; label from weakly decaying b (else c) "
    "hadrons with pT>5 GeV within dR<0.3 of the jet axis; 1/3 each of b, c, light (light half from each source)",
    sources=(
        Source(
            "ttbar",
            _TTBAR,
            {"b": 1 / 3, "c": 1 / 3, "light": 1 / 6},
            kind="flavour",
        ),
        Source(
            "qcd",
            ("HardQCD:all = on", "PhaseSpace:pTHatMin = 20."),
            {"light": 1 / 6},
            kind="flavour",
        ),
    ),
)

#: Dark showers (Pythia8 Hidden Valley; see DARK_SHOWER): a leptophobic Z' of 1.2 TeV to a dark quark pair
#: (Jacobian peak of the dark-quark pT at 600 GeV), an SU(3) dark sector with two light dark flavours that
#: showers (running coupling, Lambda_d = 5 GeV, cut-off 1.1 Lambda_d) and hadronises into dark pions (4 GeV)
#: and rho mesons (10 GeV). Flavour-diagonal dark mesons decay promptly to SM quarks with probability 1 - r_inv
#: and to a pair of invisible dark-matter stand-ins (id 51) with r_inv = 0.3; off-diagonal ones are stable and
#: invisible. Parameters in the spirit of the semi-visible-jet benchmarks of Cohen, Lisanti & Lou (r_inv) and of
#: the dark-shower jets of the anomaly-detection papers (Aachen-like light dark mesons); the values are ours.
DARK_SHOWER = {"m_zprime": 1200.0, "m_quark": 2.0, "m_pion": 4.0, "m_rho": 10.0, "lambda": 5.0, "r_inv": 0.3,
               "n_gauge": 3, "n_flavours": 2}


def _dark_settings(p: dict) -> tuple[str, ...]:
    visible, invisible = 1 - p["r_inv"], p["r_inv"]
    return (
        "HiddenValley:ffbar2Zv = on", "HiddenValley:Ngauge = {n_gauge}".format(**p),
        "HiddenValley:nFlav = {n_flavours}".format(**p), "HiddenValley:spinFv = 0",
        "HiddenValley:FSR = on", "HiddenValley:fragment = on", "HiddenValley:alphaOrder = 1",
        "HiddenValley:Lambda = {lambda}".format(**p), "HiddenValley:pTminFSR = {:g}".format(1.1 * p["lambda"]),
        "HiddenValley:probVector = 0.75",
        "4900023:m0 = {m_zprime}".format(**p), "4900023:mWidth = 10.", "4900023:onMode = off",
        "4900023:onIfAny = 4900101",
        "4900101:m0 = {m_quark}".format(**p),
        "4900111:m0 = {m_pion}".format(**p), "4900211:m0 = {m_pion}".format(**p),
        "4900113:m0 = {m_rho}".format(**p), "4900213:m0 = {m_rho}".format(**p),
        "51:m0 = 0.0", "51:isResonance = off",
        f"4900111:oneChannel = 1 {visible:g} 91 -3 3", f"4900111:addChannel = 1 {invisible:g} 0 51 -51",
        f"4900113:oneChannel = 1 {visible / 5:g} 91 -1 1", f"4900113:addChannel = 1 {visible / 5:g} 91 -2 2",
        f"4900113:addChannel = 1 {visible / 5:g} 91 -3 3", f"4900113:addChannel = 1 {visible / 5:g} 91 -4 4",
        f"4900113:addChannel = 1 {visible / 5:g} 91 -5 5", f"4900113:addChannel = 1 {invisible:g} 0 51 -51",
        "4900211:mayDecay = off", "4900213:mayDecay = off",
        "PhaseSpace:mHatMin = 1000.", "PhaseSpace:mHatMax = 1400.",
        "PartonLevel:MPI = off",
    )


_DARKJET = Recipe(
    task="darkjet",
    radius=0.8,
    pt_min=550.0,
    pt_max=650.0,
    abs_eta_max=2.0,
    max_jets_per_event=2,
    record_invisible=True,
    description="Semi-visible dark-shower jets (Pythia8 Hidden Valley, Z'(1.2 TeV) -> dark quarks, SU(3) with two "
    "dark flavours, dark pions 4 GeV, rho 10 GeV, r_inv = 0.3) vs QCD dijets, MPI off, R=0.8, pT 550-650 GeV, "
    "|eta|<2 (the top recipe's jets); a dark jet contains a dark quark of the hard process within dR<0.8",
    sources=(
        Source("dark", _dark_settings(DARK_SHOWER), {"dark": 0.5}, kind="dark"),
        Source("qcd", ("HardQCD:all = on", *_NO_MPI_600), {"QCD": 0.5}, kind="hard_parton"),
    ),
)

#: The five-class sample of the hls4ml LHC jet dataset / JetNet (Coleman et al. 2018, arXiv:1709.08705; Duarte et
#: al. 2018, arXiv:1804.06913; Kansal et al. 2021, arXiv:2106.11535): 13 TeV pp, partons and undecayed bosons
#: generated in a narrow pT window around 1 TeV (there: dpT/pT = 0.01 in MadGraph; here Pythia's pTHat of the
#: 2 -> 2 process in [990, 1010] GeV), Pythia showering with the underlying event (MPI on), anti-kT R = 0.8, jets
#: kept in 0.8 < pT < 1.6 TeV. Processes as there: q and g jets from QCD dijets (qq -> qq, q qbar -> q qbar for q;
#: gg -> gg for g, labelled by the nearest hard parton), W and Z jets from q qbar -> WW and ZZ with hadronic boson
#: decays, t from hadronic ttbar. |eta| < 2.0 is our choice (the datasets do not state one).
_MULTICLASS_COMMON = ("Beams:eCM = 13000.", "PartonLevel:MPI = on", "PhaseSpace:pTHatMin = 990.",
                      "PhaseSpace:pTHatMax = 1010.")
_HADRONIC_W = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")
_MULTICLASS = Recipe(
    task="multiclass",
    radius=0.8,
    pt_min=800.0,
    pt_max=1600.0,
    abs_eta_max=2.0,
    max_jets_per_event=2,
    hls4ml_features=True,
    description="hls4ml/JetNet-like five-class jets g/q/W/Z/t at 13 TeV, pTHat 990-1010 GeV, MPI on, R=0.8, "
    "jet pT 0.8-1.6 TeV, |eta|<2; W/Z/t jets contain the boson (top) and its decay quarks within dR<0.8; "
    "16 hls4ml jet features",
    sources=(
        Source("gg", ("HardQCD:gg2gg = on", *_MULTICLASS_COMMON), {"g": 0.2}, kind="hard_parton"),
        Source("qq", ("HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on", *_MULTICLASS_COMMON), {"q": 0.2},
               kind="hard_parton"),
        Source("ww", ("WeakDoubleBoson:ffbar2WW = on", *_HADRONIC_W, *_MULTICLASS_COMMON), {"W": 0.2},
               kind="boson", resonance=24),
        Source("zz", ("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2", "23:onMode = off",
                      "23:onIfAny = 1 2 3 4 5", *_MULTICLASS_COMMON), {"Z": 0.2}, kind="boson", resonance=23),
        Source("ttbar", (*_TTBAR, *_HADRONIC_W, *_MULTICLASS_COMMON), {"t": 0.2}, kind="top"),
    ),
)

RECIPES: dict[str, Recipe] = {"qg": _QG, "top": _TOP, "flavour": _FLAVOUR, "darkjet": _DARKJET,
                              "multiclass": _MULTICLASS}

#: Flavour labelling: heavy hadrons must have pT above this (GeV) and lie within this dR of the jet axis.
HADRON_PT_MIN = 5.0
HADRON_DR_MAX = 0.3
#: Hard-parton matching radius for aux_parton_* and the q/g label check.
PARTON_DR_MAX = 0.4
