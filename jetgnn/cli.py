"""The ``jetgnn`` command line (SPEC §4).

Every failure on bad input is one line on stderr naming what is at fault, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from jetgnn.errors import JetGNNError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line (no usage block) with exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _cmd_generate(args) -> int:
    from jetgnn.generation import generate

    report = generate(args.process, args.n_jets, args.out, seed=args.seed, workers=args.workers,
                      chunk_size=args.chunk_size, progress=not args.quiet)
    print(report.summary(), file=sys.stderr)
    return 0


def _cmd_summary(args) -> int:
    from jetgnn.summary import summarize_files

    print(summarize_files(args.files))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from jetgnn import __version__

    parser = _Parser(prog="jetgnn", description="Graph-neural-network jet tagging on ROOT files.")
    parser.add_argument("--version", action="version", version=f"jetgnn {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    gen = sub.add_parser("generate", help="generate jets with Pythia8 + FastJet into a ROOT file (jetclass schema)",
                         description="Generate jets with Pythia8 + FastJet (SPEC §3) into a jetclass-schema ROOT file.")
    gen.add_argument("process", metavar="{qg,top,flavour}",
                     help="qg: quark/gluon (R=0.4, 500-550 GeV); top: top vs QCD (R=0.8, 550-650 GeV); "
                          "flavour: b/c/light tracks with vertex truth (R=0.4, 20-250 GeV)")
    gen.add_argument("--n-jets", type=int, required=True, help="number of jets to write (classes balanced)")
    gen.add_argument("--out", required=True, help="output .root file (written atomically)")
    gen.add_argument("--seed", type=_non_negative_int, default=0, help="base random seed (default 0)")
    gen.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    gen.add_argument("--chunk-size", type=_positive_int, default=None,
                     help="jets per chunk (default: n_jets/4 within [50, 1000]); a killed run resumes per chunk")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_cmd_generate)

    summ = sub.add_parser("summary", help="print a summary table of jetclass ROOT files")
    summ.add_argument("files", nargs="+", help="ROOT files or globs")
    summ.set_defaults(func=_cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except JetGNNError as err:
        print(f"jetgnn {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"jetgnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
