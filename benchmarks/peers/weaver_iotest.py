"""``weaver --io-test`` with its loop timed exactly (run with weaver-core's own python).

Same arguments as ``weaver``; ``--io-test`` is added. weaver's iotest iterates the training loader once and
writes the observers to a parquet file; this times the data preparation (``train_load``) plus the iteration
and prints ``{"io_jets": N, "io_seconds": T}``.
"""

import json
import sys
import time

import weaver.train as weaver_train

_clock = {}
_train_load = weaver_train.train_load


def _timed_train_load(args):
    _clock["start"] = time.perf_counter()
    return _train_load(args)


def _timed_iotest(args, data_loader):
    jets = 0
    for _, labels, _ in data_loader:
        jets += len(next(iter(labels.values())))
    print(json.dumps({"io_jets": jets, "io_seconds": time.perf_counter() - _clock["start"]}), flush=True)


weaver_train.train_load = _timed_train_load
weaver_train.iotest = _timed_iotest

if __name__ == "__main__":
    sys.argv = ["weaver", *sys.argv[1:], "--io-test"]
    weaver_train.main()
