"""CLI: python -m local.ledger_server --port 5005 --ws-port 6006 --second-port 0
--close-interval-ms N."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from local.ledger_server import build_chain
from local.ledger_server.server import LedgerServer
from local.processes import write_stacks_on_signal


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.ledger_server", description=__doc__)
    parser.add_argument("--port", type=int, default=5005, help="JSON-RPC port (0: pick a free one)")
    parser.add_argument(
        "--ws-port", type=int, default=6006, help="WebSocket port (0: pick a free one)"
    )
    parser.add_argument(
        "--second-port",
        type=int,
        default=0,
        help="a second JSON-RPC port on the same chain, as a second server (0: a free one)",
    )
    parser.add_argument(
        "--close-interval-ms", type=int, default=0, help="0: close only on ledger_accept"
    )
    parser.add_argument("--base-reserve-drops", type=int, default=1_000_000)
    parser.add_argument("--owner-reserve-drops", type=int, default=200_000)
    parser.add_argument("--base-fee-drops", type=int, default=10)
    parser.add_argument("--data-dir", default=None, help="persist validated ledgers here")
    parser.add_argument(
        "--ledger-history",
        type=_history,
        default=None,
        help="'full' (the default: every ledger since it began) or how many recent ledgers "
        "it answers for, as rippled's [ledger_history]",
    )
    return parser.parse_args(argv)


def _history(text: str) -> int | None:
    if text == "full":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'full' or a number of ledgers, not {text!r}")
    return int(text)


async def _serve(args: argparse.Namespace) -> None:
    chain = build_chain(
        args.base_reserve_drops,
        args.owner_reserve_drops,
        args.base_fee_drops,
        args.data_dir,
        args.ledger_history,
    )
    server = LedgerServer(chain, args.close_interval_ms)
    await server.start(args.port, args.ws_port, args.second_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    rpc = f"http://127.0.0.1:{server.rpc_port}"
    second = f"http://127.0.0.1:{server.second_rpc_port}"
    print(
        f"local ledger ready rpc={rpc} ws=ws://127.0.0.1:{server.ws_port} rpcs={rpc},{second}",
        flush=True,
    )
    await stop.wait()
    await server.stop()
    chain.stop()


def main(argv: list[str] | None = None) -> int:
    write_stacks_on_signal()
    asyncio.run(_serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
