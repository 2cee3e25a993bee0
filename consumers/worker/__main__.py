"""`python -m consumers.worker --index 0 --of 2 [--servers H:P] [--namespace NS] [--state-dir DIR]`

Worker I keeps its files in STATE/NS-worker-I: STATE is --state-dir, else $HOTLINE_STATE_DIR, else
$XDG_STATE_HOME/hotline, else ~/.local/state/hotline. --datadir DIR names that directory outright."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from domain.policy_history import load_policies

from .main import WorkerError, main_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m consumers.worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--index", type=int, default=0, help="this worker's number, 0..of-1")
    parser.add_argument("--of", type=int, default=1, dest="count", help="how many workers share the keys")
    parser.add_argument("--servers", help="bootstrap servers (default $HOTLINE_KAFKA_BOOTSTRAP)")
    parser.add_argument("--namespace", help="topic prefix (default $HOTLINE_NAMESPACE or hotline)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where the workers keep their directories, DIR/NS-worker-I "
        "(default $HOTLINE_STATE_DIR, else $XDG_STATE_HOME/hotline or ~/.local/state/hotline)",
    )
    parser.add_argument(
        "--datadir",
        type=Path,
        metavar="DIR",
        help="this worker's directory itself: RocksDB, projection.db, status.json",
    )
    parser.add_argument(
        "--policy",
        type=Path,
        action="append",
        help="policy pack, or a directory of packs; repeat for an effective-dated history (default: 3.0)",
    )
    parser.add_argument("--loglevel", default="warning")
    args = parser.parse_args(argv)
    try:
        history = load_policies(args.policy or ())
    except (OSError, ValueError) as e:  # PolicyError included: one line naming the pack
        print(f"hotline worker: --policy: {e}", file=sys.stderr)
        return 1
    try:
        main_worker(
            args.index,
            args.count,
            args.servers,
            args.namespace,
            args.datadir,
            policy=history,
            loglevel=args.loglevel,
            state_dir=args.state_dir,
        )
    except WorkerError as e:
        print(f"hotline worker: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
