"""`tinystyle export`: placeholder until its issue lands (replace this whole file)."""


def register(sub) -> None:
    sub.add_parser("export", help="(not yet available)").set_defaults(func=lambda args: 1)
