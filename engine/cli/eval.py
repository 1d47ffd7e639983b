"""`tinystyle eval`: placeholder until its issue lands (replace this whole file)."""


def register(sub) -> None:
    sub.add_parser("eval", help="(not yet available)").set_defaults(func=lambda args: 1)
