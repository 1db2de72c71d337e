"""run_app.py backends [--params] [--json] [--server URL --token T]: what can run, and why not."""
from __future__ import annotations

NAME = "backends"
HELP = "List backends with inputs, outputs, availability (and parameters with --params)"


def add_arguments(p) -> None:
    p.add_argument("--params", action="store_true", help="show each backend's parameters")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--server", help="list the backends of a Loupe server instead")
    p.add_argument("--token", help="server token (default: $LOUPE_SERVER_TOKEN)")


def run(args) -> int:
    import json

    if args.server:
        from app.jobs.remote import make_runner
        rows = make_runner(args.server, args.token).backends()
    else:
        from backends.registry import default_registry
        rows = default_registry().rows()
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    if not rows:
        print("no backends installed")
        return 0
    for r in rows:
        d = r.to_dict()
        mark = "ok " if d["available"] else "-- "
        if d.get("version"):
            print(f"{mark}{d['name']} {d['version']}  in: {', '.join(d['inputs'])}  "
                  f"out: {', '.join(d['outputs'])}  device: {'/'.join(d['devices'])}")
            if d.get("description"):
                print(f"     {d['description']}")
        else:
            print(f"{mark}{d['name']}")
        if not d["available"]:
            print(f"     unavailable: {d['reason']}")
        if args.params:
            for f in r.param_fields():
                print(f"     --param {f.name}={f.default!r:<8} {f.allowed()}"
                      + (f"  {f.help}" if f.help else ""))
    return 0
